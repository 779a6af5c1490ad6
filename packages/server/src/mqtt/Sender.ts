import { type AlertFacts, isHealthEvent, type OutboundEvent } from "@chaverim/domain/Outputs"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { AppConfig } from "../Config"
import type { ClaimedOutput } from "../outputs/Deliveries"
import { loadAlertFacts } from "../outputs/Notice"
import { Outcome, runOutputSender } from "../outputs/Sender"
import { MqttBroker } from "./Broker"
import { MQTT_OUTBOUND } from "./Recipients"

/** What `<prefix>/alert` carries: the event and the alert as every outbound channel tells it. */
export interface MqttAlertMessage {
  readonly event: OutboundEvent
  readonly alert: AlertFacts
}

/** What `<prefix>/watchlist/<list id>/hit` carries on a raised alert: a Home Assistant event. */
export const hitEvent = (facts: AlertFacts) => ({
  event_type: "hit" as const,
  plate: facts.plate,
  camera: facts.camera.name ?? facts.camera.id,
  seen_at: facts.seen_at,
  url: facts.url
})

export const alertTopic = (prefix: string) => `${prefix}/alert`
export const hitTopic = (prefix: string, listId: string) => `${prefix}/watchlist/${listId}/hit`

/**
 * One delivery to the broker: the alert as it is now, on `<prefix>/alert` with QoS 1, sent only when
 * the broker acknowledged it (PUBACK); a raised alert also fires its list's Home Assistant event. The
 * broker away is a retry (the row waits, and the client's reconnection makes it due at once); a list
 * no longer shared, or an alert gone, fails for good without an attempt counted.
 */
export const deliverMqtt = (delivery: ClaimedOutput) =>
  Effect.gen(function*() {
    const config = yield* AppConfig
    const broker = yield* MqttBroker
    // The channel owes only alerts' events (health goes out on <prefix>/health as the monitor writes it).
    if (delivery.alertId === null || isHealthEvent(delivery.event)) return Outcome.fatal("MQTT delivers only alerts' events", false)
    const loaded = yield* loadAlertFacts(delivery.alertId, config.publicUrl)
    if (Option.isNone(loaded)) return Outcome.fatal("the alert or its list is gone", false)
    const { facts, listId, shared } = loaded.value
    if (!shared) return Outcome.fatal("the list is no longer shared: a private list is never published", false)
    const settings = yield* broker.settings
    if (settings === undefined) return Outcome.retry("MQTT is not configured")
    const message: MqttAlertMessage = { event: delivery.event as OutboundEvent, alert: facts }
    yield* broker.publish(alertTopic(settings.topicPrefix), JSON.stringify(message), { qos: 1 })
    if (delivery.event === "alert_raised") {
      yield* broker.publish(hitTopic(settings.topicPrefix, listId), JSON.stringify(hitEvent(facts)), { qos: 1 })
    }
    return Outcome.sent
  }).pipe(
    Effect.catchTag("MqttPublishError", (error) => Effect.succeed(Outcome.retry(error.message))),
    Effect.catchTag("SqlError", (error) => Effect.succeed(Outcome.retry(`database: ${error.message}`)))
  )

/** The channel's sender (outputs/Sender.ts), for as long as the scope. */
export const runMqttSender = runOutputSender({ channel: MQTT_OUTBOUND, deliver: deliverMqtt })
