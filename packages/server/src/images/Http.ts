import { AlprApi } from "@chaverim/domain/Api"
import { CurrentUser } from "@chaverim/domain/Auth"
import { sniffImageType } from "@chaverim/domain/Detection"
import { Forbidden } from "@chaverim/domain/Errors"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import { Audit } from "../audit/Audit"
import { makePhotoViews } from "../audit/PhotoViews"
import { givenReason, makeReasonOf, reasonDetails } from "../audit/Reason"
import { Accounts } from "../auth/Accounts"
import { deny, requireRole } from "../auth/UserAuth"
import { Displays } from "../displays/Displays"
import { requestInfo } from "../http/ClientAddress"
import { Images } from "./Images"

// Served as what its bytes are, not as recorded: a row stored before ingest checked the bytes may
// name any type, and one a browser would render as a page must never be served inline.
const served = (bytes: Uint8Array) => {
  const type = sniffImageType(bytes)
  return HttpServerResponse.uint8Array(bytes, {
    contentType: type ?? "application/octet-stream",
    headers: { "content-disposition": type === undefined ? "attachment" : "inline" }
  })
}

/**
 * Evidence images, each view audited (who saw which photo, from where, why, and whether it was there
 * and intact). Not cached: a view the browser answers from its cache would be a view nobody recorded.
 * Viewers get plate crops only, and wall displays those of what the wall shows (see ImagesApi).
 *
 * A scene photo is opened by a person on purpose, and says why like a search does: its reason code is
 * required (unless AUDIT_REASON_REQUIRED=false). A plate crop shows no more than the plate's text and
 * appears by itself on the wall, in alerts and beside results: its reason is recorded when it comes
 * with one (a code given is checked), and not asked for.
 *
 * A crop linked by a page of search results or sent by the live feed carries that page's or that
 * connection's view token (audit/PhotoViews.ts): the view's `image.view` rows name it, so it is served
 * without a row of its own; a token that is not this session's, has expired or does not cover this
 * photo is refused (403, audited as access.denied).
 * A failure to serve it (gone by retention, failed its hash) is recorded all the same.
 */
export const ImagesHttpLayer = HttpApiBuilder.group(AlprApi, "images", (handlers) =>
  Effect.gen(function*() {
    const images = yield* Images
    const audit = yield* Audit
    const accounts = yield* Accounts
    const displays = yield* Displays
    const reasonOf = yield* makeReasonOf
    const photoViews = yield* makePhotoViews
    return handlers.handleRaw("image", ({ path, urlParams }) =>
      Effect.gen(function*() {
        const user = yield* CurrentUser
        const info = yield* requestInfo
        const { address } = info
        // The endpoint admits viewers, for plate crops; a scene photo needs an operator.
        if (path.kind === "scene") yield* requireRole(accounts, user, "operator")
        if (user.display && !(yield* displays.shows(String(path.id), user))) {
          yield* deny(accounts, user, "a wall display may see the plate crops of what the wall shows only")
        }
        if (urlParams.view !== undefined) {
          const target = `GET /api/v1/detections/${path.id}/images/${path.kind}`
          const viewId = yield* photoViews.check(urlParams.view, user, String(path.id), path.kind, urlParams.event).pipe(
            // The token stays out of the log: the target is the path alone.
            Effect.catchAll((refusal) =>
              accounts.denied(user, target, info).pipe(
                Effect.orDie,
                Effect.zipRight(new Forbidden({ message: refusal.message }))
              ))
          )
          const { bytes } = yield* images.read(path.id, path.kind).pipe(
            Effect.tapError((error) =>
              audit.record({
                actor: user,
                address,
                action: "image.view",
                target: `detection:${path.id}/${path.kind}`,
                details: { view: viewId, error: error._tag },
                outcome: "failure"
              }))
          )
          return served(bytes)
        }
        const reason = yield* reasonOf(givenReason(urlParams), "open the photo", { required: path.kind === "scene" })
        const record = (outcome: "success" | "failure", details: Record<string, unknown> = {}) =>
          audit.record({
            actor: user,
            address,
            action: "image.view",
            target: `detection:${path.id}/${path.kind}`,
            reason: reason.text,
            details: { ...reasonDetails(reason), ...details },
            outcome
          })
        const { bytes } = yield* images.read(path.id, path.kind).pipe(
          Effect.tapError((error) => record("failure", { error: error._tag }))
        )
        yield* record("success")
        return served(bytes)
      }).pipe(Effect.catchTags({ SqlError: Effect.die, ObjectStoreError: Effect.die })))
  }))
