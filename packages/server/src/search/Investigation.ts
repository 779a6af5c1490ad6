import * as Effect from "effect/Effect"
import { makeConvoy } from "./Convoy"
import { makeInquiry } from "./Inquiry"
import { makeMultiPlace } from "./MultiPlace"
import { makeMap } from "./PlateMap"
import { makeRoute } from "./Route"
import { makeTimeline } from "./Timeline"

/**
 * Investigating a plate: its timeline, map, route and convoy, and the plates seen at several incidents.
 * Each is a few statements driven by an index (the plate's reads by `(plate, detected_at)`, a camera's
 * by `(camera_id, detected_at)`), and each is audited with its parameters and the reason given.
 */
export class Investigation extends Effect.Service<Investigation>()("@chaverim/server/Investigation", {
  effect: Effect.gen(function*() {
    const inquiry = yield* makeInquiry
    return {
      timeline: makeTimeline(inquiry),
      map: makeMap(inquiry),
      route: makeRoute(inquiry),
      convoy: makeConvoy(inquiry),
      multiPlace: makeMultiPlace(inquiry)
    } as const
  })
}) {}
