import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as OpenApi from "@effect/platform/OpenApi"
import * as Schema from "effect/Schema"
import { AdminAuth, ViewerAuth } from "./Auth"
import { BadRequest, Forbidden, NotFound } from "./Errors"
import { WatchlistCategory } from "./Watchlist"

/**
 * Telegram for field volunteers: a person links a private chat with the bot by sending it a one-time
 * code made for their account, chooses which lists (or whole categories) alert them there, and answers
 * an alert with its buttons. Admins see the messages that could not be delivered.
 */

/** How long a link code stays valid. */
export const LINK_CODE_MINUTES = 10

/** A one-time code for `/start CODE` (or the code alone) in a private chat with the bot. */
export const LinkCode = Schema.Struct({
  username: Schema.String,
  code: Schema.String,
  expires_at: Schema.String,
  /** the bot's @username (TELEGRAM_BOT_USERNAME), when the server knows it */
  bot_username: Schema.NullOr(Schema.String)
})

/** A link that opens the chat with the bot and offers to send it `/start CODE` (Telegram's deep link). */
export const botLink = (botUsername: string, code: string) =>
  `https://t.me/${encodeURIComponent(botUsername)}?start=${encodeURIComponent(code)}`
export type LinkCode = typeof LinkCode.Type

export const Subscriptions = Schema.Struct({
  /** whether a chat is linked; alerts reach nobody's Telegram without one */
  linked: Schema.Boolean,
  telegram_username: Schema.NullOr(Schema.String),
  linked_at: Schema.NullOr(Schema.String),
  watchlist_ids: Schema.Array(Schema.UUID),
  categories: Schema.Array(WatchlistCategory)
})
export type Subscriptions = typeof Subscriptions.Type

/** The whole set: what is not named is unsubscribed. */
export const SubscriptionsUpdate = Schema.Struct({
  watchlist_ids: Schema.Array(Schema.UUID).pipe(
    Schema.maxItems(200, { message: () => "watchlist_ids: at most 200 lists" })
  ),
  categories: Schema.Array(WatchlistCategory)
})
export type SubscriptionsUpdate = typeof SubscriptionsUpdate.Type

export const DeliveryStatus = Schema.Literal("pending", "sent", "failed")
export type DeliveryStatus = typeof DeliveryStatus.Type

export const DeliveriesParams = Schema.Struct({
  status: Schema.optionalWith(DeliveryStatus, { default: () => "failed" }),
  limit: Schema.optionalWith(
    Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 500, { message: () => "limit is 1 to 500" })),
    { default: () => 100 }
  ),
  /** the `next_cursor` of the previous page */
  cursor: Schema.optional(Schema.String.pipe(Schema.pattern(/^\d{1,19}$/, { message: () => "cursor is a delivery id" })))
})
export type DeliveriesParams = typeof DeliveriesParams.Type

/** One alert message owed to one volunteer's chat. */
export const Delivery = Schema.Struct({
  id: Schema.String,
  /** the alert's message; null for a health alert's */
  alert_id: Schema.NullOr(Schema.String),
  plate: Schema.NullOr(Schema.String),
  /** a health alert's raising or clearing, told to an admin (null for an alert's message) */
  health_alert_id: Schema.NullOr(Schema.String),
  health_event: Schema.NullOr(Schema.Literal("raised", "cleared")),
  user_id: Schema.UUID,
  username: Schema.String,
  chat_id: Schema.String,
  status: DeliveryStatus,
  attempts: Schema.Number,
  next_attempt_at: Schema.String,
  /** what Telegram (or the network) answered the last failed attempt; never holds the bot token */
  last_error: Schema.NullOr(Schema.String),
  message_id: Schema.NullOr(Schema.String),
  created_at: Schema.String,
  sent_at: Schema.NullOr(Schema.String)
})
export type Delivery = typeof Delivery.Type

export const DeliveriesResult = Schema.Struct({
  /** newest first */
  items: Schema.Array(Delivery),
  next_cursor: Schema.NullOr(Schema.String)
})
export type DeliveriesResult = typeof DeliveriesResult.Type

export class TelegramApi extends HttpApiGroup.make("telegram")
  .add(
    HttpApiEndpoint.post("linkCode", "/api/v1/telegram/link-code")
      .addSuccess(LinkCode, { status: 201 })
      .middleware(ViewerAuth)
      .annotate(
        OpenApi.Description,
        `A one-time code (valid ${LINK_CODE_MINUTES} minutes) for your own account: send the bot \`/start CODE\` ` +
          "or the code alone in a private chat. Only the newest code works."
      )
  )
  .add(
    HttpApiEndpoint.get("subscriptions", "/api/v1/telegram/subscriptions")
      .addSuccess(Subscriptions)
      .middleware(ViewerAuth)
  )
  .add(
    HttpApiEndpoint.put("setSubscriptions", "/api/v1/telegram/subscriptions")
      .setPayload(SubscriptionsUpdate)
      .addSuccess(Subscriptions)
      .addError(BadRequest)
      .addError(NotFound)
      .addError(Forbidden)
      .middleware(ViewerAuth)
      .annotate(
        OpenApi.Description,
        "Replaces which lists and categories alert you on Telegram. A list must exist and be one you may see " +
          "(shared, or yours)."
      )
  )
  .add(
    HttpApiEndpoint.post("unlink", "/api/v1/telegram/unlink")
      .addSuccess(Schema.Void, { status: 204 })
      .middleware(ViewerAuth)
      .annotate(OpenApi.Description, "Unlinks your chat; messages not yet sent to it are not sent.")
  )
  .add(
    HttpApiEndpoint.get("deliveries", "/api/v1/telegram/deliveries")
      .setUrlParams(DeliveriesParams)
      .addSuccess(DeliveriesResult)
      .addError(BadRequest)
      .middleware(AdminAuth)
      .annotate(OpenApi.Description, "Alert messages by status (default: failed), newest first, with their last error.")
  )
{}
