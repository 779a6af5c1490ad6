import { roleAtLeast } from "@chaverim/domain/Auth"
import { LINK_CODE_MINUTES } from "@chaverim/domain/Telegram"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Runtime from "effect/Runtime"
import * as Schedule from "effect/Schedule"
import { type Api, Bot, type Context as BotContext } from "grammy"
import { Audit } from "../audit/Audit"
import { AppConfig } from "../Config"
import { BUTTON_REFUSED, TelegramAlertActions } from "./AlertActions"
import { BotApiError, describeError, scrubToken } from "./BotErrors"
import { type ButtonRefusal, TelegramCallbacks } from "./Callbacks"
import { type LinkOutcome, looksLikeCode, TelegramLinks, WINDOW_MINUTES, WRONG_CODE_LIMIT } from "./Links"
import { keyboardFor, loadCard, renderCard } from "./Message"

/**
 * The Telegram bot: one grammy `Bot` for the server, long-polling for updates (linking chats, buttons)
 * and lending its API client to the sender. It exists only when TELEGRAM_BOT_TOKEN is set.
 *
 * Telegram lets one consumer poll a bot at a time: with several server replicas, give the token to one.
 */
export interface TelegramBotShape {
  readonly api: Api
  /** A failure in one line, without the token. */
  readonly describe: (error: unknown) => string
}

export class TelegramBot extends Context.Tag("@chaverim/server/TelegramBot")<TelegramBot, TelegramBotShape>() {}

/** How long one getUpdates call waits for an update (Telegram allows up to 50 s). */
const POLL_SECONDS = 25

/** Each Bot API call gives up after this; polls are shorter, sends are bounded again by the sender. */
const CALL_TIMEOUT_SECONDS = 60

export const HELP = [
  "Chaverim ALPR alerts.",
  "",
  "To link this chat to your account, make a Telegram link code in the web app (or ask an admin for one) " +
  `and send it here as /start CODE, or just the code. A code works once, for ${LINK_CODE_MINUTES} minutes.`,
  "",
  "Alerts for the lists you follow then arrive here with the plate photo. Tap ✅ Acknowledge (operators) " +
  "or 🚗 On my way.",
  "",
  "/unlink stops alerts to this chat. /help shows this again."
].join("\n")

const minutes = (seconds: number) => Math.max(1, Math.ceil(seconds / 60))

/** What the bot answers a link attempt. */
export const linkAnswer = (outcome: LinkOutcome): string => {
  const tries = (remaining: number) =>
    remaining > 0 ? ` (${remaining} more wrong code${remaining === 1 ? "" : "s"} and this chat must wait)` : ` This chat must now wait ${WINDOW_MINUTES} minutes.`
  switch (outcome._tag) {
    case "Linked":
      return `✅ Linked to ${outcome.username}. Alerts for the lists you follow will arrive here.` +
        (outcome.movedFrom === undefined ? "" : ` This chat was linked to ${outcome.movedFrom} before.`) +
        (outcome.replacedChat === undefined ? "" : " Your previous chat no longer receives alerts.")
    case "Unknown":
      return `❌ That is not a valid link code.${tries(outcome.remaining)}`
    case "Expired":
      return `⌛ That code has expired: codes work for ${LINK_CODE_MINUTES} minutes. Make a new one.${tries(outcome.remaining)}`
    case "Used":
      return `❌ That code has already been used. Make a new one.${tries(outcome.remaining)}`
    case "Disabled":
      return "⛔ That account is disabled."
    case "Throttled":
      return `⏳ Too many wrong codes (${WRONG_CODE_LIMIT} in ${WINDOW_MINUTES} minutes). Try again in ${minutes(outcome.retryAfterSeconds)} minute(s).`
  }
}

type Services = TelegramLinks | TelegramAlertActions | TelegramCallbacks | SqlClient.SqlClient | Audit | AppConfig

export const TelegramBotLayer = (token: Redacted.Redacted<string>) =>
  Layer.scoped(
    TelegramBot,
    Effect.gen(function*() {
      const config = yield* AppConfig
      const links = yield* TelegramLinks
      const actions = yield* TelegramAlertActions
      const callbacks = yield* TelegramCallbacks
      const audit = yield* Audit
      const runtime = yield* Effect.runtime<Services>()
      const secret = Redacted.value(token)
      const scrub = scrubToken(secret)
      const describe = (error: unknown) => describeError(secret, error)

      // grammy refuses an API root with a trailing slash
      const apiRoot = config.telegramApiRoot.replace(/\/+$/, "")
      const bot = new Bot(secret, { client: { apiRoot, timeoutSeconds: CALL_TIMEOUT_SECONDS } })

      /** Runs a handler's effect; a failure is logged (scrubbed) and the update counts as handled. */
      const run = (name: string, effect: Effect.Effect<void, unknown, Services>) =>
        Runtime.runPromise(runtime)(
          effect.pipe(
            Effect.catchAllCause((cause) =>
              Effect.logWarning(`telegram ${name} failed: ${scrub(Cause.pretty(cause))}`)
            ),
            Effect.withSpan(`TelegramBot.${name}`)
          )
        )

      const call = <A>(f: () => Promise<A>) =>
        Effect.tryPromise({ try: f, catch: (e) => new BotApiError({ message: describe(e) }) })

      const reply = (ctx: BotContext, text: string) => call(() => ctx.reply(text)).pipe(Effect.asVoid)

      const onCode = (ctx: BotContext, typed: string) =>
        Effect.gen(function*() {
          const chat = ctx.chat!
          if (chat.type !== "private") {
            return yield* reply(ctx, "Link me in a private chat with the bot, not in a group.")
          }
          if (!looksLikeCode(typed)) {
            return yield* reply(ctx, `That is not a link code: codes look like ABCD-1234.\n\n${HELP}`)
          }
          const outcome = yield* links.link({ chatId: chat.id, telegramUsername: ctx.from?.username }, typed)
          yield* reply(ctx, linkAnswer(outcome))
        })

      const onUnlink = (ctx: BotContext) =>
        Effect.gen(function*() {
          const user = yield* links.userOfChat(ctx.chat!.id)
          if (user === undefined) return yield* reply(ctx, "This chat is not linked to an account.")
          yield* links.unlink({ userId: user.userId, username: user.username }, "telegram", undefined)
          yield* reply(ctx, `Unlinked from ${user.username}. This chat will receive no more alerts.`)
        })

      /**
       * A pressed button. Nothing about the alert is said or shown until the data is known to be the
       * server's, for this chat, and the linked person may see the alert; every refusal before that
       * gets the same answer, and is audited.
       */
      const onButton = (ctx: BotContext) =>
        Effect.gen(function*() {
          const query = ctx.callbackQuery!
          const answer = (text: string, alert = false) =>
            call(() => ctx.answerCallbackQuery({ text, show_alert: alert })).pipe(Effect.asVoid)
          const chatId = query.message?.chat.id ?? query.from.id
          const user = yield* links.userOfChat(chatId)
          if (user === undefined) return yield* answer("This chat is not linked to an account.", true)
          if (user.disabled) return yield* answer("Your account is disabled.", true)
          const actor = { userId: user.userId, username: user.username, role: user.role }
          const refuse = (reason: ButtonRefusal | "not visible", alertId?: string) =>
            audit.record({
              actor,
              action: "telegram.button",
              target: alertId === undefined ? `telegram_chat:${chatId}` : `alert:${alertId}`,
              details: { chat_id: String(chatId), reason, data: (query.data ?? "").slice(0, 64) },
              outcome: "denied"
            }).pipe(Effect.zipRight(answer(BUTTON_REFUSED, true)))
          const opened = callbacks.open(chatId, query.data ?? "")
          if (Either.isLeft(opened)) return yield* refuse(opened.left)
          const { action, alertId } = opened.right
          if (Option.isNone(yield* loadCard(alertId, user))) return yield* refuse("not visible", alertId)
          if (action === "ack" && !roleAtLeast(user.role, "operator")) {
            yield* audit.record({
              actor,
              action: "alert.acknowledge",
              target: `alert:${alertId}`,
              details: { via: "telegram", reason: `role ${user.role}` },
              outcome: "denied"
            })
            return yield* answer(`Acknowledging needs the operator role; you are ${user.role}. Use 🚗 On my way instead.`, true)
          }
          yield* (action === "ack" ? actions.acknowledge({ alertId, actor }) : actions.enRoute({ alertId, actor })).pipe(
            Effect.flatMap((said) => answer(said)),
            Effect.catchTag("AlertActionRefused", (refused) => answer(refused.message, true))
          )
          const message = query.message
          // Read again for the person: the list may have turned private since the check above.
          const card = yield* loadCard(alertId, user)
          if (message === undefined || Option.isNone(card)) return
          const text = renderCard(card.value, config.publicUrl)
          const markup = keyboardFor(card.value, (press) => callbacks.sign(chatId, press))
          // Telegram answers 400 "message is not modified" when nothing changed: nothing to report then.
          yield* call(() =>
            message.photo !== undefined
              ? ctx.editMessageCaption({ caption: text, parse_mode: "HTML", reply_markup: markup })
              : ctx.editMessageText(text, { parse_mode: "HTML", reply_markup: markup, link_preview_options: { is_disabled: true } })
          ).pipe(
            Effect.catchAll((e) =>
              e.message.includes("not modified") ? Effect.void : Effect.logWarning(`telegram message edit failed: ${e.message}`)
            )
          )
        })

      bot.command("start", (ctx) =>
        run("start", ctx.match.trim() === "" ? reply(ctx, HELP) : onCode(ctx, ctx.match.trim())))
      bot.command("help", (ctx) => run("help", reply(ctx, HELP)))
      bot.command("unlink", (ctx) => run("unlink", onUnlink(ctx)))
      bot.on("message:text", (ctx) =>
        run(
          "message",
          looksLikeCode(ctx.message.text.trim()) ? onCode(ctx, ctx.message.text.trim()) : reply(ctx, HELP)
        ))
      bot.on("callback_query:data", (ctx) => run("button", onButton(ctx)))
      bot.catch((error) => {
        Runtime.runSync(runtime)(Effect.logWarning(`telegram update failed: ${describe(error.error)}`))
      })

      // Polling restarts after a failure (a wrong token, another poller): slowly, and for as long as the server runs.
      yield* Effect.tryPromise({
        try: () =>
          bot.start({
            timeout: POLL_SECONDS,
            allowed_updates: ["message", "callback_query"],
            onStart: (me) =>
              Runtime.runSync(runtime)(Effect.gen(function*() {
                yield* Effect.logInfo(`telegram bot @${me.username} is polling for updates`)
                const named = config.telegramBotUsername
                if (Option.isSome(named) && named.value.toLowerCase() !== me.username.toLowerCase()) {
                  yield* Effect.logWarning(
                    `TELEGRAM_BOT_USERNAME is ${named.value}, but the token is the bot @${me.username}: ` +
                      "link codes name the wrong bot"
                  )
                }
              }))
          }),
        catch: (e) => new BotApiError({ message: describe(e) })
      }).pipe(
        Effect.tapError((e) => Effect.logError(`telegram polling stopped: ${e.message}`)),
        Effect.retry(Schedule.exponential("2 seconds").pipe(Schedule.jittered, Schedule.either(Schedule.spaced("60 seconds")))),
        Effect.forkScoped
      )
      // Runs before the polling fiber is interrupted: confirms the last update with Telegram and ends the long poll.
      yield* Effect.addFinalizer(() =>
        Effect.tryPromise(() => (bot.isRunning() ? bot.stop() : Promise.resolve())).pipe(
          Effect.timeout("5 seconds"),
          Effect.catchAll((e) => Effect.logWarning(`telegram bot did not stop cleanly: ${describe(e)}`))
        )
      )

      return TelegramBot.of({ api: bot.api, describe })
    })
  )
