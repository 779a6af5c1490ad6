import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { visibleToEach } from "../alerts/Views"
import { orBug } from "../db/Rows"
import { consumeOutbox, type HealthItem, type OutboxItem } from "../outbox/Outbox"
import { oweDeliveries } from "../outputs/Deliveries"
import { EMAIL_CHANNEL } from "./Settings"

const Recipient = Schema.Struct({ alert_id: Schema.String, user_id: Schema.String })

/**
 * E-mail's subscription rule: a raised alert owes one e-mail delivery (target: the user's id) to every
 * enabled account with an address, subscribed to its list or the list's category, that may see the
 * list. Written in the transaction that takes the events off the outbox, SMTP configured or not: with
 * e-mail off the deliveries wait for it, as Telegram's wait for a bot token.
 */
const owe = (items: ReadonlyArray<OutboxItem>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const raised = items.filter((item) => item.event === "alert_raised")
    if (raised.length === 0) return
    const recipients = yield* orBug(SqlSchema.findAll({
      Request: Schema.String,
      Result: Recipient,
      execute: (ids) =>
        sql`
          SELECT a.id::text AS alert_id, u.id::text AS user_id
            FROM alerts a
            JOIN watchlists w ON w.id = a.watchlist_id AND w.deleted_at IS NULL
            CROSS JOIN users u
           WHERE a.id = ANY(string_to_array(${ids}, ',')::bigint[])
             AND u.email IS NOT NULL AND u.disabled_at IS NULL AND NOT u.display
             AND ${visibleToEach(sql)}
             AND EXISTS (SELECT 1 FROM email_subscriptions s
                          WHERE s.user_id = u.id AND (s.watchlist_id = w.id OR s.category = w.category))
           ORDER BY a.id, u.id`
    })(raised.map((item) => item.alertId).join(",")))
    const outboxOf = new Map(raised.map((item) => [item.alertId, item.id]))
    yield* oweDeliveries(
      EMAIL_CHANNEL,
      recipients.map((r) => ({ target: r.user_id, alertId: r.alert_id, event: "alert_raised" as const, outboxId: outboxOf.get(r.alert_id)! }))
    )
  })

/** A health alert's raising and clearing owe one e-mail each to every enabled admin with an address. */
const oweHealth = (items: ReadonlyArray<HealthItem>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const admins = yield* orBug(SqlSchema.findAll({
      Request: Schema.Void,
      Result: Schema.Struct({ id: Schema.String }),
      execute: () =>
        sql`SELECT id::text AS id FROM users
             WHERE role = 'admin' AND email IS NOT NULL AND disabled_at IS NULL AND NOT display ORDER BY id`
    })(undefined))
    yield* oweDeliveries(
      EMAIL_CHANNEL,
      items.flatMap((item) => admins.map((admin) => ({ target: admin.id, healthAlertId: item.healthAlertId, event: item.event, outboxId: item.id })))
    )
  })

/** Turns e-mail's outbox events into deliveries, on every server. Needs the database and PgListener. */
export const EmailRecipientsLayer = Layer.scopedDiscard(consumeOutbox({ channel: EMAIL_CHANNEL, take: owe, takeHealth: oweHealth }))
