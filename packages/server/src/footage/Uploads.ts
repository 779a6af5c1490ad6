import { BadRequest, NotFound, PayloadTooLarge, UnsupportedMediaType } from "@chaverim/domain/Errors"
import {
  FOOTAGE_CHUNK_BYTES,
  FootageFacts,
  FootageResult,
  type FootageUploadStart,
  type FootageUploadState,
  type JobView,
  sniffFootageType,
  UploadOffsetConflict
} from "@chaverim/domain/Footage"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { randomBytes } from "node:crypto"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { IsoTime, orBug } from "../db/Rows"
import { ObjectStore } from "../images/ObjectStore"
import { type Job, Jobs } from "../jobs/Jobs"
import { FOOTAGE_JOB, Footage } from "./Footage"

/** Who is uploading: the uploader continues and sees an upload and its job, admins see every one. */
export interface Uploader {
  readonly userId: string
  readonly username: string
  readonly role: string
  /** where the request came from, for the audit log */
  readonly address?: string | undefined
  /** the web app (a session) or the API (a partner's token) */
  readonly via?: "web" | "api" | undefined
}

const UploadRow = Schema.Struct({
  id: Schema.String,
  user_id: Schema.String,
  facts: Schema.Unknown,
  file_name: Schema.String,
  size_bytes: Schema.Number,
  received_bytes: Schema.Number,
  footage_id: Schema.NullOr(Schema.String),
  job_id: Schema.NullOr(Schema.String),
  expires_at: IsoTime,
  /** a take-in under way: its claim holds */
  completing: Schema.Boolean
})
type UploadRow = typeof UploadRow.Type

const stateOf = (row: UploadRow): FootageUploadState => ({
  upload_id: row.id,
  size_bytes: row.size_bytes,
  offset: row.received_bytes,
  chunk_bytes: FOOTAGE_CHUNK_BYTES,
  expires_at: row.expires_at,
  footage_id: row.footage_id,
  job_id: row.job_id,
  completing: row.footage_id === null && row.completing
})

const decodeResult = Schema.decodeUnknownOption(FootageResult)

/**
 * How long a take-in's claim on an upload holds (assembling, hashing and storing 4 GiB takes about a
 * minute here): another request may take it in after that, and only one of them records it.
 */
const TAKE_IN_LEASE_S = 600

export const jobView = (job: Job): JobView => ({
  id: job.id,
  kind: job.kind,
  status: job.status,
  progress: job.progress,
  progress_note: job.progress_note,
  attempts: job.attempts,
  error: job.error,
  result: job.status === "done" ? Option.getOrNull(decodeResult(job.result)) : null,
  created_at: job.created_at,
  finished_at: job.finished_at
})

/**
 * Resumable footage uploads (sql/0036): each chunk goes to the object store and is recorded in the
 * transaction that moves the upload's offset on, so a chunk sent twice, or two at once, is kept once and
 * any server may take the next; the last one assembles the file and hands it to Footage.upload.
 */
export class FootageUploads extends Effect.Service<FootageUploads>()("@chaverim/server/FootageUploads", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const store = yield* ObjectStore
    const footage = yield* Footage
    const jobs = yield* Jobs

    const columns = sql.literal(
      `id::text AS id, user_id::text AS user_id, facts, file_name, size_bytes::float8 AS size_bytes,
       received_bytes::float8 AS received_bytes, footage_id::text AS footage_id, job_id::text AS job_id, expires_at,
       coalesce(completing_until > now(), false) AS completing`
    )

    const find = SqlSchema.findOne({
      Request: Schema.String,
      Result: UploadRow,
      execute: (id) =>
        sql`SELECT ${columns} FROM footage_uploads WHERE id = ${id}::uuid`
    })

    /** The upload, if it is this person's (or they are an admin) and has not expired; else not found. */
    const mine = (id: string, who: Uploader) =>
      Effect.flatMap(orBug(find(id)), (row) =>
        Option.isSome(row) && (row.value.user_id === who.userId || who.role === "admin") &&
          (row.value.footage_id !== null || Date.parse(row.value.expires_at) > Date.now())
          ? Effect.succeed(row.value)
          : new NotFound({ message: `no upload ${id}` }))

    const start = Effect.fn("FootageUploads.start")(function*(request: FootageUploadStart, who: Uploader) {
      const { file_name, size_bytes, ...facts } = request
      const row = yield* SqlSchema.single({
        Request: Schema.Void,
        Result: UploadRow,
        execute: () =>
          sql`INSERT INTO footage_uploads (user_id, facts, file_name, size_bytes)
              VALUES (${who.userId}, ${JSON.stringify(Schema.encodeSync(FootageFacts)(facts))}::jsonb, ${file_name}, ${size_bytes})
              RETURNING ${columns}`
      })(undefined).pipe(orBug)
      return stateOf(row)
    })

    const status = Effect.fn("FootageUploads.status")(function*(id: string, who: Uploader) {
      return stateOf(yield* mine(id, who))
    })

    /** The chunks, in order, into one file in a scratch folder (removed with the scope). */
    const assemble = (row: UploadRow) =>
      Effect.gen(function*() {
        const dir = yield* Effect.acquireRelease(
          Effect.promise(() => Fs.mkdtemp(Path.join(Os.tmpdir(), "alpr-upload-"))),
          (dir) => Effect.promise(() => Fs.rm(dir, { recursive: true, force: true }))
        )
        const file = Path.join(dir, "footage")
        const chunks = yield* sql<{ object_key: string; size_bytes: number }>`
          SELECT object_key, size_bytes FROM footage_upload_chunks WHERE upload_id = ${row.id}::uuid ORDER BY "offset"`
        const handle = yield* Effect.promise(() => Fs.open(file, "w"))
        yield* Effect.forEach(chunks, (chunk) =>
          Effect.flatMap(store.get(chunk.object_key), (bytes) => Effect.promise(() => handle.write(bytes))), { discard: true }).pipe(
            Effect.ensuring(Effect.promise(() => handle.close()))
          )
        return { file, keys: chunks.map((c) => c.object_key) }
      })

    /**
     * Takes the chunk starting at `offset`: 409 when the upload stands elsewhere, 415 when its first
     * bytes are not footage. The last chunk stores the footage and queues its job.
     */
    const chunk = Effect.fn("FootageUploads.chunk")(function*(id: string, offset: number, bytes: Uint8Array, who: Uploader) {
      const row = yield* mine(id, who)
      if (row.footage_id !== null) return stateOf(row)
      if (offset !== row.received_bytes) {
        return yield* new UploadOffsetConflict({ message: `the upload stands at ${row.received_bytes} bytes, not ${offset}: send from there`, offset: row.received_bytes })
      }
      if (bytes.length === 0) return yield* new BadRequest({ message: "the chunk is empty" })
      if (bytes.length > FOOTAGE_CHUNK_BYTES) {
        return yield* new PayloadTooLarge({ message: `a chunk may be at most ${FOOTAGE_CHUNK_BYTES / 1024 / 1024} MiB` })
      }
      if (offset + bytes.length > row.size_bytes) {
        return yield* new BadRequest({ message: `the chunk runs past the upload's size (${row.size_bytes} bytes)` })
      }
      if (offset === 0 && sniffFootageType(bytes.subarray(0, 64)) === undefined) {
        return yield* new UnsupportedMediaType({
          message: "footage is a photo (JPEG, PNG, WebP) or a video (MP4, MOV, MKV, WebM, AVI); this file is none of them"
        })
      }
      const key = `uploads/${row.id}/${offset}-${randomBytes(4).toString("hex")}`
      yield* store.put(key, bytes, "application/octet-stream")
      // The chunk counts only if the offset is still where it was: a chunk sent twice at once is kept once.
      const moved = yield* sql.withTransaction(Effect.gen(function*() {
        const updated = yield* sql`
          UPDATE footage_uploads SET received_bytes = received_bytes + ${bytes.length}
           WHERE id = ${row.id}::uuid AND received_bytes = ${offset} AND footage_id IS NULL RETURNING id`
        if (updated.length === 0) return false
        yield* sql`INSERT INTO footage_upload_chunks (upload_id, "offset", size_bytes, object_key)
                   VALUES (${row.id}, ${offset}, ${bytes.length}, ${key})`
        return true
      }))
      if (!moved) {
        yield* store.remove(key).pipe(Effect.ignore)
        const now = yield* mine(id, who)
        return yield* new UploadOffsetConflict({ message: `the upload stands at ${now.received_bytes} bytes, not ${offset}: send from there`, offset: now.received_bytes })
      }
      if (offset + bytes.length < row.size_bytes) return stateOf(yield* mine(id, who))
      return yield* complete(row, who)
    })

    /**
     * All bytes are in: the file assembled and taken in as footage (or refused, and the upload with it).
     * Claimed first (one take-in at a time; a claim lapses after TAKE_IN_LEASE_S so that a server that
     * died at it does not hold the upload), and recorded only if no other take-in recorded it meanwhile.
     */
    const complete = (row: UploadRow, who: Uploader) =>
      Effect.scoped(Effect.gen(function*() {
        const claimed = yield* sql`
          UPDATE footage_uploads SET completing_until = now() + make_interval(secs => ${TAKE_IN_LEASE_S})
           WHERE id = ${row.id}::uuid AND footage_id IS NULL AND received_bytes = size_bytes
             AND (completing_until IS NULL OR completing_until <= now())
          RETURNING id`
        if (claimed.length === 0) return stateOf(yield* mine(row.id, who))
        const release = sql`UPDATE footage_uploads SET completing_until = NULL WHERE id = ${row.id}::uuid AND footage_id IS NULL`
        const { file, keys } = yield* assemble(row).pipe(Effect.tapError(() => release.pipe(Effect.ignore)))
        const facts = yield* Schema.decodeUnknown(FootageFacts)(row.facts).pipe(Effect.orDie)
        const removeChunks = Effect.forEach(keys, (key) => store.remove(key).pipe(Effect.ignore), { discard: true, concurrency: 4 })
        const taken = yield* footage.upload({
          path: file,
          fileName: row.file_name,
          facts,
          actor: { userId: who.userId, username: who.username },
          address: who.address,
          via: who.via ?? "web",
          recorded: ({ footageId, jobId }) =>
            Effect.map(
              sql`UPDATE footage_uploads SET footage_id = ${footageId}, job_id = ${jobId}, completing_until = NULL
                   WHERE id = ${row.id}::uuid AND footage_id IS NULL RETURNING id`,
              (rows) => rows.length === 1
            )
        }).pipe(
          // Refused (not footage after all, no time to give it): the upload ends with it. A failure of the
          // store or the database is not a refusal: the chunks stay and the take-in may be asked again.
          Effect.tapError((error) =>
            error._tag === "BadRequest" || error._tag === "UnsupportedMediaType"
              ? Effect.zipRight(removeChunks, sql`DELETE FROM footage_uploads WHERE id = ${row.id}::uuid`.pipe(Effect.ignore))
              : release.pipe(Effect.ignore)
          ),
          // another take-in recorded it first: the upload stands as that one left it
          Effect.catchTag("UploadTakenIn", () => Effect.succeed(undefined))
        )
        if (taken !== undefined) {
          yield* sql`DELETE FROM footage_upload_chunks WHERE upload_id = ${row.id}::uuid`
          yield* removeChunks
        }
        return stateOf(yield* mine(row.id, who))
      }))

    /**
     * Asks again for the take-in of an upload whose bytes have all arrived (the last chunk's failed, or
     * its answer was lost). 409 with the offset while bytes are missing.
     */
    const retake = Effect.fn("FootageUploads.complete")(function*(id: string, who: Uploader) {
      const row = yield* mine(id, who)
      if (row.footage_id !== null || row.completing) return stateOf(row)
      if (row.received_bytes < row.size_bytes) {
        return yield* new UploadOffsetConflict({
          message: `the upload stands at ${row.received_bytes} of ${row.size_bytes} bytes: send the rest first`,
          offset: row.received_bytes
        })
      }
      return yield* complete(row, who)
    })

    /** A job of this person's (or any, for an admin). */
    const job = Effect.fn("FootageUploads.job")(function*(id: string, who: Uploader) {
      const found = yield* jobs.get(id)
      if (found.kind !== FOOTAGE_JOB || (found.created_by !== who.userId && who.role !== "admin")) {
        return yield* new NotFound({ message: `no job ${id}` })
      }
      return found
    })

    const getJob = Effect.fn("FootageUploads.getJob")(function*(id: string, who: Uploader) {
      return jobView(yield* job(id, who))
    })

    const cancelJob = Effect.fn("FootageUploads.cancelJob")(function*(id: string, who: Uploader) {
      yield* job(id, who)
      return jobView(yield* jobs.cancel(id))
    })

    /**
     * Uploads left unfinished past their time: their chunks' objects removed, then their rows. A few at
     * a time under SKIP LOCKED, so that servers sweeping at once share the work.
     */
    const sweep = Effect.fn("FootageUploads.sweep")(function*() {
      let swept = 0
      while (true) {
        const done = yield* sql.withTransaction(Effect.gen(function*() {
          const stale = yield* sql<{ id: string }>`
            SELECT id::text AS id FROM footage_uploads
             WHERE footage_id IS NULL AND expires_at < now()
               -- not one being taken in at this moment (its claim lapses, and the next sweep takes it)
               AND (completing_until IS NULL OR completing_until <= now())
             ORDER BY expires_at LIMIT 20 FOR UPDATE SKIP LOCKED`
          if (stale.length === 0) return 0
          const ids = stale.map((r) => r.id)
          const chunks = yield* sql<{ object_key: string }>`
            SELECT object_key FROM footage_upload_chunks WHERE upload_id IN ${sql.in(ids)}`
          yield* Effect.forEach(chunks, (c) => store.remove(c.object_key), { discard: true, concurrency: 4 })
          yield* sql`DELETE FROM footage_uploads WHERE id IN ${sql.in(ids)}`
          return ids.length
        }))
        swept += done
        if (done === 0) return swept
      }
    })

    return { start, status, chunk, complete: retake, getJob, cancelJob, sweep } as const
  })
}) {}
