import { BadRequest } from "@chaverim/domain/Errors"
import { normalizePlate } from "@chaverim/domain/Plate"
import { CameraRef } from "@chaverim/domain/Search"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Struct from "effect/Struct"
import { Audit } from "../audit/Audit"
import { givenReason, makeReasonOf, type Reason, reasonDetails } from "../audit/Reason"
import type { Actor, RequestInfo } from "../auth/Accounts"

/**
 * What every investigation does before and after its own statements: it checks the reason, the plate
 * and the range it was given, and records itself in the audit log with its parameters and the reason.
 * Also how the answers show a camera.
 */

const DAY_MS = 86_400_000
/** Without `from`, a range covers the 30 days before `to`. */
const DEFAULT_RANGE_MS = 30 * DAY_MS
export const MAX_RANGE_DAYS = 366

/** `from` inclusive, `to` exclusive. */
export const Range = Schema.Struct({ from: Schema.DateFromSelf, to: Schema.DateFromSelf })
export type Range = typeof Range.Type

/** The plate as typed, normalised like any plate; 400 when nothing of it is left. */
export const plateOf = (typed: string) => {
  const plate = normalizePlate(typed)
  return plate === "" ? Effect.fail(new BadRequest({ message: "plate has no letters or digits" })) : Effect.succeed(plate)
}

/** The range asked for, with its defaults, when it runs forwards and covers at most `maxDays`. */
export const rangeOf = (params: { from?: Date | undefined; to?: Date | undefined }, maxDays: number, what = "the range") => {
  const to = params.to ?? new Date()
  const from = params.from ?? new Date(to.getTime() - DEFAULT_RANGE_MS)
  if (from.getTime() >= to.getTime()) return Effect.fail(new BadRequest({ message: `${what}: from must be before to` }))
  if (to.getTime() - from.getTime() > maxDays * DAY_MS) {
    return Effect.fail(new BadRequest({ message: `${what} covers at most ${maxDays === 1 ? "24 hours" : `${maxDays} days`}` }))
  }
  return Effect.succeed<Range>({ from, to })
}

/** The camera of a row that selects the camera's columns under the contract's names (`...CameraRef.fields`). */
export const cameraRef = (row: typeof CameraRef.Type): typeof CameraRef.Type =>
  Struct.pick(row, "id", "external_id", "collector_id", "name", "site", "lat", "lon")

/** What the investigations share that needs the server: the pool, the reason rule, the audit log. */
export const makeInquiry = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const audit = yield* Audit
  const check = yield* makeReasonOf

  /** The reason the request carries (`reason_code`, `reason`, `case_number`), checked. */
  const reasonOf = (params: Parameters<typeof givenReason>[0]) => check(givenReason(params), "investigate")

  const record = (
    user: Actor,
    request: RequestInfo,
    action: string,
    target: string | undefined,
    reason: Reason,
    details: Record<string, unknown>
  ) =>
    audit.record({
      actor: user,
      address: request.address,
      action,
      ...(target === undefined ? {} : { target }),
      reason: reason.text,
      details: { ...reasonDetails(reason), ...details },
      outcome: "success"
    })

  /** The plate's reads in the range, by the index `(plate, detected_at)`. */
  const inRange = (plate: string, range: Range) =>
    sql`plate = ${plate} AND detected_at >= ${range.from} AND detected_at < ${range.to}`

  return { sql, reasonOf, record, inRange } as const
})

export type Inquiry = Effect.Effect.Success<typeof makeInquiry>
