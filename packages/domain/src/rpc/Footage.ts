/**
 * Footage (issue 20) for the web app: the caller's footage jobs with their progress, and the review
 * queue (reads from footage and doubtful camera reads that wait for a person before they alert). The
 * upload itself goes over HTTP (`FootageApi`: resumable chunks), and a review is a correction
 * (`POST /api/v1/detections/{id}/corrections`).
 */
import * as Rpc from "@effect/rpc/Rpc"
import * as RpcGroup from "@effect/rpc/RpcGroup"
import * as Schema from "effect/Schema"
import { JobView } from "../Footage"
import { RequiredRole, RpcSession } from "./Common"

const Limit = Schema.Int.pipe(Schema.between(1, 100, { message: () => "limit is 1 to 100" }))

/** A footage job with what it is for. */
export const FootageJob = Schema.Struct({
  ...JobView.fields,
  footage_id: Schema.NullOr(Schema.String),
  file_name: Schema.NullOr(Schema.String),
  camera_name: Schema.NullOr(Schema.String),
  media: Schema.NullOr(Schema.Literal("photo", "video")),
  uploaded_by: Schema.NullOr(Schema.String)
})
export type FootageJob = typeof FootageJob.Type

/** A read waiting for review, with what the reviewer needs to decide. */
export const ReviewItem = Schema.Struct({
  read_id: Schema.String,
  plate: Schema.String,
  confidence: Schema.Number,
  detected_at: Schema.String,
  camera_name: Schema.String,
  /** footage: a read found in uploaded footage; low_confidence: below its camera's min_confidence */
  reason: Schema.Literal("footage", "low_confidence"),
  /** the other readings the recogniser considered, best first */
  candidates: Schema.Array(Schema.Struct({ plate: Schema.String, confidence: Schema.Number })),
  footage_id: Schema.NullOr(Schema.String),
  has_plate_photo: Schema.Boolean,
  has_scene_photo: Schema.Boolean,
  waiting_since: Schema.String
})
export type ReviewItem = typeof ReviewItem.Type

export const ReviewQueue = Schema.Struct({
  items: Schema.Array(ReviewItem),
  /** how many wait in all */
  total: Schema.Number
})
export type ReviewQueue = typeof ReviewQueue.Type

export class FootageRpcs extends RpcGroup.make(
  /** The caller's footage jobs, newest first (an admin's: everyone's). */
  Rpc.make("footage.jobs", { payload: Schema.Struct({ limit: Schema.optional(Limit) }), success: Schema.Array(FootageJob) })
    .annotate(RequiredRole, "operator"),
  /** The reads waiting for review, oldest first. */
  Rpc.make("review.queue", { payload: Schema.Struct({ limit: Schema.optional(Limit) }), success: ReviewQueue })
    .annotate(RequiredRole, "operator")
).middleware(RpcSession) {}
