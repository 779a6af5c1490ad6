/**
 * The outbound channels' procedures, for admins: webhooks (made, changed, tested, removed) and every
 * channel's deliveries with their last error, so a failing endpoint or broker is seen.
 */
import * as Rpc from "@effect/rpc/Rpc"
import * as RpcGroup from "@effect/rpc/RpcGroup"
import * as Schema from "effect/Schema"
import { BadRequest, NotFound } from "../Errors"
import {
  OutputDeliveriesPage,
  OutputDeliveriesRequest,
  Webhook,
  WebhookEvents,
  WebhookFormat,
  WebhookTestResult,
  WebhookUrl,
  WebhookWithSecret
} from "../Outputs"
import { WatchlistCategory } from "../Watchlist"
import { Label, RequiredRole, RpcSession, uuid } from "./Common"

const WebhookRef = { id: uuid("id") }

const WebhookFields = {
  name: Label("name"),
  url: WebhookUrl,
  format: Schema.optionalWith(WebhookFormat, { default: () => "json" as const }),
  watchlist_id: Schema.optionalWith(Schema.NullOr(uuid("watchlist_id")), { default: () => null }),
  category: Schema.optionalWith(Schema.NullOr(WatchlistCategory), { default: () => null }),
  events: Schema.optionalWith(WebhookEvents, { default: () => ["alert_raised" as const] })
}

export class OutputsRpcs extends RpcGroup.make(
  Rpc.make("webhooks.list", { success: Schema.Array(Webhook) }).annotate(RequiredRole, "admin"),
  /** A new webhook and its signing secret, shown this once. */
  Rpc.make("webhooks.create", {
    payload: WebhookFields,
    success: WebhookWithSecret,
    error: BadRequest
  }).annotate(RequiredRole, "admin"),
  /** Changes what is given; the secret stays. */
  Rpc.make("webhooks.update", {
    payload: {
      ...WebhookRef,
      name: Schema.optional(Label("name")),
      url: Schema.optional(WebhookUrl),
      format: Schema.optional(WebhookFormat),
      watchlist_id: Schema.optional(Schema.NullOr(uuid("watchlist_id"))),
      category: Schema.optional(Schema.NullOr(WatchlistCategory)),
      events: Schema.optional(WebhookEvents),
      enabled: Schema.optional(Schema.Boolean)
    },
    success: Webhook,
    error: Schema.Union(NotFound, BadRequest)
  }).annotate(RequiredRole, "admin"),
  /** A new secret (the old one stops signing at once), shown this once. */
  Rpc.make("webhooks.rotateSecret", { payload: WebhookRef, success: WebhookWithSecret, error: NotFound }).annotate(
    RequiredRole,
    "admin"
  ),
  /** Gone with its pending deliveries; what was delivered stays in the deliveries' history. */
  Rpc.make("webhooks.remove", { payload: WebhookRef, error: NotFound }).annotate(RequiredRole, "admin"),
  /** Sends a signed test notice (event `test`, a made-up plate) now and tells what the endpoint answered. */
  Rpc.make("webhooks.test", { payload: WebhookRef, success: WebhookTestResult, error: NotFound }).annotate(
    RequiredRole,
    "admin"
  ),
  /** Deliveries of every outbound channel by status (default: failed), newest first. */
  Rpc.make("outputs.deliveries", { payload: OutputDeliveriesRequest, success: OutputDeliveriesPage }).annotate(
    RequiredRole,
    "admin"
  ),
  /** A failed delivery is tried again now (attempts start over). */
  Rpc.make("outputs.retry", {
    payload: { id: Schema.String.pipe(Schema.pattern(/^\d{1,19}$/, { message: () => "id is a delivery id" })) },
    error: NotFound
  }).annotate(RequiredRole, "admin")
).middleware(RpcSession) {}
