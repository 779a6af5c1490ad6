import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { canonicalCode, newTypableCode, sha256Hex } from "../crypto/Tokens"
import { orBug } from "../db/Rows"

/**
 * Recovery codes (`recovery_codes`): issued at TOTP enrolment, each good once in place of a TOTP code.
 * Only their SHA-256 is kept.
 */

const RECOVERY_CODES = 10

/** `XXXX-XXXX-XXXX-XXXX`: 80 random bits, so a SHA-256 of it is as good as a slow hash. */
const newRecoveryCode = () => newTypableCode(4)

export const makeRecovery = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient

  /** Every code of the account stops working. */
  const forget = (userId: string) => sql`DELETE FROM recovery_codes WHERE user_id = ${userId}`

  /** New codes for the account, replacing any earlier ones: shown once, kept only as hashes. */
  const issue = (userId: string) =>
    Effect.gen(function*() {
      const codes = Array.from({ length: RECOVERY_CODES }, newRecoveryCode)
      const hashes = codes.map((c) => sha256Hex(canonicalCode(c)))
      yield* sql.withTransaction(Effect.zipRight(
        forget(userId),
        sql`INSERT INTO recovery_codes (user_id, code_hash)
            SELECT ${userId}::uuid, unnest(${hashes}::text[])`
      ))
      return codes
    })

  /** Whether `typed` is one of the account's unused codes; it is used up if so. */
  const use = (userId: string, typed: string) =>
    Effect.map(
      sql`
        UPDATE recovery_codes SET used_at = now()
         WHERE user_id = ${userId} AND used_at IS NULL
           AND code_hash = ${sha256Hex(canonicalCode(typed))}
        RETURNING 1`,
      (used) => used.length === 1
    )

  const countLeft = SqlSchema.single({
    Request: Schema.String,
    Result: Schema.Struct({ n: Schema.Number }),
    execute: (userId) =>
      sql`SELECT count(*)::int AS n FROM recovery_codes WHERE user_id = ${userId} AND used_at IS NULL`
  })

  /** How many of the account's codes are unused. */
  const left = (userId: string) =>
    countLeft(userId).pipe(
      orBug,
      Effect.catchTag("NoSuchElementException", () => Effect.dieMessage("count(*) returned no row")),
      Effect.map((row) => row.n)
    )

  return { issue, use, left, forget } as const
})
