import * as Schema from "effect/Schema"

/**
 * How a case names its reads, the same for an evidence export and a legal hold: exactly one of a
 * plate, a list of read ids, or a camera with a time range. Which of them was given, and that the
 * range is whole, is checked by the service that takes the request (a 400 naming what is missing).
 */

/** A point in time as a request carries it. */
export const Instant = Schema.Date.annotations({ message: () => "a time is ISO 8601, e.g. 2026-11-29T14:00:00Z" })

/** A read's id as the contracts carry it: its decimal digits. */
export const DetectionIdText = Schema.String.pipe(
  Schema.pattern(/^[1-9][0-9]{0,17}$/, { message: () => "a read's id is its number, e.g. \"1234\"" })
)

/** The fields of a selection, with at most `maxListed` reads listed by id. */
export const readSelectionFields = (maxListed: number) => ({
  plate: Schema.optional(Schema.String.pipe(
    Schema.filter((s) => s.trim().length > 0 || "plate is empty"),
    Schema.maxLength(32, { message: () => "plate is at most 32 characters" })
  )),
  detections: Schema.optional(Schema.Array(DetectionIdText).pipe(
    Schema.minItems(1, { message: () => "detections lists at least one read" }),
    Schema.maxItems(maxListed, { message: () => `detections lists at most ${maxListed} reads` })
  )),
  camera_id: Schema.optional(Schema.UUID.annotations({ message: () => "camera_id is a camera's UUID" })),
  /** with `camera_id` */
  from: Schema.optional(Instant),
  /** with `camera_id` */
  to: Schema.optional(Instant)
})
