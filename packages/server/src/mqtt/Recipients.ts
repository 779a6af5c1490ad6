import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { OutboxItem } from "../outbox/Outbox"
import { Int8Text, orBug } from "../db/Rows"
import { oweDeliveries } from "../outputs/Deliveries"
import { MqttSettingsStore } from "./Settings"

/** MQTT's row in outbound_channels (sql/0025): it takes every alert event. */
export const MQTT_OUTBOUND = "mqtt"
/** The one target of the channel: the broker in force when the delivery is sent. */
export const BROKER_TARGET = "broker"

/**
 * MQTT's subscription rule: with a broker configured, every event of an alert on a SHARED list owes
 * one delivery to the broker. A private list is its owner's and never goes to a broker, whoever
 * listens there. Without a broker the events are taken and owe nothing: there is no one to owe.
 */
export const oweMqtt = (items: ReadonlyArray<OutboxItem>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const settings = yield* (yield* MqttSettingsStore).current
    if (settings.url === null || items.length === 0) return
    const alertIds = [...new Set(items.map((item) => item.alertId))]
    const shared = yield* orBug(SqlSchema.findAll({
      Request: Schema.Array(Schema.String),
      Result: Schema.Struct({ id: Int8Text }),
      execute: (ids) =>
        sql`
          SELECT a.id FROM alerts a JOIN watchlists w ON w.id = a.watchlist_id
           WHERE a.id = ANY(string_to_array(${ids.join(",")}, ',')::bigint[])
             AND w.shared AND w.deleted_at IS NULL`
    })(alertIds))
    const sharedIds = new Set(shared.map((row) => row.id))
    yield* oweDeliveries(
      MQTT_OUTBOUND,
      items
        .filter((item) => sharedIds.has(item.alertId))
        .map((item) => ({ target: BROKER_TARGET, alertId: item.alertId, event: item.event, outboxId: item.id }))
    )
  })
