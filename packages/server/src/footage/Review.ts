import type { FootageJob, ReviewQueue as ReviewQueueView } from "@chaverim/domain/rpc/Footage"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { Int8Text, IsoTime, orBug } from "../db/Rows"
import { Job } from "../jobs/Jobs"
import { FOOTAGE_JOB } from "./Footage"
import type { Uploader } from "./Uploads"
import { jobView } from "./Uploads"

const JobRow = Schema.Struct({
  ...Job.fields,
  footage_id: Schema.NullOr(Schema.String),
  file_name: Schema.NullOr(Schema.String),
  camera_name: Schema.NullOr(Schema.String),
  media: Schema.NullOr(Schema.Literal("photo", "video")),
  uploaded_by: Schema.NullOr(Schema.String)
})

const Candidate = Schema.Struct({ plate: Schema.String, confidence: Schema.Number })

const ReviewRow = Schema.Struct({
  read_id: Int8Text,
  plate: Schema.String,
  confidence: Schema.Number,
  detected_at: IsoTime,
  camera_name: Schema.String,
  reason: Schema.Literal("footage", "low_confidence"),
  candidates: Schema.NullOr(Schema.Array(Schema.Unknown)),
  footage_id: Schema.NullOr(Schema.String),
  has_plate_photo: Schema.Boolean,
  has_scene_photo: Schema.Boolean,
  waiting_since: IsoTime
})

const isCandidate = Schema.is(Candidate)

/** The footage jobs people follow, and the review queue (sql/0037) as a reviewer reads it. */
export class FootageViews extends Effect.Service<FootageViews>()("@chaverim/server/FootageViews", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    const jobs = Effect.fn("FootageViews.jobs")(function*(who: Uploader, limit: number) {
      const rows = yield* SqlSchema.findAll({
        Request: Schema.Void,
        Result: JobRow,
        execute: () =>
          sql`SELECT j.id::text AS id, j.kind, j.payload, j.status, j.progress, j.progress_note, j.attempts, j.max_attempts,
                     j.cancel_requested, j.result, j.error, j.created_by::text AS created_by, j.created_at, j.started_at,
                     j.finished_at, f.id::text AS footage_id, f.file_name, coalesce(c.name, c.external_id) AS camera_name,
                     f.media, u.username AS uploaded_by
                FROM jobs j
                LEFT JOIN footage f ON f.id = (j.payload->>'footage_id')::uuid
                LEFT JOIN cameras c ON c.id = f.camera_id
                LEFT JOIN users u ON u.id = j.created_by
               WHERE j.kind = ${FOOTAGE_JOB}
                 AND ${who.role === "admin" ? sql`true` : sql`j.created_by = ${who.userId}::uuid`}
               ORDER BY j.created_at DESC, j.id DESC LIMIT ${limit}`
      })(undefined).pipe(orBug)
      return rows.map((row): FootageJob => ({
        ...jobView(row),
        footage_id: row.footage_id,
        file_name: row.file_name,
        camera_name: row.camera_name,
        media: row.media,
        uploaded_by: row.uploaded_by
      }))
    })

    const queue = Effect.fn("ReviewQueue.list")(function*(limit: number) {
      const rows = yield* SqlSchema.findAll({
        Request: Schema.Void,
        Result: ReviewRow,
        execute: () =>
          sql`SELECT d.id AS read_id, d.plate, d.confidence::float8 AS confidence, d.detected_at,
                     coalesce(c.name, c.external_id) AS camera_name, p.reason,
                     d.raw->'source'->'candidates' AS candidates,
                     CASE WHEN p.reason = 'footage' THEN d.raw->'source'->>'footage_id' END AS footage_id,
                     EXISTS (SELECT 1 FROM detection_images i WHERE i.detection_id = d.id AND i.kind = 'plate') AS has_plate_photo,
                     EXISTS (SELECT 1 FROM detection_images i WHERE i.detection_id = d.id AND i.kind = 'scene') AS has_scene_photo,
                     p.created_at AS waiting_since
                FROM pending_reviews p
                JOIN detections d ON d.id = p.detection_id AND d.detected_at = p.detected_at
                JOIN cameras c ON c.id = d.camera_id
               ORDER BY p.created_at, p.detection_id LIMIT ${limit}`
      })(undefined).pipe(orBug)
      const [{ total }] = yield* sql<{ total: number }>`
        SELECT count(*)::int AS total FROM pending_reviews p
          JOIN detections d ON d.id = p.detection_id AND d.detected_at = p.detected_at`
      return {
        items: rows.map((row) => ({
          ...row,
          candidates: (row.candidates ?? []).filter(isCandidate).slice(0, 5)
        })),
        total: total ?? 0
      } satisfies ReviewQueueView
    })

    return { jobs, queue } as const
  })
}) {}
