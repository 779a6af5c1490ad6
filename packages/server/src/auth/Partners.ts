import type { CurrentUser } from "@chaverim/domain/Auth"
import { BadRequest, Forbidden, NotFound, QuotaExceeded, Unauthorized } from "@chaverim/domain/Errors"
import type { Partner, PartnerCreate, PartnerScope } from "@chaverim/domain/rpc/Partners"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { randomBytes } from "node:crypto"
import { Audit } from "../audit/Audit"
import { sha256Hex } from "../crypto/Tokens"
import { IsoTime, IsoTimeOrNull, orBug } from "../db/Rows"
import type { RequestInfo } from "../http/ClientAddress"
import type { Actor } from "./Sessions"

/**
 * Partner organisations' API tokens (issue 20; sql/0038). An admin issues a token for an organisation
 * with scopes and quotas; it acts through an account of its own (an operator marked partner, no
 * password), so what it may do is what an operator may, narrowed to its scopes' routes. Every call
 * is counted for its UTC day and audited (`partner.call`, refused ones too); past a quota it is
 * refused with 429 and when the quota resets.
 */

export const PARTNER_TOKEN_PREFIX = "alpr_pt_"

/** The routes (as the API declares them) each scope opens. */
const SCOPE_ROUTES: Readonly<Record<PartnerScope, ReadonlyArray<string>>> = {
  upload: [
    "POST /api/v1/footage/uploads",
    "PATCH /api/v1/footage/uploads/:id",
    "GET /api/v1/footage/uploads/:id",
    "GET /api/v1/jobs/:id",
    "POST /api/v1/jobs/:id/cancel"
  ],
  search: [
    "GET /api/v1/detections",
    "GET /api/v1/detections/plates",
    "GET /api/v1/detections/suggestions",
    "GET /api/v1/detections/:id",
    "GET /api/v1/detections/:id/details",
    "GET /api/v1/detections/:id/images/:kind",
    "GET /api/v1/plates/:plate/timeline",
    "GET /api/v1/plates/:plate/map",
    "GET /api/v1/plates/:plate/route"
  ],
  export: [
    "GET /api/v1/detections/export",
    "GET /api/v1/evidence/key",
    "POST /api/v1/evidence/exports",
    "GET /api/v1/evidence/exports"
  ]
}

const PartnerRow = Schema.Struct({
  partner_id: Schema.String,
  organisation: Schema.String,
  username: Schema.String,
  token_prefix: Schema.String,
  scopes: Schema.Array(Schema.Literal("upload", "search", "export")),
  daily_quota: Schema.NullOr(Schema.Number),
  monthly_quota: Schema.NullOr(Schema.Number),
  calls_today: Schema.Number,
  calls_this_month: Schema.Number,
  refused_this_month: Schema.Number,
  last_used_at: IsoTimeOrNull,
  created_at: IsoTime,
  revoked_at: IsoTimeOrNull
})

const TokenRow = Schema.Struct({
  id: Schema.String,
  user_id: Schema.String,
  username: Schema.String,
  organisation: Schema.String,
  scopes: Schema.Array(Schema.String),
  daily_quota: Schema.NullOr(Schema.Number),
  monthly_quota: Schema.NullOr(Schema.Number),
  calls_today: Schema.Number,
  calls_this_month: Schema.Number
})

/** The next UTC midnight, and the first of the next UTC month. */
const nextDay = (now: Date) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1))
const nextMonth = (now: Date) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1))

const slug = (text: string) => text.normalize("NFKD").toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 40) || "partner"

export class Partners extends Effect.Service<Partners>()("@chaverim/server/Partners", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const audit = yield* Audit

    const selectPartners = sql`
      SELECT t.id::text AS partner_id, t.organisation, u.username, t.token_prefix, t.scopes, t.daily_quota, t.monthly_quota,
             coalesce((SELECT calls FROM partner_usage p WHERE p.token_id = t.id AND p.day = (now() AT TIME ZONE 'UTC')::date), 0) AS calls_today,
             coalesce((SELECT sum(calls)::int FROM partner_usage p WHERE p.token_id = t.id
                        AND p.day >= date_trunc('month', now() AT TIME ZONE 'UTC')::date), 0) AS calls_this_month,
             coalesce((SELECT sum(refused)::int FROM partner_usage p WHERE p.token_id = t.id
                        AND p.day >= date_trunc('month', now() AT TIME ZONE 'UTC')::date), 0) AS refused_this_month,
             t.last_used_at, t.created_at, t.revoked_at
        FROM partner_tokens t JOIN users u ON u.id = t.user_id`

    const one = (id: string) =>
      Effect.flatMap(
        orBug(SqlSchema.findOne({ Request: Schema.String, Result: PartnerRow, execute: (id) => sql`${selectPartners} WHERE t.id = ${id}::uuid` })(id)),
        Option.match({ onNone: () => new NotFound({ message: `no partner token ${id}` }), onSome: Effect.succeed })
      )

    const list = Effect.fn("Partners.list")(function*() {
      return (yield* orBug(SqlSchema.findAll({
        Request: Schema.Void,
        Result: PartnerRow,
        execute: () => sql`${selectPartners} ORDER BY t.revoked_at IS NOT NULL, t.created_at DESC`
      })(undefined))) satisfies ReadonlyArray<Partner>
    })

    /** A token for an organisation: its account made, its hash stored; the token itself returned this once. */
    const create = Effect.fn("Partners.create")(function*(input: PartnerCreate, admin: Actor, request: RequestInfo) {
      const token = `${PARTNER_TOKEN_PREFIX}${randomBytes(32).toString("base64url")}`
      const scopes = [...new Set(input.scopes)]
      const username = `partner-${slug(input.organisation)}-${randomBytes(2).toString("hex")}`
      const id = yield* sql.withTransaction(Effect.gen(function*() {
        const [user] = yield* sql<{ id: string }>`
          INSERT INTO users (username, role, partner) VALUES (${username}, 'operator', true) RETURNING id::text AS id`
        const [made] = yield* sql<{ id: string }>`
          INSERT INTO partner_tokens (user_id, organisation, token_hash, token_prefix, scopes, daily_quota, monthly_quota, created_by)
          VALUES (${user!.id}, ${input.organisation}, ${sha256Hex(token)}, ${token.slice(0, PARTNER_TOKEN_PREFIX.length + 6)},
                  ${`{${scopes.join(",")}}`}::text[], ${input.daily_quota ?? null}, ${input.monthly_quota ?? null}, ${admin.userId})
          RETURNING id::text AS id`
        yield* audit.record({
          actor: admin,
          address: request.address,
          action: "partner.create",
          target: `partner:${made!.id}`,
          details: { organisation: input.organisation, username, scopes, daily_quota: input.daily_quota ?? null, monthly_quota: input.monthly_quota ?? null },
          outcome: "success"
        })
        return made!.id
      }))
      if (id === undefined) return yield* new BadRequest({ message: "the token could not be made" })
      return { partner: yield* one(id).pipe(Effect.catchTag("NotFound", Effect.die)), token }
    })

    /** Revoked at once: the token stops working and its account is disabled. */
    const revoke = Effect.fn("Partners.revoke")(function*(id: string, admin: Actor, request: RequestInfo) {
      const before = yield* one(id)
      yield* sql.withTransaction(Effect.gen(function*() {
        yield* sql`UPDATE partner_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = ${id}::uuid`
        yield* sql`UPDATE users SET disabled_at = coalesce(disabled_at, now())
                    WHERE id = (SELECT user_id FROM partner_tokens WHERE id = ${id}::uuid)`
        yield* audit.record({
          actor: admin,
          address: request.address,
          action: "partner.revoke",
          target: `partner:${id}`,
          details: { organisation: before.organisation, calls_this_month: before.calls_this_month },
          outcome: "success"
        })
      }))
      return yield* one(id)
    })

    /**
     * The account a partner's call acts as: the token known and live, the route one of its scopes',
     * within its quotas. Counted and audited either way; 401 for a token not known, 403 for a route
     * outside its scopes, 429 past a quota.
     */
    const authenticate = Effect.fn("Partners.authenticate")(function*(token: string, route: string, request: RequestInfo) {
      const unknown = new Unauthorized({ message: "the partner token is not known, or was revoked" })
      if (!token.startsWith(PARTNER_TOKEN_PREFIX) || token.length > 100) return yield* unknown
      const now = new Date()
      const outcome = yield* sql.withTransaction(Effect.gen(function*() {
        // The token's row locked first, its use read after, in a statement of its own: a statement that
        // waited for the lock still reads other tables as they were when it began (READ COMMITTED), so
        // counting in the locking statement would let calls that came together all pass the quota.
        const locked = yield* sql<{ id: string }>`
          SELECT t.id::text AS id FROM partner_tokens t JOIN users u ON u.id = t.user_id
           WHERE t.token_hash = ${sha256Hex(token)} AND t.revoked_at IS NULL AND u.disabled_at IS NULL
             FOR UPDATE OF t`
        const found = locked.length === 0 ? Option.none() : yield* orBug(SqlSchema.findOne({
          Request: Schema.String,
          Result: TokenRow,
          execute: (id) =>
            sql`SELECT t.id::text AS id, t.user_id::text AS user_id, u.username, t.organisation, t.scopes, t.daily_quota, t.monthly_quota,
                       coalesce((SELECT calls FROM partner_usage p WHERE p.token_id = t.id AND p.day = (now() AT TIME ZONE 'UTC')::date), 0) AS calls_today,
                       coalesce((SELECT sum(calls)::int FROM partner_usage p WHERE p.token_id = t.id
                                  AND p.day >= date_trunc('month', now() AT TIME ZONE 'UTC')::date), 0) AS calls_this_month
                  FROM partner_tokens t JOIN users u ON u.id = t.user_id
                 WHERE t.id = ${id}::uuid`
        })(locked[0]!.id))
        if (Option.isNone(found)) return { _tag: "unknown" } as const
        const row = found.value
        const allowed = row.scopes.some((scope) => SCOPE_ROUTES[scope as PartnerScope]?.includes(route))
        const over = !allowed
          ? undefined
          : row.daily_quota !== null && row.calls_today >= row.daily_quota
          ? { quota: `${row.daily_quota} calls a day`, resets: nextDay(now) }
          : row.monthly_quota !== null && row.calls_this_month >= row.monthly_quota
          ? { quota: `${row.monthly_quota} calls a month`, resets: nextMonth(now) }
          : undefined
        const counted = allowed && over === undefined
        yield* sql`
          INSERT INTO partner_usage (token_id, day, calls, refused)
          VALUES (${row.id}, (now() AT TIME ZONE 'UTC')::date, ${counted ? 1 : 0}, ${counted ? 0 : 1})
          ON CONFLICT (token_id, day) DO UPDATE
            SET calls = partner_usage.calls + EXCLUDED.calls, refused = partner_usage.refused + EXCLUDED.refused`
        yield* sql`UPDATE partner_tokens SET last_used_at = now() WHERE id = ${row.id}::uuid`
        yield* audit.record({
          actor: { userId: row.user_id, username: row.username },
          address: request.address,
          action: "partner.call",
          target: `partner:${row.id}`,
          details: {
            route,
            organisation: row.organisation,
            ...(allowed ? {} : { refused: "outside the token's scopes" }),
            ...(over === undefined ? {} : { refused: `over its quota of ${over.quota}` })
          },
          outcome: counted ? "success" : "denied"
        })
        return { _tag: "found", row, allowed, over } as const
      }))
      if (outcome._tag === "unknown") return yield* unknown
      if (!outcome.allowed) {
        return yield* new Forbidden({ message: `this partner token's scopes (${outcome.row.scopes.join(", ")}) do not include ${route}` })
      }
      if (outcome.over !== undefined) {
        return yield* new QuotaExceeded({
          message: `the partner token's quota of ${outcome.over.quota} is used up until ${outcome.over.resets.toISOString()}`,
          resets_at: outcome.over.resets.toISOString(),
          retry_after_s: Math.max(1, Math.ceil((outcome.over.resets.getTime() - now.getTime()) / 1000))
        })
      }
      return {
        userId: outcome.row.user_id,
        username: outcome.row.username,
        role: "operator",
        sessionHash: `partner:${outcome.row.id}`,
        display: false
      } satisfies typeof CurrentUser.Service
    })

    return { list, create, revoke, authenticate } as const
  })
}) {}
