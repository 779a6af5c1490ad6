import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { consumeOutbox } from "../outbox/Outbox"
import { OutputDeliveries } from "../outputs/Deliveries"
import { MqttBroker } from "./Broker"
import { runMqttPublisher } from "./Publisher"
import { MQTT_OUTBOUND, oweMqtt } from "./Recipients"
import { runMqttSender } from "./Sender"
import { MqttSettingsStore } from "./Settings"

/**
 * MQTT on every server: the consumer of its share of the outbox (with or without a broker: without
 * one it owes nothing), this server's client (Broker.ts), the sender of its deliveries and the
 * publisher of reads, health and discovery. Gives the settings and the client to the RPC handlers.
 * Needs the database, the audit log, AppConfig and the shared LISTEN connection (PgListener).
 */
export const MqttLayer = Layer.scopedDiscard(Effect.all([
  consumeOutbox({ channel: MQTT_OUTBOUND, take: oweMqtt }),
  runMqttSender,
  runMqttPublisher
], { discard: true })).pipe(
  Layer.provideMerge(MqttBroker.Default),
  Layer.provideMerge(MqttSettingsStore.Default),
  Layer.provide(OutputDeliveries.Default)
)
