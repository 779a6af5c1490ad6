import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import * as Schema from "effect/Schema"
import { OperatorAuth } from "./Auth"
import { IsoTimestamp } from "./Detection"
import { BadRequest, NotFound, PayloadTooLarge, ServiceUnavailable, UnsupportedMediaType } from "./Errors"

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

/** The most a footage file may be: 2 GB and then some (a phone's long clip, an NVR's export). */
export const FOOTAGE_MAX_BYTES = 4 * 1024 * 1024 * 1024
/** The most one chunk of an upload may carry. */
export const FOOTAGE_CHUNK_BYTES = 8 * 1024 * 1024

/** Starting an upload: the footage's facts, its file's name and size. The bytes follow in chunks. */
export const FootageUploadStart = Schema.extend(
  FootageFacts,
  Schema.Struct({
    file_name: Schema.String.pipe(
      Schema.minLength(1, { message: () => "file_name must not be empty" }),
      Schema.maxLength(255, { message: () => "file_name is at most 255 characters" })
    ),
    size_bytes: Schema.Number.pipe(
      Schema.int(),
      Schema.between(1, FOOTAGE_MAX_BYTES, { message: () => `size_bytes is 1 to ${FOOTAGE_MAX_BYTES} (4 GiB)` })
    )
  })
)
export type FootageUploadStart = typeof FootageUploadStart.Type

/** An upload as it stands: how much has arrived, and once all has, the footage and its job. */
export const FootageUploadState = Schema.Struct({
  upload_id: Schema.String,
  size_bytes: Schema.Number,
  /** bytes received: the next chunk starts here (send it with `Upload-Offset`) */
  offset: Schema.Number,
  chunk_bytes: Schema.Number,
  expires_at: Schema.String,
  footage_id: Schema.NullOr(Schema.String),
  job_id: Schema.NullOr(Schema.String),
  /** every byte is in and a server is taking the file in now: ask again shortly */
  completing: Schema.Boolean
})
export type FootageUploadState = typeof FootageUploadState.Type

export const UploadPath = Schema.Struct({ id: Schema.UUID })
export const JobPath = Schema.Struct({ id: Schema.UUID })

/** A chunk that does not start where the upload stands: nothing of it is kept; resume from `offset`. */
export class UploadOffsetConflict extends Schema.TaggedError<UploadOffsetConflict>()(
  "UploadOffsetConflict",
  { message: Schema.String, offset: Schema.Number },
  HttpApiSchema.annotations({ status: 409 })
) {}

/** A job as people see it: what it is for, how far it is, how it ended. */
export const JobView = Schema.Struct({
  id: Schema.String,
  kind: Schema.String,
  status: Schema.Literal("queued", "running", "done", "failed", "cancelled"),
  progress: Schema.Number,
  progress_note: Schema.NullOr(Schema.String),
  attempts: Schema.Number,
  error: Schema.NullOr(Schema.String),
  result: Schema.NullOr(FootageResult),
  created_at: Schema.String,
  finished_at: Schema.NullOr(Schema.String)
})
export type JobView = typeof JobView.Type

/**
 * Footage uploads over HTTP, resumable: start one with its facts and size, send its bytes in chunks
 * (`PATCH` with `Upload-Offset`, at most 8 MiB each) and, after a dropped connection, ask where it stands
 * and go on from there. The last chunk stores the footage and queues its job. Operators and admins; an
 * upload and its job are their uploader's (and admins').
 */
export class FootageApi extends HttpApiGroup.make("footage")
  .add(
    HttpApiEndpoint.post("start", "/api/v1/footage/uploads")
      .setPayload(FootageUploadStart)
      .addSuccess(FootageUploadState, { status: 201 })
      .addError(BadRequest)
      .addError(PayloadTooLarge)
      .middleware(OperatorAuth)
      .annotate(OpenApi.Description, "Start an upload of footage (a photo or a video of up to 4 GiB): its camera, time, reason and size.")
  )
  .add(
    HttpApiEndpoint.patch("chunk", "/api/v1/footage/uploads/:id")
      .setPath(UploadPath)
      .setHeaders(Schema.Struct({ "upload-offset": Schema.NumberFromString.pipe(Schema.int(), Schema.nonNegative()) }))
      .setPayload(HttpApiSchema.Uint8Array({ contentType: "application/offset+octet-stream" }))
      .addSuccess(FootageUploadState)
      .addError(BadRequest)
      .addError(NotFound)
      .addError(PayloadTooLarge)
      .addError(UnsupportedMediaType)
      .addError(UploadOffsetConflict)
      .addError(ServiceUnavailable)
      .middleware(OperatorAuth)
      .annotate(
        OpenApi.Description,
        "The next chunk of an upload (application/offset+octet-stream, at most 8 MiB), starting at Upload-Offset. " +
          "409 with the offset to resume from when it does not start where the upload stands. The last chunk " +
          "stores the footage (its type checked, hashed, audited) and queues its job: footage_id and job_id."
      )
  )
  .add(
    HttpApiEndpoint.post("complete", "/api/v1/footage/uploads/:id/complete")
      .setPath(UploadPath)
      .addSuccess(FootageUploadState)
      .addError(BadRequest)
      .addError(NotFound)
      .addError(UnsupportedMediaType)
      .addError(UploadOffsetConflict)
      .addError(ServiceUnavailable)
      .middleware(OperatorAuth)
      .annotate(
        OpenApi.Description,
        "Take in an upload whose bytes have all arrived, when the last chunk's take-in failed (503) or its " +
          "answer was lost: footage_id and job_id once done; completing while another request is at it; " +
          "409 with the offset when bytes are still missing. Asking again never makes a second footage record."
      )
  )
  .add(
    HttpApiEndpoint.get("status", "/api/v1/footage/uploads/:id")
      .setPath(UploadPath)
      .addSuccess(FootageUploadState)
      .addError(NotFound)
      .middleware(OperatorAuth)
      .annotate(OpenApi.Description, "Where an upload stands: resume from its offset.")
  )
  .add(
    HttpApiEndpoint.get("job", "/api/v1/jobs/:id")
      .setPath(JobPath)
      .addSuccess(JobView)
      .addError(NotFound)
      .middleware(OperatorAuth)
      .annotate(OpenApi.Description, "A footage job: its progress, and its reads once done.")
  )
  .add(
    HttpApiEndpoint.post("cancel", "/api/v1/jobs/:id/cancel")
      .setPath(JobPath)
      .addSuccess(JobView)
      .addError(NotFound)
      .middleware(OperatorAuth)
      .annotate(OpenApi.Description, "Cancel a job: a queued one at once, a running one within a third of its lease.")
  )
{}
