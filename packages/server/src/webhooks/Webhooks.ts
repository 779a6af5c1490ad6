import { BadRequest, NotFound } from "@chaverim/domain/Errors"
import {
  type DeliveryEvent,
  Webhook,
  type WebhookFormat,
  type WebhookTestResult,
  type WebhookWithSecret
} from "@chaverim/domain/Outputs"
import type { WatchlistCategory } from "@chaverim/domain/Watchlist"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { randomUUID } from "node:crypto"
import { Audit, type AuditEntry } from "../audit/Audit"
import { AppConfig } from "../Config"
import { IsoTime, orBug } from "../db/Rows"
import { literalHost, refusedAddress } from "./Address"
import { postSigned, readExtraCa } from "./Post"
import { newWebhookSecret } from "./Signature"

/** Who changes webhooks and from where (recorded in the audit row). */
export interface ChangedBy {
  readonly actor?: AuditEntry["actor"]
  readonly address?: string | undefined
}

export interface WebhookInput {
  readonly name: string
  readonly url: string
  readonly format: WebhookFormat
  readonly watchlist_id: string | null
  readonly category: WatchlistCategory | null
  readonly events: ReadonlyArray<DeliveryEvent>
}

export type WebhookChange = { readonly [K in keyof WebhookInput]?: WebhookInput[K] | undefined } & {
  readonly enabled?: boolean | undefined
}

/** What the sender needs of a webhook. */
export const WebhookTarget = Schema.Struct({
  id: Schema.String,
  url: Schema.String,
  secret: Schema.String,
  format: Schema.Literal("json", "ntfy"),
  enabled: Schema.Boolean,
  watchlist_id: Schema.NullOr(Schema.String),
  category: Schema.NullOr(Schema.String),
  events: Schema.Array(Schema.String)
})
export type WebhookTarget = typeof WebhookTarget.Type

const WebhookRow = Schema.Struct({ ...Webhook.fields, created_at: IsoTime, updated_at: IsoTime })

/** A text[] literal of event names (letters and underscores: nothing to quote). */
const textArray = (items: ReadonlyArray<string>) => `{${items.join(",")}}`

/** One attempt's time limit: a receiver that takes longer is retried later. */
export const WEBHOOK_TIMEOUT_MS = 10_000

/**
 * Webhooks (sql/0024): admins' endpoints that receive signed notices of alerts through the outbox.
 * Every change is audited; the secret is returned only when made or drawn anew, never listed, never
 * in the audit row.
 */
export class Webhooks extends Effect.Service<Webhooks>()("@chaverim/server/Webhooks", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const audit = yield* Audit
    const config = yield* AppConfig
    const extraCa = Option.isSome(config.webhookCaFile) ? yield* Effect.orDie(readExtraCa(config.webhookCaFile.value)) : undefined

    const select = (id: string | undefined) =>
      sql`
        SELECT h.id, h.name, h.url, h.format, h.watchlist_id, h.category, h.events, h.enabled, h.created_at, h.updated_at,
               last.status AS last_status, last.last_error,
               (SELECT count(*)::int FROM output_deliveries f
                 WHERE f.channel = 'webhook' AND f.target = h.id::text AND f.status = 'failed') AS failed
          FROM webhooks h
          LEFT JOIN LATERAL (
            SELECT d.status, d.last_error FROM output_deliveries d
             WHERE d.channel = 'webhook' AND d.target = h.id::text AND (d.status <> 'pending' OR d.attempts > 0)
             ORDER BY d.id DESC LIMIT 1) last ON true
         ${id === undefined ? sql`` : sql`WHERE h.id = ${id}`}
         ORDER BY lower(h.name), h.id`

    const all = SqlSchema.findAll({ Request: Schema.Void, Result: WebhookRow, execute: () => select(undefined) })
    const one = SqlSchema.findOne({ Request: Schema.String, Result: WebhookRow, execute: (id) => select(id) })
    const target = SqlSchema.findOne({
      Request: Schema.String,
      Result: WebhookTarget,
      execute: (id) => sql`SELECT id, url, secret, format, enabled, watchlist_id, category, events FROM webhooks WHERE id = ${id}`
    })

    const found = (id: string) =>
      Effect.flatMap(
        orBug(one(id)),
        Option.match({
          onNone: () => Effect.fail(new NotFound({ message: `there is no webhook ${id}` })),
          onSome: Effect.succeed
        })
      )

    const record = (by: ChangedBy, action: string, id: string, details: Record<string, unknown>) =>
      audit.record({
        actor: by.actor,
        address: by.address,
        action,
        target: `webhook:${id}`,
        details: { via: "rpc", ...details },
        outcome: "success"
      })

    /** The URL's scheme is allowed, and the list named exists. */
    const check = (input: WebhookChange) =>
      Effect.gen(function*() {
        if (input.url !== undefined && input.url.toLowerCase().startsWith("http:") && !config.webhookAllowHttp) {
          return yield* Effect.fail(
            new BadRequest({ message: "url must be https:// (plain http is allowed only with WEBHOOK_ALLOW_HTTP=true)" })
          )
        }
        const refused = input.url === undefined ? undefined : refusedAddress(literalHost(new URL(input.url)))
        if (refused !== undefined) return yield* Effect.fail(new BadRequest({ message: `url may not point at ${refused}` }))
        if (input.watchlist_id !== undefined && input.watchlist_id !== null && input.category !== undefined && input.category !== null) {
          return yield* Effect.fail(new BadRequest({ message: "give a watchlist or a category, not both" }))
        }
        if (input.watchlist_id !== undefined && input.watchlist_id !== null) {
          const rows = yield* orBug(SqlSchema.findAll({
            Request: Schema.String,
            Result: Schema.Struct({ id: Schema.String }),
            execute: (id) => sql`SELECT id FROM watchlists WHERE id = ${id} AND deleted_at IS NULL`
          })(input.watchlist_id))
          if (rows.length === 0) return yield* Effect.fail(new BadRequest({ message: `there is no watchlist ${input.watchlist_id}` }))
        }
      })

    /** What the audit row says of a webhook: never its secret; the URL without its query (a token may be there). */
    const described = (input: WebhookChange) => ({
      ...(input.name === undefined ? {} : { name: input.name }),
      ...(input.url === undefined ? {} : { url: input.url.replace(/[?#].*$/, "") }),
      ...(input.format === undefined ? {} : { format: input.format }),
      ...(input.watchlist_id === undefined ? {} : { watchlist_id: input.watchlist_id }),
      ...(input.category === undefined ? {} : { category: input.category }),
      ...(input.events === undefined ? {} : { events: input.events }),
      ...(input.enabled === undefined ? {} : { enabled: input.enabled })
    })

    const list = Effect.fn("Webhooks.list")(function*() {
      return yield* orBug(all(undefined))
    })

    const create = Effect.fn("Webhooks.create")(function*(input: WebhookInput, by: ChangedBy) {
      yield* check(input)
      const secret = newWebhookSecret()
      return yield* sql.withTransaction(Effect.gen(function*() {
        const made = yield* orBug(SqlSchema.single({
          Request: Schema.Void,
          Result: Schema.Struct({ id: Schema.String }),
          execute: () =>
            sql`
              INSERT INTO webhooks (name, url, secret, format, watchlist_id, category, events, created_by)
              VALUES (${input.name}, ${input.url}, ${secret}, ${input.format}, ${input.watchlist_id}, ${input.category},
                      ${textArray(input.events)}::text[], ${by.actor?.userId ?? null})
              RETURNING id`
        })(undefined)).pipe(Effect.catchTag("NoSuchElementException", () => Effect.dieMessage("INSERT ... RETURNING returned no row")))
        yield* record(by, "webhook.create", made.id, described(input))
        // just made, in this transaction
        const webhook = yield* Effect.orDie(found(made.id))
        return { webhook, secret } satisfies WebhookWithSecret
      }))
    })

    const update = Effect.fn("Webhooks.update")(function*(id: string, change: WebhookChange, by: ChangedBy) {
      return yield* sql.withTransaction(Effect.gen(function*() {
        const before = yield* found(id)
        // The scope as it will be: naming a list now drops the category kept, and the other way round.
        const watchlistId = change.watchlist_id !== undefined ? change.watchlist_id : change.category ? null : before.watchlist_id
        const category = change.category !== undefined ? change.category : change.watchlist_id ? null : before.category
        yield* check({ ...change, watchlist_id: watchlistId, category })
        yield* sql`
          UPDATE webhooks
             SET name = ${change.name ?? before.name},
                 url = ${change.url ?? before.url},
                 format = ${change.format ?? before.format},
                 watchlist_id = ${watchlistId},
                 category = ${category},
                 events = ${textArray(change.events ?? before.events)}::text[],
                 enabled = ${change.enabled ?? before.enabled},
                 updated_at = now()
           WHERE id = ${id}`.pipe(orBug)
        yield* record(by, "webhook.update", id, described(change))
        return yield* found(id)
      }))
    })

    const rotateSecret = Effect.fn("Webhooks.rotateSecret")(function*(id: string, by: ChangedBy) {
      const secret = newWebhookSecret()
      return yield* sql.withTransaction(Effect.gen(function*() {
        yield* found(id)
        yield* sql`UPDATE webhooks SET secret = ${secret}, updated_at = now() WHERE id = ${id}`.pipe(orBug)
        yield* record(by, "webhook.rotate_secret", id, {})
        return { webhook: yield* found(id), secret } satisfies WebhookWithSecret
      }))
    })

    /** Gone, with what it was still owed; the deliveries made stay as history. */
    const remove = Effect.fn("Webhooks.remove")(function*(id: string, by: ChangedBy) {
      yield* sql.withTransaction(Effect.gen(function*() {
        const before = yield* found(id)
        yield* sql`DELETE FROM output_deliveries WHERE channel = 'webhook' AND target = ${id} AND status = 'pending'`.pipe(orBug)
        yield* sql`DELETE FROM webhooks WHERE id = ${id}`.pipe(orBug)
        yield* record(by, "webhook.remove", id, { name: before.name })
      }))
    })

    /** The admin panel's test button: a signed test notice now, and what the endpoint answered. */
    const test = Effect.fn("Webhooks.test")(function*(id: string, by: ChangedBy) {
      const hook = yield* Effect.flatMap(
        orBug(target(id)),
        Option.match({ onNone: () => Effect.fail(new NotFound({ message: `there is no webhook ${id}` })), onSome: Effect.succeed })
      )
      const deliveryId = `test-${randomUUID()}`
      const sentAt = new Date().toISOString()
      const started = Date.now()
      const result = yield* postSigned({
        url: hook.url,
        secret: hook.secret,
        event: "test",
        deliveryId,
        timeoutMs: WEBHOOK_TIMEOUT_MS,
        extraCa,
        ...(hook.format === "ntfy"
          ? { body: "Chaverim ALPR: a test of this webhook", contentType: "text/plain; charset=utf-8", headers: { Title: "Chaverim ALPR test" } }
          : { body: JSON.stringify({ version: 1, id: deliveryId, event: "test", sent_at: sentAt }), contentType: "application/json" })
      })
      const elapsed_ms = Date.now() - started
      const outcome: WebhookTestResult = result._tag === "unreachable"
        ? { ok: false, status: null, message: result.message, elapsed_ms }
        : {
          ok: result.status >= 200 && result.status < 300,
          status: result.status,
          message: result.excerpt === "" ? `HTTP ${result.status}` : `HTTP ${result.status}: ${result.excerpt}`,
          elapsed_ms
        }
      yield* record(by, "webhook.test", id, { ok: outcome.ok, status: outcome.status })
      return outcome
    })

    return {
      list,
      create,
      update,
      rotateSecret,
      remove,
      test,
      /** for the sender: the webhook as it is now, secret included */
      target: (id: string) => orBug(target(id)),
      extraCa
    } as const
  })
}) {}
