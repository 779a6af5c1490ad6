import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { CameraContext, CameraImage, Parsed } from "./CameraRead"
import {
  decodeJson,
  decodeMultipart,
  decodeText,
  decodeWith,
  type Decoded,
  type FormPart,
  isMultipart,
  Numeric,
  optional,
  required,
  sniffMultipartType
} from "./decode"
import { cameraRef, collect, type Direction, direction, fromEpochMillis, image, location } from "./reads"

/**
 * AXIS License Plate Verifier (the `fflprapp` ACAP) event push: a multipart POST with an `event`
 * part (JSON) and an `image` part (the picture named by `imageType`: `plate` is the plate crop,
 * anything else a wider view), or the event JSON alone.
 *
 * Confidence: `plateConfidence` is already 0..1. Time: `capture_timestamp`, ms since the epoch
 * (`datetime` is the camera's local time without an offset, so it is not used).
 * Direction: `carMoveDirection` `in` is approaching, `out` leaving.
 * Identity: no event id (`carID` and `packetCounter` restart with the app), so a fingerprint; the
 * camera is `axis:<serial number>`.
 */

const VENDOR = "axis"

const DIRECTIONS: Readonly<Record<string, Direction>> = { in: "approaching", out: "leaving" }

const AxisEvent = Schema.Struct({
  capture_timestamp: Numeric,
  plateUTF8: optional(Schema.String),
  plateText: optional(Schema.String),
  plateConfidence: Numeric,
  carMoveDirection: optional(Schema.String),
  imageType: optional(Schema.String),
  geotag: optional(Schema.Struct({ lat: Numeric, lon: Numeric })),
  camera_info: optional(Schema.Struct({
    SerialNumber: optional(Schema.String),
    MACAddress: optional(Schema.String)
  }))
})

const eventReads = (json: unknown, picture: FormPart | undefined, ctx: CameraContext): Decoded<Parsed> =>
  Either.gen(function*() {
    const event = yield* decodeWith(VENDOR, AxisEvent, json)
    const kind: CameraImage["kind"] = event.imageType?.trim().toLowerCase() === "plate" ? "plate" : "scene"
    return yield* collect(VENDOR, [{
      timestamp: yield* required(
        VENDOR,
        fromEpochMillis(event.capture_timestamp),
        `capture_timestamp ${event.capture_timestamp} is not a time in ms`
      ),
      camera: cameraRef(VENDOR, ctx, { key: event.camera_info?.SerialNumber, mac: event.camera_info?.MACAddress }),
      plate: event.plateUTF8 ?? event.plateText,
      confidence: event.plateConfidence,
      vehicle: { direction: direction(DIRECTIONS, event.carMoveDirection) },
      location: location(event.geotag?.lat, event.geotag?.lon) ?? ctx.location,
      images: picture === undefined ? [] : [yield* image(VENDOR, kind, "part image", picture.bytes)]
    }])
  })

/** The multipart push: the `event` part and its `image`. */
const pushReads = (body: Uint8Array, contentType: string, ctx: CameraContext): Decoded<Parsed> =>
  Either.gen(function*() {
    const parts = yield* decodeMultipart(VENDOR, body, contentType)
    const eventPart = yield* required(VENDOR, parts.find((p) => p.name === "event"), "the multipart body has no event part")
    const json = yield* decodeJson(VENDOR, yield* decodeText(VENDOR, eventPart.bytes))
    return yield* eventReads(json, parts.find((p) => p.name === "image"), ctx)
  })

/** The multipart push, or the event JSON alone. */
export const parseAxis = (body: Uint8Array, contentType: string | undefined, ctx: CameraContext): Decoded<Parsed> => {
  const multipartType = isMultipart(contentType) ? contentType : sniffMultipartType(body)
  if (multipartType !== undefined) return pushReads(body, multipartType, ctx)
  return Either.gen(function*() {
    const json = yield* decodeJson(VENDOR, yield* decodeText(VENDOR, body))
    return yield* eventReads(json, undefined, ctx)
  })
}
