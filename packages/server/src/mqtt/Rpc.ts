import { MqttRpcs, type MqttSettingsView } from "@chaverim/domain/rpc/Mqtt"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { changeByCaller, orDieOnSql } from "../rpc/Session"
import { MqttBroker } from "./Broker"
import { type MqttSettings, MqttSettingsStore } from "./Settings"

/** The settings as admins see them: the password only as set or not set. */
const viewOf = (s: MqttSettings, status: { readonly connected: boolean; readonly lastError: string | null }): MqttSettingsView => ({
  url: s.url,
  username: s.username,
  password: s.password === null ? "not set" : "set",
  topic_prefix: s.topicPrefix,
  publish_reads: s.publishReads,
  discovery: s.discovery,
  discovery_prefix: s.discoveryPrefix,
  from_environment: s.fromEnvironment,
  connected: status.connected,
  last_error: status.lastError,
  updated_at: s.updatedAt
})

/** MQTT's procedures (admins only): the store audits each change itself, told who made it. */
export const MqttRpcsLayer = MqttRpcs.toLayer(Effect.gen(function*() {
  const store = yield* MqttSettingsStore
  const broker = yield* MqttBroker
  const change = yield* changeByCaller
  const view = orDieOnSql(Effect.zipWith(store.current, broker.status, viewOf))
  return MqttRpcs.of({
    "mqtt.get": () => view,
    "mqtt.update": (payload, { headers }) =>
      change(headers, (actor, request) => Effect.zipRight(store.update(payload, { actor, address: request.address }), view)),
    "mqtt.test": () =>
      Effect.gen(function*() {
        const started = yield* Clock.currentTimeMillis
        const result = yield* orDieOnSql(broker.test)
        return { ...result, elapsed_ms: (yield* Clock.currentTimeMillis) - started }
      })
  })
}))
