import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import * as Schema from "effect/Schema"
import { AdminAuth, OperatorAuth } from "./Auth"
import { BadRequest, NotFound, ServiceUnavailable } from "./Errors"
import { Instant, readSelectionFields } from "./ReadSelection"
import { CaseNumber } from "./Reason"

/**
 * Legal holds: a case's reads kept past the retention policy until an admin releases the hold. A hold
 * covers a plate (its reads and the reads corrected to it, those of today and those to come), a list
 * of reads, or a camera over a time range (both ends included). Operators make holds; admins release
 * them; a released hold is kept, with who released it and when. Both are audited (`hold.create`,
 * `hold.release`).
 */

/** The most reads one hold may list by id. */
export const MAX_HELD_DETECTIONS = 10_000

/** Exactly one of `plate`, `detections` or `camera_id` (with `from` and `to`), a case number and a reason. */
export const HoldRequest = Schema.Struct({
  ...readSelectionFields(MAX_HELD_DETECTIONS),
  /** with `camera_id`: the first instant held */
  from: Schema.optional(Instant),
  /** with `camera_id`: the last instant held */
  to: Schema.optional(Instant),
  case_number: CaseNumber.pipe(Schema.filter((s) => s.trim().length > 0 || "case_number is required")),
  reason: Schema.String.pipe(
    Schema.filter((s) => s.trim().length > 0 || "reason is required: why the reads must be kept"),
    Schema.maxLength(500, { message: () => "reason is at most 500 characters" })
  )
})
export type HoldRequest = typeof HoldRequest.Type

export const HoldScope = Schema.Literal("plate", "detections", "camera")
export type HoldScope = typeof HoldScope.Type

export const Hold = Schema.Struct({
  id: Schema.String,
  case_number: Schema.String,
  reason: Schema.String,
  scope: HoldScope,
  /** normalised */
  plate: Schema.NullOr(Schema.String),
  detection_ids: Schema.NullOr(Schema.Array(Schema.String)),
  camera_id: Schema.NullOr(Schema.String),
  camera_name: Schema.NullOr(Schema.String),
  from: Schema.NullOr(Schema.String),
  to: Schema.NullOr(Schema.String),
  created_by: Schema.String,
  created_at: Schema.String,
  released_at: Schema.NullOr(Schema.String),
  released_by: Schema.NullOr(Schema.String),
  release_note: Schema.NullOr(Schema.String),
  /** the stored reads it covers now */
  detections: Schema.Number
})
export type Hold = typeof Hold.Type

export const HoldListParams = Schema.Struct({
  /** active (the default), released or all */
  status: Schema.optionalWith(Schema.Literal("active", "released", "all"), { default: () => "active" }),
  /** only holds of this case number */
  case_number: Schema.optional(CaseNumber)
})
export type HoldListParams = typeof HoldListParams.Type

export const HoldList = Schema.Struct({ items: Schema.Array(Hold) })
export type HoldList = typeof HoldList.Type

export const HoldPath = Schema.Struct({ id: Schema.UUID.annotations({ message: () => "a hold's id is a UUID" }) })

export const ReleaseRequest = Schema.Struct({
  note: Schema.optional(Schema.String.pipe(Schema.maxLength(500, { message: () => "note is at most 500 characters" })))
})

/** The hold was released already: a release is once, and the row keeps who did it. */
export class HoldReleased extends Schema.TaggedError<HoldReleased>()(
  "HoldReleased",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 409 })
) {}

export class HoldsApi extends HttpApiGroup.make("holds")
  .add(
    HttpApiEndpoint.post("create", "/api/v1/holds")
      .setPayload(HoldRequest)
      .addSuccess(Hold, { status: 201 })
      .addError(BadRequest)
      .addError(NotFound)
      .addError(ServiceUnavailable)
      .middleware(OperatorAuth)
      .annotate(
        OpenApi.Description,
        "Put a legal hold on a plate, a list of reads, or a camera over a time range: the reads, their photos and " +
          "their audit rows are kept past the retention policy until an admin releases the hold."
      )
  )
  .add(
    HttpApiEndpoint.get("list", "/api/v1/holds")
      .setUrlParams(HoldListParams)
      .addSuccess(HoldList)
      .addError(BadRequest)
      .middleware(OperatorAuth)
      .annotate(OpenApi.Description, "Holds newest first (at most 500), with the reads each covers now.")
  )
  .add(
    HttpApiEndpoint.post("release", "/api/v1/holds/:id/release")
      .setPath(HoldPath)
      .setPayload(ReleaseRequest)
      .addSuccess(Hold)
      .addError(NotFound)
      .addError(HoldReleased)
      .middleware(AdminAuth)
      .annotate(OpenApi.Description, "Release a hold (admins): its reads fall under the retention policy again from the next run.")
  )
{}
