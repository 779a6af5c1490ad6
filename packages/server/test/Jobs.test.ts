import * as SqlClient from "@effect/sql/SqlClient"
import { PgClient } from "@effect/sql-pg"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import { useFreshDatabase } from "../../../test-support/Database"
import { PgListener } from "../src/db/Listener"
import { migrate } from "../src/db/Migrator"
import { JobFailed, type JobHandler, Jobs } from "../src/jobs/Jobs"

/**
 * The durable job queue on a real database: claimed once however many workers ask, retried after a
 * failure, failed at once on bad input, cancelled queued or running, and taken again when its worker
 * stops answering (the lease runs out), which is what a server killed mid-job leaves.
 */

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe("the job queue", () => {
  const database = useFreshDatabase()
  let runtime: ManagedRuntime.ManagedRuntime<Jobs | SqlClient.SqlClient | PgListener, unknown>

  beforeAll(async () => {
    const db = PgClient.layer({ url: Redacted.make(database.url) })
    runtime = ManagedRuntime.make(Layer.mergeAll(Jobs.Default, PgListener.Default).pipe(Layer.provideMerge(db)))
    await runtime.runPromise(migrate)
  })
  afterAll(async () => {
    await runtime?.dispose()
  })

  const run = <A, E>(effect: Effect.Effect<A, E, Jobs | SqlClient.SqlClient | PgListener>) => runtime.runPromise(effect)
  const enqueue = (kind: string, payload: Record<string, unknown> = {}, maxAttempts = 3) =>
    run(Effect.flatMap(Jobs, (jobs) => jobs.enqueue({ kind, payload, maxAttempts })))
  const row = async (id: string) =>
    (await database.db.query(
      "SELECT status, attempts, progress, progress_note, error, result, lease_until IS NOT NULL AS leased FROM jobs WHERE id = $1",
      [id]
    )).rows[0]

  it("runs a job once with several workers asking, its progress and result kept", async () => {
    const runs: Array<string> = []
    const handler: JobHandler = {
      kind: "count_once",
      run: ({ job, progress }) =>
        Effect.gen(function*() {
          runs.push(job.id)
          yield* progress(0.5, "halfway")
          yield* Effect.sleep("300 millis")
          return { echoed: (job.payload as { n: number }).n }
        })
    }
    const scope = await run(
      Effect.flatMap(Jobs, (jobs) => Effect.scoped(Effect.zipRight(jobs.forkWorkers([handler], 4, 10), Effect.never))).pipe(Effect.forkDaemon)
    )
    const jobs = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => enqueue("count_once", { n })))
    for (let i = 0; i < 100 && (await Promise.all(jobs.map((j) => row(j.id)))).some((r) => r.status !== "done"); i++) await sleep(100)
    await run(Fiber.interrupt(scope))
    const rows = await Promise.all(jobs.map((j) => row(j.id)))
    expect(rows.map((r) => [r.status, r.attempts, r.progress, r.leased])).toEqual(jobs.map(() => ["done", 1, 1, false]))
    expect(rows.map((r) => r.result)).toEqual([1, 2, 3, 4, 5, 6].map((n) => ({ echoed: n })))
    expect(runs.slice().sort()).toEqual(jobs.map((j) => j.id).sort())
  })

  it("tries a failing job again later, and fails it for good at once when its input is bad", async () => {
    let calls = 0
    const flaky: JobHandler = {
      kind: "flaky",
      run: () => (++calls === 1 ? Effect.fail(new JobFailed({ message: "recogniser unreachable", retry: true })) : Effect.succeed("ok"))
    }
    const job = await enqueue("flaky")
    const first = await run(Effect.flatMap(Jobs, (jobs) => jobs.runHere(job.id, flaky, 10)).pipe(Effect.timeoutOption("1 second")))
    // after the failure it waits for its retry (10 s for the first), queued with the reason
    expect(first._tag).toBe("None")
    expect(await row(job.id)).toMatchObject({ status: "queued", attempts: 1, error: "recogniser unreachable" })
    await database.db.query("UPDATE jobs SET run_after = now() WHERE id = $1", [job.id])
    const done = await run(Effect.flatMap(Jobs, (jobs) => jobs.runHere(job.id, flaky, 10)))
    expect(done).toMatchObject({ status: "done", attempts: 2, result: "ok" })

    const bad: JobHandler = { kind: "bad_input", run: () => Effect.fail(new JobFailed({ message: "not a video", retry: false })) }
    const refused = await run(Effect.flatMap(Jobs, (jobs) => Effect.flatMap(jobs.enqueue({ kind: "bad_input", payload: {} }), (j) => jobs.runHere(j.id, bad, 10))))
    expect(refused).toMatchObject({ status: "failed", attempts: 1, error: "not a video" })
  })

  it("cancels a queued job at once and a running one at its next renewal", async () => {
    const queued = await enqueue("never_run")
    const cancelled = await run(Effect.flatMap(Jobs, (jobs) => jobs.cancel(queued.id)))
    expect(cancelled).toMatchObject({ status: "cancelled", cancel_requested: true })
    expect(cancelled.finished_at).not.toBeNull()

    const started = await run(Deferred.make<void>())
    const endless: JobHandler = {
      kind: "endless",
      run: ({ progress }) =>
        Effect.gen(function*() {
          yield* progress(0.1, "working")
          yield* Deferred.succeed(started, undefined)
          return yield* Effect.never
        })
    }
    const job = await enqueue("endless")
    // a lease of 3 s: renewed (and the cancel seen) every second
    const running = await run(Effect.flatMap(Jobs, (jobs) => jobs.runHere(job.id, endless, 3)).pipe(Effect.forkDaemon))
    await run(Deferred.await(started))
    await run(Effect.flatMap(Jobs, (jobs) => jobs.cancel(job.id)))
    const ended = await run(Fiber.join(running).pipe(Effect.timeout("10 seconds")))
    expect(ended).toMatchObject({ status: "cancelled", progress_note: "working" })
    // an ended job cannot be cancelled again, nor a job that does not exist
    expect((await run(Effect.flatMap(Jobs, (jobs) => jobs.cancel(job.id)))).status).toBe("cancelled")
    const missing = await run(Effect.flip(Effect.flatMap(Jobs, (jobs) => jobs.cancel("00000000-0000-4000-8000-000000000000"))))
    expect(missing._tag).toBe("NotFound")
  })

  it("takes a job again when its worker stops renewing its lease, and fails it when that was its last attempt", async () => {
    const job = await enqueue("abandoned", {}, 2)
    // a worker claimed it and died: running, its lease already out
    await database.db.query(
      "UPDATE jobs SET status = 'running', attempts = 1, worker = 'dead:1', lease_until = now() - interval '1 second', started_at = now() WHERE id = $1",
      [job.id]
    )
    const second: JobHandler = { kind: "abandoned", run: ({ job }) => Effect.succeed({ attempt: job.attempts }) }
    const done = await run(Effect.flatMap(Jobs, (jobs) => jobs.runHere(job.id, second, 10)))
    expect(done).toMatchObject({ status: "done", attempts: 2, result: { attempt: 2 } })

    // its worker dies at the last attempt: failed, with why, and not run again
    const last = await enqueue("abandoned", {}, 2)
    await database.db.query(
      "UPDATE jobs SET status = 'running', attempts = 2, worker = 'dead:1', lease_until = now() - interval '1 second', started_at = now() WHERE id = $1",
      [last.id]
    )
    const failed = await run(Effect.flatMap(Jobs, (jobs) => jobs.runHere(last.id, second, 10)))
    expect(failed).toMatchObject({ status: "failed", attempts: 2, error: "its worker stopped during the last attempt" })

    // a lease still running is left alone: its worker is alive
    const alive = await enqueue("abandoned")
    await database.db.query(
      "UPDATE jobs SET status = 'running', attempts = 1, worker = 'alive:1', lease_until = now() + interval '1 hour', started_at = now() WHERE id = $1",
      [alive.id]
    )
    const waited = await run(Effect.flatMap(Jobs, (jobs) => jobs.runHere(alive.id, second, 10)).pipe(Effect.timeoutOption("1500 millis")))
    expect(waited._tag).toBe("None")
    expect(await row(alive.id)).toMatchObject({ status: "running", attempts: 1 })
  })

  it("keeps the queue's rules in the database: no unknown status, progress within 0 and 1", async () => {
    const job = await enqueue("rules")
    await expect(database.db.query("UPDATE jobs SET status = 'lost' WHERE id = $1", [job.id])).rejects.toThrow(/check constraint/)
    await expect(database.db.query("UPDATE jobs SET progress = 2 WHERE id = $1", [job.id])).rejects.toThrow(/check constraint/)
    await expect(database.db.query("UPDATE jobs SET status = 'done' WHERE id = $1", [job.id])).rejects.toThrow(/check constraint/)
  })
})
