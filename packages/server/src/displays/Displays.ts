import { BadRequest, NotFound, Unauthorized } from "@chaverim/domain/Errors"
import { type DisplayCode, DisplaySummary } from "@chaverim/domain/rpc/Displays"
import { WALL_ACKNOWLEDGED_HOURS } from "@chaverim/domain/rpc/Wall"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { LIVE_EVENTS_KEPT_HOURS } from "../live/Events"
import { type Viewer, visibleTo } from "../alerts/Views"
import { Accounts, type Actor } from "../auth/Accounts"
import { ADDRESS_BUDGET, addressKey, type AttemptBudget, makeThrottle } from "../auth/Throttle"
import { Audit } from "../audit/Audit"
import { AppConfig } from "../Config"
import { canonicalCode, newTypableCode, sha256Hex } from "../crypto/Tokens"
import { IsoTime, IsoTimeOrNull, orBug } from "../db/Rows"
import { type RequestInfo } from "../http/ClientAddress"
import { throttleScope } from "../http/Proxies"

/** How long a pairing code works. */
export const DISPLAY_CODE_MINUTES = 15

/** Pairing codes one address may try before it must wait (on top of the sign-in address budget). */
const PAIRING_BUDGET: AttemptBudget = { limit: 5, window: "15 minutes" }
const pairKey = (address: string) => `pair:${throttleScope(address)}`

/** A row of `displays` with its creator, open code and screen session, as the admins' list shows it. */
const DisplayRow = Schema.Struct({
  ...DisplaySummary.fields,
  created_at: IsoTime,
  paired_at: IsoTimeOrNull,
  session_expires_at: IsoTimeOrNull,
  last_seen_at: IsoTimeOrNull,
  code_expires_at: IsoTimeOrNull,
  revoked_at: IsoTimeOrNull
})

/** A display's row as a change to it needs it. */
const LockedRow = Schema.Struct({ user_id: Schema.String, name: Schema.String, revoked: Schema.Boolean })

/** The display a pairing code opened, with its account's name. */
const PairedRow = Schema.Struct({ id: Schema.String, name: Schema.String, user_id: Schema.String, username: Schema.String })

const IdRow = Schema.Struct({ id: Schema.String })

/** The audit log's and the session's name of a display's account: never a person's (no ':' there). */
export const displayUsername = (name: string) => `display:${name}`

const WRONG_CODE = "that pairing code is wrong, used or expired: ask an admin for a new one"

/**
 * Wall displays (sql/0010): an admin names a screen and gets a pairing code (15 minutes, single use,
 * 40 bits, stored hashed); the screen sends it to `POST /api/v1/auth/pair` and gets a session of the
 * display's own viewer account for DISPLAY_SESSION_DAYS. Pairing again (with a new code) replaces the
 * screen's session; revoking ends it and disables the account. Every step is audited.
 */
export class Displays extends Effect.Service<Displays>()("@chaverim/server/Displays", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const audit = yield* Audit
    const accounts = yield* Accounts
    const throttle = yield* makeThrottle
    const { displaySessionDays } = yield* AppConfig

    const list = SqlSchema.findAll({
      Request: Schema.Void,
      Result: DisplayRow,
      execute: () =>
        sql`
          SELECT d.id AS display_id, d.name, d.created_at, c.username AS created_by, d.paired_at, d.revoked_at,
                 CASE WHEN d.code_expires_at > now() THEN d.code_expires_at END AS code_expires_at,
                 s.expires_at AS session_expires_at,
                 (SELECT max(last_seen_at) FROM sessions x WHERE x.user_id = d.user_id) AS last_seen_at
            FROM displays d
            LEFT JOIN users c ON c.id = d.created_by
            LEFT JOIN LATERAL (
              SELECT expires_at FROM sessions
               WHERE user_id = d.user_id AND revoked_at IS NULL AND expires_at > now()
               ORDER BY expires_at DESC LIMIT 1
            ) s ON true
           ORDER BY d.revoked_at IS NOT NULL, lower(d.name)`
    })(undefined).pipe(orBug)

    const summaryOf = (displayId: string) =>
      Effect.flatMap(list, (all) => {
        const found = all.find((d) => d.display_id === displayId)
        return found === undefined ? new NotFound({ message: `no display ${displayId}` }) : Effect.succeed(found)
      })

    /** A new code for the display; any code made before it stops working. */
    const issueCode = (displayId: string, name: string) =>
      Effect.gen(function*() {
        const code = newTypableCode(2)
        // The display was just made or locked by the caller: no row back would be a bug (a defect).
        const row = yield* SqlSchema.single({
          Request: Schema.Void,
          Result: Schema.Struct({ code_expires_at: IsoTime }),
          execute: () =>
            sql`
              UPDATE displays
                 SET code_hash = ${sha256Hex(canonicalCode(code))},
                     code_expires_at = now() + make_interval(mins => ${DISPLAY_CODE_MINUTES})
               WHERE id = ${displayId}
              RETURNING code_expires_at`
        })(undefined).pipe(orBug, Effect.catchTag("NoSuchElementException", Effect.die))
        return { display_id: displayId, name, code, expires_at: row.code_expires_at } satisfies DisplayCode
      })

    const create = (name: string, by: Actor, request: RequestInfo) =>
      sql.withTransaction(Effect.gen(function*() {
        const trimmed = name.trim()
        const taken = new BadRequest({ message: `a display named ${trimmed} exists (or existed): choose another name` })
        // Both names are unique (case aside): a second admin adding the same name at the same moment
        // waits for the first and then finds it taken.
        const user = yield* SqlSchema.findOne({
          Request: Schema.Void,
          Result: IdRow,
          execute: () =>
            sql`
              INSERT INTO users (username, role, password_hash, must_change_password, display)
              VALUES (${displayUsername(trimmed)}, 'viewer', NULL, false, true)
              ON CONFLICT DO NOTHING
              RETURNING id`
        })(undefined).pipe(orBug)
        if (Option.isNone(user)) return yield* taken
        const display = yield* SqlSchema.findOne({
          Request: Schema.Void,
          Result: IdRow,
          execute: () =>
            sql`
              INSERT INTO displays (name, user_id, created_by) VALUES (${trimmed}, ${user.value.id}, ${by.userId ?? null})
              ON CONFLICT DO NOTHING
              RETURNING id`
        })(undefined).pipe(orBug)
        if (Option.isNone(display)) return yield* taken
        const displayId = display.value.id
        const code = yield* issueCode(displayId, trimmed)
        yield* audit.record({
          actor: by,
          address: request.address,
          action: "display.create",
          target: `display:${displayId}`,
          details: { name: trimmed, code_expires_at: code.expires_at },
          outcome: "success"
        })
        return code
      }))

    /** The display's row, locked to the end of the transaction. */
    const lockedRow = SqlSchema.findOne({
      Request: Schema.String,
      Result: LockedRow,
      execute: (displayId) =>
        sql`SELECT user_id, name, revoked_at IS NOT NULL AS revoked FROM displays WHERE id = ${displayId} FOR UPDATE`
    })
    const locked = (displayId: string) =>
      Effect.flatMap(
        orBug(lockedRow(displayId)),
        Option.match({
          onNone: () => new NotFound({ message: `no display ${displayId}` }),
          onSome: Effect.succeed
        })
      )

    const newCode = (displayId: string, by: Actor, request: RequestInfo) =>
      sql.withTransaction(Effect.gen(function*() {
        const display = yield* locked(displayId)
        if (display.revoked) return yield* new BadRequest({ message: `the display ${display.name} is revoked: add a new one` })
        const code = yield* issueCode(displayId, display.name)
        yield* audit.record({
          actor: by,
          address: request.address,
          action: "display.pairing_code",
          target: `display:${displayId}`,
          details: { name: display.name, code_expires_at: code.expires_at },
          outcome: "success"
        })
        return code
      }))

    const revoke = (displayId: string, by: Actor, request: RequestInfo) =>
      Effect.gen(function*() {
        yield* sql.withTransaction(Effect.gen(function*() {
          const display = yield* locked(displayId)
          if (display.revoked) return
          yield* sql`UPDATE displays SET revoked_at = now(), code_hash = NULL, code_expires_at = NULL WHERE id = ${displayId}`
          yield* sql`UPDATE users SET disabled_at = now(), updated_at = now() WHERE id = ${display.user_id}`
          const ended = yield* accounts.revokeSessions(display.user_id)
          yield* audit.record({
            actor: by,
            address: request.address,
            action: "display.revoke",
            target: `display:${displayId}`,
            details: { name: display.name, sessions_ended: ended },
            outcome: "success"
          })
        }))
        return yield* summaryOf(displayId)
      })

    /** Takes the open code `hash` off its display, which is then paired. */
    const pairedBy = SqlSchema.findOne({
      Request: Schema.String,
      Result: PairedRow,
      execute: (hash) =>
        sql`
          UPDATE displays d SET code_hash = NULL, code_expires_at = NULL, paired_at = now()
            FROM users u
           WHERE d.code_hash = ${hash} AND d.code_expires_at > now() AND d.revoked_at IS NULL
             AND u.id = d.user_id AND u.disabled_at IS NULL
          RETURNING d.id, d.name, d.user_id, u.username`
    })

    /**
     * The screen's side: a session for the display whose open code this is. Each try takes an attempt
     * from the address's budgets before the code is looked up (5 codes in 15 minutes, and the 20 of
     * sign-in); a code that pairs gives them back.
     */
    const pair = (typed: string, request: RequestInfo) =>
      Effect.gen(function*() {
        const address = request.address
        const attempt = yield* throttle.take([[pairKey(address), PAIRING_BUDGET], [addressKey(address), ADDRESS_BUDGET]])
        const hash = sha256Hex(canonicalCode(typed))
        const outcome = yield* sql.withTransaction(Effect.gen(function*() {
          const paired = yield* orBug(pairedBy(hash))
          if (Option.isNone(paired)) return undefined
          const display = paired.value
          // One screen per display: pairing again moves the display to the screen that typed the code.
          const replaced = yield* accounts.revokeSessions(display.user_id)
          const { hash: sessionHash, session } = yield* accounts.openSession(display.user_id, displaySessionDays * 24, request)
          yield* audit.record({
            actor: { userId: display.user_id, username: display.username },
            address,
            action: "display.pair",
            target: `display:${display.id}`,
            details: { name: display.name, replaced_sessions: replaced },
            outcome: "success"
          })
          return { session, me: yield* accounts.me(sessionHash) }
        }))
        if (outcome !== undefined) return yield* Effect.as(attempt.giveBack, outcome)
        yield* audit.record({ address, action: "display.pair", details: { reason: "wrong, used or expired code" }, outcome: "failure" })
        return yield* new Unauthorized({ message: WRONG_CODE })
      })

    /** The screen showed the wall just now (its `wall.status` call): what the admin sees as "last seen". */
    const seen = (sessionHash: string) =>
      sql`UPDATE sessions SET last_seen_at = now() WHERE token_hash = ${sessionHash}`.pipe(Effect.asVoid)

    /**
     * Whether the wall may show this read's plate crop to `display`: a read the live feed may still
     * send it (received within the hours the feed keeps; the wall shows the latest ones), or the
     * latest read of an alert the wall shows (`onWall`: new, or acknowledged within WALL_ACKNOWLEDGED_HOURS)
     * on a list it may see, however old the read. Which reads
     * one screen was actually sent is not kept: it reconnects and resumes, and nothing it could be
     * shown is more than what the feed gives every viewer.
     */
    const shows = (detectionId: string, display: Viewer) =>
      Effect.map(
        SqlSchema.findOne({
          Request: Schema.Void,
          Result: Schema.Struct({ shown: Schema.Boolean }),
          execute: () =>
            sql`
              SELECT EXISTS (
                       SELECT 1 FROM detections
                        WHERE id = ${detectionId}
                          AND received_at > now() - make_interval(hours => ${LIVE_EVENTS_KEPT_HOURS}))
                  OR EXISTS (
                       SELECT 1 FROM alerts a JOIN watchlists w ON w.id = a.watchlist_id
                        WHERE a.last_detection_id = ${detectionId} AND ${visibleTo(sql, display)}
                          AND (a.status = 'new' OR (a.status = 'acknowledged' AND
                               greatest(coalesce(a.acknowledged_at, a.last_seen_at), a.last_seen_at)
                                 > now() - make_interval(hours => ${WALL_ACKNOWLEDGED_HOURS}))))
                  AS shown`
        })(undefined).pipe(orBug),
        Option.exists((row) => row.shown)
      )

    return { list, create, newCode, revoke, pair, seen, shows } as const
  })
}) {}
