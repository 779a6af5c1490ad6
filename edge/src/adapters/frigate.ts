import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { CameraContext, CameraRead, Parsed } from "./CameraRead"
import { decodeJson, decodeText, decodeWith, type Decoded, optional, refuse, required } from "./decode"
import { cameraRef, collect, fromEpochMillis, lowerAttribute, text, UNSCORED } from "./reads"

/**
 * Frigate (NVR, 0.16+), which reads plates itself and tells them over MQTT, in two messages:
 *
 * - `frigate/events` `{type: new|update|end, before, after}`: a tracked object as it changed. The
 *   plate is `after.recognized_license_plate`; Frigate's documentation shows it as text beside
 *   `recognized_license_plate_score`, while the message Frigate builds (`TrackedObject.to_dict`,
 *   filled by `set_object_attribute`) carries it as `[plate, score]`: both are read. Time:
 *   `after.frame_time` (the frame the object was last seen in), else `start_time`.
 * - `frigate/tracked_object_update` with `type: lpr` (`id`, `camera`, `plate`, `score`,
 *   `timestamp`, `name` of a known plate, `plate_box`). Its other types (description, face,
 *   classification) hold no plate.
 *
 * A message without a plate (a car not read yet, a person) is nothing to store, not an error: the
 * events of one object keep coming until it is read or gone. One read per tracked object: its id is
 * `frigate:<event id>`, the same from either message and from every update, so an object is one
 * read however often it is told. Frigate's scores are 0..1; a plate given without a score was still
 * past Frigate's `recognition_threshold`, so it counts as certain (`UNSCORED`). The camera is the
 * configuration's, else `frigate:<Frigate camera name>`; the event id, the Frigate camera name,
 * the label, a known plate's name, zones and the plate box go with the read as its `source`.
 */

const VENDOR = "frigate"

/** Frigate's object labels that are a kind of vehicle; others (`license_plate` of a dedicated LPR camera) say nothing of it. */
const VEHICLE_LABELS = new Set(["car", "motorcycle", "bus", "truck", "bicycle", "boat"])

const Seconds = Schema.Number.pipe(Schema.finite())

/** `[value, score]` as Frigate keeps an object's attributes (`sub_label`, `recognized_license_plate`). */
const Scored = Schema.Tuple(Schema.NullOr(Schema.String), Schema.NullOr(Schema.Number))

const TrackedObject = Schema.Struct({
  id: Schema.String,
  camera: Schema.String,
  label: Schema.String,
  frame_time: optional(Schema.NullOr(Seconds)),
  start_time: Seconds,
  end_time: optional(Schema.NullOr(Seconds)),
  sub_label: optional(Schema.NullOr(Schema.Union(Schema.String, Scored))),
  recognized_license_plate: optional(Schema.NullOr(Schema.Union(Schema.String, Scored))),
  recognized_license_plate_score: optional(Schema.NullOr(Schema.Number)),
  current_zones: optional(Schema.Array(Schema.String)),
  entered_zones: optional(Schema.Array(Schema.String))
})
type TrackedObject = typeof TrackedObject.Type

const EVENT_TYPES = ["new", "update", "end"] as const

const EventMessage = Schema.Struct({
  type: Schema.Literal(...EVENT_TYPES),
  after: TrackedObject
})

const LprUpdate = Schema.Struct({
  type: Schema.Literal("lpr"),
  id: Schema.String,
  camera: Schema.String,
  plate: Schema.String,
  score: optional(Schema.NullOr(Schema.Number)),
  timestamp: Seconds,
  name: optional(Schema.NullOr(Schema.String)),
  plate_box: optional(Schema.NullOr(Schema.Array(Schema.Number)))
})

/** Any tracked_object_update: every type carries the object's id. */
const ObjectUpdate = Schema.Struct({ type: Schema.String, id: Schema.String, camera: optional(Schema.String) })

/** What one Frigate message says, for the MQTT source that follows each tracked object to its end. */
export interface FrigateMessage {
  /** `events` (with its type) or a tracked_object_update */
  readonly kind: "new" | "update" | "end" | "tracked_object_update"
  /** the tracked object's id (Frigate's event id) */
  readonly eventId: string
  /** the Frigate camera's name; absent from some tracked_object_update types (description) */
  readonly camera: string | undefined
  /** the plate read, when the message has one */
  readonly read: CameraRead | undefined
  /** the message had a plate-shaped value that is no plate (empty, confidence 0) */
  readonly noPlate: number
}

const time = (seconds: number, what: string): Decoded<string> =>
  required(VENDOR, fromEpochMillis(Math.round(seconds * 1000)), `${what} ${seconds} is not a time in seconds since the epoch`)

/** The read of one sighting, or none: `collect` applies the plate rules and the Detection schema. */
const single = (parsed: Parsed) => ({ read: parsed.reads[0], noPlate: parsed.noPlate })

/** A plate and its score, from the text-and-score form or the `[plate, score]` form. */
const plateOf = (object: TrackedObject): { readonly plate: string; readonly score: number } | undefined => {
  const value = object.recognized_license_plate
  if (value === undefined || value === null) return undefined
  const [plate, score] = typeof value === "string" ? [value, object.recognized_license_plate_score] : value
  const kept = text(plate ?? undefined)
  return kept === undefined ? undefined : { plate: kept, score: score ?? UNSCORED }
}

const nameOf = (subLabel: TrackedObject["sub_label"]) =>
  subLabel === undefined || subLabel === null ? undefined : typeof subLabel === "string" ? subLabel : subLabel[0] ?? undefined

/** The source of a read: only what is there. */
const kept = (fields: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined && v !== null))

const eventMessage = (json: unknown, ctx: CameraContext): Decoded<FrigateMessage> =>
  Either.gen(function*() {
    const { after, type } = yield* decodeWith(VENDOR, EventMessage, json)
    const base = { kind: type, eventId: after.id, camera: after.camera }
    const found = plateOf(after)
    if (found === undefined) return { ...base, read: undefined, noPlate: 0 }
    const timestamp = yield* time(after.frame_time ?? after.start_time, after.frame_time == null ? "start_time" : "frame_time")
    return {
      ...base,
      ...single(
        yield* collect(VENDOR, [{
          eventId: after.id,
          timestamp,
          camera: cameraRef(VENDOR, ctx, { key: after.camera, name: after.camera }),
          plate: found.plate.toUpperCase(),
          confidence: found.score,
          vehicle: { type: VEHICLE_LABELS.has(after.label) ? lowerAttribute(after.label) : undefined },
          location: ctx.location,
          source: kept({
            event_id: after.id,
            frigate_camera: after.camera,
            label: after.label,
            name: nameOf(after.sub_label),
            start_time: after.start_time,
            end_time: after.end_time,
            entered_zones: after.entered_zones?.length === 0 ? undefined : after.entered_zones
          })
        }])
      )
    }
  })

const objectUpdate = (json: unknown, ctx: CameraContext): Decoded<FrigateMessage> =>
  Either.gen(function*() {
    const update = yield* decodeWith(VENDOR, ObjectUpdate, json)
    if (update.type !== "lpr") {
      return { kind: "tracked_object_update", eventId: update.id, camera: update.camera, read: undefined, noPlate: 0 }
    }
    const lpr = yield* decodeWith(VENDOR, LprUpdate, json)
    return {
      kind: "tracked_object_update" as const,
      eventId: lpr.id,
      camera: lpr.camera,
      ...single(
        yield* collect(VENDOR, [{
          eventId: lpr.id,
          timestamp: yield* time(lpr.timestamp, "timestamp"),
          camera: cameraRef(VENDOR, ctx, { key: lpr.camera, name: lpr.camera }),
          plate: lpr.plate.toUpperCase(),
          confidence: lpr.score ?? UNSCORED,
          location: ctx.location,
          source: kept({ event_id: lpr.id, frigate_camera: lpr.camera, name: lpr.name, plate_box: lpr.plate_box })
        }])
      )
    }
  })

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** One message of `frigate/events` or `frigate/tracked_object_update`, told by its shape (the topic may carry any prefix). */
export const readFrigateMessage = (body: Uint8Array, ctx: CameraContext): Decoded<FrigateMessage> =>
  Either.gen(function*() {
    const json = yield* decodeJson(VENDOR, yield* decodeText(VENDOR, body))
    if (!isRecord(json)) return yield* refuse(VENDOR, "a Frigate message is a JSON object")
    if ("after" in json) {
      // Said here: the schema's message for a wrong literal names only the first one expected.
      if (!EVENT_TYPES.some((type) => json["type"] === type)) {
        return yield* refuse(VENDOR, `type ${JSON.stringify(json["type"]) ?? "(missing)"} is none of ${EVENT_TYPES.join(", ")}`)
      }
      return yield* eventMessage(json, ctx)
    }
    if ("type" in json && "id" in json) return yield* objectUpdate(json, ctx)
    return yield* refuse(VENDOR, "neither a frigate/events message (no `after`) nor a tracked_object_update (no `type` and `id`)")
  })

/** Either Frigate message as a payload (`edge parse --vendor frigate`, `POST /vendors/frigate`). */
export const parseFrigate = (body: Uint8Array, ctx: CameraContext): Decoded<Parsed> =>
  Either.map(readFrigateMessage(body, ctx), (message) => ({
    reads: message.read === undefined ? [] : [message.read],
    noPlate: message.noPlate
  }))
