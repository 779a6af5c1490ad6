import type { Role } from "@chaverim/domain/Auth"
import { Forbidden, NotFound } from "@chaverim/domain/Errors"
import type { EmailMe, EmailSubscription } from "@chaverim/domain/rpc/Email"
import { WatchlistCategory } from "@chaverim/domain/Watchlist"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { mayView } from "../alerts/Views"
import type { Actor } from "../auth/Accounts"
import { Audit } from "../audit/Audit"
import { IsoTimeOrNull, orBug } from "../db/Rows"
import type { RequestInfo } from "../http/ClientAddress"
import { SmtpSettings } from "./Settings"

const SubscriptionRow = Schema.Struct({ watchlist_id: Schema.NullOr(Schema.String), category: Schema.NullOr(WatchlistCategory) })

const ListRow = Schema.Struct({
  id: Schema.String,
  owner_id: Schema.NullOr(Schema.String),
  shared: Schema.Boolean,
  deleted_at: IsoTimeOrNull
})

/**
 * A person's e-mail: their own address (`users.email`) and their subscriptions (`email_subscriptions`,
 * a list or a category, as Telegram's). Every change is audited in its transaction. Whether the person
 * may see a list is checked here when they subscribe, and again when each e-mail is owed and sent.
 */
export class EmailSubscriptions extends Effect.Service<EmailSubscriptions>()("@chaverim/server/EmailSubscriptions", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const audit = yield* Audit
    const settings = yield* SmtpSettings

    const addressOf = SqlSchema.findOne({
      Request: Schema.String,
      Result: Schema.Struct({ email: Schema.NullOr(Schema.String) }),
      execute: (userId) => sql`SELECT email FROM users WHERE id = ${userId}`
    })
    const subscriptionsOf = SqlSchema.findAll({
      Request: Schema.String,
      Result: SubscriptionRow,
      execute: (userId) => sql`SELECT watchlist_id, category FROM email_subscriptions WHERE user_id = ${userId} ORDER BY id`
    })
    const listById = SqlSchema.findOne({
      Request: Schema.String,
      Result: ListRow,
      execute: (id) => sql`SELECT id, owner_id, shared, deleted_at FROM watchlists WHERE id = ${id}`
    })

    const me = Effect.fn("EmailSubscriptions.me")(function*(userId: string) {
      const address = yield* orBug(addressOf(userId))
      const rows = yield* orBug(subscriptionsOf(userId))
      const { enabled } = yield* settings.current
      return {
        address: Option.getOrNull(Option.flatMapNullable(address, (a) => a.email)),
        watchlist_ids: rows.flatMap((r) => (r.watchlist_id === null ? [] : [r.watchlist_id])),
        categories: rows.flatMap((r) => (r.category === null ? [] : [r.category])),
        enabled
      } satisfies EmailMe
    })

    const setAddress = Effect.fn("EmailSubscriptions.setAddress")(function*(
      actor: Actor,
      address: string | null,
      request: RequestInfo | undefined
    ) {
      yield* sql.withTransaction(Effect.gen(function*() {
        yield* sql`UPDATE users SET email = ${address} WHERE id = ${actor.userId}`
        yield* audit.record({
          actor,
          address: request?.address,
          action: "email.address",
          target: `user:${actor.userId}`,
          details: { email: address },
          outcome: "success"
        })
      }))
      return yield* me(actor.userId)
    })

    const target = (s: EmailSubscription) => ("watchlist_id" in s ? { watchlist_id: s.watchlist_id.toLowerCase() } : { category: s.category })

    const subscribe = Effect.fn("EmailSubscriptions.subscribe")(function*(
      user: Actor & { readonly role: Role },
      subscription: EmailSubscription,
      request: RequestInfo | undefined
    ) {
      const what = target(subscription)
      if ("watchlist_id" in what) {
        const list = yield* orBug(listById(what.watchlist_id))
        if (Option.isNone(list) || list.value.deleted_at !== null) {
          return yield* new NotFound({ message: `there is no watchlist ${what.watchlist_id}` })
        }
        if (!mayView(user, list.value)) {
          yield* audit.record({
            actor: user,
            address: request?.address,
            action: "email.subscribe",
            target: `watchlist:${what.watchlist_id}`,
            details: { reason: "private list" },
            outcome: "denied"
          })
          return yield* new Forbidden({ message: `watchlist ${what.watchlist_id} is private to its owner; you cannot subscribe to it` })
        }
      }
      yield* sql.withTransaction(Effect.gen(function*() {
        yield* sql`
          INSERT INTO email_subscriptions (user_id, watchlist_id, category)
          VALUES (${user.userId}, ${"watchlist_id" in what ? what.watchlist_id : null}, ${"category" in what ? what.category : null})
          ON CONFLICT DO NOTHING`
        yield* audit.record({
          actor: user,
          address: request?.address,
          action: "email.subscribe",
          target: `user:${user.userId}`,
          details: what,
          outcome: "success"
        })
      }))
      return yield* me(user.userId)
    })

    const unsubscribe = Effect.fn("EmailSubscriptions.unsubscribe")(function*(
      actor: Actor,
      subscription: EmailSubscription,
      request: RequestInfo | undefined
    ) {
      const what = target(subscription)
      yield* sql.withTransaction(Effect.gen(function*() {
        yield* sql`
          DELETE FROM email_subscriptions
           WHERE user_id = ${actor.userId}
             AND ${"watchlist_id" in what ? sql`watchlist_id = ${what.watchlist_id}` : sql`category = ${what.category}`}`
        yield* audit.record({
          actor,
          address: request?.address,
          action: "email.unsubscribe",
          target: `user:${actor.userId}`,
          details: what,
          outcome: "success"
        })
      }))
      return yield* me(actor.userId)
    })

    return { me, setAddress, subscribe, unsubscribe } as const
  })
}) {}
