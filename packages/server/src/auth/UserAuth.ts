import { CurrentUser, type Role, UserAuth } from "@chaverim/domain/Auth"
import { Unauthorized } from "@chaverim/domain/Errors"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { sha256Hex } from "../crypto/Tokens"

/** Session cookies: the token is looked up by its SHA-256; expired, revoked or disabled means 401. */
export const UserAuthLive = Layer.effect(
  UserAuth,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    return {
      session: (token) =>
        Effect.gen(function*() {
          const value = Redacted.value(token)
          if (value.length === 0 || value.length > 200) {
            return yield* new Unauthorized({ message: "sign in first" })
          }
          const [row] = yield* sql<{ user_id: string; username: string; role: Role }>`
            SELECT s.user_id, u.username, u.role
              FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = ${sha256Hex(value)} AND s.revoked_at IS NULL
               AND s.expires_at > now() AND u.disabled_at IS NULL`.pipe(Effect.orDie)
          if (!row) return yield* new Unauthorized({ message: "your session has ended; sign in again" })
          return CurrentUser.of({ userId: row.user_id, username: row.username, role: row.role })
        })
    }
  })
)
