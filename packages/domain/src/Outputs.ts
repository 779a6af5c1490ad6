/**
 * What the outbound channels (webhooks, MQTT, e-mail) say about an alert, and the deliveries they owe.
 * The notice is versioned: receivers key on `version`, and a field is only ever added to version 1.
 */
import * as Schema from "effect/Schema"
import { AlertStatus } from "./Alerts"
import { HealthAlert } from "./Health"
import { WatchlistCategory } from "./Watchlist"

export const OutboundEvent = Schema.Literal(
  "alert_raised",
  "alert_updated",
  "alert_acknowledged",
  "alert_en_route",
  "alert_resolved"
)
export type OutboundEvent = typeof OutboundEvent.Type

/** A health alert raised or cleared (issue 19): for webhooks that take them and for admins by e-mail. */
export const HealthOutboundEvent = Schema.Literal("health_raised", "health_cleared")
export type HealthOutboundEvent = typeof HealthOutboundEvent.Type

/** Every event a delivery may carry. */
export const DeliveryEvent = Schema.Union(OutboundEvent, HealthOutboundEvent)
export type DeliveryEvent = typeof DeliveryEvent.Type

export const isHealthEvent = (event: DeliveryEvent): event is HealthOutboundEvent => event.startsWith("health_")

/** An alert as an outbound channel tells it (the same object in a webhook's body and on MQTT). */
export const AlertFacts = Schema.Struct({
  /** the alert's id, decimal */
  id: Schema.String,
  plate: Schema.String,
  status: AlertStatus,
  /** seen before the plate was put on the list (a retro check's hit) */
  retro: Schema.Boolean,
  /** when the latest sighting was captured, ISO 8601 UTC */
  seen_at: Schema.String,
  list: Schema.Struct({ id: Schema.String, name: Schema.String, category: WatchlistCategory, priority: Schema.Number }),
  camera: Schema.Struct({ id: Schema.String, name: Schema.NullOr(Schema.String), site: Schema.NullOr(Schema.String) }),
  location: Schema.NullOr(Schema.Struct({ lat: Schema.Number, lon: Schema.Number })),
  /** the alert in the web app, when PUBLIC_URL is set */
  url: Schema.NullOr(Schema.String)
})
export type AlertFacts = typeof AlertFacts.Type

/** A webhook's JSON body, version 1. */
export const AlertNotice = Schema.Struct({
  version: Schema.Literal(1),
  /** the delivery's id: the same on every retry of it, so a receiver can drop a repeat */
  id: Schema.String,
  event: OutboundEvent,
  /** when this attempt was sent, ISO 8601 UTC */
  sent_at: Schema.String,
  alert: AlertFacts
})
export type AlertNotice = typeof AlertNotice.Type

/** A webhook's JSON body for a health alert, version 1: `health` instead of `alert`. */
export const HealthNotice = Schema.Struct({
  version: Schema.Literal(1),
  id: Schema.String,
  event: HealthOutboundEvent,
  sent_at: Schema.String,
  health: HealthAlert
})
export type HealthNotice = typeof HealthNotice.Type

export const OutputDeliveryStatus = Schema.Literal("pending", "sent", "failed")
export type OutputDeliveryStatus = typeof OutputDeliveryStatus.Type

/** One notice owed by a channel to one target (a webhook, a person, the broker). */
export const OutputDelivery = Schema.Struct({
  id: Schema.String,
  channel: Schema.String,
  target: Schema.String,
  /** the alert's id; null for a health alert's delivery */
  alert_id: Schema.NullOr(Schema.String),
  plate: Schema.NullOr(Schema.String),
  /** the health alert's id, for its deliveries */
  health_alert_id: Schema.NullOr(Schema.String),
  event: DeliveryEvent,
  status: OutputDeliveryStatus,
  attempts: Schema.Number,
  next_attempt_at: Schema.String,
  /** what the receiver (or the network) answered the last failed attempt; never a secret */
  last_error: Schema.NullOr(Schema.String),
  created_at: Schema.String,
  sent_at: Schema.NullOr(Schema.String)
})
export type OutputDelivery = typeof OutputDelivery.Type

export const OutputDeliveriesRequest = Schema.Struct({
  channel: Schema.optional(Schema.Literal("webhook", "mqtt", "email")),
  status: Schema.optionalWith(OutputDeliveryStatus, { default: () => "failed" as const }),
  limit: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 500, { message: () => "limit is 1 to 500" })), {
    default: () => 100
  }),
  /** the `next_cursor` of the previous page */
  cursor: Schema.optional(Schema.String.pipe(Schema.pattern(/^\d{1,19}$/, { message: () => "cursor is a delivery id" })))
})
export type OutputDeliveriesRequest = typeof OutputDeliveriesRequest.Type

export const OutputDeliveriesPage = Schema.Struct({
  items: Schema.Array(OutputDelivery),
  next_cursor: Schema.NullOr(Schema.String)
})

// ---------------------------------------------------------------------------------------------------
// Webhooks

export const WebhookFormat = Schema.Literal("json", "ntfy")
export type WebhookFormat = typeof WebhookFormat.Type

const WEBHOOK_URL = /^https?:\/\/[^\s/?#@]+(?::\d+)?(?:[/?#]\S*)?$/i

/** An http(s) URL without credentials in it; whether plain http is allowed is the server's setting. */
export const WebhookUrl = Schema.String.pipe(
  Schema.maxLength(2000, { message: () => "url is at most 2000 characters" }),
  Schema.filter((url) => {
    if (!WEBHOOK_URL.test(url)) return "url must be an https:// URL (without user:password@)"
    try {
      new URL(url)
      return true
    } catch {
      return "url is not a valid URL"
    }
  })
).annotations({
  // random text is almost never a URL: property tests draw from real-looking ones
  arbitrary: () => (fc) =>
    fc.tuple(fc.constantFrom("https", "http"), fc.domain(), fc.webPath()).map(([scheme, host, path]) => `${scheme}://${host}${path}`)
})

export const WebhookEvents = Schema.Array(DeliveryEvent).pipe(
  Schema.minItems(1, { message: () => "events needs at least one event" }),
  Schema.maxItems(7),
  Schema.filter((events) => new Set(events).size === events.length || "events names each event once")
)

/** A webhook as admins see it; the secret is shown only when it is made (or a new one is drawn). */
export const Webhook = Schema.Struct({
  id: Schema.UUID,
  name: Schema.String,
  url: Schema.String,
  format: WebhookFormat,
  /** one list; or, with category, that category's shared lists; with neither, every shared list */
  watchlist_id: Schema.NullOr(Schema.UUID),
  category: Schema.NullOr(WatchlistCategory),
  events: Schema.Array(DeliveryEvent),
  enabled: Schema.Boolean,
  created_at: Schema.String,
  updated_at: Schema.String,
  /** the last delivery's outcome, for the admin panel */
  last_status: Schema.NullOr(OutputDeliveryStatus),
  last_error: Schema.NullOr(Schema.String),
  failed: Schema.Number
})
export type Webhook = typeof Webhook.Type

export const WebhookWithSecret = Schema.Struct({
  webhook: Webhook,
  /** the HMAC-SHA256 key: shown this once */
  secret: Schema.String
})
export type WebhookWithSecret = typeof WebhookWithSecret.Type

/** The result of the admin panel's test button: what the endpoint answered. */
export const WebhookTestResult = Schema.Struct({
  ok: Schema.Boolean,
  status: Schema.NullOr(Schema.Number),
  message: Schema.String,
  elapsed_ms: Schema.Number
})
export type WebhookTestResult = typeof WebhookTestResult.Type
