import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import { generateSecret, generateURI, verify as verifyTotp } from "otplib"

/**
 * The second factor: an authenticator's secret, enrolled at the first sign-in (its first good code
 * proves the user holds it), and the account's codes, each good once (`users.totp_last_step`).
 */

const ISSUER = "Chaverim ALPR"

/** A new authenticator secret, and the otpauth:// URL (a QR code) an authenticator app reads it from. */
export const newEnrolment = (label: string) => {
  const secret = generateSecret()
  return { secret, otpauthUrl: generateURI({ issuer: ISSUER, label, secret }) }
}

export const makeTotp = Effect.map(SqlClient.SqlClient, (sql) => {
  /**
   * Whether `code` is the secret's code now (30 seconds either way) and is claimed for the account:
   * with `afterStep` (the last time step used), only a later code is good.
   */
  const check = (userId: string, secret: string, code: string, afterStep: number | undefined) =>
    Effect.gen(function*() {
      const result = yield* Effect.promise(() =>
        verifyTotp({
          secret,
          token: code,
          epochTolerance: 30,
          ...(afterStep !== undefined ? { afterTimeStep: afterStep } : {})
        }).catch(() => ({ valid: false as const }))
      )
      if (!(result.valid && "timeStep" in result)) return false
      // A code is good once, even when two requests carry it at the same moment.
      const claimed = yield* sql`
        UPDATE users SET totp_last_step = ${result.timeStep}
         WHERE id = ${userId} AND (totp_last_step IS NULL OR totp_last_step < ${result.timeStep})
        RETURNING 1`
      return claimed.length === 1
    })

  /** The enrolment's secret becomes the account's. */
  const enrol = (userId: string, secret: string) =>
    sql`UPDATE users SET totp_secret = ${secret}, totp_enrolled_at = now(), updated_at = now()
         WHERE id = ${userId}`

  /** The account enrols again at its next sign-in; its authenticator's codes stop working. */
  const forget = (userId: string) =>
    sql`UPDATE users SET totp_secret = NULL, totp_enrolled_at = NULL, totp_last_step = NULL,
                         updated_at = now() WHERE id = ${userId}`

  return { check, enrol, forget } as const
})
