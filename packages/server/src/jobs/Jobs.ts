import { NotFound } from "@chaverim/domain/Errors"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { randomBytes } from "node:crypto"
import * as Os from "node:os"
import { makeItemBackoff } from "../db/ItemBackoff"
import { forkQueueWorkers } from "../db/QueueWorkers"
import { IsoTime, IsoTimeOrNull, orBug } from "../db/Rows"

/**
 * The durable job queue (issue 20; sql/0035): long work (footage to recognise) held in PostgreSQL,
 * claimed with FOR UPDATE SKIP LOCKED by whichever server (or CLI) is free, and held with a lease the
 * worker renews while it works. A worker that dies leaves its lease to run out; the next claim takes
 * the job again, or fails it at its last attempt. So a restart loses no job, and several servers share
 * them. A job's handler must be safe to run again from the start (the footage job's reads have ids of
 * their own making, which ingest stores once).
 */

export const JobStatus = Schema.Literal("queued", "running", "done", "failed", "cancelled")
export type JobStatus = typeof JobStatus.Type

export const Job = Schema.Struct({
  id: Schema.String,
  kind: Schema.String,
  payload: Schema.Unknown,
  status: JobStatus,
  progress: Schema.Number,
  progress_note: Schema.NullOr(Schema.String),
  attempts: Schema.Number,
  max_attempts: Schema.Number,
  cancel_requested: Schema.Boolean,
  result: Schema.Unknown,
  error: Schema.NullOr(Schema.String),
  created_by: Schema.NullOr(Schema.String),
  created_at: IsoTime,
  started_at: IsoTimeOrNull,
  finished_at: IsoTimeOrNull
})
export type Job = typeof Job.Type

/** A handler's failure: `retry: false` ends the job at once (bad input); otherwise it is tried again later. */
export class JobFailed extends Data.TaggedError("JobFailed")<{ readonly message: string; readonly retry: boolean }> {}

/** What a running handler may tell the queue: how far it is. */
export interface JobContext {
  readonly job: Job
  /** `fraction` done (0 to 1) and what it is doing, shown with the job. */
  readonly progress: (fraction: number, note?: string) => Effect.Effect<void>
}

/** The work of one kind of job; it returns the job's result (JSON). */
export interface JobHandler<R = never> {
  readonly kind: string
  readonly run: (context: JobContext) => Effect.Effect<unknown, JobFailed, R>
}

const COLUMNS = `id::text AS id, kind, payload, status, progress, progress_note, attempts, max_attempts, cancel_requested,
  result, error, created_by::text AS created_by, created_at, started_at, finished_at`

/** The wait before attempt n+1: 10 s, 40 s, 90 s, ... capped at 10 minutes. */
const retryDelaySeconds = (attempts: number) => Math.min(600, 10 * attempts * attempts)

export class Jobs extends Effect.Service<Jobs>()("@chaverim/server/Jobs", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const columns = sql.literal(COLUMNS)
    const worker = `${Os.hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`

    const enqueue = Effect.fn("Jobs.enqueue")(function*(request: {
      readonly kind: string
      readonly payload: Record<string, unknown>
      readonly createdBy?: string | undefined
      readonly maxAttempts?: number | undefined
    }) {
      return yield* SqlSchema.single({
        Request: Schema.Void,
        Result: Job,
        execute: () =>
          sql`INSERT INTO jobs (kind, payload, created_by, max_attempts)
              VALUES (${request.kind}, ${JSON.stringify(request.payload)}::jsonb, ${request.createdBy ?? null},
                      ${request.maxAttempts ?? 3})
              RETURNING ${columns}`
      })(undefined).pipe(orBug)
    })

    const find = SqlSchema.findOne({
      Request: Schema.String,
      Result: Job,
      execute: (id) => sql`SELECT ${columns} FROM jobs WHERE id = ${id}::uuid`
    })

    const get = Effect.fn("Jobs.get")(function*(id: string) {
      if (!Schema.is(Schema.UUID)(id)) return yield* new NotFound({ message: `no job ${id}` })
      const job = yield* orBug(find(id))
      if (Option.isNone(job)) return yield* new NotFound({ message: `no job ${id}` })
      return job.value
    })

    /** A queued job ends at once; a running one is told at its worker's next renewal and stops there. */
    const cancel = Effect.fn("Jobs.cancel")(function*(id: string) {
      yield* get(id)
      yield* sql`
        UPDATE jobs SET cancel_requested = true,
               status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END,
               finished_at = CASE WHEN status = 'queued' THEN now() ELSE finished_at END,
               lease_until = CASE WHEN status = 'queued' THEN NULL ELSE lease_until END
         WHERE id = ${id}::uuid AND status IN ('queued', 'running')`.pipe(orBug)
      return yield* get(id)
    })

    const lease = (seconds: number) => sql`now() + make_interval(secs => ${seconds})`

    /**
     * Takes one due job of these kinds (or the job `id`): a queued one whose time has come, or a
     * running one whose lease ran out. One that ran out at its last attempt is failed, not taken.
     */
    const claim = (kinds: ReadonlyArray<string>, leaseSeconds: number, id?: string) =>
      Effect.gen(function*() {
        yield* sql`
          UPDATE jobs SET status = 'failed', finished_at = now(), lease_until = NULL,
                 error = coalesce(error || '; ', '') || 'its worker stopped during the last attempt'
           WHERE status = 'running' AND lease_until < now() AND attempts >= max_attempts
             AND kind IN ${sql.in(kinds)}`
        const rows = yield* SqlSchema.findAll({
          Request: Schema.Void,
          Result: Job,
          execute: () =>
            sql`UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_until = ${lease(leaseSeconds)},
                       worker = ${worker}, started_at = coalesce(started_at, now())
                 WHERE id = (SELECT id FROM jobs
                              WHERE kind IN ${sql.in(kinds)} AND NOT cancel_requested
                                AND ${id === undefined ? sql`true` : sql`id = ${id}::uuid`}
                                AND ((status = 'queued' AND run_after <= now()) OR (status = 'running' AND lease_until < now()))
                              ORDER BY run_after, created_at
                              LIMIT 1 FOR UPDATE SKIP LOCKED)
                RETURNING ${columns}`
        })(undefined)
        return Option.fromNullable(rows[0])
      })

    /** Renews the lease of a job this worker holds; false when it no longer holds it or it is cancelled. */
    const renew = (job: Job, leaseSeconds: number) =>
      Effect.map(
        sql<{ cancel_requested: boolean }>`
          UPDATE jobs SET lease_until = ${lease(leaseSeconds)}
           WHERE id = ${job.id}::uuid AND worker = ${worker} AND attempts = ${job.attempts} AND status = 'running'
          RETURNING cancel_requested`,
        (rows) => rows[0] !== undefined && !rows[0].cancel_requested
      )

    const held = (job: Job) => sql`id = ${job.id}::uuid AND worker = ${worker} AND attempts = ${job.attempts} AND status = 'running'`

    const finish = (job: Job, exit: Exit.Exit<unknown, JobFailed>) => {
      if (Exit.isSuccess(exit)) {
        return sql`UPDATE jobs SET status = 'done', progress = 1, result = ${JSON.stringify(exit.value ?? null)}::jsonb,
                          finished_at = now(), lease_until = NULL WHERE ${held(job)}`
      }
      if (Cause.isInterruptedOnly(exit.cause)) {
        return sql`UPDATE jobs SET status = 'cancelled', finished_at = now(), lease_until = NULL
                    WHERE ${held(job)} AND cancel_requested`
      }
      const failure = Cause.failureOption(exit.cause)
      const message = Option.match(failure, {
        onNone: () => `unexpected error: ${Cause.pretty(exit.cause).split("\n")[0]}`,
        onSome: (f) => f.message
      }).slice(0, 2000)
      const retry = Option.match(failure, { onNone: () => true, onSome: (f) => f.retry }) && job.attempts < job.max_attempts
      return retry
        ? sql`UPDATE jobs SET status = 'queued', error = ${message}, lease_until = NULL,
                     run_after = now() + make_interval(secs => ${retryDelaySeconds(job.attempts)})
               WHERE ${held(job)}`
        : sql`UPDATE jobs SET status = 'failed', error = ${message}, finished_at = now(), lease_until = NULL
               WHERE ${held(job)}`
    }

    /**
     * Runs a claimed job's handler while a fiber beside it renews the lease (a third of it at a time);
     * a cancel or a lost lease interrupts the handler. The outcome is written only while the job is
     * still this worker's.
     */
    const runClaimed = <R>(job: Job, handler: JobHandler<R>, leaseSeconds: number) =>
      Effect.gen(function*() {
        const progress = (fraction: number, note?: string) =>
          sql`UPDATE jobs SET progress = ${Math.min(1, Math.max(0, fraction))}, progress_note = ${note?.slice(0, 500) ?? null}
               WHERE ${held(job)}`.pipe(Effect.asVoid, Effect.catchAll((e) => Effect.logWarning("job progress not recorded", e)))
        const work = yield* Effect.fork(handler.run({ job, progress }))
        const keeper = yield* Effect.fork(
          Effect.gen(function*() {
            while (true) {
              yield* Effect.sleep(Duration.seconds(leaseSeconds / 3))
              const kept = yield* renew(job, leaseSeconds).pipe(Effect.catchAll(() => Effect.succeed(true)))
              if (!kept) return yield* Fiber.interrupt(work)
            }
          })
        )
        const exit = yield* Fiber.await(work)
        yield* Fiber.interrupt(keeper)
        if (Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause)) {
          yield* Effect.logWarning(`job ${job.kind} ${job.id} failed (attempt ${job.attempts} of ${job.max_attempts})`, exit.cause)
        }
        yield* orBug(finish(job, exit))
        return yield* get(job.id)
      }).pipe(Effect.annotateLogs({ job: job.id, kind: job.kind }), Effect.withSpan("Jobs.run", { attributes: { kind: job.kind } }))

    /**
     * Claims the job `id` and runs it here, or, when another worker has it, waits for it to end.
     * What the CLI does with the job it made.
     */
    const runHere = <R>(id: string, handler: JobHandler<R>, leaseSeconds: number) =>
      Effect.gen(function*() {
        while (true) {
          const claimed = yield* orBug(claim([handler.kind], leaseSeconds, id))
          if (Option.isSome(claimed)) yield* runClaimed(claimed.value, handler, leaseSeconds)
          const job = yield* get(id)
          if (job.status === "done" || job.status === "failed" || job.status === "cancelled") return job
          yield* Effect.sleep("500 millis")
        }
      })

    /** `workers` fibers taking jobs of the handlers' kinds, woken by NOTIFY `jobs`; for the server's runtime. */
    const forkWorkers = <R>(handlers: ReadonlyArray<JobHandler<R>>, workers: number, leaseSeconds: number) =>
      Effect.gen(function*() {
        const context = yield* Effect.context<R>()
        const byKind = new Map(handlers.map((h) => [h.kind, h]))
        const kinds = [...byKind.keys()]
        const backoff = yield* makeItemBackoff(Schedule.exponential("1 second"), Duration.minutes(1))
        yield* forkQueueWorkers({
          channel: "jobs",
          workers,
          backoff,
          // a job that waits for its retry, or a lease that runs out, is found by the poll
          safetyPoll: Duration.seconds(Math.min(10, leaseSeconds)),
          pause: Duration.seconds(5),
          annotation: "jobWorker",
          turn: claim(kinds, leaseSeconds).pipe(
            Effect.flatMap(Option.match({
              onNone: () => Effect.succeed("empty" as const),
              onSome: (job) => Effect.as(runClaimed(job, byKind.get(job.kind)!, leaseSeconds), "done" as const)
            })),
            Effect.catchAllCause((cause) => Effect.as(Effect.logError("job queue: claim failed", cause), "failed" as const)),
            Effect.provide(context)
          )
        })
      })

    return { enqueue, get, cancel, runHere, forkWorkers, worker } as const
  })
}) {}
