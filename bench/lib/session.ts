import { createHash, randomBytes } from "node:crypto"
import type pg from "pg"

/**
 * A session cookie of a benchmark's own account (made once, without a password: it only ever signs in
 * through this row), for asking the HTTP API as that role would.
 */
export const benchCookie = async (db: pg.Client, username: string, role: "admin" | "operator" | "viewer") => {
  await db.query(
    "INSERT INTO users (username, role, must_change_password) VALUES ($1, $2, false) ON CONFLICT DO NOTHING",
    [username, role]
  )
  const token = randomBytes(32).toString("base64url")
  await db.query(
    `INSERT INTO sessions (token_hash, user_id, expires_at, csrf_token)
     SELECT $1, id, now() + interval '1 day', $2 FROM users WHERE username = $3`,
    [createHash("sha256").update(token).digest("hex"), randomBytes(16).toString("base64url"), username]
  )
  return `alpr_session=${token}`
}
