import { RetentionRun, type RetentionStatus } from "@chaverim/domain/Retention"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as SqlSchema from "@effect/sql/SqlSchema"
import type * as Statement from "@effect/sql/Statement"
import * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { Audit } from "../audit/Audit"
import { AppConfig } from "../Config"
import { Count, Int8Text, IsoTime, IsoTimeOrNull, orBug } from "../db/Rows"
import { ObjectStore } from "../images/ObjectStore"
import { pruneDerived } from "./Derived"
import { type Cutoffs, cutoffsAt, DERIVED_LIFETIMES, periodsOf, periodText } from "./Policy"

/** One run at a time across every server and command line on the database (a session-level lock). */
const RUN_LOCK = 7_415_018

/** Reads per call of retention_purge: each call is one short transaction. */
export const DEFAULT_BATCH = 1_000

/** Reads that arrived late (an edge's buffer, a camera's clock) are looked for this far before the last run began. */
const LATE_SLACK_MINUTES = 10

/** Another run holds the lock: it is under way on another server or command line. */
export class RetentionBusy extends Data.TaggedError("RetentionBusy")<{ readonly message: string }> {}

/** The settings ask for less than the database enforces: the purge would refuse, so the run does not start. */
export class RetentionRefused extends Data.TaggedError("RetentionRefused")<{ readonly message: string }> {}

export interface RunOptions {
  /** Count what a run would delete, deleting nothing. */
  readonly dryRun: boolean
  readonly trigger: "schedule" | "cli"
  /** Reads per purge call (DEFAULT_BATCH). */
  readonly batchSize?: number | undefined
  /** Told after each batch, with the counts so far. */
  readonly onProgress?: ((counts: Counts) => Effect.Effect<void>) | undefined
}

export interface Counts {
  scene_images_deleted: number
  plate_images_deleted: number
  detections_deleted: number
  alerts_deleted: number
  held_skipped: number
  kept: number
  objects_removed: number
  /** reads examined (asked about) */
  examined: number
  /** months whose partition went whole (sql/0020), their reads counted in detections_deleted */
  months_dropped: number
}

/** What a run did; the first five fields are the command line's summary (`alpr retention run`). */
export interface RunReport extends Counts {
  readonly seconds: number
  readonly run_id: string
  readonly dry_run: boolean
  readonly cutoffs: Record<string, string | null>
  /** per class, the range of read times this run went through ([from, to); from null: the beginning) */
  readonly covered: Record<string, { readonly from: string | null; readonly to: string } | null>
  readonly late_since: string | null
  readonly plates_forgotten: number
  readonly derived: Record<string, number>
}

const zero = (): Counts => ({
  scene_images_deleted: 0,
  plate_images_deleted: 0,
  detections_deleted: 0,
  alerts_deleted: 0,
  held_skipped: 0,
  kept: 0,
  objects_removed: 0,
  examined: 0,
  months_dropped: 0
})

const PurgeRow = Schema.Struct({
  scene_images_deleted: Count,
  plate_images_deleted: Count,
  detections_deleted: Count,
  alerts_deleted: Count,
  held_skipped: Count,
  kept: Count,
  object_keys: Schema.Array(Schema.String),
  extra_ids: Schema.Array(Schema.String)
})

const MonthRow = Schema.Struct({
  reads: Count,
  scene_images: Count,
  plate_images: Count,
  alerts_deleted: Count,
  why: Schema.NullOr(Schema.String)
})

const FloorRow = Schema.Struct({ data_class: Schema.String, minutes: Schema.NullOr(Schema.Number) })

const PreviousRun = Schema.Struct({
  started_at: IsoTime,
  scene_before: IsoTime,
  plate_before: IsoTime,
  detection_before: IsoTime,
  nonhit_before: IsoTimeOrNull
})

const RunRow = Schema.Struct({
  ...RetentionRun.fields,
  id: Int8Text,
  started_at: IsoTime,
  finished_at: IsoTimeOrNull,
  scene_before: IsoTime,
  plate_before: IsoTime,
  detection_before: IsoTime,
  nonhit_before: IsoTimeOrNull
})

/** A page of a camera's reads in time order: the id, and the time as PostgreSQL writes it (to the microsecond). */
const CandidateRow = Schema.Struct({ id: Schema.String, at: Schema.String })

const IdRow = Schema.Struct({ id: Schema.String })

const sqlCode = (error: SqlError) => String((error.cause as { code?: unknown } | undefined)?.code)

/**
 * A batch meets a write it could not see: a read tied to one it deletes (a new read of a run, an alert
 * of a retro check) committed meanwhile, and a foreign key refuses the delete; or a deadlock. Asked
 * again, the purge sees the new row and keeps what it ties.
 */
const isRetryable = (error: SqlError) => ["23503", "40P01", "40001"].includes(sqlCode(error))

interface Window {
  readonly from: Date | null
  readonly to: Date
}

/** The union of the windows as disjoint ones, earliest first. */
const merged = (windows: ReadonlyArray<Window>): ReadonlyArray<Window> => {
  const sorted = [...windows].sort((a, b) => (a.from?.getTime() ?? -Infinity) - (b.from?.getTime() ?? -Infinity))
  const out: Array<Window> = []
  for (const w of sorted) {
    const last = out[out.length - 1]
    if (last !== undefined && (w.from === null || w.from.getTime() <= last.to.getTime())) {
      out[out.length - 1] = { from: last.from, to: new Date(Math.max(last.to.getTime(), w.to.getTime())) }
    } else {
      out.push(w)
    }
  }
  return out
}

const nextMonth = (month: Date) => new Date(Date.UTC(month.getUTCFullYear(), month.getUTCMonth() + 1, 1))

/** The windows less the ranges (each range [from, to) with a from). */
const without = (windows: ReadonlyArray<Window>, ranges: ReadonlyArray<Window>): ReadonlyArray<Window> =>
  ranges.reduce<ReadonlyArray<Window>>((left, range) =>
    left.flatMap((w) => {
      const from = range.from!.getTime()
      const to = range.to.getTime()
      if (to <= (w.from?.getTime() ?? -Infinity) || from >= w.to.getTime()) return [w]
      const pieces: Array<Window> = []
      if ((w.from?.getTime() ?? -Infinity) < from) pieces.push({ from: w.from, to: range.from! })
      if (to < w.to.getTime()) pieces.push({ from: range.to, to: w.to })
      return pieces
    }), windows)

/**
 * The retention job (issue 16): applies the periods of the settings (RETENTION_*) to reads and
 * photos, through the owner's `retention_purge` (sql/0017), which checks every read against the policy
 * floors and the legal holds itself. One run at a time on a database (an advisory lock); each run
 * records its cut-offs (the next run starts where this one ended) and writes one audit row.
 *
 * Which reads a run asks about: for each class, those read between the previous run's cut-off and
 * this run's (every camera in time order, by its index), those that arrived since the previous run
 * with an older time, and those an earlier purge had to keep (retention_kept: held, tied to a read
 * that stays, not yet checked by the alert engine). Photos are removed from the object store after
 * their rows are committed gone; what a stopped run left is removed first by the next.
 */
export class Retention extends Effect.Service<Retention>()("@chaverim/server/Retention", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const store = yield* ObjectStore
    const audit = yield* Audit
    const config = yield* AppConfig
    const settings = config.retention

    const floors = SqlSchema.findAll({
      Request: Schema.Void,
      Result: FloorRow,
      execute: () =>
        sql`SELECT data_class, (extract(epoch FROM keep) / 60)::float8 AS minutes FROM retention_policy ORDER BY data_class`
    })

    /** The settings, refused when shorter than the floors the database holds (the purge would refuse anyway). */
    const checkFloors = Effect.gen(function*() {
      const enforced = new Map((yield* orBug(floors())).map((row) => [row.data_class, row.minutes]))
      for (const period of periodsOf(settings)) {
        const floor = enforced.get(period.data_class) ?? null
        if (period.minutes === null) continue
        if (floor === null) {
          return yield* new RetentionRefused({
            message: `${period.setting} is set, but the database has no policy for ${period.data_class}: ` +
              "run `alpr migrate` with the owner's URL (DATABASE_OWNER_URL) and these settings"
          })
        }
        if (period.minutes < floor) {
          return yield* new RetentionRefused({
            message: `${period.setting} asks for ${periodText(period.minutes)}, shorter than the ${periodText(floor)} ` +
              "the database enforces: run `alpr migrate` with the owner's URL (DATABASE_OWNER_URL) and these settings"
          })
        }
      }
      return enforced
    })

    const previousRun = SqlSchema.findOne({
      Request: Schema.Void,
      Result: PreviousRun,
      execute: () =>
        sql`
          SELECT started_at, scene_before, plate_before, detection_before, nonhit_before FROM retention_runs
           WHERE finished_at IS NOT NULL AND NOT dry_run AND error IS NULL
           ORDER BY id DESC LIMIT 1`
    })

    const purgeBatch = (ids: ReadonlyArray<string>, cutoffs: Cutoffs, dryRun: boolean) =>
      SqlSchema.single({
        Request: Schema.Void,
        Result: PurgeRow,
        execute: () =>
          sql`
            SELECT scene_images_deleted, plate_images_deleted, detections_deleted, alerts_deleted, held_skipped, kept,
                   object_keys, extra_ids::text[] AS extra_ids
              FROM retention_purge(${`{${ids.join(",")}}`}::bigint[], ${cutoffs.scene}::timestamptz,
                                   ${cutoffs.plate}::timestamptz, ${cutoffs.detection}::timestamptz,
                                   ${cutoffs.nonhit}::timestamptz, ${dryRun})`
      })(undefined).pipe(
        orBug,
        Effect.catchTag("NoSuchElementException", Effect.die),
        Effect.retry({ while: isRetryable, schedule: Schedule.exponential("50 millis").pipe(Schedule.intersect(Schedule.recurs(4))) })
      )

    const monthsBefore = (before: Date) =>
      SqlSchema.findAll({
        Request: Schema.Void,
        Result: Schema.Struct({ month: Schema.DateFromSelf }),
        execute: () => sql`SELECT m AS month FROM retention_months(${before}::timestamptz) AS m`
      })(undefined).pipe(orBug)

    const dropMonth = (month: Date, before: Date, dryRun: boolean) =>
      SqlSchema.single({
        Request: Schema.Void,
        Result: MonthRow,
        execute: () =>
          sql`
            SELECT reads, scene_images, plate_images, alerts_deleted, why
              FROM retention_drop_month(${month}::timestamptz, ${before}::timestamptz, ${dryRun})`
      })(undefined).pipe(
        orBug,
        Effect.catchTag("NoSuchElementException", Effect.die),
        Effect.retry({ while: isRetryable, schedule: Schedule.exponential("50 millis").pipe(Schedule.intersect(Schedule.recurs(4))) })
      )

    const stillRecorded = (keys: ReadonlyArray<string>) =>
      SqlSchema.findAll({
        Request: Schema.Void,
        Result: Schema.Struct({ object_key: Schema.String }),
        execute: () => sql`SELECT object_key FROM detection_images WHERE object_key = ANY(${`{${keys.map(quoteArrayItem).join(",")}}`}::text[])`
      })(undefined).pipe(orBug)

    /**
     * Removes the objects of photos whose rows are gone, then their pending rows. A key a row still
     * names is never removed (the purge only queues keys whose rows it deleted; this is the last check).
     */
    const removeObjects = (keys: ReadonlyArray<string>) =>
      Effect.gen(function*() {
        if (keys.length === 0) return 0
        const recorded = new Set((yield* stillRecorded(keys)).map((row) => row.object_key))
        const removable = keys.filter((key) => !recorded.has(key))
        yield* Effect.forEach(removable, (key) => store.remove(key), { concurrency: 8, discard: true })
        yield* sql`SELECT retention_objects_removed(${`{${keys.map(quoteArrayItem).join(",")}}`}::text[])`
        return removable.length
      })

    const pendingPage = SqlSchema.findAll({
      Request: Schema.Void,
      Result: Schema.Struct({ object_key: Schema.String }),
      execute: () => sql`SELECT object_key FROM retention_pending_objects ORDER BY row_deleted_at, object_key LIMIT 500`
    })

    /** What an earlier run left half-way: rows gone, objects still in the store. */
    const removeLeftovers = Effect.gen(function*() {
      let removed = 0
      for (;;) {
        const page = yield* orBug(pendingPage())
        if (page.length === 0) return removed
        removed += yield* removeObjects(page.map((row) => row.object_key))
      }
    })

    const pruneTakenPlates = SqlSchema.single({
      Request: Schema.Void,
      Result: Schema.Struct({ taken: Count, pruned: Count }),
      execute: () => sql`SELECT taken, pruned FROM retention_prune_plates(1000)`
    })

    const prunePlates = Effect.gen(function*() {
      let forgotten = 0
      for (;;) {
        const { pruned, taken } = yield* pruneTakenPlates(undefined).pipe(orBug, Effect.catchTag("NoSuchElementException", Effect.die))
        forgotten += pruned
        if (taken === 0) return forgotten
      }
    })

    const cameraPage = (camera: string, window: Window, after: { readonly at: string; readonly id: string } | undefined, limit: number) =>
      SqlSchema.findAll({
        Request: Schema.Void,
        Result: CandidateRow,
        execute: () => {
          const where: Array<Statement.Fragment> = [sql`camera_id = ${camera}`, sql`detected_at < ${window.to}`]
          if (window.from !== null) where.push(sql`detected_at >= ${window.from}`)
          // Spelled out so that the camera's index is entered at the page's start.
          if (after !== undefined) {
            where.push(sql`detected_at >= ${after.at}::timestamptz`)
            where.push(sql`(detected_at > ${after.at}::timestamptz OR id > ${after.id}::bigint)`)
          }
          // By the column, not the text it is selected as: the page's end is compared as a number.
          return sql`
            SELECT id::text AS id, detected_at::text AS at FROM detections
             WHERE ${sql.and(where)}
             ORDER BY detected_at, detections.id
             LIMIT ${limit}`
        }
      })(undefined).pipe(orBug)

    const lateReads = (since: string, windows: ReadonlyArray<Window>, before: Date) =>
      SqlSchema.findAll({
        Request: Schema.Void,
        Result: IdRow,
        execute: () =>
          sql`
            SELECT d.id::text AS id FROM detections d
             WHERE d.received_at >= ${since}::timestamptz - make_interval(mins => ${LATE_SLACK_MINUTES})
               AND d.detected_at < ${before}
               AND NOT EXISTS (
                 SELECT FROM json_to_recordset(${
            JSON.stringify(windows.map((w) => ({ lo: w.from?.toISOString() ?? "-infinity", hi: w.to.toISOString() })))
          }::json) AS w(lo timestamptz, hi timestamptz)
                  WHERE d.detected_at >= w.lo AND d.detected_at < w.hi)`
      })(undefined).pipe(orBug)

    /** Reads kept by an earlier run, but for those of the months `gone` (a dry run counted them whole). */
    const keptReads = (gone: ReadonlyArray<Window>) =>
      SqlSchema.findAll({
        Request: Schema.Void,
        Result: IdRow,
        execute: () =>
          sql`
            SELECT k.detection_id::text AS id FROM retention_kept k
             WHERE NOT EXISTS (
               SELECT FROM detections d, json_to_recordset(${
            JSON.stringify(gone.map((w) => ({ lo: w.from!.toISOString(), hi: w.to.toISOString() })))
          }::json) AS w(lo timestamptz, hi timestamptz)
                WHERE d.id = k.detection_id AND d.detected_at >= w.lo AND d.detected_at < w.hi)
             ORDER BY k.detection_id`
      })(undefined).pipe(orBug)

    const cameras = SqlSchema.findAll({
      Request: Schema.Void,
      Result: IdRow,
      execute: () => sql`SELECT id::text AS id FROM cameras ORDER BY id`
    })

    const runLocked = (options: RunOptions) =>
      Effect.gen(function*() {
        const started = performance.now()
        const batchSize = Math.max(1, Math.min(10_000, options.batchSize ?? DEFAULT_BATCH))
        yield* checkFloors
        const nowRow = yield* SqlSchema.single({
          Request: Schema.Void,
          Result: Schema.Struct({ now: Schema.DateFromSelf }),
          execute: () => sql`SELECT now() AS now`
        })(undefined).pipe(orBug, Effect.catchTag("NoSuchElementException", Effect.die))
        const cutoffs = cutoffsAt(nowRow.now, settings)
        const previous = Option.getOrUndefined(yield* orBug(previousRun()))
        const since = (at: string | null | undefined) => (at === null || at === undefined ? null : new Date(at))
        // Each class from where the previous run left it; a class newly switched on, from the beginning.
        const classWindows: Record<string, Window | null> = {
          scene_image: { from: since(previous?.scene_before), to: cutoffs.scene },
          plate_image: { from: since(previous?.plate_before), to: cutoffs.plate },
          detection: { from: since(previous?.detection_before), to: cutoffs.detection },
          nonhit: cutoffs.nonhit === null ? null : { from: since(previous?.nonhit_before), to: cutoffs.nonhit }
        }
        const windows = merged(
          Object.values(classWindows).filter((w): w is Window => w !== null && (w.from === null || w.from < w.to))
        )

        const runId = (yield* SqlSchema.single({
          Request: Schema.Void,
          Result: Schema.Struct({ id: Int8Text }),
          execute: () =>
            sql`
              INSERT INTO retention_runs (started_at, dry_run, trigger, scene_before, plate_before, detection_before, nonhit_before)
              VALUES (${nowRow.now}, ${options.dryRun}, ${options.trigger}, ${cutoffs.scene}, ${cutoffs.plate},
                      ${cutoffs.detection}, ${cutoffs.nonhit}::timestamptz)
              RETURNING id`
        })(undefined).pipe(orBug, Effect.catchTag("NoSuchElementException", Effect.die))).id

        const counts = zero()
        let platesForgotten = 0
        let derived: Record<string, number> = {}
        const cutoffText = {
          scene_before: cutoffs.scene.toISOString(),
          plate_before: cutoffs.plate.toISOString(),
          detection_before: cutoffs.detection.toISOString(),
          nonhit_before: cutoffs.nonhit?.toISOString() ?? null
        }
        const covered = Object.fromEntries(
          Object.entries(classWindows).map(([k, w]) => [k, w === null ? null : { from: w.from?.toISOString() ?? null, to: w.to.toISOString() }])
        )

        const work = Effect.gen(function*() {
          if (!options.dryRun) counts.objects_removed += yield* removeLeftovers

          // Reads already asked about in this run, and (dry run) reads counted as gone with others.
          const asked = new Set<string>()
          const counted = new Set<string>()
          const purge = (ids: ReadonlyArray<string>) =>
            Effect.gen(function*() {
              const fresh = ids.filter((id) => !counted.has(id))
              if (fresh.length === 0) return
              const done = yield* purgeBatch(fresh, cutoffs, options.dryRun)
              counts.examined += fresh.length
              counts.scene_images_deleted += done.scene_images_deleted
              counts.plate_images_deleted += done.plate_images_deleted
              counts.detections_deleted += done.detections_deleted
              counts.alerts_deleted += done.alerts_deleted
              counts.held_skipped += done.held_skipped
              counts.kept += done.kept
              if (options.dryRun) for (const id of done.extra_ids) counted.add(id)
              else counts.objects_removed += yield* removeObjects(done.object_keys)
              if (options.onProgress) yield* options.onProgress({ ...counts })
            })
          const inBatches = (ids: ReadonlyArray<string>) =>
            Effect.gen(function*() {
              const fresh = ids.filter((id) => !asked.has(id))
              for (const id of fresh) asked.add(id)
              for (let i = 0; i < fresh.length; i += batchSize) yield* purge(fresh.slice(i, i + batchSize))
            })

          // Whole months past the detection policy go first, each in one call (sql/0020). A month with
          // a read that must stay (held, or tied to a read that stays) is left to the purge below,
          // read by read.
          const monthsGone: Array<Window> = []
          for (const { month } of yield* monthsBefore(cutoffs.detection)) {
            const done = yield* dropMonth(month, cutoffs.detection, options.dryRun)
            if (done.why !== null) continue
            monthsGone.push({ from: month, to: nextMonth(month) })
            counts.months_dropped += 1
            counts.detections_deleted += done.reads
            counts.scene_images_deleted += done.scene_images
            counts.plate_images_deleted += done.plate_images
            counts.alerts_deleted += done.alerts_deleted
            if (options.onProgress) yield* options.onProgress({ ...counts })
          }
          if (!options.dryRun && counts.months_dropped > 0) counts.objects_removed += yield* removeLeftovers

          yield* inBatches((yield* keptReads(monthsGone)).map((row) => row.id))
          if (previous !== undefined) {
            const newest = new Date(Math.max(
              cutoffs.scene.getTime(),
              cutoffs.plate.getTime(),
              cutoffs.detection.getTime(),
              cutoffs.nonhit?.getTime() ?? 0
            ))
            yield* inBatches((yield* lateReads(previous.started_at, [...windows, ...monthsGone], newest)).map((row) => row.id))
          }
          // A dry run counted those months whole: their reads are not asked about again.
          for (const window of without(windows, monthsGone)) {
            for (const { id: camera } of yield* orBug(cameras())) {
              let after: { at: string; id: string } | undefined
              for (;;) {
                const page = yield* cameraPage(camera, window, after, batchSize)
                if (page.length === 0) break
                yield* purge(page.map((row) => row.id).filter((id) => !asked.has(id)))
                const last = page[page.length - 1]!
                after = { at: last.at, id: last.id }
                if (page.length < batchSize) break
              }
            }
          }
          if (!options.dryRun) platesForgotten = yield* prunePlates
          derived = yield* pruneDerived(options.dryRun).pipe(Effect.provideService(SqlClient.SqlClient, sql))
        })

        const seconds = () => Math.round(performance.now() - started) / 1000
        const finish = (error: string | null) =>
          sql.withTransaction(Effect.gen(function*() {
            yield* sql`
              UPDATE retention_runs
                 SET finished_at = now(), scene_images_deleted = ${counts.scene_images_deleted},
                     plate_images_deleted = ${counts.plate_images_deleted}, detections_deleted = ${counts.detections_deleted},
                     alerts_deleted = ${counts.alerts_deleted}, held_skipped = ${counts.held_skipped}, kept = ${counts.kept},
                     objects_removed = ${counts.objects_removed}, derived = ${JSON.stringify(derived)}::jsonb, error = ${error}
               WHERE id = ${runId}`
            yield* audit.record({
              action: "retention.run",
              target: `retention_run:${runId}`,
              details: {
                dry_run: options.dryRun,
                trigger: options.trigger,
                ...counts,
                plates_forgotten: platesForgotten,
                derived,
                seconds: seconds(),
                cutoffs: cutoffText,
                covered,
                late_since: previous?.started_at ?? null,
                ...(error === null ? {} : { error })
              },
              outcome: error === null ? "success" : "failure"
            })
          }))

        // A failed or interrupted run is recorded as such (the next run starts where the last good one ended).
        yield* work.pipe(
          Effect.onError((cause) =>
            finish(causeText(cause)).pipe(
              Effect.catchAllCause((c) => Effect.logError("retention: recording a failed run failed", c))
            )
          )
        )
        yield* finish(null)
        return {
          ...counts,
          seconds: seconds(),
          run_id: runId,
          dry_run: options.dryRun,
          cutoffs: cutoffText,
          covered,
          late_since: previous?.started_at ?? null,
          plates_forgotten: platesForgotten,
          derived
        } satisfies RunReport
      })

    /** A run, when no other is under way on this database (RetentionBusy otherwise). */
    const run = Effect.fn("Retention.run")(function*(options: RunOptions) {
      return yield* Effect.scoped(Effect.gen(function*() {
        const connection = yield* sql.reserve
        const [row] = yield* connection.executeValues("SELECT pg_try_advisory_lock($1)", [RUN_LOCK])
        if (row?.[0] !== true) {
          return yield* new RetentionBusy({ message: "a retention run is already under way on this database" })
        }
        yield* Effect.addFinalizer(() => connection.executeValues("SELECT pg_advisory_unlock($1)", [RUN_LOCK]).pipe(Effect.ignore))
        return yield* runLocked(options)
      }))
    })

    const recentRuns = SqlSchema.findAll({
      Request: Schema.Void,
      Result: RunRow,
      execute: () =>
        sql`
          SELECT id, started_at, finished_at, dry_run, trigger, scene_before, plate_before, detection_before, nonhit_before,
                 scene_images_deleted, plate_images_deleted, detections_deleted, alerts_deleted, held_skipped, kept,
                 objects_removed, error
            FROM retention_runs ORDER BY id DESC LIMIT 20`
    })

    const tally = SqlSchema.single({
      Request: Schema.Void,
      Result: Schema.Struct({ holds: Count, kept: Count, pending: Count }),
      execute: () =>
        sql`
          SELECT (SELECT count(*) FROM legal_holds WHERE released_at IS NULL) AS holds,
                 (SELECT count(*) FROM retention_kept) AS kept,
                 (SELECT count(*) FROM retention_pending_objects) AS pending`
    })

    /** The periods in force (and the floors the database enforces), derived lifetimes and the recent runs. */
    const status = Effect.gen(function*() {
      const enforced = new Map((yield* orBug(floors())).map((row) => [row.data_class, row.minutes]))
      const counts = yield* tally(undefined).pipe(orBug, Effect.catchTag("NoSuchElementException", Effect.die))
      return {
        periods: periodsOf(settings).map((p) => ({
          ...p,
          text: periodText(p.minutes),
          enforced_minutes: enforced.get(p.data_class) ?? null
        })),
        derived: DERIVED_LIFETIMES,
        interval_minutes: Option.getOrNull(settings.intervalMinutes),
        runs: yield* orBug(recentRuns()),
        active_holds: counts.holds,
        kept_reads: counts.kept,
        pending_objects: counts.pending
      } satisfies RetentionStatus
    }).pipe(Effect.withSpan("Retention.status"))

    return { run, status }
  })
}) {}

/** What went wrong, for the run's record: the database's own words when it was the database. */
const causeText = (cause: Cause.Cause<unknown>): string => {
  if (Cause.isInterruptedOnly(cause)) return "interrupted"
  const error = Cause.squash(cause) as { readonly message?: unknown; readonly cause?: { readonly message?: unknown } }
  const own = typeof error?.message === "string" ? error.message : String(error)
  const inner = typeof error?.cause?.message === "string" ? `: ${error.cause.message}` : ""
  return `${own}${inner}`.slice(0, 1_000)
}

/** An item of a PostgreSQL array literal, quoted (object keys may hold commas and such). */
const quoteArrayItem = (text: string) => `"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`
