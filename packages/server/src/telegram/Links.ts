import { Role } from "@chaverim/domain/Auth"
import { Forbidden, NotFound } from "@chaverim/domain/Errors"
import {
  LINK_CODE_MINUTES,
  type LinkCode,
  type Subscriptions,
  type SubscriptionsUpdate
} from "@chaverim/domain/Telegram"
import { WatchlistCategory } from "@chaverim/domain/Watchlist"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { mayView } from "../alerts/Views"
import type { Actor, RequestInfo } from "../auth/Accounts"
import { makeThrottle, type ThrottleRule } from "../auth/Throttle"
import { Audit } from "../audit/Audit"
import { AppConfig } from "../Config"
import { canonicalCode, newTypableCode, sha256Hex } from "../crypto/Tokens"
import { Int8Text, IsoTime, IsoTimeOrNull, orBug } from "../db/Rows"

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
const LinkedUser = Schema.Struct({ userId: Schema.String, username: Schema.String, role: Role, disabled: Schema.Boolean })
export type LinkedUser = typeof LinkedUser.Type

/** An account a code may be made for or may link (not a wall display's). */
const UserRow = Schema.Struct({ id: Schema.String, username: Schema.String, disabled_at: IsoTimeOrNull })

/** `telegram_link_codes`: only the code's hash is stored. */
const LinkCodeRow = Schema.Struct({ user_id: Schema.String, expires_at: IsoTime, used_at: IsoTimeOrNull })

/** `telegram_links`: an account's one chat. */
const LinkRow = Schema.Struct({
  user_id: Schema.String,
  chat_id: Int8Text,
  telegram_username: Schema.NullOr(Schema.String),
  linked_at: IsoTime
})

/** `telegram_subscriptions`: a list, or a whole category. */
const SubscriptionRow = Schema.Struct({ watchlist_id: Schema.NullOr(Schema.String), category: Schema.NullOr(WatchlistCategory) })

/** What decides whether a person may subscribe to a list. */
const ListRow = Schema.Struct({
  id: Schema.String,
  owner_id: Schema.NullOr(Schema.String),
  shared: Schema.Boolean,
  deleted_at: IsoTimeOrNull
})

/** Whether a code, as typed, has the shape of one (so that other chatter is not counted as a wrong code). */
export const looksLikeCode = (typed: string): boolean => /^[0-9A-Za-z]{8}$/.test(typed.replace(/[\s-]/g, ""))

const outcome = (o: LinkOutcome): LinkOutcome => o

export class TelegramLinks extends Effect.Service<TelegramLinks>()("@chaverim/server/TelegramLinks", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const throttle = yield* makeThrottle
    const audit = yield* Audit
    const botUsername = Option.getOrNull((yield* AppConfig).telegramBotUsername)

    const userById = (userId: string) =>
      orBug(SqlSchema.findOne({
        Request: Schema.String,
        Result: UserRow,
        execute: (id) => sql`SELECT id, username, disabled_at FROM users WHERE id = ${id} AND NOT display`
      })(userId))

    const userByName = SqlSchema.findOne({
      Request: Schema.String,
      Result: UserRow.pick("id"),
      execute: (username) => sql`SELECT id FROM users WHERE lower(username) = lower(${username}) AND NOT display`
    })

    const insertCode = SqlSchema.single({
      Request: Schema.Struct({ hash: Schema.String, userId: Schema.String }),
      Result: LinkCodeRow.pick("expires_at"),
      execute: ({ hash, userId }) =>
        sql`
          INSERT INTO telegram_link_codes (code_hash, user_id, expires_at)
          VALUES (${hash}, ${userId}, now() + make_interval(mins => ${LINK_CODE_MINUTES}))
          RETURNING expires_at`
    })

    /** Takes the code when it is unused and unexpired: it links once. */
    const claimCode = SqlSchema.findOne({
      Request: Schema.String,
      Result: LinkCodeRow.pick("user_id"),
      execute: (hash) =>
        sql`
          UPDATE telegram_link_codes SET used_at = now()
           WHERE code_hash = ${hash} AND used_at IS NULL AND expires_at > now()
          RETURNING user_id`
    })

    const codeByHash = SqlSchema.findOne({
      Request: Schema.String,
      Result: LinkCodeRow.pick("user_id", "used_at"),
      execute: (hash) => sql`SELECT user_id, used_at FROM telegram_link_codes WHERE code_hash = ${hash}`
    })

    /** Takes the chat from any other account it was linked to. */
    const unlinkChatFromOthers = SqlSchema.findAll({
      Request: Schema.Struct({ chatId: Schema.Number, userId: Schema.String }),
      Result: Schema.Struct({ user_id: Schema.String, username: Schema.String }),
      execute: ({ chatId, userId }) =>
        sql`
          DELETE FROM telegram_links l USING users u
           WHERE l.chat_id = ${chatId} AND l.user_id <> ${userId} AND u.id = l.user_id
          RETURNING l.user_id, u.username`
    })

    const linkOf = SqlSchema.findOne({
      Request: Schema.String,
      Result: LinkRow,
      execute: (userId) =>
        sql`SELECT user_id, chat_id, telegram_username, linked_at FROM telegram_links WHERE user_id = ${userId}`
    })

    const linkedUser = SqlSchema.findOne({
      Request: Schema.Number,
      Result: LinkedUser,
      execute: (chatId) =>
        sql`
          SELECT u.id AS "userId", u.username, u.role, u.disabled_at IS NOT NULL AS disabled
            FROM telegram_links l JOIN users u ON u.id = l.user_id
           WHERE l.chat_id = ${chatId}`
    })

    const deleteLink = SqlSchema.findAll({
      Request: Schema.String,
      Result: LinkRow.pick("chat_id"),
      execute: (userId) => sql`DELETE FROM telegram_links WHERE user_id = ${userId} RETURNING chat_id`
    })

    const subscriptionsOf = SqlSchema.findAll({
      Request: Schema.String,
      Result: SubscriptionRow,
      execute: (userId) =>
        sql`SELECT watchlist_id, category FROM telegram_subscriptions WHERE user_id = ${userId} ORDER BY id`
    })

    const listsById = SqlSchema.findAll({
      Request: Schema.Array(Schema.String),
      Result: ListRow,
      execute: (ids) => sql`SELECT id, owner_id, shared, deleted_at FROM watchlists WHERE id IN ${sql.in(ids)}`
    })

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
      const found = yield* userById(userId)
      if (Option.isNone(found)) return yield* new NotFound({ message: "no such account" })
      const user = found.value
      if (user.disabled_at !== null) return yield* new Forbidden({ message: `the account ${user.username} is disabled` })
      const code = newTypableCode(2)
      const expiresAt = yield* sql.withTransaction(Effect.gen(function*() {
        yield* sql`
          UPDATE telegram_link_codes SET expires_at = now()
           WHERE user_id = ${userId} AND used_at IS NULL AND expires_at > now()`
        const { expires_at } = yield* insertCode({ hash: sha256Hex(canonicalCode(code)), userId }).pipe(
          orBug,
          Effect.catchTag("NoSuchElementException", () => Effect.dieMessage("INSERT ... RETURNING returned no row"))
        )
        yield* audit.record({
          actor: by,
          address: request?.address,
          action: "telegram.link_code",
          target: `user:${userId}`,
          details: { via: by === undefined ? "cli" : via, expires_at },
          outcome: "success"
        })
        return expires_at
      }))
      return { username: user.username, code, expires_at: expiresAt, bot_username: botUsername } satisfies LinkCode
    })

    /** The same, for the command line, by username. */
    const newCodeFor = (username: string) =>
      Effect.gen(function*() {
        const row = yield* orBug(userByName(username))
        if (Option.isNone(row)) return yield* new NotFound({ message: `no account named ${username}` })
        return yield* newCode(row.value.id, undefined, undefined)
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
        const claimed = yield* orBug(claimCode(hash))
        if (Option.isNone(claimed)) {
          const known = Option.getOrUndefined(yield* orBug(codeByHash(hash)))
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
        // The code's account exists (its foreign key) and is not a display's (newCode makes none for those).
        const user = yield* userById(claimed.value.user_id).pipe(
          Effect.flatMap(Option.match({
            onNone: () => Effect.dieMessage("a link code names no account"),
            onSome: Effect.succeed
          }))
        )
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
        const moved = yield* orBug(unlinkChatFromOthers({ chatId: chat.chatId, userId: user.id }))
        const previous = Option.getOrUndefined(yield* orBug(linkOf(user.id)))
        yield* sql`
          INSERT INTO telegram_links (user_id, chat_id, telegram_username)
          VALUES (${user.id}, ${chat.chatId}, ${chat.telegramUsername ?? null})
          ON CONFLICT (user_id) DO UPDATE
            SET chat_id = EXCLUDED.chat_id, telegram_username = EXCLUDED.telegram_username, linked_at = now()`
        yield* sql`
          UPDATE telegram_deliveries SET chat_id = ${chat.chatId}
           WHERE user_id = ${user.id} AND status = 'pending' AND chat_id <> ${chat.chatId}`
        yield* sql`DELETE FROM auth_throttle WHERE key = ${throttleKey(chat.chatId)}`
        const replacedChat = previous !== undefined && previous.chat_id !== String(chat.chatId)
          ? previous.chat_id
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
      Effect.map(orBug(linkedUser(chatId)), Option.getOrUndefined)

    /** Removes the account's link; returns whether there was one. Messages still owed are not sent. */
    const unlink = Effect.fn("TelegramLinks.unlink")(function*(
      actor: Actor,
      via: "http" | "telegram",
      request: RequestInfo | undefined
    ) {
      return yield* sql.withTransaction(Effect.gen(function*() {
        const removed = yield* orBug(deleteLink(actor.userId))
        yield* sql`
          UPDATE telegram_deliveries
             SET status = 'failed', last_error = 'the volunteer unlinked Telegram before it was sent'
           WHERE user_id = ${actor.userId} AND status = 'pending'`
        yield* audit.record({
          actor,
          address: request?.address,
          action: "telegram.unlink",
          target: `user:${actor.userId}`,
          details: { via, ...(removed[0] === undefined ? {} : { chat_id: removed[0].chat_id }) },
          outcome: "success"
        })
        return removed.length > 0
      }))
    })

    const subscriptions = Effect.fn("TelegramLinks.subscriptions")(function*(userId: string) {
      const link = Option.getOrUndefined(yield* orBug(linkOf(userId)))
      const rows = yield* orBug(subscriptionsOf(userId))
      return {
        linked: link !== undefined,
        telegram_username: link?.telegram_username ?? null,
        linked_at: link?.linked_at ?? null,
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
      const lists = listIds.length === 0 ? [] : yield* orBug(listsById(listIds))
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
