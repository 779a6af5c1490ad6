import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as OpenApi from "@effect/platform/OpenApi"
import * as Schema from "effect/Schema"
import { OperatorAuth } from "./Auth"
import { BadRequest } from "./Errors"

/**
 * The numbers (issue 19): reads per camera by hour or day, the share of low-confidence reads, the
 * confidence distribution, unique plates and repeat visitors, alerts by list, ingest lag, and each
 * camera's accuracy from people's corrections with the characters it confuses. Aggregates only: no plate
 * is named, so they are not audited as searches are. For operators and admins.
 */

/** The longest range one request may cover (the numbers are counted from the reads themselves). */
export const STATS_MAX_DAYS = 31

/** A read below this confidence counts as low-confidence ("unreadable") in the stats. */
export const LOW_CONFIDENCE = 0.6

const Instant = Schema.Date.annotations({ message: () => "a time is ISO 8601, e.g. 2026-11-29T14:00:00Z" })

export const StatsParams = Schema.Struct({
  from: Instant,
  to: Instant,
  /** only this camera's reads */
  camera: Schema.optional(Schema.UUID.annotations({ message: () => "camera is a camera's id (a UUID)" }))
})
export type StatsParams = typeof StatsParams.Type

export const ReadsParams = Schema.Struct({
  ...StatsParams.fields,
  bucket: Schema.optionalWith(Schema.Literal("hour", "day"), { default: () => "hour" as const })
})
export type ReadsParams = typeof ReadsParams.Type

export const StatsCamera = Schema.Struct({ id: Schema.String, name: Schema.String, site: Schema.NullOr(Schema.String) })

/** One camera's reads in one hour or day (UTC). */
export const ReadsBucket = Schema.Struct({
  at: Schema.String,
  camera_id: Schema.String,
  reads: Schema.Number,
  low_confidence: Schema.Number,
  unique_plates: Schema.Number
})

export const ReadsStats = Schema.Struct({
  bucket: Schema.Literal("hour", "day"),
  cameras: Schema.Array(StatsCamera),
  buckets: Schema.Array(ReadsBucket)
})
export type ReadsStats = typeof ReadsStats.Type

export const CameraAccuracy = Schema.Struct({
  camera: StatsCamera,
  reads: Schema.Number,
  /** reads someone checked (a correction of any kind) */
  checked: Schema.Number,
  /** of those: the plate was wrong (corrected) or was no plate (rejected) */
  corrected: Schema.Number,
  rejected: Schema.Number,
  /** (corrected + rejected) / checked; null when none was checked */
  share_wrong: Schema.NullOr(Schema.Number)
})

/** A character the camera read as another, as people's corrections show ("0" read where "O" was). */
export const Confusion = Schema.Struct({ read: Schema.String, actual: Schema.String, count: Schema.Number })

export const SummaryStats = Schema.Struct({
  from: Schema.String,
  to: Schema.String,
  reads: Schema.Number,
  unique_plates: Schema.Number,
  /** plates read on two or more days of the range */
  repeat_plates: Schema.Number,
  low_confidence_share: Schema.NullOr(Schema.Number),
  /** ten bins of 0.1: reads with confidence in [0, 0.1), … [0.9, 1] */
  confidence: Schema.Array(Schema.Number),
  /** alerts raised in the range, by list */
  alerts_by_list: Schema.Array(Schema.Struct({ watchlist_id: Schema.String, name: Schema.String, alerts: Schema.Number })),
  /** seconds from the camera's time to stored, over reads with a measured time; null without any */
  ingest_lag_s: Schema.Struct({ p50: Schema.NullOr(Schema.Number), p95: Schema.NullOr(Schema.Number) }),
  accuracy: Schema.Array(CameraAccuracy),
  confusions: Schema.Array(Confusion)
})
export type SummaryStats = typeof SummaryStats.Type

export class StatsApi extends HttpApiGroup.make("stats")
  .add(
    HttpApiEndpoint.get("reads", "/api/v1/stats/reads")
      .setUrlParams(ReadsParams)
      .addSuccess(ReadsStats)
      .addError(BadRequest)
      .middleware(OperatorAuth)
      .annotate(
        OpenApi.Description,
        `Reads per camera by hour or day (UTC), with low-confidence reads (below ${LOW_CONFIDENCE}) and unique plates; ` +
          `from and to at most ${STATS_MAX_DAYS} days apart.`
      )
  )
  .add(
    HttpApiEndpoint.get("summary", "/api/v1/stats/summary")
      .setUrlParams(StatsParams)
      .addSuccess(SummaryStats)
      .addError(BadRequest)
      .middleware(OperatorAuth)
      .annotate(
        OpenApi.Description,
        "Totals over a range: reads, unique and repeat plates, the confidence distribution, alerts by list, ingest lag, " +
          "and each camera's accuracy from corrections with the characters it confuses."
      )
  )
{}
