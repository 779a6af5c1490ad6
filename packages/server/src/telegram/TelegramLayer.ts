import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { AppConfig } from "../Config"
import { TelegramAlertActionsLayer } from "./AlertActions"
import { TelegramBotLayer } from "./Bot"
import { TelegramCallbacksLayer } from "./Callbacks"
import { TelegramSenderLayer } from "./Sender"

/**
 * The bot and the sender, for the server process only (never for CLI commands: a second poller would
 * take the server's updates). Nothing runs without TELEGRAM_BOT_TOKEN; alerts still reach the live feed,
 * and their messages wait in `telegram_deliveries` until a server with the token sends them.
 * Needs the central services (TelegramLinks, TelegramDeliveries, Alerts, Images, Audit), the database and
 * the shared LISTEN connection (PgListener).
 */
export const TelegramLayer = Layer.unwrapEffect(
  Effect.map(AppConfig, (config) =>
    // An empty TELEGRAM_BOT_TOKEN= (a compose file's placeholder) means no bot, not a failed start.
    Option.match(Option.filter(config.telegramBotToken, (token) => Redacted.value(token).trim() !== ""), {
      onNone: () => Layer.effectDiscard(Effect.logInfo("TELEGRAM_BOT_TOKEN is not set: the Telegram bot is off")),
      onSome: (token) =>
        TelegramSenderLayer.pipe(
          Layer.provide(TelegramBotLayer(token)),
          Layer.provide(Layer.merge(TelegramAlertActionsLayer, TelegramCallbacksLayer))
        )
    }))
)
