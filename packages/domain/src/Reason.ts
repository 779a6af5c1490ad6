import * as Schema from "effect/Schema"

/**
 * Why a person searched, investigated, opened a photo or exported reads: a reason code from the list
 * admins keep (`reason_codes`), optional free text and an optional case number. All three go in the
 * audit log. `AUDIT_REASON_REQUIRED` (on by default) makes the code required; the server checks it
 * against the active codes and names them when it is unknown or retired.
 */

/** The shape of a code (`stolen_vehicle`): what `reason_codes.code` allows. */
export const REASON_CODE_PATTERN = /^[a-z][a-z0-9_]{1,39}$/

/** A case number is at most this many characters. */
export const CASE_NUMBER_MAX = 64

/** A code as given: only its length is checked here, the server looks it up (and lists the valid ones). */
export const ReasonCodeParam = Schema.String.pipe(
  Schema.maxLength(64, { message: () => "reason_code is a reason code such as stolen_vehicle" })
)

export const ReasonText = Schema.String.pipe(
  Schema.maxLength(500, { message: () => "reason is at most 500 characters" })
)

/** Short and printable: no line breaks, tabs or other control or invisible format characters. */
export const CaseNumber = Schema.String.pipe(
  Schema.filter((s) =>
    (s.trim().length <= CASE_NUMBER_MAX && !/\p{C}/u.test(s)) ||
    `case_number is at most ${CASE_NUMBER_MAX} printable characters (no line breaks or control characters)`
  )
)

/** The fields a request carries its reason in (query parameters or a JSON body). */
export const ReasonFields = {
  /** one of the active reason codes (required unless the server is set with AUDIT_REASON_REQUIRED=false) */
  reason_code: Schema.optional(ReasonCodeParam),
  /** free text, optional: what the code does not say */
  reason: Schema.optional(ReasonText),
  /** the case or incident number, optional */
  case_number: Schema.optional(CaseNumber)
}

export const ReasonParams = Schema.Struct(ReasonFields)
export type ReasonParams = typeof ReasonParams.Type

/** A reason code as admins keep it; a retired one is refused in new requests and keeps its meaning in the log. */
export const ReasonCode = Schema.Struct({
  code: Schema.String,
  label: Schema.String,
  created_at: Schema.String,
  retired_at: Schema.NullOr(Schema.String)
})
export type ReasonCode = typeof ReasonCode.Type

/** A new code: lower-case letters, digits and `_`, starting with a letter (2 to 40 characters). */
export const NewReasonCode = Schema.String.pipe(
  Schema.pattern(REASON_CODE_PATTERN, {
    message: () => "code is 2 to 40 lower-case letters, digits and _, starting with a letter (e.g. hit_and_run)"
  })
)

/** What people see in the list: 1 to 100 characters, not blank, on one line. */
export const ReasonLabel = Schema.String.pipe(
  Schema.filter((s) =>
    (s.trim().length >= 1 && s.trim().length <= 100 && !/\p{C}/u.test(s)) ||
    "label is 1 to 100 printable characters"
  )
)
