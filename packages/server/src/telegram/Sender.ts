import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import { type Api, InputFile } from "grammy"
import * as Either from "effect/Either"
import { AppConfig } from "../Config"
import { loadHealthAlert } from "../health/Health"
import { isFor, PgListener } from "../db/Listener"
import { Images } from "../images/Images"
import { TelegramBot } from "./Bot"
import { BotApiError, isBadRequest, verdictOf } from "./BotErrors"
import { TelegramCallbacks } from "./Callbacks"
import { type ClaimedDelivery, TELEGRAM_DELIVERY_CHANNEL, TelegramDeliveries } from "./Deliveries"
import { CAPTION_LIMIT, keyboardFor, loadCard, renderCard, renderHealth } from "./Message"

/**
 * Sends the alert messages owed in `telegram_deliveries`: woken by `NOTIFY telegram_delivery` when
 * messages are owed (Recipients.ts; on the server's shared LISTEN connection), by its own timer for
 * retries that come due, and slowly in any case.
 *
 * Retry policy, per message: a failed attempt is tried again after 5 s, doubling to at most 10 min,
 * each delay jittered by ±20 % so that a burst of failures does not come back as a burst; a 429 waits
 * exactly what Telegram's `retry_after` says instead. After `MAX_ATTEMPTS` attempts the message is
 * failed for good with its last error. A 403 (the volunteer blocked the bot) and a 400 (Telegram
 * refuses the request) fail at once. The delays live in the database, not in a Schedule, so that they
 * survive restarts and every server replica honours them.
 */

export const MAX_ATTEMPTS = 10
export const RETRY_BASE_MS = 5_000
export const RETRY_CAP_MS = 10 * 60_000

/** The delay after the `failures`-th failed attempt (1 for the first). */
export const retryDelayMs = (failures: number, random: number = Math.random()): number => {
  const plain = Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** Math.max(0, failures - 1))
  return Math.round(Math.min(RETRY_CAP_MS, plain * (0.8 + 0.4 * random)))
}

/**
 * Telegram's limits for bots: about 30 messages a second overall; in one chat about one a second,
 * with short bursts allowed ("we may allow short bursts that go over this limit").
 */
export const GLOBAL_SPACING_MS = 40
export const CHAT_SPACING_MS = 1_000
/** Messages one chat may get at once before the one-a-second spacing applies. */
export const CHAT_BURST = 3

/** Rows claimed at once. */
const BATCH = 50
/** Messages being sent to Telegram at once (a message waiting for its turn under the limits is not counted). */
const CONCURRENCY = 8
/** A claimed row is left alone by other senders this long; longer than a batch can take to go out. */
const LEASE_SECONDS = 120
/** With nothing due, look again at least this often. */
const IDLE_POLL = Duration.seconds(30)
/** One send gives up after this and counts as a failed attempt. */
const SEND_TIMEOUT = Duration.seconds(45)

const sentTotal = Metric.counter("alpr_telegram_messages_sent_total", { description: "Alert messages delivered to Telegram" })
const failedTotal = Metric.counter("alpr_telegram_messages_failed_total", { description: "Alert messages given up on" })
const retriedTotal = Metric.counter("alpr_telegram_attempts_retried_total", { description: "Failed attempts to be retried" })

/** grammy declares its signal parameter with the abort-controller package's type; Node's is the same at run time. */
type BotSignal = Parameters<Api["sendMessage"]>[3]
const botSignal = (signal: AbortSignal): BotSignal => signal as unknown as BotSignal

/**
 * Spacing of sends within Telegram's limits, for this server. Each send takes the next free slot
 * overall, and its chat's next slot by the generic cell rate algorithm: one message per
 * CHAT_SPACING_MS on average, CHAT_BURST at once after a quiet spell. The clock is Effect's, so tests
 * may drive it.
 */
export const makePacer = Effect.sync(() => {
  let nextGlobal = 0
  // Per chat, the theoretical arrival time of its next message: when it would be due at the steady rate.
  const dueByChat = new Map<string, number>()
  const tolerance = (CHAT_BURST - 1) * CHAT_SPACING_MS
  return (chatId: string) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const globalSlot = Math.max(now, nextGlobal)
      nextGlobal = globalSlot + GLOBAL_SPACING_MS
      const due = dueByChat.get(chatId) ?? 0
      const at = Math.max(globalSlot, due - tolerance)
      dueByChat.set(chatId, Math.max(due, at) + CHAT_SPACING_MS)
      if (dueByChat.size > 10_000) {
        for (const [chat, next] of dueByChat) if (next < now) dueByChat.delete(chat)
      }
      return at > now ? Effect.sleep(Duration.millis(at - now)) : Effect.void
    })
})

export const TelegramSenderLayer = Layer.scopedDiscard(
  Effect.gen(function*() {
    const config = yield* AppConfig
    const bot = yield* TelegramBot
    const callbacks = yield* TelegramCallbacks
    const deliveries = yield* TelegramDeliveries
    const images = yield* Images
    const listener = yield* PgListener
    const pace = yield* makePacer
    const wake = yield* Queue.sliding<void>(1)
    const sending = yield* Effect.makeSemaphore(CONCURRENCY)
    // Deliveries under way; they end with the server (a row cut short is retried when its lease ends).
    const underWay = yield* FiberSet.make()

    /** The message's photo: the plate crop, when there is one that still matches its hash. */
    const photoOf = (detectionId: number) =>
      images.read(detectionId, "plate").pipe(
        Effect.map((image) => Option.some(image.bytes)),
        Effect.catchAll((e) =>
          e._tag === "NotFound"
            ? Effect.succeed(Option.none<Uint8Array>())
            : Effect.logWarning(`alert photo unavailable, sending text: ${e.message}`).pipe(Effect.as(Option.none<Uint8Array>()))
        )
      )

    const send = (chatId: string, text: string, photo: Option.Option<Uint8Array>, markup: ReturnType<typeof keyboardFor> | undefined) => {
      const asText = Effect.tryPromise({
        try: (signal) =>
          bot.api.sendMessage(chatId, text, {
            parse_mode: "HTML",
            ...(markup === undefined ? {} : { reply_markup: markup }),
            link_preview_options: { is_disabled: true }
          }, botSignal(signal)),
        catch: (e) => e
      })
      // A caption is limited to 1024 characters, a text message to 4096: a long one goes as text.
      if (Option.isNone(photo) || text.length > CAPTION_LIMIT) return asText
      const asPhoto = Effect.tryPromise({
        try: (signal) =>
          bot.api.sendPhoto(chatId, new InputFile(photo.value, "plate.jpg"), {
            caption: text,
            parse_mode: "HTML",
            ...(markup === undefined ? {} : { reply_markup: markup })
          }, botSignal(signal)),
        catch: (e) => e
      })
      // A photo Telegram will not take (400) must not cost the volunteer the alert: send it as text.
      return asPhoto.pipe(
        Effect.catchIf(isBadRequest, (e) =>
          Effect.logWarning(`telegram refused the photo, sending text: ${bot.describe(e)}`).pipe(Effect.zipRight(asText)))
      )
    }

    /** What a delivery says now: an alert's card with its photo and buttons, or a health alert's text; or why it may not go. */
    const messageOf = (d: ClaimedDelivery) =>
      Effect.gen(function*() {
        if (d.healthAlertId !== null) {
          // The fleet is the admins': one demoted since is not told.
          if (d.role !== "admin") return Either.left("the person is no longer an admin")
          const health = yield* loadHealthAlert(d.healthAlertId)
          if (Option.isNone(health)) return Either.left("the health alert no longer exists")
          return Either.right({ text: renderHealth(health.value, d.healthEvent ?? "raised"), photo: Option.none<Uint8Array>(), keyboard: undefined })
        }
        if (d.alertId === null) return Either.left("the message names no alert")
        // The list may have turned private, or the person been demoted, since the alert was raised.
        const card = yield* loadCard(d.alertId, { userId: d.userId, role: d.role })
        if (Option.isNone(card)) return Either.left("the alert no longer exists or is on a list the person may not see")
        return Either.right({
          text: renderCard(card.value, config.publicUrl),
          photo: yield* photoOf(card.value.photoDetectionId),
          keyboard: keyboardFor(card.value, (press) => callbacks.sign(d.chatId, press))
        })
      })

    const deliver = (d: ClaimedDelivery) =>
      Effect.gen(function*() {
        if (!d.linked || d.disabled) {
          yield* Metric.increment(failedTotal)
          return yield* deliveries.failed(
            d.id,
            d.disabled ? "the account is disabled" : "the chat is no longer linked to the account",
            false
          )
        }
        const message = yield* messageOf(d)
        if (message._tag === "Left") {
          yield* Metric.increment(failedTotal)
          return yield* deliveries.failed(d.id, message.left, false)
        }
        const { keyboard, photo, text } = message.right
        yield* pace(d.chatId)
        const result = yield* sending.withPermits(1)(send(d.chatId, text, photo, keyboard)).pipe(
          Effect.timeoutFail({
            duration: SEND_TIMEOUT,
            onTimeout: () => new BotApiError({ message: `no answer from Telegram within ${Duration.format(SEND_TIMEOUT)}` })
          }),
          Effect.either
        )
        if (result._tag === "Right") {
          yield* Metric.increment(sentTotal)
          return yield* deliveries.sent(d.id, result.right.message_id)
        }
        const error = bot.describe(result.left)
        const verdict = verdictOf(result.left)
        const log = Effect.annotateLogs({ delivery_id: d.id, alert_id: d.alertId, attempt: d.attempts + 1 })
        if (verdict._tag === "fatal") {
          yield* Metric.increment(failedTotal)
          yield* Effect.logWarning(`telegram message failed for good: ${error}`).pipe(log)
          return yield* deliveries.failed(d.id, error)
        }
        const delay = verdict.afterMs ?? retryDelayMs(d.attempts + 1)
        const status = yield* deliveries.retryLater(d.id, error, delay, MAX_ATTEMPTS)
        // due again sooner, maybe, than the wait the round set: it is looked at again
        yield* Queue.offer(wake, undefined)
        if (status === "failed") {
          yield* Metric.increment(failedTotal)
          yield* Effect.logError(`telegram message failed after ${MAX_ATTEMPTS} attempts: ${error}`).pipe(log)
        } else {
          yield* Metric.increment(retriedTotal)
          yield* Effect.logWarning(`telegram message attempt failed, retrying in ${Math.round(delay / 1000)} s: ${error}`).pipe(log)
        }
      }).pipe(
        // A bug or a database failure with one row must not stop the others; the lease brings it back.
        Effect.catchAllCause((cause) =>
          Effect.logError(`telegram delivery ${d.id} could not be processed: ${bot.describe(Cause.pretty(cause))}`)
        ),
        Effect.withSpan("TelegramSender.deliver", { attributes: { delivery_id: d.id } })
      )

    /**
     * Starts every due delivery, then waits for a notification or the next row to come due. Each
     * delivery goes on its own: one waiting for its chat's turn must not hold back the messages
     * claimed after it (the lease keeps a row from being claimed twice meanwhile).
     */
    const round = Effect.gen(function*() {
      while (true) {
        const batch = yield* deliveries.claim(BATCH, LEASE_SECONDS)
        if (batch.length === 0) break
        for (const d of batch) yield* FiberSet.run(underWay, deliver(d))
        // fewer than asked for: none other is due now (a row owed later rings `wake` by NOTIFY)
        if (batch.length < BATCH) break
      }
      const due = yield* deliveries.nextDueInMs
      const wait = due === undefined ? IDLE_POLL : Duration.min(IDLE_POLL, Duration.millis(due))
      yield* Effect.raceFirst(Effect.sleep(wait), Queue.take(wake))
    }).pipe(
      Effect.catchAllCause((cause) =>
        Effect.logError(`telegram sender round failed: ${bot.describe(Cause.pretty(cause))}`).pipe(Effect.zipRight(Effect.sleep("5 seconds")))
      )
    )

    // Every notification, and every reconnection of the shared LISTEN connection (notifications may
    // have been missed meanwhile), starts a round.
    const signals = yield* listener.subscribe(TELEGRAM_DELIVERY_CHANNEL)
    yield* Queue.take(signals).pipe(
      Effect.flatMap((signal) => (isFor(TELEGRAM_DELIVERY_CHANNEL)(signal) ? Queue.offer(wake, undefined) : Effect.void)),
      Effect.forever,
      Effect.forkScoped
    )
    yield* Effect.forever(round).pipe(Effect.forkScoped)
  })
)
