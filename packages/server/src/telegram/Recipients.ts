import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { visibleToEach } from "../alerts/Views"
import { consumeOutbox, type HealthItem, type OutboxItem } from "../outbox/Outbox"
import { TELEGRAM_DELIVERY_CHANNEL } from "./Deliveries"

/** Telegram's row in outbound_channels (sql/0014, 0032): it takes `alert_raised` events and health alerts'. */
export const TELEGRAM_OUTBOUND = "telegram"

/**
 * Telegram's subscription rule: a raised alert owes one message to every linked, enabled volunteer
 * subscribed to its list or the list's category who may see the list. Written in the transaction that
 * takes the events off the outbox; a message already owed (alert and account) is not owed twice.
 */
const owe = (items: ReadonlyArray<OutboxItem>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const raised = items.filter((item) => item.event === "alert_raised").map((item) => item.alertId)
    if (raised.length === 0) return
    yield* sql`
      WITH owed AS (
        INSERT INTO telegram_deliveries (alert_id, user_id, chat_id)
        SELECT a.id, l.user_id, l.chat_id
          FROM alerts a
          JOIN watchlists w ON w.id = a.watchlist_id
          CROSS JOIN telegram_links l
          JOIN users u ON u.id = l.user_id
         WHERE a.id = ANY(string_to_array(${raised.join(",")}, ',')::bigint[])
           AND u.disabled_at IS NULL
           AND ${visibleToEach(sql)}
           AND EXISTS (SELECT 1 FROM telegram_subscriptions s
                        WHERE s.user_id = l.user_id AND (s.watchlist_id = w.id OR s.category = w.category))
         ORDER BY a.id, l.user_id
        ON CONFLICT (alert_id, user_id) DO NOTHING
        RETURNING 1)
      SELECT pg_notify(${TELEGRAM_DELIVERY_CHANNEL}, 'pending') FROM (SELECT 1 FROM owed LIMIT 1) x`
  })

/**
 * Health alerts (health/Monitor.ts) raised and cleared owe one message each to every linked, enabled
 * admin: the fleet is theirs to look after.
 */
const oweHealth = (items: ReadonlyArray<HealthItem>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`
      WITH owed AS (
        INSERT INTO telegram_deliveries (health_alert_id, health_event, user_id, chat_id)
        SELECT x.health_alert_id::bigint, x.event, l.user_id, l.chat_id
          FROM unnest(string_to_array(${items.map((i) => i.healthAlertId).join(",")}, ','),
                      string_to_array(${items.map((i) => (i.event === "health_raised" ? "raised" : "cleared")).join(",")}, ','))
               WITH ORDINALITY AS x(health_alert_id, event, n)
          CROSS JOIN telegram_links l
          JOIN users u ON u.id = l.user_id
         WHERE u.role = 'admin' AND u.disabled_at IS NULL
         ORDER BY x.n, l.user_id
        ON CONFLICT (health_alert_id, health_event, user_id) WHERE health_alert_id IS NOT NULL DO NOTHING
        RETURNING 1)
      SELECT pg_notify(${TELEGRAM_DELIVERY_CHANNEL}, 'pending') FROM (SELECT 1 FROM owed LIMIT 1) x`
  })

/**
 * Turns Telegram's outbox events into deliveries, on every server, with or without a bot token: the
 * messages wait in `telegram_deliveries` for a server that has one (TelegramLayer's sender).
 * Needs the database and the shared LISTEN connection (PgListener).
 */
export const TelegramRecipientsLayer = Layer.scopedDiscard(consumeOutbox({ channel: TELEGRAM_OUTBOUND, take: owe, takeHealth: oweHealth }))
