import * as SqlClient from "@effect/sql/SqlClient"
import { PgClient } from "@effect/sql-pg"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import { createHash, randomBytes } from "node:crypto"
import type pg from "pg"
import { connect, freshDatabase, useFreshDatabase } from "../../../test-support/Database"
import {
  Audit,
  type AuditEntry,
  AuditLayer,
  type AuditRow,
  type AuditShape,
  type AuditVerification,
  GENESIS_HASH
} from "../src/audit/Audit"
import { migrate } from "../src/db/Migrator"

type Runtime = ManagedRuntime.ManagedRuntime<Audit | SqlClient.SqlClient, unknown>

/** The service on a pool of several connections, so concurrent fibers really use several. */
const makeRuntime = (url: string): Runtime =>
  ManagedRuntime.make(AuditLayer.pipe(
    Layer.provideMerge(PgClient.layer({ url: Redacted.make(url), maxConnections: 8 })),
    Layer.provide(Logger.minimumLogLevel(LogLevel.Warning))
  ))

const record = (entry: AuditEntry) => Effect.flatMap(Audit, (audit) => audit.record(entry))
const verify = Effect.flatMap(Audit, (audit) => audit.verify)

/** prev_hash of every row equals the hash of the row before it in id order (genesis for the first). */
const chainIsLinear = async (db: pg.Client) => {
  const { rows } = await db.query(`
    SELECT count(*)::int AS rows,
           count(*) FILTER (WHERE prev_hash <> expected_prev)::int AS unlinked,
           count(DISTINCT hash)::int AS hashes
      FROM (SELECT prev_hash, hash, lag(hash, 1, $1) OVER (ORDER BY id) AS expected_prev FROM audit_log) chain`, [
    GENESIS_HASH
  ])
  const { rows: head } = await db.query(`
    SELECT h.last_id::text AS head_id, h.hash AS head_hash, t.id::text AS tail_id, t.hash AS tail_hash
      FROM audit_chain_head h LEFT JOIN (SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1) t ON true`)
  const { head_hash, head_id, tail_hash, tail_id } = head[0]
  return { ...rows[0], headAtEnd: head_id === (tail_id ?? "0") && head_hash === (tail_hash ?? GENESIS_HASH) }
}

const newUser = async (db: pg.Client, prefix: string) => {
  const username = `${prefix}-${randomBytes(3).toString("hex")}`
  const { rows } = await db.query<{ id: string }>(
    "INSERT INTO users (username, role) VALUES ($1, 'operator') RETURNING id",
    [username]
  )
  return { userId: rows[0]!.id, username }
}

const tag = () => randomBytes(3).toString("hex")

describe("audit log", () => {
  const database = useFreshDatabase()
  let runtime: Runtime

  beforeAll(async () => {
    runtime = makeRuntime(database.url)
    await runtime.runPromise(migrate)
  })
  afterAll(async () => {
    await runtime?.dispose()
  })

  const list = (...args: Parameters<AuditShape["list"]>) =>
    runtime.runPromise(Effect.flatMap(Audit, (audit) => audit.list(...args)))

  it("has the indexes the filters and the paging use", async () => {
    const { rows } = await database.db.query("SELECT indexname FROM pg_indexes WHERE tablename = 'audit_log'")
    expect(rows.map((r) => r.indexname)).toEqual(expect.arrayContaining([
      "audit_log_pkey",
      "audit_log_at",
      "audit_log_actor_username",
      "audit_log_action",
      "audit_log_target",
      "audit_log_outcome"
    ]))
  })

  it("records who did what, to what, why, from where and how it ended", async () => {
    const ann = await newUser(database.db, "ann")
    await runtime.runPromise(record({
      actor: ann,
      address: "203.0.113.7",
      action: "search",
      target: "plate:ABC123",
      reason: "case 2024-117, stolen car",
      details: { mode: "fuzzy", results: 3, nested: { b: 2, a: [1, "x"] } },
      outcome: "success"
    }))
    const { items } = await list({ actor: ann.username })
    expect(items).toHaveLength(1)
    const row = items[0]!
    expect(row).toMatchObject({
      actor_id: ann.userId,
      actor_username: ann.username,
      address: "203.0.113.7",
      action: "search",
      target: "plate:ABC123",
      reason: "case 2024-117, stolen car",
      details: { mode: "fuzzy", results: 3, nested: { b: 2, a: [1, "x"] } },
      outcome: "success"
    })
    expect(row.id).toMatch(/^\d+$/)
    expect(Math.abs(Date.parse(row.at) - Date.now())).toBeLessThan(60_000)
    expect(row.prev_hash).toMatch(/^[0-9a-f]{64}$/)
    expect(row.hash).toMatch(/^[0-9a-f]{64}$/)

    // Without an actor (a failed sign-in of an unknown name) and without details.
    await runtime.runPromise(record({ action: "auth.login", target: `user:nobody-${tag()}`, outcome: "failure" }))
    const { rows } = await database.db.query(
      "SELECT actor_id, actor_username, address, reason, details FROM audit_log ORDER BY id DESC LIMIT 1"
    )
    expect(rows[0]).toEqual({ actor_id: null, actor_username: null, address: null, reason: null, details: {} })
  })

  it("stores NUL characters and unpaired surrogates from attacker input instead of failing the audit", async () => {
    const target = `user:evil\u0000${tag()}`
    await runtime.runPromise(record({
      action: "auth.login",
      target,
      details: { user_agent: "x\u0000y\uD800", ["k\u0000"]: "\uDC00z", list: ["\u0000"] },
      outcome: "failure"
    }))
    const { items } = await list({ target: target.replace("\u0000", "\uFFFD") })
    expect(items).toHaveLength(1)
    expect(items[0]!.details).toEqual({ user_agent: "x\uFFFDy\uFFFD", ["k\uFFFD"]: "\uFFFDz", list: ["\uFFFD"] })
  })

  it("is append-only: the database refuses UPDATE, DELETE and TRUNCATE, and moving the chain head", async () => {
    await runtime.runPromise(record({ action: "worm.check", outcome: "success", details: { n: 1 } }))
    const { rows: before } = await database.db.query("SELECT id, details, hash FROM audit_log ORDER BY id DESC LIMIT 1")
    const id = before[0].id
    await expect(database.db.query("UPDATE audit_log SET details = '{\"n\": 2}' WHERE id = $1", [id])).rejects.toThrow(
      /audit_log is immutable evidence: UPDATE is not allowed/
    )
    await expect(database.db.query("DELETE FROM audit_log WHERE id = $1", [id])).rejects.toThrow(
      /audit_log is immutable evidence: DELETE is not allowed/
    )
    await expect(database.db.query("TRUNCATE audit_log")).rejects.toThrow(/TRUNCATE is not allowed/)
    await expect(database.db.query("TRUNCATE users CASCADE")).rejects.toThrow(/TRUNCATE is not allowed/)
    await expect(database.db.query("UPDATE audit_chain_head SET last_id = 0, hash = $1", [GENESIS_HASH])).rejects
      .toThrow(/audit_chain_head moves only when an audit_log row is inserted/)
    await expect(database.db.query("DELETE FROM audit_chain_head")).rejects.toThrow(/DELETE is not allowed/)
    await expect(database.db.query("TRUNCATE audit_chain_head")).rejects.toThrow(/TRUNCATE is not allowed/)
    const { rows: after } = await database.db.query("SELECT id, details, hash FROM audit_log WHERE id = $1", [id])
    expect(after).toEqual(before)
  })

  it("assigns id, prev_hash and hash itself, whatever a writer supplies", async () => {
    const { rows } = await database.db.query(`
      INSERT INTO audit_log (id, action, outcome, prev_hash, hash)
      VALUES (999999, 'forge.attempt', 'success', repeat('a', 64), repeat('b', 64))
      RETURNING id::text, prev_hash, hash`)
    expect(rows[0].id).not.toBe("999999")
    expect(rows[0].prev_hash).not.toBe("a".repeat(64))
    expect(rows[0].hash).not.toBe("b".repeat(64))
    expect(await chainIsLinear(database.db)).toMatchObject({ unlinked: 0, headAtEnd: true })
  })

  it("joins the caller's transaction: gone if it rolls back, kept if it commits", async () => {
    const action = `txn.${tag()}`
    const inTransaction = (fail: boolean) =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        yield* sql.withTransaction(Effect.gen(function*() {
          yield* record({ action, target: fail ? "rolled back" : "committed", outcome: "success" })
          if (fail) return yield* Effect.fail("the caller's own failure")
        }))
      })
    await expect(runtime.runPromise(inTransaction(true))).rejects.toThrow()
    await runtime.runPromise(inTransaction(false))
    const { items } = await list({ action })
    expect(items.map((r) => r.target)).toEqual(["committed"])
    // The rolled-back insert used up an id: the gap is harmless, the chain is intact.
    expect(await chainIsLinear(database.db)).toMatchObject({ unlinked: 0, headAtEnd: true })
    expect(await runtime.runPromise(verify)).toMatchObject({ ok: true })
  })

  it("keeps one linear chain under concurrent writers on many connections", async () => {
    const action = `concurrent.${tag()}`
    // Fibers on the service's pool, some holding the chain lock in a transaction for a moment, and
    // plain clients inserting at the same time, as other server replicas would.
    const fibers = Effect.forEach(
      Array.from({ length: 160 }, (_, i) => i),
      (i) =>
        Effect.gen(function*() {
          const sql = yield* SqlClient.SqlClient
          const entry = record({ action, details: { i }, outcome: "success" })
          if (i % 3 === 0) yield* sql.withTransaction(Effect.zipRight(entry, sql`SELECT pg_sleep(0.003)`))
          else yield* entry
        }),
      { concurrency: 16, discard: true }
    )
    const replicas = await Promise.all([0, 1, 2].map(() => connect(database.url)))
    try {
      await Promise.all([
        runtime.runPromise(fibers),
        ...replicas.map(async (client, r) => {
          for (let i = 0; i < 30; i++) {
            await client.query("INSERT INTO audit_log (action, outcome, details) VALUES ($1, 'success', $2)", [
              action,
              JSON.stringify({ replica: r, i })
            ])
          }
        })
      ])
    } finally {
      await Promise.all(replicas.map((c) => c.end()))
    }
    const { rows } = await database.db.query("SELECT count(*)::int AS n FROM audit_log WHERE action = $1", [action])
    expect(rows[0].n).toBe(160 + 90)
    const chain = await chainIsLinear(database.db)
    expect(chain).toMatchObject({ unlinked: 0, headAtEnd: true })
    expect(chain.hashes).toBe(chain.rows)
    expect(await runtime.runPromise(verify)).toEqual(expect.objectContaining({ ok: true, rows: chain.rows }))
  })

  it("chains every row of a multi-row INSERT to the one before", async () => {
    await database.db.query(
      "INSERT INTO audit_log (action, outcome) SELECT 'bulk.' || g, 'success' FROM generate_series(1, 25) g"
    )
    expect(await chainIsLinear(database.db)).toMatchObject({ unlinked: 0, headAtEnd: true })
  })

  it("makes a REPEATABLE READ writer with a snapshot older than the chain end fail instead of forking", async () => {
    const stale = await connect(database.url)
    try {
      await stale.query("BEGIN ISOLATION LEVEL REPEATABLE READ")
      await stale.query("SELECT count(*) FROM audit_log") // the snapshot is taken here
      await runtime.runPromise(record({ action: "rr.other", outcome: "success" }))
      await expect(stale.query("INSERT INTO audit_log (action, outcome) VALUES ('rr.stale', 'success')")).rejects
        .toMatchObject({ code: "40001" })
      await stale.query("ROLLBACK")
      // A REPEATABLE READ writer whose snapshot is current is fine.
      await stale.query("BEGIN ISOLATION LEVEL REPEATABLE READ")
      await stale.query("INSERT INTO audit_log (action, outcome) VALUES ('rr.fresh', 'success')")
      await stale.query("COMMIT")
    } finally {
      await stale.end()
    }
    expect(await chainIsLinear(database.db)).toMatchObject({ unlinked: 0, headAtEnd: true })
  })

  it("hashes a canonical text that session settings do not change and anyone can recompute", async () => {
    const writer = await connect(database.url)
    try {
      await writer.query("SET TimeZone = 'Asia/Kathmandu'")
      await writer.query("SET DateStyle = 'SQL, DMY'")
      await writer.query("SET extra_float_digits = -3")
      await writer.query(
        `INSERT INTO audit_log (action, outcome, target, reason, address, details)
         VALUES ('canon.check', 'denied', '', NULL, 'line1\nline2', '{"z": 1.50, "a": "שלום 🚗", "m": null}')`
      )
    } finally {
      await writer.end()
    }
    await database.db.query("SET TimeZone = 'America/New_York'")
    const { rows } = await database.db.query(`
      SELECT id::text, prev_hash, hash, (extract(epoch FROM at) * 1000000)::bigint::text AS at_us,
             actor_id::text, actor_username, address, action, target, reason, details::text AS details, outcome,
             audit_log_hash(a) AS recomputed
        FROM audit_log a WHERE action = 'canon.check'`)
    await database.db.query("RESET TimeZone")
    const row = rows[0]
    expect(row.recomputed).toBe(row.hash)
    // The format documented in sql/0005_audit_log.sql, recomputed outside the database.
    const field = (value: string | null) => (value === null ? "-" : `${[...value].length}:${value}`)
    const canonical = [
      "alpr-audit-v1",
      row.prev_hash,
      row.id,
      row.at_us,
      ...[row.actor_id, row.actor_username, row.address, row.action, row.target, row.reason, row.details, row.outcome]
        .map(field)
    ].join("\n")
    expect(createHash("sha256").update(canonical, "utf8").digest("hex")).toBe(row.hash)
    // '' and NULL are told apart, and a field's text cannot slide into the next field.
    const { rows: variants } = await database.db.query(`
      SELECT audit_log_hash(ROW(1, '2024-01-01T00:00:00Z', NULL, NULL, NULL, 'a', t, r, '{}', 'success', $1, '')::audit_log) AS h
        FROM (VALUES ('', NULL), (NULL, ''), ('', ''), ('x', ''), ('', 'x'), ('x' || chr(10) || '1:x', NULL)) v (t, r)`,
      [GENESIS_HASH]
    )
    expect(new Set(variants.map((v) => v.h)).size).toBe(variants.length)
  })

  it("filters by actor, action prefix, outcome, target and time", async () => {
    const ann = await newUser(database.db, "ann")
    const bob = await newUser(database.db, "bob")
    const p = `f${tag()}`
    const clock = async () =>
      (await database.db.query(`SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS t`))
        .rows[0].t as string
    const entries: Array<AuditEntry> = [
      { actor: ann, action: `${p}.search`, target: "plate:AAA111", reason: "case 1", outcome: "success" },
      { actor: bob, action: `${p}.search.export`, target: "plate:AAA111", reason: "case 2", outcome: "denied" },
      { actor: ann, action: `${p}.image.view`, target: "detection:9/plate", outcome: "failure" },
      { actor: bob, action: `${p}_x.wildcard`, outcome: "success" },
      { actor: ann, action: `${p}zx.wildcard`, outcome: "success" }
    ]
    const times: Array<string> = []
    for (const entry of entries) {
      times.push(await clock())
      await runtime.runPromise(record(entry))
    }
    times.push(await clock())
    const actions = async (...args: Parameters<typeof list>) => (await list(...args)).items.map((r) => r.action)

    expect(await actions({ action: p })).toEqual(entries.map((e) => e.action).reverse())
    expect(await actions({ action: `${p}.search` })).toEqual([`${p}.search.export`, `${p}.search`])
    // LIKE's wildcards in a prefix are taken literally.
    expect(await actions({ action: `${p}_` })).toEqual([`${p}_x.wildcard`])
    expect(await actions({ action: `${p}%` })).toEqual([])
    expect(await actions({ action: p, actor: ann.username })).toEqual([
      `${p}zx.wildcard`,
      `${p}.image.view`,
      `${p}.search`
    ])
    expect(await actions({ action: p, outcome: "denied" })).toEqual([`${p}.search.export`])
    expect(await actions({ action: p, target: "plate:AAA111" })).toEqual([`${p}.search.export`, `${p}.search`])
    expect(await actions({ action: p, target: "plate:AAA111", actor: bob.username })).toEqual([`${p}.search.export`])
    // from is inclusive, to exclusive; ISO strings and Dates alike.
    expect(await actions({ action: p, from: times[1]!, to: times[3]! })).toEqual([
      `${p}.image.view`,
      `${p}.search.export`
    ])
    expect(await actions({ action: p, from: times[4]! })).toEqual([`${p}zx.wildcard`])
    expect(await actions({ action: p, to: new Date(Date.parse(times[0]!) - 1) })).toEqual([])
    expect(await actions({ actor: `nobody-${tag()}` })).toEqual([])
  })

  it("pages newest first, never skipping or repeating a row, also while rows are being added", async () => {
    const action = `page.${tag()}`
    for (let i = 0; i < 50; i++) await runtime.runPromise(record({ action, details: { i }, outcome: "success" }))
    const { rows } = await database.db.query("SELECT id::text FROM audit_log WHERE action = $1 ORDER BY id DESC", [action])
    const expected = rows.map((r) => r.id as string)

    const seen: Array<AuditRow> = []
    let before: string | undefined = undefined
    let pages = 0
    do {
      const page = await list({ action }, { limit: 10, before })
      seen.push(...page.items)
      pages++
      before = page.next_cursor ?? undefined
      // Newer rows arriving between pages do not shift the pages still to come.
      await runtime.runPromise(record({ action, details: { late: pages }, outcome: "success" }))
    } while (before !== undefined)
    expect(pages).toBe(5) // 50 rows in pages of 10: the fifth page says there is no sixth
    expect(seen.map((r) => r.id)).toEqual(expected)
    expect(seen.map((r) => r.details["i"])).toEqual(Array.from({ length: 50 }, (_, i) => 49 - i))
  })

  it("returns at most 500 rows a page", async () => {
    const action = `cap.${tag()}`
    await database.db.query(
      "INSERT INTO audit_log (action, outcome) SELECT $1, 'success' FROM generate_series(1, 503)",
      [action]
    )
    const big = await list({ action }, { limit: 10_000 })
    expect(big.items).toHaveLength(500)
    expect(big.next_cursor).toBe(big.items[499]!.id)
    const rest = await list({ action }, { limit: 500, before: big.next_cursor! })
    expect(rest.items).toHaveLength(3)
    expect(rest.next_cursor).toBeNull()
    expect((await list({ action }, { limit: 0 })).items).toHaveLength(1)
    expect((await list({ action })).items).toHaveLength(100)
  })

  it("verify walks the whole chain in pages, reporting progress, and finds it intact", async () => {
    const { rows } = await database.db.query("SELECT count(*)::int AS n, max(id)::text AS last FROM audit_log")
    const progress: Array<number> = []
    const result = await runtime.runPromise(Effect.flatMap(Audit, (audit) =>
      audit.verifyWith({
        pageSize: 7,
        progressEvery: 100,
        onProgress: (n) => Effect.sync(() => progress.push(n))
      })
    ))
    const { rows: head } = await database.db.query("SELECT hash FROM audit_chain_head")
    expect(result).toEqual({ ok: true, rows: rows[0].n, head: { id: rows[0].last, hash: head[0].hash } })
    expect(progress).toEqual(Array.from({ length: Math.floor(rows[0].n / 100) }, (_, i) => (i + 1) * 100))
    expect(await runtime.runPromise(verify)).toEqual(result)
  })
})

/**
 * A chain of `rows` rows (ids 1..rows) in a database of its own, tampered with as an attacker with
 * superuser rights would, around the triggers; returns what verify says.
 */
const tampered = async (
  rows: number,
  tamper: (db: pg.Client) => Promise<void>,
  options: { readonly pageSize?: number; readonly after?: (runtime: Runtime) => Promise<void> } = {}
): Promise<AuditVerification> => {
  const database = await freshDatabase()
  const runtime = makeRuntime(database.url)
  const db = await connect(database.url)
  try {
    await runtime.runPromise(migrate)
    for (let i = 1; i <= rows; i++) {
      await runtime.runPromise(record({ action: "seed", target: `row ${i}`, details: { i }, outcome: "success" }))
    }
    expect(await runtime.runPromise(verify)).toMatchObject({ ok: true, rows })
    await tamper(db)
    await options.after?.(runtime)
    const result = await runtime.runPromise(Effect.flatMap(Audit, (audit) =>
      audit.verifyWith({ pageSize: options.pageSize })
    ))
    // The default page size must come to the same answer.
    expect(await runtime.runPromise(verify)).toEqual(result)
    return result
  } finally {
    await db.end()
    await runtime.dispose()
    await database.drop()
  }
}

/** Statements run with every user trigger of audit_log switched off. */
const withTriggersDisabled = (...statements: Array<string>) => async (db: pg.Client) => {
  await db.query("ALTER TABLE audit_log DISABLE TRIGGER USER")
  for (const statement of statements) await db.query(statement)
  await db.query("ALTER TABLE audit_log ENABLE TRIGGER USER")
}

/** Statements run as replication does, which fires no ordinary trigger. */
const asReplica = (...statements: Array<string>) => async (db: pg.Client) => {
  await db.query("BEGIN")
  await db.query("SET LOCAL session_replication_role = replica")
  for (const statement of statements) await db.query(statement)
  await db.query("COMMIT")
}

describe("verify finds tampering", () => {
  it("names a row whose details were changed", async () => {
    const result = await tampered(10, withTriggersDisabled(`UPDATE audit_log SET details = '{"i": 50}' WHERE id = 5`))
    expect(result).toEqual({
      ok: false,
      rows: 4,
      firstBroken: { id: "5", reason: expect.stringContaining("hash does not match the row's contents") }
    })
  })

  it("names a row whose action was changed", async () => {
    const result = await tampered(10, asReplica("UPDATE audit_log SET action = 'nothing.to.see' WHERE id = 3"))
    expect(result).toMatchObject({ ok: false, firstBroken: { id: "3" } })
    if (!result.ok) expect(result.firstBroken.reason).toContain("hash does not match the row's contents")
  })

  it("names the row after a deleted middle row, also across a page boundary", async () => {
    for (const pageSize of [5000, 5, 6]) {
      const result = await tampered(10, asReplica("DELETE FROM audit_log WHERE id = 6"), { pageSize })
      expect(result).toEqual({
        ok: false,
        rows: 5,
        firstBroken: { id: "7", reason: expect.stringContaining("prev_hash does not match the previous row's hash") }
      })
    }
  })

  it("catches a changed row whose hash was recomputed at the next row's link", async () => {
    const result = await tampered(
      10,
      withTriggersDisabled(
        `UPDATE audit_log SET reason = 'routine patrol' WHERE id = 4`,
        `UPDATE audit_log a SET hash = audit_log_hash(a) WHERE id = 4`
      )
    )
    expect(result).toMatchObject({ ok: false, rows: 4, firstBroken: { id: "5" } })
    if (!result.ok) expect(result.firstBroken.reason).toContain("prev_hash does not match the previous row's hash (row 4)")
  })

  it("catches a deleted first row", async () => {
    const result = await tampered(5, asReplica("DELETE FROM audit_log WHERE id = 1"))
    expect(result).toMatchObject({ ok: false, rows: 0, firstBroken: { id: "2" } })
    if (!result.ok) expect(result.firstBroken.reason).toContain("genesis")
  })

  it("catches rows deleted from the end, and still does after new rows follow", async () => {
    const removed = await tampered(6, asReplica("DELETE FROM audit_log WHERE id >= 5"))
    expect(removed).toMatchObject({ ok: false, rows: 4, firstBroken: { id: "6" } })
    if (!removed.ok) expect(removed.firstBroken.reason).toContain("rows at the end were removed")

    const followed = await tampered(6, asReplica("DELETE FROM audit_log WHERE id = 6"), {
      after: (runtime) => runtime.runPromise(record({ action: "later", outcome: "success" }))
    })
    expect(followed).toMatchObject({ ok: false, rows: 5, firstBroken: { id: "7" } })
    if (!followed.ok) expect(followed.firstBroken.reason).toContain("prev_hash does not match the previous row's hash")
  })

  it("catches a rewritten last row and a row appended around the trigger", async () => {
    const rewritten = await tampered(
      4,
      withTriggersDisabled(
        "UPDATE audit_log SET outcome = 'failure' WHERE id = 4",
        "UPDATE audit_log a SET hash = audit_log_hash(a) WHERE id = 4"
      )
    )
    expect(rewritten).toMatchObject({ ok: false, rows: 4, firstBroken: { id: "4" } })
    if (!rewritten.ok) expect(rewritten.firstBroken.reason).toContain("chain head")

    // A forged row with a correct link and hash, written with the chain trigger off.
    const appended = await tampered(
      4,
      withTriggersDisabled(
        `INSERT INTO audit_log (id, action, outcome, prev_hash, hash)
         SELECT 5, 'forged', 'success', hash, repeat('0', 64) FROM audit_log WHERE id = 4`,
        "UPDATE audit_log a SET hash = audit_log_hash(a) WHERE id = 5"
      )
    )
    expect(appended).toMatchObject({ ok: false, rows: 4, firstBroken: { id: "5" } })
    if (!appended.ok) expect(appended.firstBroken.reason).toContain("not covered by the chain head")
  })
})
