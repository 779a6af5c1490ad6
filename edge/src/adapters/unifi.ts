import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { CameraContext, CameraRead, Parsed } from "./CameraRead"
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
  text,
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
 * - a Protect event (`modelKey: "event"`, as the console's events list and its updates websocket
 *   give it, see pull/unifiPoll.ts): with `licensePlate` among its `smartDetectTypes`, the plate is
 *   the `group.matchedName` of its `vehicle` detected thumbnail, scored by `group.confidence` 0-100,
 *   with the vehicle's attributes (colour, vehicle type) and `clockBestWall`, the time of the best
 *   frame (as uiprotect's `Event.get_detected_thumbnail` reads it). An events list (a JSON array)
 *   is its events' reads.
 *
 * Identity: `unifi:<eventId>` for all three, so the webhook, the track and the event of one event are
 * one detection. The camera is `unifi:<MAC>` from a webhook and `unifi:<Protect camera id>` from a
 * track or an event (neither carries the MAC): configure the camera to give both the same id.
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
// Protect event (events list, updates websocket)

const GroupMatch = Schema.Struct({
  matchedName: optional(Schema.NullOr(Schema.String)),
  confidence: optional(Numeric)
})

const DetectedThumbnail = Schema.Struct({
  type: Schema.String,
  name: optional(Schema.NullOr(Schema.String)),
  confidence: optional(Schema.NullOr(Numeric)),
  clockBestWall: optional(Schema.NullOr(Numeric)),
  group: optional(Schema.NullOr(GroupMatch)),
  attributes: optional(Schema.NullOr(Schema.Struct({
    color: optional(Schema.NullOr(Attribute)),
    vehicleType: optional(Schema.NullOr(Attribute))
  })))
})
type DetectedThumbnail = typeof DetectedThumbnail.Type

/** The fields of a Protect event that make a read; the rest (zones, weather, description) is not ours. */
export const ProtectEvent = Schema.Struct({
  id: Schema.String,
  start: Numeric,
  end: optional(Schema.NullOr(Numeric)),
  timestamp: optional(Schema.NullOr(Numeric)),
  camera: optional(Schema.NullOr(Schema.String)),
  smartDetectTypes: optional(Schema.Array(Schema.String)),
  thumbnail: optional(Schema.NullOr(Schema.String)),
  metadata: optional(Schema.NullOr(Schema.Struct({
    detectedThumbnails: optional(Schema.NullOr(Schema.Array(DetectedThumbnail)))
  })))
})
export type ProtectEvent = typeof ProtectEvent.Type

export const isPlateEvent = (event: { readonly smartDetectTypes?: ReadonlyArray<string> | undefined }): boolean =>
  event.smartDetectTypes?.includes("licensePlate") === true

const plateOf = (thumbnail: DetectedThumbnail): string | undefined => {
  const name = thumbnail.group?.matchedName
  return typeof name === "string" && name.trim() !== "" ? name : undefined
}

/**
 * The vehicle thumbnail that names the plate: the one Protect marked as the best frame
 * (`clockBestWall`), else the surest plate match. A vehicle tracked without a plate match has none.
 */
const plateThumbnail = (event: ProtectEvent): DetectedThumbnail | undefined => {
  const candidates = (event.metadata?.detectedThumbnails ?? []).filter((t) => t.type === "vehicle" && plateOf(t) !== undefined)
  return candidates.find((t) => typeof t.clockBestWall === "number") ??
    candidates.reduce<DetectedThumbnail | undefined>(
      (best, t) => best === undefined || (t.group?.confidence ?? 0) > (best.group?.confidence ?? 0) ? t : best,
      undefined
    )
}

/** Whether the event already names its plate (an event is updated several times while it lasts). */
export const protectEventHasPlate = (event: ProtectEvent): boolean => plateThumbnail(event) !== undefined

/**
 * The read of one Protect event: none for an event that is not a licence plate detection (a person,
 * motion), a vehicle seen without a plate (counted) when Protect matched no plate.
 */
export const protectEventReads = (event: ProtectEvent, ctx: CameraContext): Decoded<Parsed> =>
  Either.gen(function*() {
    if (!isPlateEvent(event)) return { reads: [], noPlate: 0 }
    const best = plateThumbnail(event)
    const ms = best?.clockBestWall ?? event.timestamp ?? event.start
    const name = text(best?.name ?? undefined)
    return yield* collect(VENDOR, [{
      eventId: event.id,
      timestamp: yield* required(VENDOR, fromEpochMillis(ms), `event ${event.id}: time ${ms} is not a time in ms`),
      camera: cameraRef(VENDOR, ctx, event.camera === undefined || event.camera === null ? {} : { key: event.camera }),
      plate: best === undefined ? undefined : plateOf(best),
      confidence: best?.group?.confidence === undefined ? UNSCORED : fromPercent(best.group.confidence),
      vehicle: {
        type: lowerAttribute(best?.attributes?.vehicleType?.val),
        color: lowerAttribute(best?.attributes?.color?.val)
      },
      location: ctx.location,
      // The name given to a known vehicle in Protect, which the read has no field for.
      source: name === undefined ? undefined : { protect_name: name }
    }])
  })

const eventReads = (body: unknown, ctx: CameraContext): Decoded<Parsed> =>
  Either.flatMap(decodeWith(VENDOR, ProtectEvent, body), (event) => protectEventReads(event, ctx))

/** An events list: every event's reads; one malformed event refuses the list, with its position. */
const eventListReads = (list: ReadonlyArray<unknown>, ctx: CameraContext): Decoded<Parsed> =>
  Either.gen(function*() {
    const reads: Array<CameraRead> = []
    let noPlate = 0
    for (const [i, item] of list.entries()) {
      const parsed = eventReads(item, ctx)
      if (Either.isLeft(parsed)) return yield* refuse(VENDOR, `event ${i + 1} of ${list.length}: ${parsed.left.message}`)
      reads.push(...parsed.right.reads)
      noPlate += parsed.right.noPlate
    }
    return { reads, noPlate }
  })

// ---------------------------------------------------------------------------------------------

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null

/**
 * An Alarm Manager webhook (it has `alarm`), a smartDetectTrack (it has `payload`), a Protect event
 * (`modelKey: "event"`) or an events list (an array).
 */
export const parseUnifi = (body: Uint8Array, ctx: CameraContext): Decoded<Parsed> =>
  Either.gen(function*() {
    const json = yield* decodeJson(VENDOR, yield* decodeText(VENDOR, body))
    if (Array.isArray(json)) return yield* eventListReads(json, ctx)
    if (isObject(json) && "alarm" in json) return yield* webhookReads(json, ctx)
    if (isObject(json) && "payload" in json) return yield* trackReads(json, ctx)
    if (isObject(json) && json["modelKey"] === "event") return yield* eventReads(json, ctx)
    return yield* refuse(
      VENDOR,
      "expected an Alarm Manager webhook (alarm.triggers), a smartDetectTrack (payload), a Protect event (modelKey \"event\") or a list of events"
    )
  })
