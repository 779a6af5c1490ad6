import type * as SqlClient from "@effect/sql/SqlClient"
import { PgClient } from "@effect/sql-pg"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import { useFreshDatabase } from "../../../test-support/Database"
import { migrate } from "../src/db/Migrator"
import { TelegramDeliveries } from "../src/telegram/Deliveries"
import { seedAlertable } from "./seed"

describe("Telegram deliveries: when the sender next has work", () => {
  const database = useFreshDatabase()
  let runtime: ManagedRuntime.ManagedRuntime<TelegramDeliveries | PgClient.PgClient | SqlClient.SqlClient, unknown>
  let deliveryFor: (dueInSeconds: number) => Promise<void>

  beforeAll(async () => {
    runtime = ManagedRuntime.make(
      TelegramDeliveries.Default.pipe(Layer.provideMerge(PgClient.layer({ url: Redacted.make(database.url) })))
    )
    await runtime.runPromise(migrate)
    const db = database.db
    const { listId, readId } = await seedAlertable(db, "WAIT1")
    const { rows: [user] } = await db.query("INSERT INTO users (username, role) VALUES ('volunteer', 'operator') RETURNING id")
    deliveryFor = async (dueInSeconds) => {
      const { rows: [alert] } = await db.query(
        `INSERT INTO alerts (watchlist_id, plate, detection_id, last_detection_id, first_seen_at, last_seen_at)
         VALUES ($1, 'WAIT1', $2, $2, now(), now()) RETURNING id`,
        [listId, readId]
      )
      await db.query(
        `INSERT INTO telegram_deliveries (alert_id, user_id, chat_id, next_attempt_at)
         VALUES ($1, $2, 42, now() + make_interval(secs => $3))`,
        [alert.id, user.id, dueInSeconds]
      )
    }
  })
  afterAll(async () => {
    await runtime?.dispose()
  })

  const nextDue = () => runtime.runPromise(Effect.flatMap(TelegramDeliveries, (d) => d.nextDueInMs))

  it("is nothing while nothing is pending (the sender then sleeps instead of asking again at once)", async () => {
    expect(await nextDue()).toBeUndefined()
  })

  it("is the wait until the earliest pending row, and zero when one is overdue", async () => {
    await deliveryFor(30)
    const wait = await nextDue()
    expect(wait).toBeGreaterThan(28_000)
    expect(wait).toBeLessThanOrEqual(30_000)
    await deliveryFor(-5)
    expect(await nextDue()).toBe(0)
  })
})
