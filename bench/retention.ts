/**
 * `npm run bench -- retention`: the retention job purging old reads with their photos.
 *
 * A fresh database gets `--reads` reads older than the read period (RETENTION_DETECTION_DAYS), spread
 * over `--cameras` cameras in time order, with a plate crop and a scene photo row each; runs of
 * `--run-length` reads of one plate at one camera are linked as ingest links them (duplicate_of), a
 * tenth of the reads raised alerts (one alert per run, with its sightings), one plate in a hundred is
 * on legal hold, and `--young` reads are recent (nothing of theirs is due). With `--files` (default)
 * every photo is also a small file in the object folder, so the run removes real objects.
 *
 * Measured through the Retention service (the code `alpr retention run` runs, in this process): a
 * dry run, the purge itself (reads deleted per second, photo rows and objects per second), and a
 * second run with nothing left to do (the cost of a scheduled run in steady state). With `--month`
 * the old reads fill one calendar month, which goes whole (its partition dropped, sql/0020): the
 * figure for a month of 10 million reads is `--month --reads 10000000 --young 0 --no-files`. The SQL that
 * finds candidates is captured as the job runs it and EXPLAINed (ANALYZE, BUFFERS) on stderr.
 */
import { AppConfig, Retention } from "@chaverim/server"
import * as Statement from "@effect/sql/Statement"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { CoreLayer } from "../apps/server/src/Server"
import { numberOption, type OptionSpecs, parseArgs } from "./lib/args"
import { connect, freshDatabase, makeReadMonths } from "./lib/database"
import { emit, progress } from "./lib/report"
import { runScope } from "./lib/run"

export const description =
  "the retention job purging N old reads with their photo rows (and files): reads deleted per second, dry run, steady state"

export const options: OptionSpecs = {
  reads: { description: "reads past the read period, to be purged", default: "100000" },
  young: { description: "recent reads that stay", default: "100000" },
  cameras: { description: "cameras the reads are spread over", default: "20" },
  "run-length": { description: "reads per run (same plate, same camera, linked by duplicate_of)", default: "2" },
  batch: { description: "reads per purge call", default: "1000" },
  "no-files": { description: "photo rows only, no files in the object folder", flag: true },
  month: {
    description: "the old reads all in one calendar month, no photos, alerts or holds among them (their photos went years before, " +
      "as the policy has it): the month goes whole, as its partition",
    flag: true
  },
  keep: { description: "keep the database and object folder afterwards", flag: true }
}

const DAY_MS = 86_400_000

export const main = async (argv: ReadonlyArray<string>) => {
  const args = parseArgs(argv, options)
  const reads = numberOption(args, "reads", { min: 1, integer: true })
  const young = numberOption(args, "young", { min: 0, integer: true })
  const cameras = numberOption(args, "cameras", { min: 1, integer: true })
  const runLength = numberOption(args, "run-length", { min: 1, integer: true })
  const batch = numberOption(args, "batch", { min: 1, integer: true })
  const files = args.get("no-files") !== "true"
  const wholeMonth = args.get("month") === "true"
  const scope = runScope()
  try {
    const database = await freshDatabase()
    if (args.get("keep") !== "true") scope.cleanups.push(database.drop)
    const dataDir = await Fs.mkdtemp(Path.join(Os.tmpdir(), "alpr-bench-retention-"))
    if (args.get("keep") !== "true") scope.cleanups.push(() => Fs.rm(dataDir, { recursive: true, force: true }))
    else progress(`keeping database ${database.name} and objects in ${dataDir}`)

    // The statements the job runs, to EXPLAIN the one that finds candidates.
    const captured: Array<{ sql: string; params: ReadonlyArray<unknown> }> = []
    const recorder = Statement.setTransformer((statement) =>
      Effect.sync(() => {
        const [sql, params] = statement.compile()
        if (captured.length < 10_000) captured.push({ sql, params })
        return statement
      })
    )
    const runtime = ManagedRuntime.make(CoreLayer.pipe(
      Layer.provide(recorder),
      Layer.provide(AppConfig.make({
        dataDir,
        databaseUrl: Option.some(Redacted.make(database.url)),
        s3: Option.none(),
        retention: {
          sceneImageDays: 365,
          plateImageDays: 365,
          detectionDays: 2557,
          nonhitMinutes: Option.none(),
          intervalMinutes: Option.none()
        }
      })),
      Layer.provide(Logger.minimumLogLevel(LogLevel.Warning))
    ))
    scope.cleanups.push(() => runtime.dispose())
    await runtime.runPromise(Effect.void) // migrates

    const db = await connect(database.url)
    scope.cleanups.push(() => db.end())
    progress(`generating ${reads} old reads (runs of ${runLength}) and ${young} recent ones at ${cameras} cameras`)
    const generated = performance.now()
    await db.query("ALTER TABLE detections DISABLE TRIGGER detections_queue_alert_work")
    const { rows: [collector] } = await db.query("INSERT INTO collectors (name) VALUES ('bench') RETURNING id")
    await db.query(
      `INSERT INTO cameras (collector_id, external_id, mac, name)
       SELECT $1, 'cam-' || i, 'mac', 'Camera ' || i FROM generate_series(1, $2::int) AS i`,
      [collector.id, cameras]
    )
    const insertReads = async (count: number, oldest: Date, spanMs: number, prefix: string) => {
      const runs = Math.ceil(count / runLength)
      const chunk = 50_000
      for (let from = 0; from < runs; from += chunk) {
        const to = Math.min(runs, from + chunk)
        // The first read of each run, then the others pointing at it, 5 s apart (from the rows the
        // first insert returns: looking the heads up again by detection_id would read every month).
        await db.query(
          `WITH heads AS (
             INSERT INTO detections (collector_id, detection_id, camera_id, detected_at, plate_text, plate, plate_ocr, confidence, raw)
             SELECT $1, $5::text || r, c.id, $2::timestamptz + (r::float8 / $4) * $3::float8 * interval '1 millisecond',
                    p, p, p, 0.9, '{}'::jsonb
               FROM generate_series($6::int, $7::int - 1) AS r
               CROSS JOIN LATERAL (SELECT 'B' || lpad((r % 50000)::text, 5, '0') AS p) plate
               JOIN cameras c ON c.external_id = 'cam-' || (1 + r % $8::int)
             RETURNING id, collector_id, detection_id, camera_id, detected_at, plate_text, plate, plate_ocr, confidence, raw
           )
           INSERT INTO detections (collector_id, detection_id, camera_id, detected_at, plate_text, plate, plate_ocr, confidence, raw, duplicate_of)
           SELECT h.collector_id, h.detection_id || '-' || m, h.camera_id, h.detected_at + m * interval '5 seconds',
                  h.plate_text, h.plate, h.plate_ocr, h.confidence, h.raw, h.id
             FROM heads h CROSS JOIN generate_series(1, $9::int - 1) AS m`,
          [collector.id, oldest.toISOString(), spanMs, runs, prefix, from, to, cameras, runLength]
        )
      }
    }
    const now = Date.now()
    const early = new Date(now - 2800 * DAY_MS)
    const monthStart = new Date(Date.UTC(early.getUTCFullYear(), early.getUTCMonth(), 1))
    const monthMs = Date.UTC(early.getUTCFullYear(), early.getUTCMonth() + 1, 1) - monthStart.getTime()
    const [oldest, oldSpan] = wholeMonth ? [monthStart, monthMs - 60_000] : [early, 200 * DAY_MS]
    // The months get their partitions first, as ingest gets its months'.
    await makeReadMonths(db, oldest, new Date(now))
    await insertReads(reads, oldest, oldSpan, "old-")
    if (young > 0) await insertReads(young, new Date(now - 30 * DAY_MS), 29 * DAY_MS, "new-")
    await db.query("ALTER TABLE detections ENABLE TRIGGER detections_queue_alert_work")
    await db.query(
      `INSERT INTO detection_images (detection_id, detected_at, kind, object_key, content_type, size_bytes, sha256)
       SELECT d.id, d.detected_at, k, 'detections/bench/' || d.id || '/' || k || '.jpg', 'image/jpeg', 512, repeat('a', 64)
         FROM detections d CROSS JOIN unnest(ARRAY['plate', 'scene']) AS k
        WHERE NOT $1 OR d.detection_id LIKE 'new-%'`,
      [wholeMonth]
    )
    // A tenth of the old runs raised an alert, with a sighting for each read of the run.
    const { rows: [list] } = await db.query("INSERT INTO watchlists (name, category) VALUES ('bench', 'stolen') RETURNING id")
    if (!wholeMonth) await db.query(
      `WITH heads AS (
         SELECT id, plate, detected_at FROM detections
          WHERE detection_id LIKE 'old-%' AND duplicate_of IS NULL AND id % 10 = 0
       ), raised AS (
         INSERT INTO alerts (watchlist_id, plate, detection_id, last_detection_id, first_seen_at, last_seen_at, sightings)
         SELECT $1, plate, id, id, detected_at, detected_at, 1 FROM heads
         RETURNING id, detection_id
       )
       INSERT INTO alert_sightings (detection_id, watchlist_id, entry_key, alert_id)
       SELECT d.id, $1, 0, r.id FROM raised r JOIN detections d ON d.id = r.detection_id OR d.duplicate_of = r.detection_id`,
      [list.id]
    )
    // One plate in a hundred of the old ones is on hold.
    if (!wholeMonth) await db.query(
      `INSERT INTO legal_holds (case_number, reason, plate, created_by_name)
       SELECT 'BENCH-' || n, 'bench', 'B' || lpad(n::text, 5, '0'), 'bench' FROM generate_series(0, 49999, 100) AS n`
    )
    if (files) {
      const { rows: keys } = await db.query<{ object_key: string }>("SELECT object_key FROM detection_images")
      progress(`writing ${keys.length} photo files`)
      const body = new Uint8Array(512)
      let next = 0
      await Promise.all(Array.from({ length: 32 }, async () => {
        while (next < keys.length) {
          const key = keys[next++]!.object_key
          const file = Path.join(dataDir, "objects", key)
          await Fs.mkdir(Path.dirname(file), { recursive: true })
          await Fs.writeFile(file, body)
        }
      }))
    }
    await db.query("VACUUM ANALYZE")
    const { rows: [counts] } = await db.query(
      `SELECT (SELECT count(*) FROM detections)::int AS reads, (SELECT count(*) FROM detection_images)::int AS photos,
              (SELECT count(*) FROM alerts)::int AS alerts,
              -- a partitioned table holds nothing itself: its size is its partitions'
              pg_size_pretty(pg_total_relation_size('detections') + coalesce((
                SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits WHERE inhparent = 'detections'::regclass), 0)) AS size`
    )
    progress(`generated in ${((performance.now() - generated) / 1000).toFixed(1)} s: ${JSON.stringify(counts)}`)
    emit("retention_reads_total", counts.reads, "reads")

    const run = (dryRun: boolean) =>
      runtime.runPromise(Effect.flatMap(Retention, (retention) => retention.run({ dryRun, trigger: "cli", batchSize: batch })))

    progress("dry run")
    captured.length = 0
    const dry = await run(true)
    progress(`dry run: ${JSON.stringify({ ...dry, covered: undefined, cutoffs: undefined })}`)
    emit("retention_dry_run_seconds", dry.seconds, "s")
    // A full page, while the reads are still there.
    const page = captured.find((s) => /FROM detections\s+WHERE \(?camera_id/.test(s.sql))
    const explain = async (name: string, statement: { sql: string; params: ReadonlyArray<unknown> } | undefined) => {
      if (statement === undefined) return
      const { rows } = await db.query(`EXPLAIN (ANALYZE, BUFFERS) ${statement.sql}`, statement.params as Array<unknown>)
      process.stderr.write(`\n-- EXPLAIN ${name}:\n${statement.sql.trim()}\n${rows.map((r) => r["QUERY PLAN"]).join("\n")}\n\n`)
    }
    await explain("a camera's page of candidates", page)

    progress("purge")
    const purge = await run(false)
    progress(`purge: ${JSON.stringify({ ...purge, covered: undefined, cutoffs: undefined })}`)
    if (purge.detections_deleted !== dry.detections_deleted || purge.scene_images_deleted !== dry.scene_images_deleted) {
      throw new Error(`the dry run counted ${JSON.stringify(dry)} but the purge did ${JSON.stringify(purge)}`)
    }
    emit("retention_purge_seconds", purge.seconds, "s")
    emit("retention_reads_deleted", purge.detections_deleted, "reads")
    emit("retention_reads_deleted_per_s", purge.detections_deleted / purge.seconds, "reads/s")
    emit("retention_photo_rows_deleted_per_s", (purge.scene_images_deleted + purge.plate_images_deleted) / purge.seconds, "rows/s")
    emit("retention_objects_removed", purge.objects_removed, "objects")
    emit("retention_alerts_deleted", purge.alerts_deleted, "alerts")
    emit("retention_held_skipped", purge.held_skipped, "reads")
    emit("retention_months_dropped", purge.months_dropped ?? 0, "months")

    progress("steady state: a run with nothing due")
    captured.length = 0
    const steady = await run(false)
    emit("retention_steady_run_seconds", steady.seconds, "s")
    await explain("reads that arrived late (since the last run)", captured.find((s) => /received_at >=/.test(s.sql)))
  } finally {
    await scope.close()
  }
}
