import { Role } from "@chaverim/domain/Auth"
import { DeliveriesParams, type DeliveriesResult, Delivery, DeliveryStatus } from "@chaverim/domain/Telegram"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { Int8Text, Int8TextOrNull, IsoTime, IsoTimeOrNull, orBug } from "../db/Rows"

/**
 * `telegram_deliveries`: each alert message owed to a volunteer's chat. Telegram's share of the outbox
 * (Recipients.ts) inserts rows in the transaction that takes the alert's event; senders on any server
 * claim due rows, and record the outcome here.
 */

/** Wakes the senders when deliveries are owed; the payload is never empty (PgClient.listen drops empty ones). */
export const TELEGRAM_DELIVERY_CHANNEL = "telegram_delivery"

/** A row of `telegram_deliveries` (with its alert's plate, or its health alert, and the account's name) as the admin API shows it. */
const DeliveryRow = Schema.Struct({
  ...Delivery.fields,
  id: Int8Text,
  alert_id: Schema.NullOr(Int8Text),
  health_alert_id: Schema.NullOr(Int8Text),
  chat_id: Int8Text,
  message_id: Int8TextOrNull,
  next_attempt_at: IsoTime,
  created_at: IsoTime,
  sent_at: IsoTimeOrNull
})

/** A claimed delivery with what is needed to decide whether it may still go out. */
const ClaimedDelivery = Schema.Struct({
  id: Int8Text,
  /** an alert's message; null for a health alert's */
  alertId: Schema.NullOr(Int8Text),
  /** a health alert's raising or clearing (sql/0032) */
  healthAlertId: Schema.NullOr(Int8Text),
  healthEvent: Schema.NullOr(Schema.Literal("raised", "cleared")),
  userId: Schema.String,
  /** the account's role now, which decides whether the alert may still be shown to it */
  role: Role,
  chatId: Int8Text,
  /** attempts made before this one */
  attempts: Schema.Number,
  /** the chat is still the account's linked chat */
  linked: Schema.Boolean,
  disabled: Schema.Boolean
})
export type ClaimedDelivery = typeof ClaimedDelivery.Type

export class TelegramDeliveries extends Effect.Service<TelegramDeliveries>()("@chaverim/server/TelegramDeliveries", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    /**
     * Takes up to `limit` due rows for this sender. The claim is a lease, not a held lock: the rows'
     * next attempt moves `leaseSeconds` ahead in a short transaction, so no connection is held while
     * Telegram answers, and a server that dies mid-send leaves the row to be retried when the lease ends.
     */
    const claim = SqlSchema.findAll({
      Request: Schema.Struct({ limit: Schema.Number, leaseSeconds: Schema.Number }),
      Result: ClaimedDelivery,
      execute: ({ leaseSeconds, limit }) =>
        sql`
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
          RETURNING d.id, d.alert_id AS "alertId", d.health_alert_id AS "healthAlertId", d.health_event AS "healthEvent",
                    d.user_id AS "userId",
                    (SELECT u.role FROM users u WHERE u.id = d.user_id) AS role, d.chat_id AS "chatId", d.attempts,
                    EXISTS (SELECT 1 FROM telegram_links l WHERE l.user_id = d.user_id AND l.chat_id = d.chat_id) AS linked,
                    EXISTS (SELECT 1 FROM users u WHERE u.id = d.user_id AND u.disabled_at IS NOT NULL) AS disabled`
    })

    const sent = (id: string, messageId: number) =>
      sql`
        UPDATE telegram_deliveries
           SET status = 'sent', attempts = attempts + 1, message_id = ${messageId}, sent_at = now(), last_error = NULL
         WHERE id = ${id}`.pipe(Effect.asVoid)

    /** A failed attempt: tried again after `delayMs`, unless it was the last allowed (then failed for good). */
    const retryLater = (id: string, error: string, delayMs: number, maxAttempts: number) =>
      Effect.map(
        SqlSchema.findOne({ Request: Schema.Void, Result: Schema.Struct({ status: DeliveryStatus }), execute: () => sql`
          UPDATE telegram_deliveries
             SET attempts = attempts + 1,
                 last_error = ${error},
                 status = CASE WHEN attempts + 1 >= ${maxAttempts} THEN 'failed' ELSE 'pending' END,
                 next_attempt_at = now() + make_interval(secs => ${delayMs / 1_000})
           WHERE id = ${id}
          RETURNING status` })(undefined).pipe(orBug),
        Option.match({ onNone: () => "failed" as const, onSome: (row) => row.status })
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
      SqlSchema.single({
        Request: Schema.Void,
        Result: Schema.Struct({ wait_ms: Schema.NullOr(Schema.Number) }),
        execute: () =>
          sql`SELECT ceil(extract(epoch FROM min(next_attempt_at) - now()) * 1000)::float8 AS wait_ms
                FROM telegram_deliveries WHERE status = 'pending'`
      })(undefined).pipe(orBug, Effect.catchTag("NoSuchElementException", () => Effect.dieMessage("an aggregate returned no row"))),
      ({ wait_ms }) => (wait_ms === null ? undefined : Math.max(0, wait_ms))
    )

    /** For admins: deliveries by status, newest first, keyset-paged by id. */
    const page = SqlSchema.findAll({
      // the decoded parameters as they are (encoding them would turn `limit` back into text)
      Request: Schema.typeSchema(DeliveriesParams),
      Result: DeliveryRow,
      execute: (params) =>
        sql`
          SELECT d.id, d.alert_id, a.plate, d.health_alert_id, d.health_event, d.user_id, u.username, d.chat_id,
                 d.status, d.attempts, d.next_attempt_at, d.last_error, d.message_id, d.created_at, d.sent_at
            FROM telegram_deliveries d
            LEFT JOIN alerts a ON a.id = d.alert_id
            JOIN users u ON u.id = d.user_id
           WHERE d.status = ${params.status}
             ${params.cursor === undefined ? sql`` : sql`AND d.id < ${params.cursor}::bigint`}
           ORDER BY d.id DESC
           LIMIT ${params.limit + 1}`
    })

    /** For admins: deliveries by status, newest first, keyset-paged by id. */
    const list = Effect.fn("TelegramDeliveries.list")(function*(params: DeliveriesParams) {
      const rows = yield* orBug(page(params))
      const items = rows.slice(0, params.limit)
      return {
        items,
        next_cursor: rows.length > params.limit ? items[items.length - 1]?.id ?? null : null
      } satisfies DeliveriesResult
    })

    return { claim: (limit: number, leaseSeconds: number) => orBug(claim({ limit, leaseSeconds })), sent, retryLater, failed, nextDueInMs, list } as const
  })
}) {}
