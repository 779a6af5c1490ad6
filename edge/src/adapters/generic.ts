import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { CameraContext, Parsed } from "./CameraRead"
import { decodeJson, decodeText, decodeWith, type Decoded, optional, required } from "./decode"
import {
  attribute,
  cameraRef,
  collect,
  direction,
  fromEpochMillis,
  inlineImage,
  isoTime,
  lowerAttribute,
  type Sighting,
  text
} from "./reads"

/**
 * The generic JSON webhook, for any camera or recogniser that can post JSON: one event, or
 * `{"events": [event, ...]}`. An event is the Detection of ARCHITECTURE.md with a few allowances
 * and two optional photo fields:
 *
 * ```json
 * {
 *   "detection_id": "gate-1/20260501-120000-3",      // optional; kept as given. Without it the id
 *                                                    //   is generic:<fingerprint of camera, time, plate>
 *   "timestamp": "2026-05-01T12:00:00-04:00",        // ISO 8601; without an offset it is in the
 *                                                    //   configured time zone, else UTC. Or ms since the epoch.
 *   "camera": { "id": "gate-1", "mac": "AA:BB:CC:DD:EE:FF", "name": "Main gate" },  // optional, each field too
 *   "plate": { "text": "ABC 1234", "confidence": 0.93 },  // confidence 0..1; no plate: omit `plate`,
 *                                                    //   or text "" / "unknown", or confidence 0
 *   "vehicle": { "direction": "approaching", "type": "car", "color": "white", "make": "Toyota" },  // optional
 *   "location": { "lat": 41.1, "lon": -74.0 },       // optional
 *   "plate_image": "<base64 or data: URL>",          // optional; JPEG, PNG, GIF or WebP
 *   "scene_image": "<base64 or data: URL>"           // optional
 * }
 * ```
 *
 * The configured camera id, when there is one, replaces `camera.id`. Fields are checked as the
 * Detection contract checks them; one invalid event refuses the payload, with the event's index.
 */

const VENDOR = "generic"

const OptionalText = optional(Schema.String)

const GenericEvent = Schema.Struct({
  detection_id: OptionalText,
  timestamp: Schema.Union(Schema.String, Schema.Number),
  camera: optional(Schema.Struct({ id: OptionalText, mac: OptionalText, name: OptionalText })),
  plate: optional(Schema.Struct({ text: Schema.String, confidence: Schema.Number })),
  vehicle: optional(Schema.Struct({ direction: OptionalText, type: OptionalText, color: OptionalText, make: OptionalText })),
  location: optional(Schema.Struct({ lat: Schema.Number, lon: Schema.Number })),
  plate_image: OptionalText,
  scene_image: OptionalText
})
type GenericEvent = typeof GenericEvent.Type

const GenericBatch = Schema.Struct({ events: Schema.Array(GenericEvent) })

const timestampOf = (value: string | number, ctx: CameraContext) =>
  typeof value === "number" ? fromEpochMillis(value) : isoTime(value, ctx.timeZone)

const sighting = (event: GenericEvent, where: string, ctx: CameraContext): Decoded<Sighting> =>
  Either.gen(function*() {
    const camera = event.camera ?? {}
    const cameraId = ctx.cameraId ?? text(camera.id)
    return {
      detectionId: event.detection_id,
      timestamp: yield* required(
        VENDOR,
        timestampOf(event.timestamp, ctx),
        `${where}timestamp ${JSON.stringify(event.timestamp)} is not an ISO 8601 time or ms since the epoch`
      ),
      camera: cameraRef(VENDOR, cameraId === undefined ? ctx : { ...ctx, cameraId }, { mac: camera.mac, name: camera.name }),
      plate: event.plate?.text,
      confidence: event.plate?.confidence ?? 0,
      vehicle: {
        direction: direction({}, event.vehicle?.direction),
        type: lowerAttribute(event.vehicle?.type),
        color: lowerAttribute(event.vehicle?.color),
        make: attribute(event.vehicle?.make)
      },
      location: event.location ?? ctx.location,
      images: [
        yield* inlineImage(VENDOR, "plate", `${where}plate_image`, event.plate_image),
        yield* inlineImage(VENDOR, "scene", `${where}scene_image`, event.scene_image)
      ]
    }
  })

const isBatch = (json: unknown) => typeof json === "object" && json !== null && "events" in json

export const parseGeneric = (body: Uint8Array, ctx: CameraContext): Decoded<Parsed> =>
  Either.gen(function*() {
    const json = yield* decodeJson(VENDOR, yield* decodeText(VENDOR, body))
    const sightings: Array<Sighting> = []
    if (isBatch(json)) {
      const { events } = yield* decodeWith(VENDOR, GenericBatch, json)
      for (const [i, event] of events.entries()) sightings.push(yield* sighting(event, `events[${i}].`, ctx))
    } else {
      sightings.push(yield* sighting(yield* decodeWith(VENDOR, GenericEvent, json), "", ctx))
    }
    return yield* collect(VENDOR, sightings)
  })
