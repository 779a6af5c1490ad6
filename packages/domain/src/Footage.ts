import * as Schema from "effect/Schema"
import { IsoTimestamp } from "./Detection"

/**
 * Footage in (issue 20): photos and video that people upload, whose plates a recogniser finds. The
 * original file is evidence; each plate found in it is a read of the camera the uploader names, at
 * the footage's start time plus the frame's offset.
 */

/** The picture formats taken, by what the file's first bytes say it is (never by its name). */
export const FOOTAGE_TYPES = {
  "image/jpeg": "jpg",
  "image/png": "png",
  "image/webp": "webp",
  "image/heic": "heic",
  "video/mp4": "mp4",
  "video/quicktime": "mov",
  "video/x-matroska": "mkv",
  "video/webm": "webm",
  "video/x-msvideo": "avi"
} as const
export type FootageType = keyof typeof FOOTAGE_TYPES

const startsWith = (bytes: Uint8Array, prefix: ReadonlyArray<number>, at = 0) =>
  bytes.length >= at + prefix.length && prefix.every((b, i) => bytes[at + i] === b)
const ascii = (bytes: Uint8Array, from: number, to: number) => String.fromCharCode(...bytes.subarray(from, to))

/** What the first bytes of a file (at least 16) say it is, of the footage types; undefined: none of them. */
export const sniffFootageType = (head: Uint8Array): FootageType | undefined => {
  if (startsWith(head, [0xff, 0xd8, 0xff])) return "image/jpeg"
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "image/png"
  if (startsWith(head, [0x52, 0x49, 0x46, 0x46])) {
    const form = ascii(head, 8, 12)
    if (form === "WEBP") return "image/webp"
    if (form === "AVI ") return "video/x-msvideo"
    return undefined
  }
  if (startsWith(head, [0x1a, 0x45, 0xdf, 0xa3])) {
    // EBML: Matroska or WebM, told apart by the DocType further in
    return ascii(head, 0, Math.min(head.length, 64)).includes("webm") ? "video/webm" : "video/x-matroska"
  }
  if (ascii(head, 4, 8) === "ftyp") {
    const brand = ascii(head, 8, 12)
    if (["heic", "heix", "heim", "heis", "mif1", "msf1"].includes(brand)) return "image/heic"
    if (brand === "qt  ") return "video/quicktime"
    return "video/mp4"
  }
  return undefined
}

/** What an upload says of its footage (the file itself comes beside it). */
export const FootageFacts = Schema.Struct({
  /** the camera (or phone, or place) the footage is from: its reads are that camera's */
  camera_name: Schema.Trim.pipe(
    Schema.minLength(1, { message: () => "camera_name must not be empty" }),
    Schema.maxLength(200, { message: () => "camera_name is at most 200 characters" }),
    Schema.filter((s) => !/[\u0000-\u001f\u007f]/.test(s) || "camera_name has no control characters")
  ),
  lat: Schema.optional(Schema.Number.pipe(Schema.between(-90, 90, { message: () => "lat is -90 to 90" }))),
  lon: Schema.optional(Schema.Number.pipe(Schema.between(-180, 180, { message: () => "lon is -180 to 180" }))),
  /** when the footage starts, when its container does not say (or says wrongly) */
  at: Schema.optional(IsoTimestamp),
  /** why it is uploaded: audited with it */
  reason: Schema.Trim.pipe(
    Schema.minLength(3, { message: () => "reason: say why the footage is uploaded (at least 3 characters)" }),
    Schema.maxLength(1000, { message: () => "reason is at most 1000 characters" })
  ),
  /** frames sampled per second of video (the server's FOOTAGE_FPS when absent) */
  fps: Schema.optional(Schema.Number.pipe(Schema.between(0.1, 30, { message: () => "fps is 0.1 to 30" })))
}).pipe(Schema.filter((f) => (f.lat === undefined) === (f.lon === undefined) || "lat and lon come together"))
export type FootageFacts = typeof FootageFacts.Type

/** One plate the footage job found, as its result lists it. */
export const FootageRead = Schema.Struct({
  /** the read's id in the evidence store */
  read_id: Schema.String,
  detection_id: Schema.String,
  plate: Schema.String,
  confidence: Schema.Number,
  /** the read's time: the footage's start plus the best frame's offset */
  at: Schema.String,
  offset_s: Schema.Number,
  /** how many sampled frames saw it */
  frames: Schema.Number,
  candidates: Schema.Array(Schema.Struct({ plate: Schema.String, confidence: Schema.Number }))
})
export type FootageRead = typeof FootageRead.Type

/** What a finished footage job says. */
export const FootageResult = Schema.Struct({
  footage_id: Schema.String,
  recogniser: Schema.String,
  frames: Schema.Number,
  reads: Schema.Array(FootageRead)
})
export type FootageResult = typeof FootageResult.Type
