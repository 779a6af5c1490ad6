import { AlprApi } from "@chaverim/domain/Api"
import { CurrentUser } from "@chaverim/domain/Auth"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as Effect from "effect/Effect"
import { makePhotoViews } from "../audit/PhotoViews"
import { givenReason } from "../audit/Reason"
import { requestInfo } from "../http/ClientAddress"
import { Investigation } from "./Investigation"

export const InvestigationHttpLayer = HttpApiBuilder.group(AlprApi, "investigation", (handlers) =>
  Effect.gen(function*() {
    const investigation = yield* Investigation
    const photoViews = yield* makePhotoViews
    const caller = Effect.all([CurrentUser, requestInfo])
    return handlers
      .handle("timeline", ({ path, urlParams }) =>
        Effect.flatMap(caller, ([user, request]) =>
          investigation.timeline(path.plate, urlParams, user, request).pipe(
            // its sightings' plate crops (the Photos tab) are audited as one view, as a search page's are
            Effect.flatMap((timeline) =>
              photoViews.cover(timeline, { actor: user, address: request.address, given: givenReason(urlParams), via: "timeline" }))
          )).pipe(Effect.catchTags({ SqlError: Effect.die })))
      .handle("map", ({ path, urlParams }) =>
        Effect.flatMap(caller, ([user, request]) => investigation.map(path.plate, urlParams, user, request)).pipe(
          Effect.catchTags({ SqlError: Effect.die })
        ))
      .handle("route", ({ path, urlParams }) =>
        Effect.flatMap(caller, ([user, request]) => investigation.route(path.plate, urlParams, user, request)).pipe(
          Effect.catchTags({ SqlError: Effect.die })
        ))
      .handle("convoy", ({ path, urlParams }) =>
        Effect.flatMap(caller, ([user, request]) => investigation.convoy(path.plate, urlParams, user, request)).pipe(
          Effect.catchTags({ SqlError: Effect.die })
        ))
      .handle("multiPlace", ({ payload }) =>
        Effect.flatMap(caller, ([user, request]) => investigation.multiPlace(payload, user, request)).pipe(
          Effect.catchTags({ SqlError: Effect.die })
        ))
  }))
