import * as Schema from "effect/Schema"
import { isPlateRead } from "./Plate"

/** Text as cameras send it: surrounding white space is dropped, what is left must be there. */
const Text = (max: number) =>
  Schema.Trim.pipe(Schema.minLength(1, { message: () => "must not be empty" }), Schema.maxLength(max))
const OptionalText = (max: number) => Schema.optional(Schema.String.pipe(Schema.maxLength(max)))

/** ISO 8601 with an explicit offset (`Z` or `+hh:mm`); a time without one is ambiguous evidence. */
export const IsoTimestamp = Schema.String.pipe(
  Schema.pattern(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i, {
    message: () => "expected an ISO 8601 time with an offset, such as 2026-05-01T12:00:00Z"
  }),
  Schema.filter((s) => !Number.isNaN(Date.parse(s)) || "not a real calendar time")
)

export const CameraRef = Schema.Struct({
  id: Text(200),
  mac: Text(64),
  name: OptionalText(200)
})

export const PlateRead = Schema.Struct({
  text: Text(32).pipe(
    Schema.filter((t) => isPlateRead(t) || "plate text has no letters or digits")
  ),
  normalized: OptionalText(32),
  confidence: Schema.Number.pipe(
    Schema.between(0, 1, { message: () => "confidence must be between 0 and 1" })
  )
})

export const Vehicle = Schema.Struct({
  direction: OptionalText(32),
  type: OptionalText(64),
  color: OptionalText(64),
  make: OptionalText(64)
})

export const Location = Schema.Struct({
  lat: Schema.Number.pipe(Schema.between(-90, 90)),
  lon: Schema.Number.pipe(Schema.between(-180, 180))
})

/** The most JSON a read's `source` may hold, in bytes (UTF-8). */
export const MAX_SOURCE_BYTES = 16 * 1024

/** The size of `value` as JSON in UTF-8 bytes, or Infinity when it is no JSON value. */
export const jsonBytes = (value: unknown): number => {
  try {
    const json = JSON.stringify(value)
    return json === undefined ? Infinity : new TextEncoder().encode(json).length
  } catch {
    return Infinity
  }
}

/**
 * What the vendor sent with a read that a Detection has no field for (a recogniser's other candidate
 * plates, a recorder's alert and clip paths): kept with the stored read, as part of its `raw`, for
 * whoever examines the read later; never searched or shown as the read.
 */
export const Source = Schema.Record({ key: Schema.String, value: Schema.Unknown }).pipe(
  Schema.filter((source) =>
    jsonBytes(source) <= MAX_SOURCE_BYTES || `source is at most ${MAX_SOURCE_BYTES / 1024} KiB of JSON`
  )
)

/** One plate read by one camera, as collectors send it (ARCHITECTURE.md, "Detection"). */
export const Detection = Schema.Struct({
  detection_id: Text(200),
  timestamp: IsoTimestamp,
  /**
   * when the collector received the read, by its own clock: the camera clock's offset is measured
   * against it (additive; older collectors omit it)
   */
  received_at: Schema.optional(IsoTimestamp),
  camera: CameraRef,
  plate: PlateRead,
  vehicle: Schema.optional(Vehicle),
  location: Schema.optional(Location),
  source: Schema.optional(Source)
})
export type Detection = typeof Detection.Type

export const MAX_BATCH_EVENTS = 100
export const MAX_BATCH_BYTES = 5 * 1024 * 1024

/**
 * The batch as it travels. Events are validated one by one by the server so that one bad event
 * never costs the others their place; the declared element type documents what a valid one is.
 */
export const DetectionBatch = Schema.Struct({
  events: Schema.Array(Detection)
})
export type DetectionBatch = typeof DetectionBatch.Type

export const BatchError = Schema.Struct({
  index: Schema.Int,
  detection_id: Schema.optional(Schema.String),
  message: Schema.String
})
export type BatchError = typeof BatchError.Type

export const BatchResult = Schema.Struct({
  accepted: Schema.Int,
  duplicates: Schema.Int,
  rejected: Schema.Int,
  errors: Schema.Array(BatchError)
})
export type BatchResult = typeof BatchResult.Type

export const ImageKind = Schema.Literal("plate", "scene")
export type ImageKind = typeof ImageKind.Type

/** Multipart part name carrying an image for one detection: `plate:<detection_id>`. */
export const imagePartName = (kind: ImageKind, detectionId: string): string => `${kind}:${detectionId}`

/** The image types evidence photos may have: the central server takes no other. */
export const IMAGE_TYPES = ["image/jpeg", "image/png", "image/webp"] as const
export type ImageType = typeof IMAGE_TYPES[number]

const startsWith = (bytes: Uint8Array, signature: ReadonlyArray<number>, at = 0) =>
  signature.every((byte, i) => bytes[at + i] === byte)

/**
 * The type of an image from its first bytes (its signature), whatever it was labelled: a label is
 * the sender's word, and a photo served under a type a browser would run (HTML, SVG) is a script.
 */
export const sniffImageType = (bytes: Uint8Array): ImageType | undefined => {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return "image/jpeg"
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "image/png"
  if (startsWith(bytes, [0x52, 0x49, 0x46, 0x46]) && startsWith(bytes, [0x57, 0x45, 0x42, 0x50], 8)) return "image/webp"
  return undefined
}
