import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { CameraContext, Parsed } from "./CameraRead"
import { decodeJson, decodeText, decodeWith, type Decoded, Numeric, optional, refuse, required } from "./decode"
import {
  cameraRef,
  collect,
  fromEpochMillis,
  fromPercent,
  hasPlate,
  inlineImage,
  lowerAttribute,
  type Sighting,
  UNSCORED
} from "./reads"

/**
 * UniFi Protect (AI LPR cameras), in the two forms a collector meets:
 *
 * - an Alarm Manager webhook: `alarm.triggers[]`, one per detection, with `key`
 *   `license_plate_unknown` / `license_plate_known` / `license_plate_of_interest`, the plate in
 *   `value`, the camera's MAC in `device`, `eventId`, `timestamp` in ms, and with "use thumbnails"
 *   on, `alarm.thumbnail` as a JPEG `data:` URL. It carries no confidence (see UNSCORED);
 * - a Protect event's smartDetectTrack: the frames of one tracked vehicle (`payload[]`), each with
 *   `licensePlate`, `confidence` 0-100, `timestamp` in ms and attributes (colour, vehicle type).
 *
 * Identity: `unifi:<eventId>` for both, so the webhook and the track of one event are one detection.
 * The camera is `unifi:<MAC>` from a webhook and `unifi:<Protect camera id>` from a track (a track
 * does not carry the MAC): configure the camera to give both the same id.
 */

const VENDOR = "unifi"

// ---------------------------------------------------------------------------------------------
// Alarm Manager webhook

const Trigger = Schema.Struct({
  key: Schema.String,
  device: optional(Schema.String),
  value: optional(Schema.String),
  eventId: optional(Schema.String),
  timestamp: optional(Numeric)
})

const AlarmWebhook = Schema.Struct({
  alarm: Schema.Struct({
    triggers: Schema.Array(Trigger),
    thumbnail: optional(Schema.String)
  }),
  timestamp: optional(Numeric)
})

const isPlateTrigger = (trigger: typeof Trigger.Type) => trigger.key.startsWith("license_plate")

const webhookReads = (body: unknown, ctx: CameraContext): Decoded<Parsed> =>
  Either.gen(function*() {
    const webhook = yield* decodeWith(VENDOR, AlarmWebhook, body)
    // The same alarm may also fire on people or motion: only plate triggers are reads.
    const triggers = webhook.alarm.triggers.filter(isPlateTrigger)
    const thumbnail = yield* inlineImage(VENDOR, "scene", "alarm.thumbnail", webhook.alarm.thumbnail)
    const sightings: Array<Sighting> = []
    for (const [i, trigger] of triggers.entries()) {
      const ms = trigger.timestamp ?? webhook.timestamp
      sightings.push({
        eventId: trigger.eventId,
        timestamp: yield* required(
          VENDOR,
          ms === undefined ? undefined : fromEpochMillis(ms),
          `the plate trigger ${i + 1} has no timestamp in milliseconds`
        ),
        camera: cameraRef(VENDOR, ctx, { mac: trigger.device }),
        plate: trigger.value,
        confidence: UNSCORED,
        location: ctx.location,
        images: [thumbnail]
      })
    }
    return yield* collect(VENDOR, sightings)
  })

// ---------------------------------------------------------------------------------------------
// smartDetectTrack

const Attribute = Schema.Struct({ val: Schema.String, confidence: Numeric })

const TrackFrame = Schema.Struct({
  timestamp: Numeric,
  confidence: Numeric,
  licensePlate: optional(Schema.NullOr(Schema.String)),
  attributes: optional(Schema.NullOr(Schema.Struct({
    color: optional(Attribute),
    vehicleType: optional(Attribute)
  })))
})
type TrackFrame = typeof TrackFrame.Type

const SmartDetectTrack = Schema.Struct({
  event: Schema.String,
  camera: Schema.String,
  payload: Schema.Array(TrackFrame)
})

/**
 * The frame whose plate the camera was surest of; the earliest among equals. Protect reads the plate
 * again in every frame as the vehicle passes; the most confident read is the one it would show, and
 * its frame's time is when the plate was best in view.
 */
const bestPlateFrame = (frames: ReadonlyArray<TrackFrame>): TrackFrame | undefined =>
  frames.reduce<TrackFrame | undefined>(
    (best, frame) =>
      typeof frame.licensePlate === "string" && hasPlate(frame.licensePlate, frame.confidence) &&
        (best === undefined || frame.confidence > best.confidence)
        ? frame
        : best,
    undefined
  )

/** An attribute's most confident value over the track: attributes are classified apart from the plate. */
const bestAttribute = (frames: ReadonlyArray<TrackFrame>, name: "color" | "vehicleType"): string | undefined =>
  frames
    .map((frame) => frame.attributes?.[name])
    .reduce<typeof Attribute.Type | undefined>(
      (best, a) => a !== undefined && (best === undefined || a.confidence > best.confidence) ? a : best,
      undefined
    )?.val

const trackReads = (body: unknown, ctx: CameraContext): Decoded<Parsed> =>
  Either.gen(function*() {
    const track = yield* decodeWith(VENDOR, SmartDetectTrack, body)
    const first = track.payload[0]
    if (first === undefined) return { reads: [], noPlate: 0 }
    const best = bestPlateFrame(track.payload)
    const frame = best ?? first
    return yield* collect(VENDOR, [{
      eventId: track.event,
      timestamp: yield* required(
        VENDOR,
        fromEpochMillis(frame.timestamp),
        `payload timestamp ${frame.timestamp} is not a time in ms`
      ),
      camera: cameraRef(VENDOR, ctx, { key: track.camera }),
      plate: best?.licensePlate ?? undefined,
      confidence: best === undefined ? 0 : fromPercent(best.confidence),
      vehicle: {
        type: lowerAttribute(bestAttribute(track.payload, "vehicleType")),
        color: lowerAttribute(bestAttribute(track.payload, "color"))
      },
      location: ctx.location
    }])
  })

// ---------------------------------------------------------------------------------------------

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null

/** An Alarm Manager webhook (it has `alarm`) or a smartDetectTrack (it has `payload`). */
export const parseUnifi = (body: Uint8Array, ctx: CameraContext): Decoded<Parsed> =>
  Either.gen(function*() {
    const json = yield* decodeJson(VENDOR, yield* decodeText(VENDOR, body))
    if (isObject(json) && "alarm" in json) return yield* webhookReads(json, ctx)
    if (isObject(json) && "payload" in json) return yield* trackReads(json, ctx)
    return yield* refuse(VENDOR, "expected an Alarm Manager webhook (alarm.triggers) or a smartDetectTrack (payload)")
  })
