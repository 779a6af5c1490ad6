import { AuditEntry as AuditEntrySchema } from "@chaverim/domain/rpc/Audit"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import type * as Statement from "@effect/sql/Statement"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { Int8Text, IsoTime, orBug } from "../db/Rows"

export type AuditOutcome = "success" | "failure" | "denied"

/**
 * One audited action. `action` is a dotted name (`auth.login`, `search`, `image.view`,
 * `user.create`); `reason` is what the user typed to justify a search or export.
 *
 * Never put secrets in `details` (passwords, TOTP secrets or codes, session tokens, API keys, claim
 * codes): the log is kept for good and shown to admins. Describe what happened instead
 * (`{ "method": "password" }`, `{ "key_prefix": "alpr_1a2b3c4d5e" }`).
 */
export interface AuditEntry {
  readonly actor?: { readonly userId: string; readonly username: string } | undefined
  /** The client's IP address. */
  readonly address?: string | undefined
  readonly action: string
  readonly target?: string | undefined
  readonly reason?: string | undefined
  readonly details?: Record<string, unknown> | undefined
  readonly outcome: AuditOutcome
}

/**
 * The driver's parsed `jsonb` object as it is. A `Schema.Record` would copy it key by key, and a
 * `__proto__` key (JSON may hold one) would not survive the copy.
 */
const JsonObject = Schema.declare(
  (value: unknown): value is { readonly [key: string]: unknown } =>
    typeof value === "object" && value !== null && !Array.isArray(value)
)

/**
 * A row of `audit_log` as admins see it (`audit.list`): the contract's entry, decoded from the
 * driver's row (the id, a bigint, in decimal; the time in ISO 8601).
 */
const AuditLogRow = Schema.Struct({ ...AuditEntrySchema.fields, id: Int8Text, at: IsoTime, details: JsonObject })
export type AuditRow = typeof AuditLogRow.Type

/** Every given field narrows the list; none given lists everything. */
export interface AuditFilter {
  /** Exact username of the actor. */
  readonly actor?: string | undefined
  /** Actions starting with this (`auth.` finds `auth.login` and `auth.logout`). */
  readonly action?: string | undefined
  readonly outcome?: AuditOutcome | undefined
  /** Inclusive; a Date or an ISO 8601 timestamp with offset. */
  readonly from?: Date | string | undefined
  /** Exclusive; a Date or an ISO 8601 timestamp with offset. */
  readonly to?: Date | string | undefined
  /** Exact target. */
  readonly target?: string | undefined
  /** Words, each found somewhere in the action, the username, the target, the reason or the details, in any case. */
  readonly text?: string | undefined
}

export interface AuditPageRequest {
  /** The `next_cursor` of the previous page (an id, in decimal): only rows older than it. */
  readonly before?: string | undefined
  /** 1..500, default 100. */
  readonly limit?: number | undefined
}

export interface AuditPage {
  /** Newest first. */
  readonly items: ReadonlyArray<AuditRow>
  /** Pass as `before` for the next page; null when there is none. */
  readonly next_cursor: string | null
}

export type AuditVerification =
  | { readonly ok: true; readonly rows: number; readonly head: { readonly id: string; readonly hash: string } }
  | {
    readonly ok: false
    /** Rows found intact before the first broken one. */
    readonly rows: number
    readonly firstBroken: { readonly id: string; readonly reason: string }
  }

export interface VerifyOptions {
  /** Called after every `progressEvery` rows (default 100,000) with the number checked so far. */
  readonly onProgress?: ((rows: number) => Effect.Effect<void>) | undefined
  readonly progressEvery?: number | undefined
  /** Rows read per query (default 5,000). */
  readonly pageSize?: number | undefined
}

/** For commands that must fail when the chain is broken (`alpr audit verify`). */
export class AuditChainBroken extends Data.TaggedError("AuditChainBroken")<{
  readonly id: string
  readonly reason: string
  readonly message: string
}> {}

/**
 * The audit log (`audit_log`, sql/0005_audit_log.sql): append-only and hash-chained by the database,
 * which also assigns ids and hashes, so writers on any connection or replica extend one chain.
 *
 * Database failures are defects (the effects die): an action that must be audited cannot go ahead
 * unaudited, and a caller's transaction around `record` rolls back with it.
 */
export interface AuditShape {
  /**
   * Appends one row. Inside `sql.withTransaction` it joins the caller's transaction, commits with
   * it and vanishes if it rolls back. The chain lock is then held until that transaction ends,
   * so record last and keep such transactions short: other writers wait for it.
   */
  readonly record: (entry: AuditEntry) => Effect.Effect<void>
  /** `record`, answering the new row's id (in decimal): for rows that later requests point at (photo views). */
  readonly recordReturningId: (entry: AuditEntry) => Effect.Effect<string>
  /** Filtered, newest first, keyset-paged by id (stable while rows are being added). */
  readonly list: (filter?: AuditFilter, page?: AuditPageRequest) => Effect.Effect<AuditPage>
  /** Walks the whole chain in id order, a page at a time, and names the first broken row. */
  readonly verify: Effect.Effect<AuditVerification>
  readonly verifyWith: (options: VerifyOptions) => Effect.Effect<AuditVerification>
}

export class Audit extends Context.Tag("@chaverim/server/Audit")<Audit, AuditShape>() {}

/** The first row's prev_hash, and the chain head of an empty log. */
export const GENESIS_HASH = "0".repeat(64)

const MAX_LIMIT = 500
const DEFAULT_LIMIT = 100

// PostgreSQL text cannot hold NUL and jsonb refuses unpaired surrogates. Both can arrive in what an
// attacker sends (a username tried at sign-in), and must not make the attempt unauditable.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g
const storable = (text: string) => text.replace(/\u0000/g, "\uFFFD").replace(LONE_SURROGATE, "\uFFFD")
const storableOrNull = (text: string | undefined) => (text === undefined ? null : storable(text))

const detailsJson = (details: Record<string, unknown> | undefined): string =>
  JSON.stringify(details ?? {}, (_key, value: unknown) => {
    if (typeof value === "string") return storable(value)
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [storable(k), v]))
    }
    return value
  })

const timestamp = (value: Date | string) => (typeof value === "string" ? value : value.toISOString())

const escapeLike = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`)

interface VerifyRow {
  readonly head_id: string
  readonly head_hash: string
  readonly id: string | null
  readonly prev_hash: string | null
  readonly hash: string | null
  readonly expected: string | null
}

export const AuditLayer = Layer.effect(
  Audit,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    const insert = (entry: AuditEntry) =>
      sql<{ readonly id: string }>`
        INSERT INTO audit_log (actor_id, actor_username, address, action, target, reason, details, outcome)
        VALUES (${entry.actor?.userId ?? null}, ${storableOrNull(entry.actor?.username)},
                ${storableOrNull(entry.address)}, ${storable(entry.action)}, ${storableOrNull(entry.target)},
                ${storableOrNull(entry.reason)}, ${detailsJson(entry.details)}::jsonb, ${entry.outcome})
        RETURNING id::text AS id`

    const record = Effect.fn("Audit.record")(function*(entry: AuditEntry) {
      yield* Effect.annotateCurrentSpan("audit.action", entry.action)
      yield* insert(entry)
    }, Effect.orDie)

    const recordReturningId = Effect.fn("Audit.record")(function*(entry: AuditEntry) {
      yield* Effect.annotateCurrentSpan("audit.action", entry.action)
      const rows = yield* insert(entry)
      const id = rows[0]?.id
      if (id === undefined) return yield* Effect.dieMessage("the audit insert returned no id")
      return id
    }, Effect.orDie)

    const list = Effect.fn("Audit.list")(function*(filter: AuditFilter = {}, page: AuditPageRequest = {}) {
      const requested = Math.floor(page.limit ?? DEFAULT_LIMIT)
      const limit = Number.isFinite(requested) ? Math.min(Math.max(requested, 1), MAX_LIMIT) : DEFAULT_LIMIT
      const where: Array<Statement.Fragment> = []
      if (filter.actor !== undefined) where.push(sql`actor_username = ${filter.actor}`)
      if (filter.action !== undefined) where.push(sql`action LIKE ${`${escapeLike(filter.action)}%`}`)
      if (filter.outcome !== undefined) where.push(sql`outcome = ${filter.outcome}`)
      if (filter.from !== undefined) where.push(sql`at >= ${timestamp(filter.from)}::timestamptz`)
      if (filter.to !== undefined) where.push(sql`at < ${timestamp(filter.to)}::timestamptz`)
      if (filter.target !== undefined) where.push(sql`target = ${filter.target}`)
      // A scan, newest first, that stops at a page's worth of matches.
      for (const word of (filter.text ?? "").split(/\s+/).filter((w) => w !== "").slice(0, 10)) {
        where.push(sql`concat_ws(' ', action, actor_username, target, reason, details::text) ILIKE ${`%${escapeLike(storable(word))}%`}`)
      }
      if (page.before !== undefined) where.push(sql`id < ${page.before}::bigint`)
      // One row more than asked tells whether there is a next page without another query.
      const found = yield* orBug(SqlSchema.findAll({
        Request: Schema.Void,
        Result: AuditLogRow,
        execute: () =>
          sql`
            SELECT id, at, actor_id, actor_username, address, action, target, reason, details, outcome,
                   prev_hash, hash
              FROM audit_log
             WHERE ${sql.and(where)}
             ORDER BY id DESC
             LIMIT ${limit + 1}`
      })(undefined))
      const items = found.slice(0, limit)
      return { items, next_cursor: found.length > limit ? items[items.length - 1]?.id ?? null : null }
    }, Effect.orDie)

    const verifyWith = Effect.fn("Audit.verify")(function*(options: VerifyOptions = {}) {
      const pageSize = Math.max(1, options.pageSize ?? 5_000)
      const progressEvery = Math.max(1, options.progressEvery ?? 100_000)
      let checked = 0
      let previous: { readonly id: number; readonly hash: string } | null = null
      const broken = (id: number, reason: string): AuditVerification => ({
        ok: false,
        rows: checked,
        firstBroken: { id: String(id), reason }
      })

      while (true) {
        // The head and the page come from one statement, so from one snapshot: a row is committed
        // together with the head move that covers it, whatever other writers are doing meanwhile.
        // (LIMIT 1 keeps the planner from guessing a large head table and paying for JIT compilation.)
        // Typed, not decoded: verification walks the whole log, and nothing here leaves the server.
        const page: ReadonlyArray<VerifyRow> = yield* sql<VerifyRow>`
          SELECT h.last_id AS head_id, h.hash AS head_hash, p.id, p.prev_hash, p.hash, p.expected
            FROM (SELECT last_id, hash FROM audit_chain_head LIMIT 1) h
            LEFT JOIN (
              SELECT a.id, a.prev_hash, a.hash, audit_log_hash(a) AS expected
                FROM audit_log a
               WHERE a.id > ${previous?.id ?? 0}
               ORDER BY a.id
               LIMIT ${pageSize}
            ) p ON true
           ORDER BY p.id`
        const head = page[0]
        if (head === undefined) return broken(0, "the chain head (audit_chain_head) is missing")
        const headId = Number(head.head_id)
        let read = 0
        for (const row of page) {
          if (row.id === null) break
          read++
          const id = Number(row.id)
          if (id > headId) {
            return broken(id, "the row is not covered by the chain head: it was written around the chain trigger")
          }
          if (row.prev_hash !== (previous?.hash ?? GENESIS_HASH)) {
            return broken(
              id,
              previous === null
                ? "prev_hash is not the genesis value: rows before it were removed"
                : `prev_hash does not match the previous row's hash (row ${previous.id}): ` +
                  `a row between them was removed, or row ${previous.id} was rewritten`
            )
          }
          if (row.hash !== row.expected) return broken(id, "hash does not match the row's contents")
          previous = { id, hash: row.hash! }
          checked++
          if (options.onProgress && checked % progressEvery === 0) yield* options.onProgress(checked)
        }
        if (read === pageSize) continue
        // The end: it must be the row the head records, or rows at the end were removed.
        const lastId = previous?.id ?? 0
        if (lastId < headId) {
          return broken(
            headId,
            `the chain head records row ${headId} as the last, but the log ends at ` +
              `${previous === null ? "no row" : `row ${previous.id}`}: rows at the end were removed`
          )
        }
        if ((previous?.hash ?? GENESIS_HASH) !== head.head_hash) {
          return broken(lastId, "hash does not match the chain head's: the last row was rewritten")
        }
        const intact: AuditVerification = { ok: true, rows: checked, head: { id: String(headId), hash: head.head_hash } }
        return intact
      }
    }, Effect.orDie)

    return Audit.of({ record, recordReturningId, list, verify: Effect.suspend(() => verifyWith()), verifyWith })
  })
)
