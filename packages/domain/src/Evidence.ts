import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import * as Schema from "effect/Schema"
import { AdminAuth, OperatorAuth } from "./Auth"
import { BadRequest, Forbidden, NotFound, ServiceUnavailable } from "./Errors"
import { Instant, readSelectionFields } from "./ReadSelection"
import { CaseNumber, ReasonCodeParam, ReasonText } from "./Reason"

/**
 * Case exports: the reads of a case, their photos, corrections, chain of custody and audit rows in a
 * zip whose manifest is signed with the installation's Ed25519 evidence key, so that a recipient can
 * verify it offline with tools/verify-evidence.mjs and nothing else.
 */

/** The installation's evidence key: public, so that agencies can pin it before they receive a bundle. */
export const EvidenceKey = Schema.Struct({
  algorithm: Schema.Literal("Ed25519"),
  /** SubjectPublicKeyInfo, PEM */
  public_key_pem: Schema.String,
  /** the 32 bytes of the raw public key, base64 */
  public_key_base64: Schema.String,
  /** SHA-256 of the raw public key, 64 hex digits: what `--key` of the verifier takes */
  fingerprint: Schema.String,
  /** its first 16 hex digits in groups of four, for reading aloud; pin the full one */
  fingerprint_short: Schema.String,
  created_at: Schema.String
})
export type EvidenceKey = typeof EvidenceKey.Type

/** The most reads one export may list by id (`detections`). */
export const MAX_LISTED_DETECTIONS = 1_000

/**
 * What to export: exactly one of `plate` (with `with_corrections` to add the reads corrected to that
 * plate), `detections` (ids) or `camera_id` with `from` and `to`; and always why.
 */
export const ExportRequest = Schema.Struct({
  ...readSelectionFields(MAX_LISTED_DETECTIONS),
  /** with `plate`: also the reads whose correction in force says they show that plate */
  with_corrections: Schema.optional(Schema.Boolean),
  /** with `camera_id`: inclusive */
  from: Schema.optional(Instant),
  /** with `camera_id`: exclusive */
  to: Schema.optional(Instant),
  case_number: CaseNumber.pipe(Schema.filter((s) => s.trim().length > 0 || "case_number is required")),
  reason_code: ReasonCodeParam,
  reason: Schema.optional(ReasonText)
})
export type ExportRequest = typeof ExportRequest.Type

/** The reads an export was asked for, as recorded. */
export const ExportSelection = Schema.Struct({
  kind: Schema.Literal("plate", "detections", "camera"),
  plate: Schema.optional(Schema.String),
  with_corrections: Schema.optional(Schema.Boolean),
  detection_ids: Schema.optional(Schema.Array(Schema.String)),
  camera_id: Schema.optional(Schema.String),
  from: Schema.optional(Schema.String),
  to: Schema.optional(Schema.String)
})
export type ExportSelection = typeof ExportSelection.Type

/** Where an export was asked for or made: the web app (HTTP) or the command line. */
const Via = Schema.Literal("http", "cli")

/** What an export and a request for one both record: the case, why, which reads and how many. */
const CaseFields = {
  case_number: Schema.String,
  reason_code: Schema.String,
  reason: Schema.NullOr(Schema.String),
  selection: ExportSelection,
  detections: Schema.Number,
  images: Schema.Number
}

/** One export as admins see it in the list. */
export const ExportRecord = Schema.Struct({
  id: Schema.String,
  created_at: Schema.String,
  /** null: made with the command line */
  exported_by: Schema.NullOr(Schema.String),
  via: Via,
  ...CaseFields,
  /** photos whose stored bytes no longer had their SHA-256 from ingest, or were gone, when exported */
  images_not_matching: Schema.Number,
  bytes: Schema.Number,
  /** SHA-256 of the zip as it was handed out */
  sha256: Schema.String,
  key_fingerprint: Schema.String
})
export type ExportRecord = typeof ExportRecord.Type

export const ExportListParams = Schema.Struct({
  limit: Schema.optionalWith(
    Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 200, { message: () => "limit is 1 to 200" })),
    { default: () => 50 }
  ),
  /** the `next_cursor` of the previous page */
  cursor: Schema.optional(Schema.String.pipe(Schema.maxLength(200)))
})

export const ExportPage = Schema.Struct({
  items: Schema.Array(ExportRecord),
  next_cursor: Schema.NullOr(Schema.String)
})
export type ExportPage = typeof ExportPage.Type

/**
 * An export asked for while a second person's approval is required (EXPORT_APPROVAL=required): no
 * bundle exists until an admin other than the requester approves it; then the requester (or an admin)
 * downloads bundles made from exactly the reads selected when it was asked for.
 */
export const ExportApprovalState = Schema.Literal("pending", "approved", "refused")
export type ExportApprovalState = typeof ExportApprovalState.Type

export const ExportRequestRecord = Schema.Struct({
  id: Schema.String,
  created_at: Schema.String,
  /** null: asked for with the command line */
  requested_by: Schema.NullOr(Schema.String),
  requested_via: Via,
  ...CaseFields,
  state: ExportApprovalState,
  decided_at: Schema.NullOr(Schema.String),
  /** the admin who approved or refused it */
  decided_by: Schema.NullOr(Schema.String),
  decided_via: Schema.NullOr(Via),
  decision_note: Schema.NullOr(Schema.String),
  /** bundles released from it so far */
  released: Schema.Number
})
export type ExportRequestRecord = typeof ExportRequestRecord.Type

export const ExportRequestListParams = Schema.Struct({
  /** all states when absent */
  state: Schema.optional(ExportApprovalState),
  limit: Schema.optionalWith(
    Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 200, { message: () => "limit is 1 to 200" })),
    { default: () => 50 }
  )
})

export const ExportRequestList = Schema.Struct({ items: Schema.Array(ExportRequestRecord) })
export type ExportRequestList = typeof ExportRequestList.Type

export const ExportRequestPath = Schema.Struct({
  id: Schema.UUID.annotations({ message: () => "an export's id is a UUID" })
})

const DecisionNote = Schema.String.pipe(Schema.maxLength(500, { message: () => "note is at most 500 characters" }))

export const ApproveExport = Schema.Struct({ note: Schema.optional(DecisionNote) })
export const RefuseExport = Schema.Struct({
  note: DecisionNote.pipe(Schema.filter((s) => s.trim().length > 0 || "a refusal says why: note is required"))
})

/** The request was decided already (a decision is final), or is not approved (no bundle is released). */
export class ExportNotReleasable extends Schema.TaggedError<ExportNotReleasable>()(
  "ExportNotReleasable",
  { message: Schema.String, state: ExportApprovalState },
  HttpApiSchema.annotations({ status: 409 })
) {}

export class EvidenceApi extends HttpApiGroup.make("evidence")
  .add(
    HttpApiEndpoint.get("key", "/api/v1/evidence/key")
      .addSuccess(EvidenceKey)
      .annotate(
        OpenApi.Description,
        "The installation's Ed25519 evidence key and its fingerprint. Public, without signing in: agencies pin it " +
          "ahead of time and check bundles against it (node tools/verify-evidence.mjs FILE.zip --key FINGERPRINT)."
      )
  )
  .add(
    HttpApiEndpoint.post("export", "/api/v1/evidence/exports")
      .setPayload(ExportRequest)
      .addSuccess(HttpApiSchema.Uint8Array({ contentType: "application/zip" }))
      .addSuccess(ExportRequestRecord, { status: 202 })
      .addError(BadRequest)
      .addError(NotFound)
      .addError(ServiceUnavailable)
      .middleware(OperatorAuth)
      .annotate(
        OpenApi.Description,
        "Export the reads of a case as a signed bundle (zip): by plate, by a list of reads, or by camera and time. " +
          "case_number and reason_code are required. The answer is the zip; X-Export-Id and X-Bundle-SHA256 name it. " +
          "Recorded and audited (evidence.export) before it is sent. With EXPORT_APPROVAL=required the answer is 202 " +
          "with the pending request (audited: evidence.request) and no bundle: an admin other than the requester " +
          "approves it first."
      )
  )
  .add(
    HttpApiEndpoint.get("requests", "/api/v1/evidence/requests")
      .setUrlParams(ExportRequestListParams)
      .addSuccess(ExportRequestList)
      .addError(BadRequest)
      .middleware(OperatorAuth)
      .annotate(OpenApi.Description, "Export requests newest first: every one for admins, one's own for operators.")
  )
  .add(
    HttpApiEndpoint.post("approve", "/api/v1/evidence/requests/:id/approve")
      .setPath(ExportRequestPath)
      .setPayload(ApproveExport)
      .addSuccess(ExportRequestRecord)
      .addError(NotFound)
      .addError(Forbidden)
      .addError(ExportNotReleasable)
      .middleware(AdminAuth)
      .annotate(OpenApi.Description, "Approve a pending export (admins, never its requester; audited: evidence.approve).")
  )
  .add(
    HttpApiEndpoint.post("refuse", "/api/v1/evidence/requests/:id/refuse")
      .setPath(ExportRequestPath)
      .setPayload(RefuseExport)
      .addSuccess(ExportRequestRecord)
      .addError(NotFound)
      .addError(Forbidden)
      .addError(ExportNotReleasable)
      .middleware(AdminAuth)
      .annotate(OpenApi.Description, "Refuse a pending export with a note saying why (admins, never its requester; audited: evidence.refuse).")
  )
  .add(
    HttpApiEndpoint.post("release", "/api/v1/evidence/requests/:id/bundle")
      .setPath(ExportRequestPath)
      .addSuccess(HttpApiSchema.Uint8Array({ contentType: "application/zip" }))
      .addError(NotFound)
      .addError(Forbidden)
      .addError(ExportNotReleasable)
      .addError(ServiceUnavailable)
      .middleware(OperatorAuth)
      .annotate(
        OpenApi.Description,
        "The bundle of an approved export (its requester, or an admin), made now from the reads approved and naming " +
          "who approved it; recorded and audited (evidence.export) as every bundle is."
      )
  )
  .add(
    HttpApiEndpoint.get("list", "/api/v1/evidence/exports")
      .setUrlParams(ExportListParams)
      .addSuccess(ExportPage)
      .addError(BadRequest)
      .middleware(AdminAuth)
      .annotate(OpenApi.Description, "Every export made, newest first: who, when, the case, the reason, what, and the bundle's SHA-256.")
  )
{}
