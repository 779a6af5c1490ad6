import * as SqlClient from "@effect/sql/SqlClient"
import { PgClient } from "@effect/sql-pg"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import { useFreshDatabase } from "../../../test-support/Database"
import { PgListener } from "../src/db/Listener"
import { migrate } from "../src/db/Migrator"
import { consumeOutbox, type OutboxItem, publish, type Published } from "../src/outbox/Outbox"
import { seedAlertable } from "./seed"

/**
 * The outbox of the outbound channels on a real database: what a publisher writes, for whom, and how
 * a channel's consumers take it (exactly once, in order, surviving failures and a stopped server).
 * Channels here are registered the way a channel's migration registers itself (a row in
 * outbound_channels), next to Telegram's.
 */

const CHANNEL = "test_hook"

describe("the outbox of the outbound channels", () => {
  const database = useFreshDatabase()
  const dbLayer = () => PgClient.layer({ url: Redacted.make(database.url) })
  let runtime: ManagedRuntime.ManagedRuntime<SqlClient.SqlClient | PgClient.PgClient, unknown>
  let alerts: ReadonlyArray<string>

  beforeAll(async () => {
    runtime = ManagedRuntime.make(dbLayer())
    await runtime.runPromise(migrate)
    const db = database.db
    await db.query(`INSERT INTO outbound_channels (name, events) VALUES ($1, ARRAY['alert_raised', 'alert_resolved'])`, [CHANNEL])
    // What a consumer did, written in its transaction: a row here exists only if the take committed.
    await db.query(`CREATE TABLE taken (n bigint GENERATED ALWAYS AS IDENTITY, consumer text, outbox_id bigint UNIQUE, event text, alert_id bigint)`)
    const { listId, readId } = await seedAlertable(db, "OUT1")
    const { rows } = await db.query(
      `INSERT INTO alerts (watchlist_id, plate, detection_id, last_detection_id, first_seen_at, last_seen_at)
       SELECT $1, 'OUT1', $2, $2, now(), now() FROM generate_series(1, 300) RETURNING id::text AS id`,
      [listId, readId]
    )
    alerts = rows.map((row: { id: string }) => row.id)
  })
  afterAll(async () => {
    await runtime?.dispose()
  })
  beforeEach(async () => {
    await database.db.query("DELETE FROM outbox; DELETE FROM taken")
  })

  const publishNow = (events: ReadonlyArray<Published>) =>
    runtime.runPromise(Effect.flatMap(SqlClient.SqlClient, (sql) => sql.withTransaction(publish(events))))

  const outbox = async () =>
    (await database.db.query("SELECT channel, event, alert_id::text AS alert FROM outbox ORDER BY id")).rows

  const taken = async () =>
    (await database.db.query("SELECT consumer, event, alert_id::text AS alert FROM taken ORDER BY n")).rows as ReadonlyArray<
      { consumer: string; event: string; alert: string }
    >

  /** A server running the channel's consumer; `take` records each event in the consumer's transaction. */
  const server = (
    name: string,
    options: { readonly fail?: (item: OutboxItem) => boolean; readonly hold?: Effect.Effect<void> } = {}
  ) =>
    ManagedRuntime.make(
      Layer.scopedDiscard(consumeOutbox({
        channel: CHANNEL,
        take: (items) =>
          Effect.gen(function*() {
            const sql = yield* SqlClient.SqlClient
            if (options.hold !== undefined) yield* options.hold
            for (const item of items) {
              if (options.fail?.(item) === true) return yield* Effect.fail(new Error(`refused ${item.id}`))
              yield* sql`INSERT INTO taken (consumer, outbox_id, event, alert_id) VALUES (${name}, ${item.id}, ${item.event}, ${item.alertId})`
            }
          })
      })).pipe(Layer.provideMerge(PgListener.Default), Layer.provideMerge(dbLayer()))
    )

  const until = async (check: () => Promise<boolean>, what: string, ms = 10_000) => {
    const deadline = Date.now() + ms
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
  }

  it("writes one row for each channel that takes the event, in order, and none for an event no channel takes", async () => {
    const [a, b] = alerts
    const events: ReadonlyArray<Published> = [
      { event: "alert_raised", alertId: a! },
      { event: "alert_updated", alertId: a! },
      { event: "alert_acknowledged", alertId: b! },
      { event: "alert_resolved", alertId: b! }
    ]
    await publishNow(events)
    const rows = await outbox()
    expect(rows.filter((row) => row.channel === CHANNEL || row.channel === "telegram")).toEqual([
      { channel: "telegram", event: "alert_raised", alert: a },
      { channel: CHANNEL, event: "alert_raised", alert: a },
      { channel: CHANNEL, event: "alert_resolved", alert: b }
    ])
    // every registered channel (webhooks, MQTT, e-mail too) gets the events it takes, by event then name
    const { rows: channels } = await database.db.query<{ name: string; events: Array<string> }>(
      "SELECT name, events FROM outbound_channels ORDER BY name"
    )
    expect(channels.map((c) => c.name)).toEqual(expect.arrayContaining(["email", "mqtt", "telegram", "webhook", CHANNEL]))
    expect(rows).toEqual(events.flatMap((e) =>
      channels.filter((c) => c.events.includes(e.event)).map((c) => ({ channel: c.name, event: e.event, alert: e.alertId }))
    ))
  })

  it("writes nothing when the publisher's transaction rolls back", async () => {
    await runtime.runPromise(
      Effect.flatMap(SqlClient.SqlClient, (sql) =>
        sql.withTransaction(Effect.zipRight(publish([{ event: "alert_raised", alertId: alerts[0]! }]), Effect.fail("rolled back")))).pipe(
          Effect.ignore
        )
    )
    expect(await outbox()).toEqual([])
  })

  it("two servers' consumers take every event exactly once, each in order, and leave the other channels' rows", async () => {
    const first = server("first")
    const second = server("second")
    try {
      await Promise.all([first.runPromise(Effect.void), second.runPromise(Effect.void)])
      // Twenty transactions of fifteen events while both consume.
      for (let i = 0; i < 20; i++) {
        await publishNow(alerts.slice(i * 15, i * 15 + 15).map((alertId) => ({ event: "alert_raised" as const, alertId })))
      }
      await until(async () => (await taken()).length >= 300, "every event taken")
      const rows = await taken()
      expect(rows).toHaveLength(300)
      expect(new Set(rows.map((row) => row.alert)).size).toBe(300)
      for (const consumer of ["first", "second"]) {
        const own = rows.filter((row) => row.consumer === consumer).map((row) => BigInt(row.alert))
        expect(own).toEqual([...own].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)))
      }
      // The other channels' copies wait for their own consumers.
      const left = await outbox()
      const others = ["email", "mqtt", "telegram", "webhook"]
      expect(left).toHaveLength(300 * others.length)
      expect(new Set(left.map((row) => row.channel))).toEqual(new Set(others))
    } finally {
      await Promise.all([first.dispose(), second.dispose()])
    }
  })

  it("an event that fails stays in the outbox and backs off alone; the rest of its batch goes through", async () => {
    const poisoned = alerts[3]!
    let refuse = true
    const consumer = server("only", { fail: (item) => refuse && item.alertId === poisoned })
    try {
      await consumer.runPromise(Effect.void)
      await publishNow(alerts.slice(0, 10).map((alertId) => ({ event: "alert_raised" as const, alertId })))
      await until(async () => (await taken()).length === 9, "the nine good events")
      expect((await taken()).map((row) => row.alert)).toEqual(alerts.slice(0, 10).filter((id) => id !== poisoned))
      expect((await outbox()).filter((row) => row.channel === CHANNEL)).toEqual([
        { channel: CHANNEL, event: "alert_raised", alert: poisoned }
      ])
      // Mended: taken at its next try (after about a second's backoff), once.
      refuse = false
      await until(async () => (await taken()).length === 10, "the event after its backoff")
      expect((await taken()).filter((row) => row.alert === poisoned)).toHaveLength(1)
      expect((await outbox()).filter((row) => row.channel === CHANNEL)).toEqual([])
    } finally {
      await consumer.dispose()
    }
  })

  it("a server stopped in the middle of taking events loses none: the next one takes them", async () => {
    const stopping = server("stopping", { hold: Effect.never })
    await stopping.runPromise(Effect.void)
    await publishNow(alerts.slice(0, 5).map((alertId) => ({ event: "alert_resolved" as const, alertId })))
    // It has them (its transaction holds their rows) when another consumer's claim skips them.
    await until(async () =>
      (await database.db.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle in transaction'`
      )).rows[0].n > 0, "the stopping server's transaction")
    await stopping.dispose()
    expect(await taken()).toEqual([])
    const next = server("next")
    try {
      await next.runPromise(Effect.void)
      await until(async () => (await taken()).length === 5, "the next server's take")
      expect((await taken()).map((row) => [row.consumer, row.event, row.alert])).toEqual(
        alerts.slice(0, 5).map((alert) => ["next", "alert_resolved", alert])
      )
    } finally {
      await next.dispose()
    }
  })
})
