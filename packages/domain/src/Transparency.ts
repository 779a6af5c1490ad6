import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as OpenApi from "@effect/platform/OpenApi"
import * as Schema from "effect/Schema"
import { NotFound } from "./Errors"

/**
 * The transparency report: what the installation collects and how it is used, in numbers anyone may
 * read (no sign-in), generated from the database. Counts only: no plate, camera position, name or
 * case number is ever in it.
 */

export const TRANSPARENCY_PERIOD_DAYS = 30

export const ReasonCount = Schema.Struct({
  /** the reason code given; null for lookups made without one (AUDIT_REASON_REQUIRED=false) */
  reason_code: Schema.NullOr(Schema.String),
  label: Schema.NullOr(Schema.String),
  count: Schema.Number
})
export type ReasonCount = typeof ReasonCount.Type

export const TransparencyReport = Schema.Struct({
  generated_at: Schema.String,
  period_days: Schema.Number,
  cameras: Schema.Number,
  sites: Schema.Number,
  /** reads stored in the period */
  reads: Schema.Number,
  /** plate searches and investigations (timeline, map, route, convoy, multi-place) in the period */
  lookups: Schema.Number,
  /** the same, by reason code, most used first */
  lookups_by_reason: Schema.Array(ReasonCount),
  /** scene photos opened in the period */
  photo_views: Schema.Number,
  evidence_exports: Schema.Number,
  holds_created: Schema.Number,
  /** legal holds not yet released, whenever made */
  holds_active: Schema.Number,
  alerts_raised: Schema.Number,
  retention: Schema.Struct({
    scene_image_days: Schema.Number,
    plate_image_days: Schema.Number,
    detection_days: Schema.Number,
    /** reads that raised no alert and are under no hold; null when they follow detection_days */
    nonhit_minutes: Schema.NullOr(Schema.Number)
  }),
  /** what the system does not do, stated plainly */
  does_not: Schema.Array(Schema.String)
})
export type TransparencyReport = typeof TransparencyReport.Type

export class TransparencyApi extends HttpApiGroup.make("transparency")
  .add(
    HttpApiEndpoint.get("report", "/api/v1/transparency")
      .addSuccess(TransparencyReport)
      .addError(NotFound)
      .annotate(
        OpenApi.Description,
        `The public transparency report: cameras, reads, lookups by reason code, exports, holds and alerts in the last ` +
          `${TRANSPARENCY_PERIOD_DAYS} days, and the retention periods. No sign-in; counts only. 404 when the ` +
          "installation does not publish it (TRANSPARENCY_PAGE=off). Recomputed at most every few minutes."
      )
  )
{}
