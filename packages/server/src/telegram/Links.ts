import type { Role } from "@chaverim/domain/Auth"
import { Forbidden, NotFound } from "@chaverim/domain/Errors"
import {
  LINK_CODE_MINUTES,
  type LinkCode,
  type Subscriptions,
  type SubscriptionsUpdate
} from "@chaverim/domain/Telegram"
import type { WatchlistCategory } from "@chaverim/domain/Watchlist"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { mayView } from "../alerts/Views"
import type { Actor, RequestInfo } from "../auth/Accounts"
import { makeThrottle, type ThrottleRule } from "../auth/Throttle"
import { Audit } from "../audit/Audit"
import { AppConfig } from "../Config"
import { canonicalCode, newTypableCode, sha256Hex } from "../crypto/Tokens"

/**
 * Linking Telegram chats to accounts and choosing what alerts reach them.
 *
 * A link code is two groups of four (40 bits): typed on a phone, so short, yet out of reach of guessing
 * with five tries per chat per ten minutes and ten minutes of life. Only its SHA-256 is stored.
 */

/** Wrong codes one chat may send within `WINDOW_MINUTES` before it must wait that long. */
export const WRONG_CODE_LIMIT = 5
export const WINDOW_MINUTES = 10
const WRONG_CODE_RULE: ThrottleRule = {
  limit: WRONG_CODE_LIMIT,
  window: Duration.minutes(WINDOW_MINUTES),
  lockout: Duration.minutes(WINDOW_MINUTES)
}

/** Serialises links so that a chat moving between two accounts at once cannot break `chat_id UNIQUE`. */
const LINK_LOCK = 7415021

export interface ChatInfo {
  readonly chatId: number
  readonly telegramUsername: string | undefined
}

export type LinkOutcome =
  | {
    readonly _tag: "Linked"
    readonly userId: string
    readonly username: string
    /** the chat was linked to this other account before */
    readonly movedFrom: string | undefined
    /** the account's chat before this one */
    readonly replacedChat: string | undefined
  }
  | { readonly _tag: "Unknown"; readonly remaining: number }
  | { readonly _tag: "Expired"; readonly remaining: number }
  | { readonly _tag: "Used"; readonly remaining: number }
  | { readonly _tag: "Disabled" }
  | { readonly _tag: "Throttled"; readonly retryAfterSeconds: number }

/** The person behind a linked chat. */
export interface LinkedUser {
  readonly userId: string
  readonly username: string
  readonly role: Role
  readonly disabled: boolean
}

/** Whether a code, as typed, has the shape of one (so that other chatter is not counted as a wrong code). */
export const looksLikeCode = (typed: string): boolean => /^[0-9A-Za-z]{8}$/.test(typed.replace(/[\s-]/g, ""))

const iso = (d: Date | string) => new Date(d).toISOString()

const outcome = (o: LinkOutcome): LinkOutcome => o

export class TelegramLinks extends Effect.Service<TelegramLinks>()("@chaverim/server/TelegramLinks", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const throttle = yield* makeThrottle
    const audit = yield* Audit
    const botUsername = Option.getOrNull((yield* AppConfig).telegramBotUsername)

    const userById = (userId: string) =>
      Effect.map(
        sql<{ id: string; username: string; disabled_at: Date | null }>`
          SELECT id, username, disabled_at FROM users WHERE id = ${userId} AND NOT display`,
        (rows) => rows[0]
      )

    /**
     * A new code for the account; codes made before it stop working, so only the one the person was
     * last shown can link. `by` is who asked: the user themselves over HTTP, an admin for them over
     * the admin RPC, nobody from the CLI.
     */
    const newCode = Effect.fn("TelegramLinks.newCode")(function*(
      userId: string,
      by: Actor | undefined,
      request: RequestInfo | undefined,
      via: "http" | "rpc" = "http"
    ) {
      const user = yield* userById(userId)
      if (user === undefined) return yield* new NotFound({ message: "no such account" })
      if (user.disabled_at !== null) return yield* new Forbidden({ message: `the account ${user.username} is disabled` })
      const code = newTypableCode(2)
      const expiresAt = yield* sql.withTransaction(Effect.gen(function*() {
        yield* sql`
          UPDATE telegram_link_codes SET expires_at = now()
           WHERE user_id = ${userId} AND used_at IS NULL AND expires_at > now()`
        const [row] = yield* sql<{ expires_at: Date }>`
          INSERT INTO telegram_link_codes (code_hash, user_id, expires_at)
          VALUES (${sha256Hex(canonicalCode(code))}, ${userId}, now() + make_interval(mins => ${LINK_CODE_MINUTES}))
          RETURNING expires_at`
        yield* audit.record({
          actor: by,
          address: request?.address,
          action: "telegram.link_code",
          target: `user:${userId}`,
          details: { via: by === undefined ? "cli" : via, expires_at: iso(row!.expires_at) },
          outcome: "success"
        })
        return row!.expires_at
      }))
      return { username: user.username, code, expires_at: iso(expiresAt), bot_username: botUsername } satisfies LinkCode
    })

    /** The same, for the command line, by username. */
    const newCodeFor = (username: string) =>
      Effect.gen(function*() {
        const [row] = yield* sql<{ id: string }>`SELECT id FROM users WHERE lower(username) = lower(${username}) AND NOT display`
        if (row === undefined) return yield* new NotFound({ message: `no account named ${username}` })
        return yield* newCode(row.id, undefined, undefined)
      })

    const throttleKey = (chatId: number) => `telegram:${chatId}`

    /** Seconds the chat must still wait after too many wrong codes; 0 when it may try. */
    const lockedFor = (chatId: number) =>
      throttle.check([throttleKey(chatId)]).pipe(
        Effect.as(0),
        Effect.catchTag("TooManyAttempts", (e) => Effect.succeed(e.retry_after_s))
      )

    /** Counts a wrong code against the chat (with the sign-in throttle); returns the tries left. */
    const wrongCode = (chatId: number) =>
      Effect.map(throttle.fail(throttleKey(chatId), WRONG_CODE_RULE), (failures) => Math.max(0, WRONG_CODE_LIMIT - failures))

    /**
     * Links the chat that sent `typed` to the account the code was made for. The chat leaves any other
     * account it was linked to, the account's previous chat is replaced, and messages still owed to the
     * account follow it to the new chat.
     */
    const link = Effect.fn("TelegramLinks.link")(function*(chat: ChatInfo, typed: string) {
      const wait = yield* lockedFor(chat.chatId)
      if (wait > 0) return outcome({ _tag: "Throttled", retryAfterSeconds: wait })
      const hash = sha256Hex(canonicalCode(typed))
      return yield* sql.withTransaction(Effect.gen(function*() {
        const [claimed] = yield* sql<{ user_id: string }>`
          UPDATE telegram_link_codes SET used_at = now()
           WHERE code_hash = ${hash} AND used_at IS NULL AND expires_at > now()
          RETURNING user_id`
        if (claimed === undefined) {
          const [known] = yield* sql<{ user_id: string; used_at: Date | null }>`
            SELECT user_id, used_at FROM telegram_link_codes WHERE code_hash = ${hash}`
          const reason = known === undefined ? "Unknown" : known.used_at !== null ? "Used" : "Expired"
          const remaining = yield* wrongCode(chat.chatId)
          yield* audit.record({
            action: "telegram.link",
            target: known === undefined ? `telegram_chat:${chat.chatId}` : `user:${known.user_id}`,
            details: { chat_id: String(chat.chatId), telegram_username: chat.telegramUsername ?? null, reason: reason.toLowerCase() },
            outcome: "failure"
          })
          return outcome({ _tag: reason, remaining })
        }
        const user = (yield* userById(claimed.user_id))!
        const actor = { userId: user.id, username: user.username }
        if (user.disabled_at !== null) {
          yield* audit.record({
            actor,
            action: "telegram.link",
            target: `user:${user.id}`,
            details: { chat_id: String(chat.chatId), reason: "disabled" },
            outcome: "denied"
          })
          return outcome({ _tag: "Disabled" })
        }
        yield* sql`SELECT pg_advisory_xact_lock(${LINK_LOCK})`
        const moved = yield* sql<{ user_id: string; username: string }>`
          DELETE FROM telegram_links l USING users u
           WHERE l.chat_id = ${chat.chatId} AND l.user_id <> ${user.id} AND u.id = l.user_id
          RETURNING l.user_id, u.username`
        const [previous] = yield* sql<{ chat_id: string }>`SELECT chat_id FROM telegram_links WHERE user_id = ${user.id}`
        yield* sql`
          INSERT INTO telegram_links (user_id, chat_id, telegram_username)
          VALUES (${user.id}, ${chat.chatId}, ${chat.telegramUsername ?? null})
          ON CONFLICT (user_id) DO UPDATE
            SET chat_id = EXCLUDED.chat_id, telegram_username = EXCLUDED.telegram_username, linked_at = now()`
        yield* sql`
          UPDATE telegram_deliveries SET chat_id = ${chat.chatId}
           WHERE user_id = ${user.id} AND status = 'pending' AND chat_id <> ${chat.chatId}`
        yield* sql`DELETE FROM auth_throttle WHERE key = ${throttleKey(chat.chatId)}`
        const replacedChat = previous !== undefined && String(previous.chat_id) !== String(chat.chatId)
          ? String(previous.chat_id)
          : undefined
        yield* audit.record({
          actor,
          action: "telegram.link",
          target: `user:${user.id}`,
          details: {
            chat_id: String(chat.chatId),
            telegram_username: chat.telegramUsername ?? null,
            ...(replacedChat === undefined ? {} : { replaced_chat_id: replacedChat }),
            ...(moved[0] === undefined ? {} : { moved_from: moved[0].username })
          },
          outcome: "success"
        })
        return outcome({ _tag: "Linked", userId: user.id, username: user.username, movedFrom: moved[0]?.username, replacedChat })
      }))
    })

    /** Who a chat is linked to, if anyone. */
    const userOfChat = (chatId: number) =>
      Effect.map(
        sql<{ user_id: string; username: string; role: Role; disabled_at: Date | null }>`
          SELECT u.id AS user_id, u.username, u.role, u.disabled_at
            FROM telegram_links l JOIN users u ON u.id = l.user_id
           WHERE l.chat_id = ${chatId}`,
        ([row]): LinkedUser | undefined =>
          row === undefined
            ? undefined
            : { userId: row.user_id, username: row.username, role: row.role, disabled: row.disabled_at !== null }
      )

    /** Removes the account's link; returns whether there was one. Messages still owed are not sent. */
    const unlink = Effect.fn("TelegramLinks.unlink")(function*(
      actor: Actor,
      via: "http" | "telegram",
      request: RequestInfo | undefined
    ) {
      return yield* sql.withTransaction(Effect.gen(function*() {
        const removed = yield* sql<{ chat_id: string }>`
          DELETE FROM telegram_links WHERE user_id = ${actor.userId} RETURNING chat_id`
        yield* sql`
          UPDATE telegram_deliveries
             SET status = 'failed', last_error = 'the volunteer unlinked Telegram before it was sent'
           WHERE user_id = ${actor.userId} AND status = 'pending'`
        yield* audit.record({
          actor,
          address: request?.address,
          action: "telegram.unlink",
          target: `user:${actor.userId}`,
          details: { via, ...(removed[0] === undefined ? {} : { chat_id: String(removed[0].chat_id) }) },
          outcome: "success"
        })
        return removed.length > 0
      }))
    })

    const subscriptions = Effect.fn("TelegramLinks.subscriptions")(function*(userId: string) {
      const [link] = yield* sql<{ telegram_username: string | null; linked_at: Date }>`
        SELECT telegram_username, linked_at FROM telegram_links WHERE user_id = ${userId}`
      const rows = yield* sql<{ watchlist_id: string | null; category: WatchlistCategory | null }>`
        SELECT watchlist_id, category FROM telegram_subscriptions WHERE user_id = ${userId} ORDER BY id`
      return {
        linked: link !== undefined,
        telegram_username: link?.telegram_username ?? null,
        linked_at: link === undefined ? null : iso(link.linked_at),
        watchlist_ids: rows.flatMap((r) => (r.watchlist_id === null ? [] : [r.watchlist_id])),
        categories: rows.flatMap((r) => (r.category === null ? [] : [r.category]))
      } satisfies Subscriptions
    })

    /**
     * Replaces the account's subscriptions. Every list must exist, not be retired, and be one the person
     * may see: shared, their own, or any list for an admin.
     */
    const setSubscriptions = Effect.fn("TelegramLinks.setSubscriptions")(function*(
      user: Actor & { readonly role: Role },
      update: SubscriptionsUpdate,
      request: RequestInfo | undefined
    ) {
      const listIds = [...new Set(update.watchlist_ids.map((id) => id.toLowerCase()))]
      const categories = [...new Set(update.categories)]
      const lists = listIds.length === 0 ? [] : yield* sql<{
        id: string
        owner_id: string | null
        shared: boolean
        deleted_at: Date | null
      }>`SELECT id, owner_id, shared, deleted_at FROM watchlists WHERE id IN ${sql.in(listIds)}`
      for (const id of listIds) {
        const list = lists.find((l) => l.id === id)
        if (list === undefined || list.deleted_at !== null) {
          return yield* new NotFound({ message: `there is no watchlist ${id}` })
        }
        if (!mayView(user, list)) {
          yield* audit.record({
            actor: user,
            address: request?.address,
            action: "telegram.subscriptions",
            target: `watchlist:${id}`,
            details: { reason: "private list" },
            outcome: "denied"
          })
          return yield* new Forbidden({ message: `watchlist ${id} is private to its owner; you cannot subscribe to it` })
        }
      }
      yield* sql.withTransaction(Effect.gen(function*() {
        yield* sql`DELETE FROM telegram_subscriptions WHERE user_id = ${user.userId}`
        const rows = [
          ...listIds.map((id) => ({ user_id: user.userId, watchlist_id: id, category: null })),
          ...categories.map((category) => ({ user_id: user.userId, watchlist_id: null, category }))
        ]
        if (rows.length > 0) yield* sql`INSERT INTO telegram_subscriptions ${sql.insert(rows)}`
        yield* audit.record({
          actor: user,
          address: request?.address,
          action: "telegram.subscriptions",
          target: `user:${user.userId}`,
          details: { watchlist_ids: listIds, categories },
          outcome: "success"
        })
      }))
      return yield* subscriptions(user.userId)
    })

    return { newCode, newCodeFor, link, userOfChat, unlink, subscriptions, setSubscriptions } as const
  })
}) {}
