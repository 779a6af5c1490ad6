import type { Role } from "@chaverim/domain/Auth"
import type { DeliveriesParams, DeliveriesResult, Delivery, DeliveryStatus } from "@chaverim/domain/Telegram"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"

/**
 * `telegram_deliveries`: each alert message owed to a volunteer's chat. The alert engine inserts rows
 * in the transaction that raises an alert; senders on any server claim due rows, and record the
 * outcome here.
 */

/** A claimed delivery with what is needed to decide whether it may still go out. */
export interface ClaimedDelivery {
  readonly id: string
  readonly alertId: string
  readonly userId: string
  /** the account's role now, which decides whether the alert may still be shown to it */
  readonly role: Role
  readonly chatId: string
  /** attempts made before this one */
  readonly attempts: number
  /** the chat is still the account's linked chat */
  readonly linked: boolean
  readonly disabled: boolean
}

const iso = (d: Date | string) => new Date(d).toISOString()
const isoOrNull = (d: Date | string | null) => (d === null ? null : iso(d))

export class TelegramDeliveries extends Effect.Service<TelegramDeliveries>()("@chaverim/server/TelegramDeliveries", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    /**
     * Takes up to `limit` due rows for this sender. The claim is a lease, not a held lock: the rows'
     * next attempt moves `leaseSeconds` ahead in a short transaction, so no connection is held while
     * Telegram answers, and a server that dies mid-send leaves the row to be retried when the lease ends.
     */
    const claim = (limit: number, leaseSeconds: number) =>
      Effect.map(
        sql<{
          id: string
          alert_id: string
          user_id: string
          role: Role
          chat_id: string
          attempts: number
          linked: boolean
          disabled: boolean
        }>`
          WITH due AS (
            SELECT id FROM telegram_deliveries
             WHERE status = 'pending' AND next_attempt_at <= now()
             ORDER BY next_attempt_at, id
             LIMIT ${limit}
             FOR UPDATE SKIP LOCKED
          )
          UPDATE telegram_deliveries d
             SET next_attempt_at = now() + make_interval(secs => ${leaseSeconds})
            FROM due
           WHERE d.id = due.id
          RETURNING d.id, d.alert_id, d.user_id, (SELECT u.role FROM users u WHERE u.id = d.user_id) AS role, d.chat_id, d.attempts,
                    EXISTS (SELECT 1 FROM telegram_links l WHERE l.user_id = d.user_id AND l.chat_id = d.chat_id) AS linked,
                    EXISTS (SELECT 1 FROM users u WHERE u.id = d.user_id AND u.disabled_at IS NOT NULL) AS disabled`,
        (rows) =>
          rows.map((r): ClaimedDelivery => ({
            id: String(r.id),
            alertId: String(r.alert_id),
            userId: r.user_id,
            role: r.role,
            chatId: String(r.chat_id),
            attempts: r.attempts,
            linked: r.linked,
            disabled: r.disabled
          }))
      )

    const sent = (id: string, messageId: number) =>
      sql`
        UPDATE telegram_deliveries
           SET status = 'sent', attempts = attempts + 1, message_id = ${messageId}, sent_at = now(), last_error = NULL
         WHERE id = ${id}`.pipe(Effect.asVoid)

    /** A failed attempt: tried again after `delayMs`, unless it was the last allowed (then failed for good). */
    const retryLater = (id: string, error: string, delayMs: number, maxAttempts: number) =>
      Effect.map(
        sql<{ status: DeliveryStatus }>`
          UPDATE telegram_deliveries
             SET attempts = attempts + 1,
                 last_error = ${error},
                 status = CASE WHEN attempts + 1 >= ${maxAttempts} THEN 'failed' ELSE 'pending' END,
                 next_attempt_at = now() + make_interval(secs => ${delayMs / 1_000})
           WHERE id = ${id}
          RETURNING status`,
        ([row]) => row?.status ?? "failed"
      )

    /** Given up at once; `counts` is false when no message was attempted (the chat was unlinked). */
    const failed = (id: string, error: string, counts = true) =>
      sql`
        UPDATE telegram_deliveries
           SET status = 'failed', last_error = ${error}, attempts = attempts + ${counts ? 1 : 0}
         WHERE id = ${id}`.pipe(Effect.asVoid)

    /** Milliseconds until the next pending row is due (0 when one is due now); undefined when none is pending. */
    // Not greatest(0, ...) in SQL: it ignores NULL, so "nothing pending" would read as "due now" and
    // the sender would spin.
    const nextDueInMs = Effect.map(
      sql<{ wait_ms: number | null }>`
        SELECT ceil(extract(epoch FROM min(next_attempt_at) - now()) * 1000)::float8 AS wait_ms
          FROM telegram_deliveries WHERE status = 'pending'`,
      ([row]) => (row?.wait_ms === null || row?.wait_ms === undefined ? undefined : Math.max(0, Number(row.wait_ms)))
    )

    /** For admins: deliveries by status, newest first, keyset-paged by id. */
    const list = Effect.fn("TelegramDeliveries.list")(function*(params: DeliveriesParams) {
      const rows = yield* sql<{
        id: string
        alert_id: string
        plate: string
        user_id: string
        username: string
        chat_id: string
        status: DeliveryStatus
        attempts: number
        next_attempt_at: Date
        last_error: string | null
        message_id: string | null
        created_at: Date
        sent_at: Date | null
      }>`
        SELECT d.id, d.alert_id, a.plate, d.user_id, u.username, d.chat_id, d.status, d.attempts,
               d.next_attempt_at, d.last_error, d.message_id, d.created_at, d.sent_at
          FROM telegram_deliveries d
          JOIN alerts a ON a.id = d.alert_id
          JOIN users u ON u.id = d.user_id
         WHERE d.status = ${params.status}
           ${params.cursor === undefined ? sql`` : sql`AND d.id < ${params.cursor}::bigint`}
         ORDER BY d.id DESC
         LIMIT ${params.limit + 1}`
      const items = rows.slice(0, params.limit).map((r): Delivery => ({
        id: String(r.id),
        alert_id: String(r.alert_id),
        plate: r.plate,
        user_id: r.user_id,
        username: r.username,
        chat_id: String(r.chat_id),
        status: r.status,
        attempts: r.attempts,
        next_attempt_at: iso(r.next_attempt_at),
        last_error: r.last_error,
        message_id: r.message_id === null ? null : String(r.message_id),
        created_at: iso(r.created_at),
        sent_at: isoOrNull(r.sent_at)
      }))
      return {
        items,
        next_cursor: rows.length > params.limit ? items[items.length - 1]!.id : null
      } satisfies DeliveriesResult
    })

    return { claim, sent, retryLater, failed, nextDueInMs, list } as const
  })
}) {}
