import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { Int8Text, orBug } from "../db/Rows"
import { consumeOutbox, type HealthItem, type OutboxItem } from "../outbox/Outbox"
import { oweDeliveries } from "../outputs/Deliveries"

/** Webhooks' row in outbound_channels (sql/0024): every kind of event; each webhook picks its own. */
export const WEBHOOK_OUTBOUND = "webhook"

/**
 * Which webhooks an alert's event goes to: enabled ones that take the kind of event, and whose scope
 * holds the alert's list: the list itself when the webhook names one (an admin's choice, private or
 * not); otherwise only shared lists, of the webhook's category or of any. A private list never
 * reaches an endpoint made for everything.
 */
export const webhookScope = (sql: SqlClient.SqlClient) =>
  sql`(h.watchlist_id = w.id OR (h.watchlist_id IS NULL AND w.shared AND (h.category IS NULL OR h.category = w.category)))`

const Owed = Schema.Struct({ target: Schema.String, alertId: Int8Text, event: Schema.Literal(
  "alert_raised", "alert_updated", "alert_acknowledged", "alert_en_route", "alert_resolved"
), outboxId: Int8Text })

const owe = (items: ReadonlyArray<OutboxItem>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* orBug(SqlSchema.findAll({
      Request: Schema.Void,
      Result: Owed,
      execute: () =>
        sql`
          SELECT h.id::text AS target, x.alert_id AS "alertId", x.event, x.outbox_id AS "outboxId"
            FROM unnest(string_to_array(${items.map((i) => i.id).join(",")}, ',')::bigint[],
                        string_to_array(${items.map((i) => i.alertId).join(",")}, ',')::bigint[],
                        string_to_array(${items.map((i) => i.event).join(",")}, ',')) WITH ORDINALITY
                 AS x(outbox_id, alert_id, event, n)
            JOIN alerts a ON a.id = x.alert_id
            JOIN watchlists w ON w.id = a.watchlist_id AND w.deleted_at IS NULL
            JOIN webhooks h ON h.enabled AND x.event = ANY(h.events) AND ${webhookScope(sql)}
           ORDER BY x.n, h.id`
    })(undefined))
    yield* oweDeliveries(WEBHOOK_OUTBOUND, rows)
  })

/**
 * A health alert's raising or clearing goes to every enabled webhook that takes that event: webhooks
 * are admins', and so is the fleet's health; no list scopes it.
 */
const oweHealth = (items: ReadonlyArray<HealthItem>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const hooks = yield* orBug(SqlSchema.findAll({
      Request: Schema.Void,
      Result: Schema.Struct({ id: Schema.String, events: Schema.Array(Schema.String) }),
      execute: () =>
        sql`SELECT id::text AS id, events FROM webhooks
             WHERE enabled AND events && ARRAY['health_raised', 'health_cleared']::text[] ORDER BY id`
    })(undefined))
    yield* oweDeliveries(
      WEBHOOK_OUTBOUND,
      items.flatMap((item) =>
        hooks.filter((hook) => hook.events.includes(item.event)).map((hook) => ({
          target: hook.id,
          healthAlertId: item.healthAlertId,
          event: item.event,
          outboxId: item.id
        }))
      )
    )
  })

/** Turns the webhook channel's outbox events into deliveries, on every server. */
export const webhookRecipients = consumeOutbox({ channel: WEBHOOK_OUTBOUND, take: owe, takeHealth: oweHealth })
