import { BadRequest } from "@chaverim/domain/Errors"
import { CASE_NUMBER_MAX, REASON_CODE_PATTERN } from "@chaverim/domain/Reason"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { AppConfig } from "../Config"
import { orBug } from "../db/Rows"

/**
 * Why a person searched, investigated, opened a photo or exported reads, as a request gives it: a
 * reason code (`reason_codes`), free text and a case number, each optional here (the domain's
 * `ReasonFields` on the wire, `--reason-code`, `--reason` and `--case` on the command line).
 */
export interface GivenReason {
  readonly code?: string | undefined
  readonly text?: string | undefined
  readonly caseNumber?: string | undefined
}

/**
 * A reason checked by `reasonOf`: the code is an active one (or absent when the server does not
 * require it), text and case number trimmed, blank ones absent.
 */
export interface Reason {
  readonly code: string | undefined
  readonly text: string | undefined
  readonly caseNumber: string | undefined
}

/** What the wire carries (`reason_code`, `reason`, `case_number`) as a `GivenReason`. */
export const givenReason = (params: {
  readonly reason_code?: string | undefined
  readonly reason?: string | undefined
  readonly case_number?: string | undefined
}): GivenReason => ({ code: params.reason_code, text: params.reason, caseNumber: params.case_number })

const blankToUndefined = (text: string | undefined) => {
  const trimmed = text?.trim()
  return trimmed === undefined || trimmed === "" ? undefined : trimmed
}

const CodeRow = Schema.Struct({ code: Schema.String, retired: Schema.Boolean })

/**
 * The check itself, with the pool and the settings it needs already in hand: for a service that takes
 * them when it is built (`const reasonOf = yield* makeReasonOf`), so that its methods need nothing more.
 */
export const makeReasonOf = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const config = yield* AppConfig
  // The table is a handful of rows: read whole at each check, so that a code retired on any server
  // is refused at once everywhere.
  const codes = SqlSchema.findAll({
    Request: Schema.Void,
    Result: CodeRow,
    execute: () => sql`SELECT code, retired_at IS NOT NULL AS retired FROM reason_codes ORDER BY code`
  })

  /**
   * The reason checked for an action (`doing`: "search", "investigate", "open the photo", "export", as
   * in "say why you ..."). The code, when given, must be an active one, and when the server requires
   * reasons (AUDIT_REASON_REQUIRED, the default) it must be given; a 400 names the active codes. Free
   * text and the case number are optional (their shape is the domain's `ReasonFields`; a case number
   * over 64 characters or with control characters is refused here too, for callers that did not decode one).
   * `{ required: false }` takes a reason where one is welcome but not asked for: a code given is still checked.
   */
  return (given: GivenReason, doing: string, options?: { readonly required?: boolean }): Effect.Effect<Reason, BadRequest> =>
    Effect.gen(function*() {
      const code = blankToUndefined(given.code)
      const text = blankToUndefined(given.text)
      const caseNumber = blankToUndefined(given.caseNumber)
      if (text !== undefined && text.length > 500) {
        return yield* new BadRequest({ message: "reason is at most 500 characters" })
      }
      if (caseNumber !== undefined && (caseNumber.length > CASE_NUMBER_MAX || /\p{C}/u.test(caseNumber))) {
        return yield* new BadRequest({
          message: `case_number is at most ${CASE_NUMBER_MAX} printable characters (no line breaks or control characters)`
        })
      }
      const required = config.reasonRequired && options?.required !== false
      if (code === undefined && !required) return { code, text, caseNumber }
      const known = yield* orBug(codes()).pipe(Effect.orDie)
      const active = known.filter((row) => !row.retired).map((row) => row.code)
      const valid = active.length === 0 ? "none is active: an admin adds them" : active.join(", ")
      if (code === undefined) {
        return yield* new BadRequest({
          message: `reason_code is required: say why you ${doing} (it goes in the audit log); one of: ${valid}`
        })
      }
      if (active.includes(code)) return { code, text, caseNumber }
      // The code is named back only when it looks like one: what else was sent stays out of the answer.
      const named = REASON_CODE_PATTERN.test(code) ? ` "${code}"` : ""
      const retired = known.some((row) => row.code === code && row.retired)
      return yield* new BadRequest({
        message: `reason_code${named} is ${retired ? "retired" : "not a reason code"}; use one of: ${valid}`
      })
    })
})

/** `makeReasonOf` at the point of use: needs the pool and AppConfig. */
export const reasonOf = (given: GivenReason, doing: string, options?: { readonly required?: boolean }) =>
  Effect.flatMap(makeReasonOf, (check) => check(given, doing, options))

/**
 * What an audit row records of a reason besides its text (the row's `reason`: `reason: reason.text`):
 * the code and the case number, for the row's `details`. The audit chain and its table stay as they are.
 */
export const reasonDetails = (reason: Reason): { reason_code?: string; case_number?: string } => ({
  ...(reason.code === undefined ? {} : { reason_code: reason.code }),
  ...(reason.caseNumber === undefined ? {} : { case_number: reason.caseNumber })
})

