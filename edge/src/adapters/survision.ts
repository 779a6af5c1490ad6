import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { CameraContext, Parsed } from "./CameraRead"
import { decodeJson, decodeText, decodeWith, type Decoded, Numeric, optional, required } from "./decode"
import { cameraRef, collect, type Direction, direction, fromEpochMillis, fromPercent, inlineImage } from "./reads"

/**
 * Survision ANPR camera push (JSON): `anpr.@date` (ms since the epoch) and one `anpr.decision` with
 * `@plate`, `@reliability` (0-100), `@direction` and the picture inline in base64 (`jpeg`). The
 * picture in the sample is the full 1920x1088 frame, so it is kept as the scene.
 *
 * Direction: `front` (the front plate was read: approaching) and `rear` (leaving).
 * Identity: no event id (`@session`/`@id` restart with the camera), so a fingerprint. The payload
 * does not name its camera (Survision puts the serial number in an HTTP header), so the camera comes
 * from the configuration.
 */

const VENDOR = "survision"

const DIRECTIONS: Readonly<Record<string, Direction>> = { front: "approaching", rear: "leaving" }

const SurvisionPush = Schema.Struct({
  anpr: Schema.Struct({
    "@date": Numeric,
    decision: Schema.Struct({
      "@plate": optional(Schema.String),
      "@reliability": Numeric,
      "@direction": optional(Schema.String),
      jpeg: optional(Schema.String)
    })
  })
})

export const parseSurvision = (body: Uint8Array, ctx: CameraContext): Decoded<Parsed> =>
  Either.gen(function*() {
    const { anpr } = yield* decodeWith(VENDOR, SurvisionPush, yield* decodeJson(VENDOR, yield* decodeText(VENDOR, body)))
    return yield* collect(VENDOR, [{
      timestamp: yield* required(VENDOR, fromEpochMillis(anpr["@date"]), `anpr.@date ${anpr["@date"]} is not a time in ms`),
      camera: cameraRef(VENDOR, ctx, {}),
      plate: anpr.decision["@plate"],
      confidence: fromPercent(anpr.decision["@reliability"]),
      vehicle: { direction: direction(DIRECTIONS, anpr.decision["@direction"]) },
      location: ctx.location,
      images: [yield* inlineImage(VENDOR, "scene", "anpr.decision.jpeg", anpr.decision.jpeg)]
    }])
  })
