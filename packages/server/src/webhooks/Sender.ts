import { HEALTH_KIND_TEXT } from "@chaverim/domain/Health"
import { type AlertNotice, type HealthNotice, type HealthOutboundEvent, isHealthEvent, type OutboundEvent } from "@chaverim/domain/Outputs"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { AppConfig } from "../Config"
import type { ClaimedOutput } from "../outputs/Deliveries"
import { type AlertNoticeFacts, loadAlertFacts, summaryLine } from "../outputs/Notice"
import { Outcome, runOutputSender } from "../outputs/Sender"
import { loadHealthAlert } from "../health/Health"
import { type PostResult, postSigned } from "./Post"
import { webhookRecipients, WEBHOOK_OUTBOUND } from "./Recipients"
import { WEBHOOK_TIMEOUT_MS, type WebhookTarget, Webhooks } from "./Webhooks"

/**
 * Delivers the webhooks' notices: each owed row is POSTed, signed (Signature.ts), to its webhook as
 * it is now. 2xx is delivered; 408, 425, 429 and 5xx, or no answer, are tried again (after the
 * receiver's Retry-After when it gives one); a redirect or another 4xx fails for good, with what the
 * receiver said, for admins to see.
 */

/** Whether the webhook still takes the alert's list (a list made private since leaves a "for every list" webhook). */
const inScope = (hook: WebhookTarget, alert: AlertNoticeFacts) =>
  hook.watchlist_id !== null
    ? hook.watchlist_id === alert.listId
    : alert.shared && (hook.category === null || hook.category === alert.facts.list.category)

const EVENT_TITLE: Record<OutboundEvent, string> = {
  alert_raised: "Alert",
  alert_updated: "Seen again",
  alert_acknowledged: "Acknowledged",
  alert_en_route: "On the way",
  alert_resolved: "Resolved"
}

/** ntfy's priority (5 is the most urgent) from a list's (1 is the most urgent). */
const ntfyPriority = (listPriority: number) => String(Math.max(1, Math.min(5, 6 - listPriority)))

const isRetryable = (status: number) => status === 408 || status === 425 || status === 429 || status >= 500

export const WebhooksLayer = Layer.scopedDiscard(Effect.gen(function*() {
  const config = yield* AppConfig
  const webhooks = yield* Webhooks

  /** What the receiver answered, as an outcome. */
  const outcomeOf = (result: PostResult) => {
    if (result._tag === "unreachable") return Outcome.retry(result.message)
    const said = `HTTP ${result.status}${result.excerpt === "" ? "" : `: ${result.excerpt}`}`
    if (result.status >= 200 && result.status < 300) return Outcome.sent
    if (isRetryable(result.status)) return Outcome.retry(said, result.retryAfterMs)
    if (result.status >= 300 && result.status < 400) return Outcome.fatal(`${said} (redirects are not followed; give the final URL)`)
    return Outcome.fatal(said)
  }

  /** A health alert's raising or clearing, as it is now, to a webhook that still takes the event. */
  const deliverHealth = (d: ClaimedOutput & { readonly event: HealthOutboundEvent }, healthAlertId: string, hook: WebhookTarget) =>
    Effect.gen(function*() {
      if (!hook.events.includes(d.event)) return Outcome.fatal("the webhook no longer takes this event", false)
      const health = yield* loadHealthAlert(healthAlertId)
      if (Option.isNone(health)) return Outcome.fatal("the health alert no longer exists", false)
      const h = health.value
      const common = { url: hook.url, secret: hook.secret, event: d.event, deliveryId: d.id, timeoutMs: WEBHOOK_TIMEOUT_MS, extraCa: webhooks.extraCa }
      const what = HEALTH_KIND_TEXT[h.kind]
      return outcomeOf(
        yield* hook.format === "ntfy"
          ? postSigned({
            ...common,
            body: d.event === "health_raised"
              ? h.message
              : `${h.message} Cleared after ${Math.max(1, Math.round(h.duration_s / 60))} min.`,
            contentType: "text/plain; charset=utf-8",
            headers: {
              Title: d.event === "health_raised" ? what : `${what}: cleared`,
              Tags: d.event === "health_raised" ? "warning" : "white_check_mark",
              Priority: d.event === "health_raised" ? "4" : "3"
            }
          })
          : postSigned({
            ...common,
            body: JSON.stringify({ version: 1, id: d.id, event: d.event, sent_at: new Date().toISOString(), health: h } satisfies HealthNotice),
            contentType: "application/json"
          })
      )
    })

  const deliver = (d: ClaimedOutput) =>
    Effect.gen(function*() {
      const hook = yield* webhooks.target(d.target)
      if (Option.isNone(hook)) return Outcome.fatal("the webhook was removed", false)
      if (!hook.value.enabled) return Outcome.fatal("the webhook is disabled", false)
      if (isHealthEvent(d.event)) {
        if (d.healthAlertId === null) return Outcome.fatal("the delivery names no health alert", false)
        return yield* deliverHealth({ ...d, event: d.event }, d.healthAlertId, hook.value)
      }
      if (d.alertId === null) return Outcome.fatal("the delivery names no alert", false)
      const event = d.event
      const alert = yield* loadAlertFacts(d.alertId, config.publicUrl)
      if (Option.isNone(alert)) return Outcome.fatal("the alert or its list no longer exists", false)
      if (!inScope(hook.value, alert.value)) return Outcome.fatal("the alert's list is no longer in the webhook's scope", false)
      const facts = alert.value.facts
      const common = { url: hook.value.url, secret: hook.value.secret, event: d.event, deliveryId: d.id, timeoutMs: WEBHOOK_TIMEOUT_MS, extraCa: webhooks.extraCa }
      const result = yield* hook.value.format === "ntfy"
        ? postSigned({
          ...common,
          body: summaryLine(facts),
          contentType: "text/plain; charset=utf-8",
          headers: {
            Title: `${EVENT_TITLE[event]}: ${facts.plate}`,
            Tags: event === "alert_raised" ? "rotating_light" : "information_source",
            Priority: event === "alert_raised" ? ntfyPriority(facts.list.priority) : "3",
            ...(facts.url === null ? {} : { Click: facts.url })
          }
        })
        : postSigned({
          ...common,
          body: JSON.stringify({ version: 1, id: d.id, event, sent_at: new Date().toISOString(), alert: facts } satisfies AlertNotice),
          contentType: "application/json"
        })
      return outcomeOf(result)
    }).pipe(
      // the database away: this attempt did not happen; the row is tried again
      Effect.catchTag("SqlError", (e) => Effect.succeed(Outcome.retry(`database unavailable: ${e.message}`)))
    )

  yield* webhookRecipients
  yield* runOutputSender({ channel: WEBHOOK_OUTBOUND, deliver, timeout: WEBHOOK_TIMEOUT_MS + 5_000 })
}))
