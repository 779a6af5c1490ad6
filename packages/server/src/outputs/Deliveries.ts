import { DeliveryEvent, OutputDeliveriesRequest, OutputDelivery, OutputDeliveryStatus } from "@chaverim/domain/Outputs"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { Int8Text, IsoTime, IsoTimeOrNull, orBug } from "../db/Rows"

/**
 * `output_deliveries` (sql/0024): what the outbound channels other than Telegram owe. A channel's
 * consumer of the outbox owes rows in the transaction that takes its events (`oweDeliveries`); its
 * sender (Sender.ts) claims due rows on any server and records the outcome here.
 */

/** Wakes a channel's senders when deliveries are owed; the payload is the channel's name. */
export const OUTPUT_DELIVERY_CHANNEL = "output_delivery"

/**
 * A row owed: the channel's consumer selects these (the target and the outbox event it is owed for),
 * about an alert or, for the health events, a health alert.
 */
export type Owed =
  & { readonly target: string; readonly outboxId: string }
  & (
    | { readonly alertId: string; readonly event: Exclude<DeliveryEvent, `health_${string}`>; readonly healthAlertId?: undefined }
    | { readonly healthAlertId: string; readonly event: Extract<DeliveryEvent, `health_${string}`>; readonly alertId?: undefined }
  )

/**
 * Owes `rows` for `channel`, in the caller's transaction (the one taking the outbox events), and
 * wakes the channel's senders at its commit. A row owed already (same event and target) is not owed twice.
 */
export const oweDeliveries = Effect.fn("OutputDeliveries.owe")(function*(channel: string, rows: ReadonlyArray<Owed>) {
  if (rows.length === 0) return
  const sql = yield* SqlClient.SqlClient
  // Five text parameters whatever the number of rows (an empty subject is none).
  yield* sql`
    WITH owed AS (
      INSERT INTO output_deliveries (channel, target, alert_id, health_alert_id, event, outbox_id)
      SELECT ${channel}, x.target, nullif(x.alert_id, '')::bigint, nullif(x.health_alert_id, '')::bigint, x.event, x.outbox_id::bigint
        FROM unnest(string_to_array(${rows.map((r) => r.target).join(",")}, ','),
                    string_to_array(${rows.map((r) => r.alertId ?? "").join(",")}, ','),
                    string_to_array(${rows.map((r) => r.healthAlertId ?? "").join(",")}, ','),
                    string_to_array(${rows.map((r) => r.event).join(",")}, ','),
                    string_to_array(${rows.map((r) => r.outboxId).join(",")}, ',')) WITH ORDINALITY
             AS x(target, alert_id, health_alert_id, event, outbox_id, n)
       ORDER BY x.n
      ON CONFLICT (channel, target, outbox_id) DO NOTHING
      RETURNING 1)
    SELECT pg_notify(${OUTPUT_DELIVERY_CHANNEL}, ${channel}) FROM (SELECT 1 FROM owed LIMIT 1) x`
})

/** A claimed delivery: an alert's (alertId) or a health alert's (healthAlertId). */
export const ClaimedOutput = Schema.Struct({
  id: Int8Text,
  target: Schema.String,
  alertId: Schema.NullOr(Int8Text),
  healthAlertId: Schema.NullOr(Int8Text),
  event: DeliveryEvent,
  /** attempts made before this one */
  attempts: Schema.Number
})
export type ClaimedOutput = typeof ClaimedOutput.Type

const DeliveryRow = Schema.Struct({
  ...OutputDelivery.fields,
  id: Int8Text,
  alert_id: Schema.NullOr(Int8Text),
  health_alert_id: Schema.NullOr(Int8Text),
  next_attempt_at: IsoTime,
  created_at: IsoTime,
  sent_at: IsoTimeOrNull
})

export class OutputDeliveries extends Effect.Service<OutputDeliveries>()("@chaverim/server/OutputDeliveries", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    /**
     * Takes up to `limit` of the channel's due rows, oldest event first. The claim is a lease: the
     * rows' next attempt moves `leaseSeconds` ahead in a short transaction, so no connection is held
     * while the receiver answers, and a server that dies mid-send leaves the row to be retried.
     */
    const claim = SqlSchema.findAll({
      Request: Schema.Struct({ channel: Schema.String, limit: Schema.Number, leaseSeconds: Schema.Number }),
      Result: ClaimedOutput,
      execute: ({ channel, leaseSeconds, limit }) =>
        sql`
          WITH due AS (
            SELECT id FROM output_deliveries
             WHERE channel = ${channel} AND status = 'pending' AND next_attempt_at <= now()
             ORDER BY next_attempt_at, id
             LIMIT ${limit}
             FOR UPDATE SKIP LOCKED
          )
          UPDATE output_deliveries d
             SET next_attempt_at = now() + make_interval(secs => ${leaseSeconds})
            FROM due
           WHERE d.id = due.id
          RETURNING d.id, d.target, d.alert_id AS "alertId", d.health_alert_id AS "healthAlertId", d.event, d.attempts`
    })

    const sent = (id: string) =>
      sql`
        UPDATE output_deliveries
           SET status = 'sent', attempts = attempts + 1, sent_at = now(), last_error = NULL
         WHERE id = ${id}`.pipe(Effect.asVoid, orBug)

    /** A failed attempt: tried again after `delayMs`, unless it was the last allowed (then failed for good). */
    const retryLater = (id: string, error: string, delayMs: number, maxAttempts: number) =>
      Effect.map(
        SqlSchema.findOne({
          Request: Schema.Void,
          Result: Schema.Struct({ status: OutputDeliveryStatus }),
          execute: () =>
            sql`
              UPDATE output_deliveries
                 SET attempts = attempts + 1,
                     last_error = ${error.slice(0, 1_000)},
                     status = CASE WHEN attempts + 1 >= ${maxAttempts} THEN 'failed' ELSE 'pending' END,
                     next_attempt_at = now() + make_interval(secs => ${delayMs / 1_000})
               WHERE id = ${id}
              RETURNING status`
        })(undefined).pipe(orBug),
        Option.match({ onNone: () => "failed" as const, onSome: (row) => row.status })
      )

    /** Given up at once; `counts` is false when nothing was attempted (the target is gone or may not see it). */
    const failed = (id: string, error: string, counts = true) =>
      sql`
        UPDATE output_deliveries
           SET status = 'failed', last_error = ${error.slice(0, 1_000)}, attempts = attempts + ${counts ? 1 : 0}
         WHERE id = ${id}`.pipe(Effect.asVoid, orBug)

    /** Milliseconds until the channel's next pending row is due (0 when one is due now); undefined when none is pending. */
    const nextDueInMs = (channel: string) =>
      Effect.map(
        SqlSchema.single({
          Request: Schema.String,
          Result: Schema.Struct({ wait_ms: Schema.NullOr(Schema.Number) }),
          // not greatest(0, ...): it ignores NULL, and "nothing pending" would read as "due now"
          execute: (name) =>
            sql`SELECT ceil(extract(epoch FROM min(next_attempt_at) - now()) * 1000)::float8 AS wait_ms
                  FROM output_deliveries WHERE channel = ${name} AND status = 'pending'`
        })(channel).pipe(orBug, Effect.catchTag("NoSuchElementException", () => Effect.dieMessage("an aggregate returned no row"))),
        ({ wait_ms }) => (wait_ms === null ? undefined : Math.max(0, wait_ms))
      )

    const page = SqlSchema.findAll({
      Request: Schema.typeSchema(OutputDeliveriesRequest),
      Result: DeliveryRow,
      execute: (params) =>
        sql`
          SELECT d.id, d.channel, d.target, d.alert_id, a.plate, d.health_alert_id, d.event, d.status, d.attempts,
                 d.next_attempt_at, d.last_error, d.created_at, d.sent_at
            FROM output_deliveries d
            LEFT JOIN alerts a ON a.id = d.alert_id
           WHERE d.status = ${params.status}
             ${params.channel === undefined ? sql`` : sql`AND d.channel = ${params.channel}`}
             ${params.cursor === undefined ? sql`` : sql`AND d.id < ${params.cursor}::bigint`}
           ORDER BY d.id DESC
           LIMIT ${params.limit + 1}`
    })

    /** For admins: deliveries by status, newest first, keyset-paged by id. */
    const list = Effect.fn("OutputDeliveries.list")(function*(params: OutputDeliveriesRequest) {
      const rows = yield* orBug(page(params))
      const items = rows.slice(0, params.limit)
      return { items, next_cursor: rows.length > params.limit ? items[items.length - 1]?.id ?? null : null }
    })

    /** A failed delivery back in the queue, due now, its attempts counted afresh; false when there is no such failed row. */
    const retry = Effect.fn("OutputDeliveries.retry")(function*(id: string) {
      const rows = yield* orBug(SqlSchema.findAll({
        Request: Schema.String,
        Result: Schema.Struct({ channel: Schema.String }),
        execute: (deliveryId) =>
          sql`
            UPDATE output_deliveries SET status = 'pending', attempts = 0, next_attempt_at = now()
             WHERE id = ${deliveryId}::bigint AND status = 'failed'
            RETURNING channel`
      })(id))
      const [row] = rows
      if (row === undefined) return false
      yield* sql`SELECT pg_notify(${OUTPUT_DELIVERY_CHANNEL}, ${row.channel})`.pipe(orBug)
      return true
    })

    return {
      claim: (channel: string, limit: number, leaseSeconds: number) => orBug(claim({ channel, limit, leaseSeconds })),
      sent,
      retryLater,
      failed,
      nextDueInMs,
      list,
      retry
    } as const
  })
}) {}
