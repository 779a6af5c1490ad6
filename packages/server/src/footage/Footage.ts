import { BadRequest, NotFound, UnsupportedMediaType } from "@chaverim/domain/Errors"
import { FOOTAGE_TYPES, type FootageFacts, type FootageType, sniffFootageType } from "@chaverim/domain/Footage"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { createHash, randomUUID } from "node:crypto"
import { createReadStream } from "node:fs"
import * as Fs from "node:fs/promises"
import { AppConfig } from "../Config"
import { IsoTime, orBug } from "../db/Rows"
import { Audit } from "../audit/Audit"
import type { Actor } from "../auth/Sessions"
import { ObjectStore } from "../images/ObjectStore"
import { type Job, Jobs } from "../jobs/Jobs"
import { probe } from "./Frames"
import { probeHeic } from "./Heic"

/** The collector footage's reads are stored under (sql/0035): never claimed, never beating. */
export const FOOTAGE_COLLECTOR_ID = "00000000-0000-4000-8000-00000000f007"
/** The job that finds the plates in a footage file. */
export const FOOTAGE_JOB = "footage_recognise"

export const FootageRow = Schema.Struct({
  id: Schema.String,
  sha256: Schema.String,
  size_bytes: Schema.Number,
  media: Schema.Literal("photo", "video"),
  content_type: Schema.String,
  file_name: Schema.NullOr(Schema.String),
  object_key: Schema.String,
  camera_id: Schema.String,
  camera_name: Schema.String,
  starts_at: IsoTime,
  starts_from: Schema.Literal("container", "uploader", "file"),
  duration_s: Schema.NullOr(Schema.Number),
  reason: Schema.String,
  uploaded_by: Schema.NullOr(Schema.String),
  uploaded_via: Schema.Literal("web", "api", "cli"),
  created_at: IsoTime
})
export type FootageRow = typeof FootageRow.Type

/** A file to take in as footage: where it is on this machine now, and what its uploader says of it. */
export interface FootageUpload {
  readonly path: string
  readonly fileName?: string | undefined
  readonly facts: FootageFacts
  readonly actor: Actor | "cli"
  readonly via: "web" | "api" | "cli"
  readonly address?: string | undefined
  /** the file's own time (the CLI's: when it was last written); a start time when nothing better says */
  readonly fileTime?: Date | undefined
  /**
   * Run in the transaction that records the footage: false rolls it back with `UploadTakenIn` (an
   * HTTP upload says here that it is now this footage's, unless another take-in got there first).
   */
  readonly recorded?: ((ids: { readonly footageId: string; readonly jobId: string }) => Effect.Effect<boolean, SqlError>) | undefined
}

/** The upload this footage came from was taken in by another request meanwhile: this one recorded nothing. */
export class UploadTakenIn extends Data.TaggedError("UploadTakenIn")<{ readonly message: string }> {}

const hashFile = (path: string) =>
  Effect.tryPromise({
    try: async () => {
      const hash = createHash("sha256")
      let size = 0
      for await (const chunk of createReadStream(path)) {
        hash.update(chunk as Buffer)
        size += (chunk as Buffer).length
      }
      return { sha256: hash.digest("hex"), size }
    },
    catch: (cause) => new BadRequest({ message: `the file could not be read: ${(cause as Error).message}` })
  })

const headOf = (path: string) =>
  Effect.tryPromise({
    try: async () => {
      const handle = await Fs.open(path, "r")
      try {
        const buffer = Buffer.alloc(64)
        const { bytesRead } = await handle.read(buffer, 0, 64, 0)
        return buffer.subarray(0, bytesRead)
      } finally {
        await handle.close()
      }
    },
    catch: (cause) => new BadRequest({ message: `the file could not be read: ${(cause as Error).message}` })
  })

/** A camera's id on the footage collector, from the name the uploader gives it. */
export const footageCameraId = (name: string) => {
  const slug = name.normalize("NFKD").toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 80)
  const digest = createHash("sha256").update(name).digest("hex").slice(0, 8)
  return `footage-${slug === "" ? "camera" : slug}-${digest}`
}

const objectKeyOf = (id: string, type: FootageType, at: Date) => {
  const day = at.toISOString().slice(0, 10).replace(/-/g, "/")
  return `footage/${day}/${id}/original.${FOOTAGE_TYPES[type]}`
}

/**
 * Footage as evidence (issue 20): the original file hashed, kept in the object store and never
 * changed, recorded with its camera, start time, uploader and reason (audited), and a job queued to
 * find its plates (footage/Job.ts).
 */
export class Footage extends Effect.Service<Footage>()("@chaverim/server/Footage", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const store = yield* ObjectStore
    const audit = yield* Audit
    const jobs = yield* Jobs
    const config = yield* AppConfig

    const find = SqlSchema.findOne({
      Request: Schema.String,
      Result: FootageRow,
      execute: (id) =>
        sql`SELECT f.id::text AS id, f.sha256, f.size_bytes::float8 AS size_bytes, f.media, f.content_type, f.file_name,
                   f.object_key, f.camera_id::text AS camera_id, coalesce(c.name, c.external_id) AS camera_name,
                   f.starts_at, f.starts_from, f.duration_s, f.reason, f.uploaded_by::text AS uploaded_by,
                   f.uploaded_via, f.created_at
              FROM footage f JOIN cameras c ON c.id = f.camera_id WHERE f.id = ${id}::uuid`
    })

    const get = Effect.fn("Footage.get")(function*(id: string) {
      const row = Schema.is(Schema.UUID)(id) ? yield* orBug(find(id)) : Option.none()
      if (Option.isNone(row)) return yield* new NotFound({ message: `no footage ${id}` })
      return row.value
    })

    /** The footage collector's camera of this name, made the first time it is named. */
    const cameraFor = (facts: FootageFacts) =>
      SqlSchema.single({
        Request: Schema.Void,
        Result: Schema.Struct({ id: Schema.String }),
        execute: () =>
          sql`INSERT INTO cameras (collector_id, external_id, mac, name, lat, lon)
              VALUES (${FOOTAGE_COLLECTOR_ID}, ${footageCameraId(facts.camera_name)}, 'footage', ${facts.camera_name},
                      ${facts.lat ?? null}, ${facts.lon ?? null})
              ON CONFLICT (collector_id, external_id) DO UPDATE
                SET lat = CASE WHEN cameras.lat IS NULL OR cameras.lon IS NULL THEN EXCLUDED.lat ELSE cameras.lat END,
                    lon = CASE WHEN cameras.lat IS NULL OR cameras.lon IS NULL THEN EXCLUDED.lon ELSE cameras.lon END,
                    updated_at = now()
              RETURNING id::text AS id`
      })(undefined).pipe(orBug)

    /**
     * Takes the file in: what it is (by its bytes, then ffprobe), when it starts, its hash; stores it,
     * records it and queues its job, the record, the job and the audit row in one transaction.
     */
    const upload = Effect.fn("Footage.upload")(function*(upload: FootageUpload) {
      const type = sniffFootageType(yield* headOf(upload.path))
      if (type === undefined) {
        return yield* new UnsupportedMediaType({
          message: "footage is a photo (JPEG, PNG, WebP) or a video (MP4, MOV, MKV, WebM, AVI); this file is none of them"
        })
      }
      // Debian's ffmpeg reads no HEIC: libheif (WebAssembly) does, here and in the job.
      const facts = yield* (type === "image/heic" ? probeHeic(upload.path) : probe(upload.path)).pipe(
        Effect.mapError((e) => new UnsupportedMediaType({ message: e.message }))
      )
      const { sha256, size } = yield* hashFile(upload.path)
      if (size === 0) return yield* new BadRequest({ message: "the file is empty" })

      // When the footage starts: the uploader's word first, then the container's, then the file's own time.
      const start = upload.facts.at !== undefined
        ? { at: new Date(upload.facts.at), from: "uploader" as const }
        : facts.createdAt !== null
        ? { at: new Date(facts.createdAt), from: "container" as const }
        : upload.fileTime !== undefined
        ? { at: new Date(upload.fileTime.getTime() - (facts.durationS ?? 0) * 1000), from: "file" as const }
        : undefined
      if (start === undefined) {
        return yield* new BadRequest({ message: "the footage does not say when it was taken: give the time it starts (at)" })
      }
      if (start.at.getTime() > Date.now() + 86_400_000) {
        return yield* new BadRequest({ message: `the footage's start time ${start.at.toISOString()} is in the future` })
      }

      const id = randomUUID()
      const key = objectKeyOf(id, type, new Date())
      // The bytes are safe before the row that points at them is written.
      yield* store.putFile(key, upload.path, type)
      const actor = upload.actor === "cli" ? undefined : upload.actor
      const fps = upload.facts.fps ?? config.footage.fps
      const job = yield* sql.withTransaction(Effect.gen(function*() {
        const camera = yield* cameraFor(upload.facts)
        yield* sql`
          INSERT INTO footage (id, sha256, size_bytes, media, content_type, file_name, object_key, camera_id, starts_at,
                               starts_from, duration_s, reason, uploaded_by, uploaded_via)
          VALUES (${id}, ${sha256}, ${size}, ${facts.media}, ${type}, ${upload.fileName?.slice(0, 255) ?? null}, ${key},
                  ${camera.id}, ${start.at.toISOString()}, ${start.from}, ${facts.durationS}, ${upload.facts.reason},
                  ${actor?.userId ?? null}, ${upload.via})`
        const job = yield* jobs.enqueue({ kind: FOOTAGE_JOB, payload: { footage_id: id, fps }, createdBy: actor?.userId })
        if (upload.recorded !== undefined && !(yield* upload.recorded({ footageId: id, jobId: job.id }))) {
          return yield* new UploadTakenIn({ message: "the upload was taken in by another request" })
        }
        yield* audit.record({
          actor,
          address: upload.address,
          action: "footage.upload",
          target: `footage:${id}`,
          reason: upload.facts.reason,
          details: {
            sha256,
            size_bytes: size,
            media: facts.media,
            content_type: type,
            ...(upload.fileName === undefined ? {} : { file_name: upload.fileName.slice(0, 255) }),
            camera: upload.facts.camera_name,
            starts_at: start.at.toISOString(),
            starts_from: start.from,
            job_id: job.id,
            via: upload.via
          },
          outcome: "success"
        })
        return job
      })).pipe(orBug)
      return { footage: yield* get(id), job } satisfies { footage: FootageRow; job: Job }
    })

    return { upload, get } as const
  })
}) {}
