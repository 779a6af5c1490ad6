/**
 * Plate search at scale (issue 5): generates a realistic year of detections into a fresh PostgreSQL
 * database, then measures every kind of plate search through the HTTP API of the real server.
 *
 * The data set (default 10 million reads, 200 cameras at 10 sites, one year):
 *   - plates from a pool (default rows / 5) in US, UK and German formats, each read choosing its plate
 *     by a Zipf-Mandelbrot law (s = 1.1, offset 100), so that about a thousand plates are seen more
 *     than 1,000 times and most of the pool once or never;
 *   - each plate mostly at three "home" cameras, at times with morning and evening peaks (local time);
 *   - 3 % of reads with one OCR-confusable character misread (O/0, I/1, B/8, S/5, Z/2, G/6, D/0, L/1);
 *   - twenty busy plates with a companion that follows them through a third of their sightings, so a
 *     convoy search finds something.
 * It is generated inside PostgreSQL (INSERT ... SELECT generate_series, chunk by chunk of days, in
 * time order like real ingest), with the secondary indexes of `detections` dropped during the load
 * and rebuilt from their exact catalog definitions afterwards, then VACUUM ANALYZE.
 * `--keep` keeps the database; `--reuse-db NAME` measures a kept one again without generating.
 *
 * Measured, each with fresh query plates, sequentially after a warm-up, as the HTTP latency a client
 * sees (session cookie, audit record and all): GET /api/v1/detections in modes exact, ocr, partial
 * and fuzzy; without a plate, one camera's reads in a random 10-minute window of the data's span
 * ("camera window"); the plate timeline and convoy endpoints when the contract has them. Then, for the
 * slowest query of each kind, the same request goes to a second server in this process that records
 * its SQL (lib/sqlCapture.ts), and each statement that reads detections is run again under
 * EXPLAIN (ANALYZE, BUFFERS) and printed on stderr: the plans of exactly what the server runs.
 */
import { AlprApi } from "@chaverim/domain/Api"
import { normalizePlate, ocrKey } from "@chaverim/domain/Plate"
import type * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import type * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import { randomInt } from "node:crypto"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import type pg from "pg"
import { Interrupted, numberOption, type OptionSpecs, parseArgs, UsageError } from "./lib/args"
import { coresBetween, cpuSnapshot } from "./lib/cpu"
import { adminUrl, connect, freshDatabase, makeReadMonths } from "./lib/database"
import { emit, progress, quantile } from "./lib/report"
import { runScope } from "./lib/run"
import { type ServerProcess, type ServerSnapshot, startServer } from "./lib/server"
import { benchCookie } from "./lib/session"
import { spanTable } from "./lib/spanStats"
import type { CapturedStatement, CapturingServer } from "./lib/sqlCapture"

export const description =
  "plate search on a generated year of detections (Zipf plates, OCR noise): p50/p95/p99 of exact, ocr, partial, " +
  "fuzzy, camera window (no plate), timeline and convoy through the HTTP API, with the EXPLAIN plans that matter"

export const options: OptionSpecs = {
  rows: { description: "detections to generate", default: "10000000" },
  plates: { description: "size of the plate pool (default rows / 5)" },
  cameras: { description: "cameras, spread over 10 sites (a multiple of 10)", default: "200" },
  days: { description: "days of history, ending today", default: "365" },
  queries: { description: "measured queries per query type (fresh plates while the data set has enough)", default: "200" },
  warmup: { description: "unrecorded queries per query type before measuring", default: "20" },
  budget: { description: "at most this many seconds of measured queries per query type (slow kinds then get fewer)", default: "300" },
  chunk: { description: "rows per INSERT during generation", default: "250000" },
  keep: { description: "keep the database afterwards (measure it again with --reuse-db NAME)", flag: true },
  "reuse-db": { description: "measure a database kept by an earlier run (--keep) instead of generating one" },
  "generate-only": { description: "generate (with --keep) and stop, without measuring", flag: true },
  only: { description: "measure only these query types (comma-separated: exact,ocr,partial,fuzzy,camera_window,timeline,convoy)" },
  trace: { description: "time the server's spans (HTTP, auth, each SQL statement) and print them per query type", flag: true }
}

/** Targets of issue 5 on the 2-core machine, at 10 million rows (p95, ms). */
const TARGETS = {
  exact: 20,
  ocr: 30,
  partial: 200,
  fuzzy: 200,
  /** issue 18: a camera and a 10-minute window, no plate */
  camera_window: 100,
  timeline: 100,
  convoy: 1_000
} as const

type Mode = "exact" | "ocr" | "partial" | "fuzzy"
const MODES: ReadonlyArray<Mode> = ["exact", "ocr", "partial", "fuzzy"]

// ---------------------------------------------------------------------------------------------
// The data set

const LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ" // no I, O, Q: like most issuing authorities
const DIGITS = "0123456789"

/** Plate formats as cameras report them (L letter, D digit, N digit 1-9), with their share of the pool. */
const PLATE_FORMATS: ReadonlyArray<readonly [number, string]> = [
  [0.35, "LLLDDDD"], // ABC1234: New York, Pennsylvania
  [0.2, "NLLLDDD"], // 7ABC123: California
  [0.15, "LLL-DDDD"], // ABC-1234, as some cameras print it
  [0.1, "LDD-LLL"], // A12-BCD: New Jersey
  [0.1, "LLDD LLL"], // AB12 CDE: United Kingdom
  [0.1, "L-LL DDDD"] // M-AB 1234: Germany
]

/** Zipf-Mandelbrot: P(rank k) proportional to (k + Q)^-S. The offset keeps the busiest plate near 15,000 reads a year. */
const ZIPF_S = 1.1
const ZIPF_Q = 100
const NOISE = 0.03
/** Busy plates (by rank) that a companion follows through some of their sightings. */
const CONVOY_LEADERS = { from: 5, to: 24, share: 0.3 } as const
const TIME_ZONE = "America/New_York"
/** Sessions loading at once: one per core (the generator is CPU-bound inside PostgreSQL). */
const LOAD_SESSIONS = Math.max(1, Math.min(4, Os.cpus().length))

const SITES: ReadonlyArray<{ readonly name: string; readonly lat: number; readonly lon: number }> = [
  { name: "Monsey", lat: 41.111, lon: -74.068 },
  { name: "Spring Valley", lat: 41.113, lon: -74.044 },
  { name: "New City", lat: 41.147, lon: -73.989 },
  { name: "Nanuet", lat: 41.089, lon: -74.013 },
  { name: "Suffern", lat: 41.115, lon: -74.149 },
  { name: "Pomona", lat: 41.167, lon: -74.043 },
  { name: "Haverstraw", lat: 41.197, lon: -73.965 },
  { name: "Nyack", lat: 41.091, lon: -73.918 },
  { name: "Pearl River", lat: 41.059, lon: -74.022 },
  { name: "Stony Point", lat: 41.229, lon: -73.987 }
]
const STREETS = ["Main St", "Route 59", "Route 45", "College Rd", "Maple Ave", "Spook Rock Rd", "Route 9W", "Middletown Rd"]
const HEADINGS = ["northbound", "southbound", "eastbound", "westbound"]
const VEHICLE_TYPES = ["car", "car", "car", "suv", "suv", "truck", "van", "motorcycle"]
const VEHICLE_COLORS = ["white", "black", "silver", "grey", "blue", "red", "green", "brown"]
const VEHICLE_MAKES = ["Toyota", "Honda", "Ford", "Chevrolet", "Nissan", "Hyundai", "Subaru", "Tesla", "BMW", "Kia"]

const sqlText = (s: string) => `'${s.replace(/'/g, "''")}'`
const sqlArray = (items: ReadonlyArray<string>) => `ARRAY[${items.map(sqlText).join(", ")}]`

/**
 * The plate of pool rank r as one CASE expression, so that PostgreSQL inlines the function (a
 * function with a FROM clause is not inlined and costs 30 times more per row).
 */
const plateTextExpression = (): string => {
  const char = (kind: string, position: number) =>
    kind === "L"
      ? `bench.ch(${sqlText(LETTERS)}, r, ${position})`
      : kind === "D"
      ? `bench.ch(${sqlText(DIGITS)}, r, ${position})`
      : kind === "N"
      ? `bench.ch('123456789', r, ${position})`
      : sqlText(kind)
  let cumulative = 0
  const branches = PLATE_FORMATS.map(([share, format], i) => {
    cumulative += share
    const text = [...format].map((kind, position) => char(kind, position + 1)).join(" || ")
    return i === PLATE_FORMATS.length - 1 ? `ELSE ${text}` : `WHEN bench.h(r, 0) < ${cumulative.toFixed(4)} THEN ${text}`
  })
  return `CASE ${branches.join("\n    ")} END`
}

/** Helpers of the generator, in a schema of their own; `bench.meta` describes a finished data set. */
const GENERATOR_SQL = `
CREATE SCHEMA bench;
-- A uniform number in [0, 1) from (key, salt): what a plate of the pool looks like is fixed by its rank.
CREATE FUNCTION bench.h(k bigint, salt bigint) RETURNS double precision LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT (hashint8extended(k, salt) & 9007199254740991)::double precision / 9007199254740992.0 $$;
CREATE FUNCTION bench.ch(alphabet text, k bigint, salt bigint) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT substr(alphabet, 1 + floor(bench.h(k, salt) * length(alphabet))::int, 1) $$;
CREATE FUNCTION bench.plate_text(r bigint) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT ${plateTextExpression()} $$;
-- One OCR-confusable character, chosen by k, read as its look-alike.
CREATE FUNCTION bench.misread(t text, k bigint) RETURNS text LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  src constant text := '0O1IB85SZ2G6DL';
  dst constant text := 'O0I18BS52Z6G01';
  positions int[] := '{}';
  p int;
BEGIN
  FOR i IN 1..length(t) LOOP
    IF strpos(src, substr(t, i, 1)) > 0 THEN positions := positions || i; END IF;
  END LOOP;
  IF cardinality(positions) = 0 THEN RETURN t; END IF;
  p := positions[1 + floor(bench.h(k, 77) * cardinality(positions))::int];
  RETURN overlay(t PLACING translate(substr(t, p, 1), src, dst) FROM p FOR 1);
END
$$;
CREATE TABLE bench.cams (
  idx int PRIMARY KEY, id uuid NOT NULL, collector_id uuid NOT NULL, external_id text NOT NULL,
  mac text NOT NULL, name text NOT NULL, lat double precision NOT NULL, lon double precision NOT NULL
);
CREATE TABLE bench.meta (data jsonb NOT NULL);
`

interface DataSet {
  readonly rows: number
  readonly pool: number
  readonly cameras: number
  readonly days: number
  /** first and last day (local dates), and the instants they cover */
  readonly start: string
  readonly end: string
  readonly from: string
  readonly to: string
  readonly zipf: { readonly s: number; readonly q: number }
  readonly noise: number
  readonly generatedSeconds: number
  readonly loadSeconds: number
  readonly indexSeconds: number
  readonly vacuumSeconds: number
  readonly tableBytes: number
  readonly indexBytes: Readonly<Record<string, number>>
}

/**
 * One chunk: `$2` reads over days [$3, $3 + $4) after `$5`, sequence numbers from `$1`, sorted by time
 * as a live system stores them. Volatile random() values are drawn once per read (OFFSET 0 keeps the
 * planner from folding the levels together and drawing them again).
 */
const chunkSql = (pool: number, cameras: number) => {
  const perSite = cameras / SITES.length
  const a = Math.pow(ZIPF_Q + 0.5, 1 - ZIPF_S)
  const b = Math.pow(pool + 0.5 + ZIPF_Q, 1 - ZIPF_S)
  const pick = (items: ReadonlyArray<string>, salt: number) =>
    `(${sqlArray(items)})[1 + floor(bench.h(g.rank, ${salt}) * ${items.length})::int]`
  return `
WITH draws AS MATERIALIZED (
  SELECT $1::bigint + i AS seq, random() AS u_rank, random() AS u_cam, random() AS u_any, random() AS u_tod,
         sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) AS normal, random() AS u_flat,
         floor(random() * $4::int)::int AS day, random() < ${NOISE} AS noisy, random() AS u_conf,
         CASE WHEN random() < 0.5 THEN 'in' ELSE 'out' END AS direction, 1 + 4 * random() AS delay_s
    FROM generate_series(1, $2::int) i
), placed AS MATERIALIZED (
  SELECT seq, noisy, u_conf, direction, delay_s, u_cam, u_any, rank,
         ((($5::date + ($3::int + day))::timestamp + make_interval(secs => tod - 86400 * floor(tod / 86400)))
           AT TIME ZONE '${TIME_ZONE}') AS at
    FROM (
      SELECT *,
             least(${pool}, greatest(1, round(power(${a} - u_rank * (${a - b}), ${1 / (1 - ZIPF_S)}) - ${ZIPF_Q})))::bigint AS rank,
             CASE WHEN u_tod < 0.3 THEN 8 * 3600 + 4300 * normal
                  WHEN u_tod < 0.6 THEN 17.5 * 3600 + 5400 * normal
                  WHEN u_tod < 0.9 THEN 6 * 3600 + 16 * 3600 * u_flat
                  ELSE 86400 * u_flat END AS tod
        FROM draws OFFSET 0
    ) x
), reads AS (
  SELECT seq::text AS ref, rank, noisy, u_conf, direction, delay_s, at,
         CASE WHEN u_cam < 0.45 THEN floor(bench.h(rank, 31) * ${cameras})::int
              WHEN u_cam < 0.70 THEN floor(floor(bench.h(rank, 31) * ${cameras}) / ${perSite})::int * ${perSite}
                                     + floor(bench.h(rank, 32) * ${perSite})::int
              WHEN u_cam < 0.82 THEN floor(bench.h(rank, 33) * ${cameras})::int
              ELSE floor(u_any * ${cameras})::int END AS cam
    FROM placed
), companions AS (
  SELECT r.ref || 'f' AS ref, ${Math.floor(pool / 2)} + r.rank AS rank, false AS noisy, r.u_conf, r.direction, r.delay_s,
         r.at + make_interval(secs => 2 + 20 * random()) AS at, r.cam
    FROM reads r
   WHERE r.rank BETWEEN ${CONVOY_LEADERS.from} AND ${CONVOY_LEADERS.to} AND random() < ${CONVOY_LEADERS.share}
), texts AS (
  SELECT r.*, CASE WHEN r.noisy THEN bench.misread(bench.plate_text(r.rank), hashtext(r.ref)) ELSE bench.plate_text(r.rank) END AS text
    FROM (SELECT * FROM reads UNION ALL SELECT * FROM companions) r
), g AS (
  SELECT t.*, translate(t.text, '- ', '') AS plate,
         round((CASE WHEN t.noisy THEN 0.55 + 0.3 * t.u_conf ELSE 0.75 + 0.24 * t.u_conf END)::numeric, 3)::real AS confidence
    FROM texts t
)
INSERT INTO detections (collector_id, detection_id, camera_id, detected_at, received_at, plate_text, plate, plate_ocr,
                        confidence, direction, vehicle_type, vehicle_color, vehicle_make, lat, lon, raw)
SELECT c.collector_id, c.external_id || '-' || g.ref, c.id, g.at, g.at + make_interval(secs => g.delay_s), g.text, g.plate,
       translate(g.plate, 'OQDILZSGB', '000112568'), g.confidence, g.direction,
       ${pick(VEHICLE_TYPES, 21)}, ${pick(VEHICLE_COLORS, 22)}, ${pick(VEHICLE_MAKES, 23)}, c.lat, c.lon,
       jsonb_build_object(
         'detection_id', c.external_id || '-' || g.ref,
         'timestamp', to_char(g.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
         'camera', jsonb_build_object('id', c.external_id, 'mac', c.mac, 'name', c.name),
         'plate', jsonb_build_object('text', g.text, 'confidence', g.confidence),
         'vehicle', jsonb_build_object('direction', g.direction, 'type', ${pick(VEHICLE_TYPES, 21)},
                                       'color', ${pick(VEHICLE_COLORS, 22)}, 'make', ${pick(VEHICLE_MAKES, 23)}),
         'location', jsonb_build_object('lat', c.lat, 'lon', c.lon))
  FROM g JOIN bench.cams c ON c.idx = g.cam
 ORDER BY g.at`
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US")
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Collectors (one per site) and cameras, as a claimed collector's ingest would have created them. */
const createCameras = async (db: pg.Client, cameras: number) => {
  const perSite = cameras / SITES.length
  for (const [s, site] of SITES.entries()) {
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO collectors (name, status, hardware_id, hostname, edge_version, claimed_at, last_seen_at)
       VALUES ($1, 'active', $2, $3, 'bench', now() - interval '400 days', now()) RETURNING id`,
      [`${site.name} collector`, `bench-hw-${s + 1}`, `edge-${site.name.toLowerCase().replace(/\s+/g, "-")}`]
    )
    const collectorId = rows[0]!.id
    for (let j = 0; j < perSite; j++) {
      const idx = s * perSite + j
      // Within about a kilometre of the site's centre.
      const lat = site.lat + (Math.random() - 0.5) * 0.02
      const lon = site.lon + (Math.random() - 0.5) * 0.025
      const mac = ["02", ...Array.from({ length: 5 }, () => randomInt(256).toString(16).padStart(2, "0"))].join(":").toUpperCase()
      const name = `${STREETS[randomInt(STREETS.length)]} ${HEADINGS[randomInt(HEADINGS.length)]}`
      const externalId = `cam-${String(s + 1).padStart(2, "0")}-${String(j + 1).padStart(2, "0")}`
      const created = await db.query<{ id: string }>(
        `INSERT INTO cameras (collector_id, external_id, mac, name, site, lat, lon) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
        [collectorId, externalId, mac, name, site.name, lat, lon]
      )
      await db.query(
        "INSERT INTO bench.cams (idx, id, collector_id, external_id, mac, name, lat, lon) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        [idx, created.rows[0]!.id, collectorId, externalId, mac, name, lat, lon]
      )
    }
  }
}

interface IndexDef {
  readonly name: string
  /** pg_indexes.indexdef */
  readonly def: string
  readonly method: string
  /** for the index of a unique constraint: its definition, re-added with ALTER TABLE ... ADD CONSTRAINT */
  readonly constraint: string | null
  /** a foreign key depends on it (the primary key): it stays during the load */
  readonly referenced: boolean
}

/** Every index of `table`, exactly as the migrations created it. */
const indexesOf = async (db: pg.Client, table: string): Promise<ReadonlyArray<IndexDef>> =>
  (await db.query<IndexDef>(
    `SELECT x.indexname AS name, x.indexdef AS def, am.amname AS method, pg_get_constraintdef(k.oid) AS constraint,
            EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = ic.oid) AS referenced
       FROM pg_indexes x
       JOIN pg_class ic ON ic.relname = x.indexname AND ic.relnamespace = 'public'::regnamespace
       JOIN pg_am am ON am.oid = ic.relam
       LEFT JOIN pg_constraint k ON k.conindid = ic.oid AND k.conrelid = $1::text::regclass AND k.contype IN ('p', 'u', 'x')
      WHERE x.schemaname = 'public' AND x.tablename = $1::text
      ORDER BY x.indexname`,
    [table]
  )).rows

/** The indexes of the plates table other than its primary key (dropped for the load, built after it). */
const plateIndexes = async (db: pg.Client) => (await indexesOf(db, "plates")).filter((i) => i.constraint === null)

/** Polls index builds in this database every few seconds, until stopped; `building` names each session's index. */
const watchIndexBuilds = (url: string, building: ReadonlyMap<number, string>) => {
  let stopped = false
  const done = (async () => {
    const db = await connect(url)
    try {
      while (!stopped) {
        await sleep(5_000)
        if (stopped) break
        const { rows } = await db.query<{ pid: number; phase: string; blocks: string | null; tuples: string | null }>(
          `SELECT p.pid, p.phase,
                  CASE WHEN p.blocks_total > 0 THEN round(100.0 * p.blocks_done / p.blocks_total) END AS blocks,
                  CASE WHEN p.tuples_total > 0 THEN round(100.0 * p.tuples_done / p.tuples_total) END AS tuples
             FROM pg_stat_progress_create_index p WHERE p.datname = current_database()`
        )
        if (rows.length > 0) {
          progress(`  building: ${rows.map((r) =>
            `${building.get(r.pid) ?? "an index"} (${r.phase}${r.blocks !== null ? `, blocks ${r.blocks}%` : ""}${r.tuples !== null ? `, tuples ${r.tuples}%` : ""})`
          ).join("; ")}`)
        }
      }
    } finally {
      await db.end()
    }
  })()
  return async () => {
    stopped = true
    await done.catch(() => undefined)
  }
}

const generate = async (
  url: string,
  settings: { rows: number; pool: number; cameras: number; days: number; chunk: number },
  stop: AbortSignal
): Promise<DataSet> => {
  const started = performance.now()
  const db = await connect(url)
  try {
    await db.query(GENERATOR_SQL)
    await createCameras(db, settings.cameras)
    const { rows: [range] } = await db.query<{ start: string; end: string; from: number; to: number }>(
      `SELECT to_char(s, 'YYYY-MM-DD') AS start, to_char(e, 'YYYY-MM-DD') AS end,
              extract(epoch FROM s::timestamp AT TIME ZONE '${TIME_ZONE}')::float8 AS from,
              extract(epoch FROM (e + 1)::timestamp AT TIME ZONE '${TIME_ZONE}')::float8 AS to
         FROM (SELECT (now() AT TIME ZONE '${TIME_ZONE}')::date - $1::int AS s, (now() AT TIME ZONE '${TIME_ZONE}')::date - 1 AS e) d`,
      [settings.days]
    )

    // The days' months get their partitions first, as ingest gets its months'.
    await makeReadMonths(db, new Date(range.from * 1000), new Date(range.to * 1000))

    const before = await indexesOf(db, "detections")
    const indexes = before.filter((i) => !i.referenced)
    progress(`dropping ${indexes.length} of the ${before.length} indexes of detections for the load (rebuilt from these definitions):`)
    for (const index of indexes) progress(`  ${index.constraint === null ? index.def : `CONSTRAINT ${index.name} ${index.constraint}`}`)
    for (const index of indexes) {
      await db.query(index.constraint === null ? `DROP INDEX ${index.name}` : `ALTER TABLE detections DROP CONSTRAINT ${index.name}`)
    }
    // The distinct plates are filled after the load (the load skips triggers), their indexes built then.
    const platesBefore = await plateIndexes(db)
    for (const index of platesBefore) progress(`  ${index.def}`)
    for (const index of platesBefore) await db.query(`DROP INDEX ${index.name}`)

    // One session per core, each loading half of every chunk (same days, so the table stays in time order).
    const sessions = await Promise.all(Array.from({ length: LOAD_SESSIONS }, async () => {
      const client = await connect(url)
      // Rows are generated valid (every camera belongs to its collector; checked below), so the load
      // skips the foreign-key triggers for these sessions only; the table's definition is untouched.
      await client.query("SET session_replication_role = replica")
      await client.query("SET work_mem = '256MB'")
      // The generator's inlined functions look expensive to the planner; compiling them costs more than running them.
      await client.query("SET jit = off")
      return client
    }))
    const sql = chunkSql(settings.pool, settings.cameras)
    const chunks = Math.max(1, Math.min(settings.days, Math.ceil(settings.rows / settings.chunk)))
    const loadStarted = performance.now()
    let lastReport = 0
    let inserted = 0
    let base = 0
    try {
      for (let k = 0; k < chunks; k++) {
        if (stop.aborted) throw new Interrupted("interrupted")
        const day0 = Math.floor((k * settings.days) / chunks)
        const day1 = Math.floor(((k + 1) * settings.days) / chunks)
        const want = k === chunks - 1 ? settings.rows - base : Math.round((settings.rows * (day1 - day0)) / settings.days)
        const shares = sessions.map((_, i) => Math.floor((want * (i + 1)) / sessions.length) - Math.floor((want * i) / sessions.length))
        const results = await Promise.all(sessions.map((client, i) =>
          client.query(sql, [base + shares.slice(0, i).reduce((a, b) => a + b, 0), shares[i], day0, day1 - day0, range!.start])
        ))
        base += want
        inserted += results.reduce((n, r) => n + (r.rowCount ?? 0), 0)
        const now = performance.now()
        if (now - lastReport > 3_000 || k === chunks - 1) {
          lastReport = now
          const rate = base / ((now - loadStarted) / 1000)
          progress(
            `  loaded ${fmt(inserted)} rows (${((100 * base) / settings.rows).toFixed(0)}% of ${fmt(settings.rows)} reads, ` +
              `day ${day1}/${settings.days}), ${fmt(rate)} rows/s, ETA ${((settings.rows - base) / rate).toFixed(0)} s (load only)`
          )
        }
      }
    } finally {
      await Promise.all(sessions.map((client) => client.end()))
    }
    const loadSeconds = (performance.now() - loadStarted) / 1000
    progress(`loaded ${fmt(inserted)} rows in ${loadSeconds.toFixed(0)} s; checking the foreign key and the plate keys`)

    const { rows: [orphans] } = await db.query<{ n: string }>(
      `SELECT count(*) AS n FROM detections d
        WHERE NOT EXISTS (SELECT 1 FROM cameras c WHERE c.id = d.camera_id AND c.collector_id = d.collector_id)`
    )
    if (Number(orphans!.n) !== 0) throw new Error(`${orphans!.n} detections whose camera is not their collector's`)
    const sample = await db.query<{ plate_text: string; plate: string; plate_ocr: string }>(
      "SELECT plate_text, plate, plate_ocr FROM detections TABLESAMPLE SYSTEM (1) LIMIT 20000"
    )
    const wrong = sample.rows.filter((r) => normalizePlate(r.plate_text) !== r.plate || ocrKey(r.plate_text) !== r.plate_ocr)
    if (wrong.length > 0) {
      throw new Error(`plate keys differ from packages/domain/src/Plate.ts, e.g. ${JSON.stringify(wrong.slice(0, 3))}`)
    }
    progress(`  ok: no orphan reads; plate and plate_ocr of ${fmt(sample.rows.length)} sampled reads match normalizePlate and ocrKey`)

    const platesStarted = performance.now()
    progress("filling plates: what the trigger on detections does at each insert, here once after the load")
    await db.query("SET work_mem = '256MB'")
    const { rowCount: distinctPlates } = await db.query("INSERT INTO plates (plate) SELECT DISTINCT plate FROM detections ORDER BY plate")
    progress(`  ${fmt(distinctPlates ?? 0)} distinct plates in ${((performance.now() - platesStarted) / 1000).toFixed(0)} s`)
    // Each plate's months (sql/0023), which the trigger notes alongside; a server from before has none.
    const { rows: [monthsTable] } = await db.query<{ exists: boolean }>("SELECT to_regclass('plate_months') IS NOT NULL AS exists")
    if (monthsTable!.exists) {
      const monthsStarted = performance.now()
      const { rowCount: plateMonths } = await db.query(
        "INSERT INTO plate_months (plate, month) SELECT DISTINCT plate, read_month(detected_at) FROM detections ORDER BY 1, 2"
      )
      progress(`  ${fmt(plateMonths ?? 0)} plates' months in ${((performance.now() - monthsStarted) / 1000).toFixed(0)} s`)
    }

    const indexStarted = performance.now()
    progress(`rebuilding ${indexes.length + platesBefore.length} indexes (GIN in one session, the others in a second: two cores)`)
    const building = new Map<number, string>()
    const stopWatching = watchIndexBuilds(url, building)
    const lane = async (defs: ReadonlyArray<IndexDef>) => {
      const client = await connect(url)
      try {
        const { rows: [backend] } = await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")
        await client.query("SET maintenance_work_mem = '1GB'")
        await client.query("SET max_parallel_maintenance_workers = 0")
        for (const index of defs) {
          if (stop.aborted) throw new Interrupted("interrupted")
          const t0 = performance.now()
          building.set(backend!.pid, index.name)
          await client.query(
            // A partitioned table's index is described as "ON ONLY" the parent; built so, its
            // partitions would get none.
            index.constraint === null ? index.def.replace(" ON ONLY ", " ON ") : `ALTER TABLE detections ADD CONSTRAINT ${index.name} ${index.constraint}`
          )
          progress(`  built ${index.name} in ${((performance.now() - t0) / 1000).toFixed(0)} s`)
        }
      } finally {
        await client.end()
      }
    }
    try {
      const all = [...indexes, ...platesBefore]
      await Promise.all([lane(all.filter((i) => i.method === "gin")), lane(all.filter((i) => i.method !== "gin"))])
    } finally {
      await stopWatching()
    }
    const after = await indexesOf(db, "detections")
    const platesAfter = await plateIndexes(db)
    const same = after.length === before.length &&
      after.every((x, i) => x.name === before[i]!.name && x.def === before[i]!.def && x.constraint === before[i]!.constraint) &&
      platesAfter.length === platesBefore.length && platesAfter.every((x, i) => x.def === platesBefore[i]!.def)
    if (!same) throw new Error(`the rebuilt indexes differ from the migrations': ${JSON.stringify(after)}`)
    const indexSeconds = (performance.now() - indexStarted) / 1000

    // What autovacuum would have done on a live system by now: visibility map, hint bits, statistics.
    progress("VACUUM (ANALYZE) detections")
    const vacuumStarted = performance.now()
    await db.query("VACUUM (ANALYZE) detections")
    await db.query("VACUUM (ANALYZE) plates")
    if (monthsTable!.exists) await db.query("VACUUM (ANALYZE) plate_months")
    await db.query("ANALYZE cameras")
    await db.query("ANALYZE collectors")
    const vacuumSeconds = (performance.now() - vacuumStarted) / 1000

    const { rows: sizes } = await db.query<{ name: string; bytes: string }>(
      `SELECT c.relname AS name, pg_relation_size(c.oid) AS bytes FROM pg_class c
        WHERE c.oid IN ('detections'::regclass, 'plates'::regclass)
           OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid IN ('detections'::regclass, 'plates'::regclass))`
    )
    const data: DataSet = {
      rows: inserted,
      pool: settings.pool,
      cameras: settings.cameras,
      days: settings.days,
      start: range!.start,
      end: range!.end,
      from: new Date(range!.from * 1000).toISOString(),
      to: new Date(range!.to * 1000).toISOString(),
      zipf: { s: ZIPF_S, q: ZIPF_Q },
      noise: NOISE,
      generatedSeconds: (performance.now() - started) / 1000,
      loadSeconds,
      indexSeconds,
      vacuumSeconds,
      tableBytes: Number(sizes.find((s) => s.name === "detections")?.bytes ?? Number.NaN),
      indexBytes: Object.fromEntries(sizes.filter((s) => s.name !== "detections").map((s) => [s.name, Number(s.bytes)]))
    }
    await db.query("INSERT INTO bench.meta (data) VALUES ($1)", [JSON.stringify(data)])
    return data
  } finally {
    await db.end()
  }
}

const describeDataSet = async (db: pg.Client, data: DataSet) => {
  progress(
    `data set: ${fmt(data.rows)} detections, ${data.cameras} cameras at ${SITES.length} sites, ${data.start} to ${data.end} ` +
      `(${data.days} days), pool of ${fmt(data.pool)} plates, Zipf s=${data.zipf.s} q=${data.zipf.q}, ${data.noise * 100}% misreads`
  )
  progress(
    `  table ${mib(data.tableBytes)}; indexes ${Object.entries(data.indexBytes).map(([n, b]) => `${n} ${mib(b)}`).join(", ")}`
  )
  const { rows: [stats] } = await db.query<{ plates: string; top: string; over1000: string; once: string }>(
    `WITH per AS (SELECT plate, count(*) AS n FROM detections GROUP BY plate)
     SELECT count(*) AS plates, max(n) AS top, count(*) FILTER (WHERE n >= 1000) AS over1000,
            count(*) FILTER (WHERE n = 1) AS once
       FROM per`
  )
  progress(
    `  ${fmt(Number(stats!.plates))} distinct plates read; busiest ${fmt(Number(stats!.top))} reads; ` +
      `${fmt(Number(stats!.over1000))} plates with 1,000+ reads; ${fmt(Number(stats!.once))} read once`
  )
}

// ---------------------------------------------------------------------------------------------
// Query plates

interface Query {
  readonly mode: Mode | "camera window" | "timeline" | "convoy"
  /** busy (1,000+ reads), rare, or the shape of a partial pattern */
  readonly kind: string
  /** what the operator types */
  readonly plate: string
  /** the plate it was made from */
  readonly source: string
  /** camera window only: the camera and the window browsed */
  readonly window?: { readonly camera: string; readonly from: string; readonly to: string }
}

const shuffle = <A>(items: Array<A>): Array<A> => {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomInt(i + 1)
    ;[items[i], items[j]] = [items[j]!, items[i]!]
  }
  return items
}

/** Pool ranks whose plates were read in the data, with how often (the pool is fixed by rank). */
const platesByRank = async (db: pg.Client, ranks: ReadonlyArray<number>) =>
  (await db.query<{ rank: string; plate_text: string; plate: string; n: string }>(
    `SELECT r.rank, bench.plate_text(r.rank) AS plate_text, p.plate, p.n
       FROM unnest($1::bigint[]) AS r(rank)
       CROSS JOIN LATERAL (SELECT translate(bench.plate_text(r.rank), '- ', '') AS plate) k
       CROSS JOIN LATERAL (SELECT k.plate, count(*) AS n FROM detections d WHERE d.plate = k.plate) p`,
    [ranks]
  )).rows.map((r) => ({ rank: Number(r.rank), plateText: r.plate_text, plate: r.plate, reads: Number(r.n) }))

type Source = Awaited<ReturnType<typeof platesByRank>>[number]

/** Busy plates (the most read ones, 1,000+ reads at full size) and rare ones (read 1 to 20 times). */
const pickSources = async (db: pg.Client, data: DataSet, needed: number) => {
  const busyCandidates = await platesByRank(db, Array.from({ length: Math.min(1_500, data.pool) }, (_, i) => i + 1))
  const threshold = data.rows >= 5_000_000 ? 1_000 : Math.max(20, Math.round((1_000 * data.rows) / 10_000_000))
  const busy = busyCandidates.filter((s) => s.reads >= threshold)
  const rare: Array<Source> = []
  for (let attempt = 0; rare.length < needed && attempt < 20; attempt++) {
    const ranks = Array.from({ length: needed * 2 }, () => Math.floor(data.pool / 50) + randomInt(data.pool - Math.floor(data.pool / 50)))
    rare.push(...(await platesByRank(db, ranks)).filter((s) => s.reads >= 1 && s.reads <= 20))
  }
  // Plates between 1,000 and 5,000 reads: a timeline long enough to matter, as the issue asks.
  const timeline = busy.filter((s) => s.reads >= threshold && s.reads <= 5 * threshold)
  progress(
    `query plates: ${busy.length} busy (${threshold}+ reads, up to ${fmt(busy[0]?.reads ?? 0)}), ${rare.length} rare (1-20 reads)`
  )
  if (busy.length === 0 || rare.length === 0) throw new Error("the data set is too small to pick query plates from")
  return { busy: shuffle(busy), rare: shuffle(rare), timeline: shuffle(timeline.length > 0 ? timeline : busy) }
}

const CONFUSABLE: Readonly<Record<string, string>> = {
  "0": "O", O: "0", "1": "I", I: "1", B: "8", "8": "B", "5": "S", S: "5", Z: "2", "2": "Z", G: "6", "6": "G", D: "0", L: "1"
}
const ALNUM = LETTERS + DIGITS

/** An operator types a plate as they read it: one confusable character swapped when there is one. */
const misread = (text: string): string => {
  const positions = [...text].flatMap((c, i) => (CONFUSABLE[c] !== undefined ? [i] : []))
  if (positions.length === 0) return text
  const p = positions[randomInt(positions.length)]!
  return text.slice(0, p) + CONFUSABLE[text[p]!]! + text.slice(p + 1)
}

/** Partial patterns of 3 or 4 known characters, as a witness remembers them. */
const PARTIAL_KINDS = ["2+1 (K3*9)", "3+1 (K3X*9)", "4 (K3X9)"] as const
const partialPattern = (plate: string, kind: (typeof PARTIAL_KINDS)[number]): string => {
  const n = plate.length
  switch (kind) {
    case "2+1 (K3*9)": {
      const i = randomInt(n - 3)
      return `${plate.slice(i, i + 2)}*${plate[i + 3 + randomInt(n - i - 3)]}`
    }
    case "3+1 (K3X*9)": {
      const i = randomInt(n - 4)
      return `${plate.slice(i, i + 3)}*${plate[i + 4 + randomInt(n - i - 4)]}`
    }
    case "4 (K3X9)": {
      const i = randomInt(n - 3)
      return plate.slice(i, i + 4)
    }
  }
}

/** One edit away: a character replaced, dropped or added. */
const oneEdit = (plate: string): string => {
  const p = randomInt(plate.length)
  const other = (c: string | undefined) => {
    for (;;) {
      const x = ALNUM[randomInt(ALNUM.length)]!
      if (x !== c) return x
    }
  }
  switch (randomInt(3)) {
    case 0:
      return plate.slice(0, p) + other(plate[p]) + plate.slice(p + 1)
    case 1:
      return plate.slice(0, p) + plate.slice(p + 1)
    default:
      return plate.slice(0, p) + other(undefined) + plate.slice(p)
  }
}

/** `count` queries of a mode: busy and rare plates alternating, each plate once while there are enough. */
const makeQueries = (mode: Mode, count: number, sources: { busy: Array<Source>; rare: Array<Source> }): Array<Query> => {
  const out: Array<Query> = []
  for (let i = 0; i < count; i++) {
    const busy = i % 2 === 0
    const list = busy ? sources.busy : sources.rare
    // Plates go back to the far end of the list once used, so a small data set can still run many queries.
    const source = list.pop()!
    list.unshift(source)
    const kind = busy ? "busy" : "rare"
    switch (mode) {
      case "exact":
        out.push({ mode, kind, plate: source.plateText, source: source.plate })
        break
      case "ocr":
        out.push({ mode, kind, plate: misread(source.plateText), source: source.plate })
        break
      case "partial": {
        const shape = PARTIAL_KINDS[i % PARTIAL_KINDS.length]!
        out.push({ mode, kind: shape, plate: partialPattern(source.plate, shape), source: source.plate })
        break
      }
      case "fuzzy":
        out.push({ mode, kind, plate: oneEdit(source.plate), source: source.plate })
        break
    }
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// Measuring through HTTP

interface Client {
  readonly url: string
  readonly cookie: string
  readonly stop: AbortSignal
}

/** A kind of request: the path (with query string) for a query, and how many results an answer holds. */
interface Probe {
  readonly name: string
  readonly path: (query: Query) => string
  readonly items: (body: unknown) => number
}

interface Timed {
  readonly query: Query
  readonly ms: number
  readonly items: number
}

const getJson = async (client: Client, path: string) => {
  const start = performance.now()
  const response = await fetch(`${client.url}${path}`, {
    headers: { cookie: client.cookie },
    signal: AbortSignal.any([AbortSignal.timeout(120_000), client.stop])
  })
  const text = await response.text()
  const ms = performance.now() - start
  if (response.status !== 200) throw new Error(`GET ${path}: ${response.status} ${text.slice(0, 300)}`)
  return { ms, body: JSON.parse(text) as unknown }
}

const searchProbe = (mode: Mode): Probe => ({
  name: mode,
  path: (query) => `/api/v1/detections?${new URLSearchParams({ plate: query.plate, mode, reason_code: "audit", reason: "bench" })}`,
  items: (body) => (body as { items: ReadonlyArray<unknown> }).items.length
})

/** GET /api/v1/detections?camera=&from=&to= without a plate: one camera's reads in a window, newest first. */
const cameraWindowProbe: Probe = {
  name: "camera_window",
  path: (query) =>
    `/api/v1/detections?${new URLSearchParams({ ...query.window!, limit: "50", reason_code: "audit", reason: "bench" })}`,
  items: (body) => (body as { items: ReadonlyArray<unknown> }).items.length
}

/** The cameras' ids and names, for camera window queries. */
const benchCameras = async (db: pg.Client) =>
  (await db.query<{ id: string; name: string }>("SELECT id, coalesce(name, external_id) AS name FROM cameras ORDER BY name")).rows

/** A camera and a 10-minute window starting anywhere in the data's span, each query a fresh draw. */
const cameraWindows = (cameras: ReadonlyArray<{ id: string; name: string }>, data: DataSet, count: number): Array<Query> => {
  const from = Date.parse(data.from)
  const span = Date.parse(data.to) - from - 10 * 60_000
  return Array.from({ length: count }, () => {
    const camera = cameras[randomInt(cameras.length)]!
    const start = from + Math.floor(Math.random() * Math.max(span, 0))
    const window = { camera: camera.id, from: new Date(start).toISOString(), to: new Date(start + 10 * 60_000).toISOString() }
    return {
      mode: "camera window",
      kind: "10min (one camera)",
      plate: `${camera.name} ${window.from}`,
      source: "no plate",
      window
    }
  })
}

/** The path of an investigation endpoint (`/api/v1/plates/:plate/timeline`), if the contract has it. */
const investigationEndpoint = (suffix: "timeline" | "convoy") => {
  for (const group of Object.values(AlprApi.groups) as unknown as ReadonlyArray<HttpApiGroup.HttpApiGroup.AnyWithProps>) {
    for (const endpoint of Object.values(group.endpoints) as ReadonlyArray<HttpApiEndpoint.HttpApiEndpoint.AnyWithProps>) {
      if (endpoint.method === "GET" && endpoint.path === `/api/v1/plates/:plate/${suffix}`) return endpoint.path
    }
  }
  return undefined
}

const platePath = (path: string, plate: string) => path.replace(":plate", encodeURIComponent(plate))

/** GET /api/v1/plates/{plate}/timeline?from=&to=&reason= : every read of the plate in the range. */
const timelineProbe = (path: string, range: { from: string; to: string }): Probe => ({
  name: "timeline",
  path: (query) => `${platePath(path, query.plate)}?${new URLSearchParams({ ...range, reason_code: "audit", reason: "bench" })}`,
  items: (body) => (body as { total?: number }).total ?? Number.NaN
})

/** GET /api/v1/plates/{plate}/convoy?from=&to=&window_s=&min_cameras=&reason= : plates travelling with it. */
const convoyProbe = (path: string, settings: { from: string; to: string; windowS: number; minCameras: number }): Probe => ({
  name: "convoy",
  path: (query) =>
    `${platePath(path, query.plate)}?${new URLSearchParams({
      from: settings.from,
      to: settings.to,
      window_s: String(settings.windowS),
      min_cameras: String(settings.minCameras),
      reason_code: "audit",
      reason: "bench"
    })}`,
  items: (body) => (body as { items?: ReadonlyArray<unknown> }).items?.length ?? Number.NaN
})

interface Measured {
  readonly probe: Probe
  readonly timed: ReadonlyArray<Timed>
}

interface Context {
  readonly server: ServerProcess
  readonly db: pg.Client
  readonly stop: AbortSignal
  readonly client: Client
  readonly trace: boolean
  /** seconds of measured queries per query type */
  readonly budget: number
}

const loadAverage = () => Os.loadavg().map((l) => l.toFixed(2)).join(" ")

/** Runs `queries` one after another after `warmup` of them, with the machine's busyness over the measured part. */
const measure = async (probe: Probe, warmup: ReadonlyArray<Query>, queries: ReadonlyArray<Query>, ctx: Context): Promise<Measured> => {
  const name = probe.name
  progress(
    `${name}: ${warmup.length} warm-up queries, then ${queries.length} measured (sequential, at most ${ctx.budget} s); ` +
      `load average ${loadAverage()}`
  )
  const warmupStarted = performance.now()
  for (const query of warmup) {
    if (ctx.stop.aborted) throw new Interrupted("interrupted")
    await getJson(ctx.client, probe.path(query))
    if (performance.now() - warmupStarted > (ctx.budget * 1000) / 5) break
  }
  const pids = (await ctx.db.query<{ pid: number }>(
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() OR datname IS NULL"
  )).rows.map((r) => r.pid)
  if (ctx.trace) await ctx.server.snapshot()
  const before = cpuSnapshot(ctx.server.pid, pids)
  const timed: Array<Timed> = []
  const started = performance.now()
  let lastReport = started
  for (const [i, query] of queries.entries()) {
    if (ctx.stop.aborted) throw new Interrupted("interrupted")
    if (performance.now() - started > ctx.budget * 1000) {
      progress(`  ${name}: time budget of ${ctx.budget} s spent after ${i} of ${queries.length} queries`)
      break
    }
    const { ms, body } = await getJson(ctx.client, probe.path(query))
    timed.push({ query, ms, items: probe.items(body) })
    if (performance.now() - lastReport > 5_000) {
      lastReport = performance.now()
      progress(`  ${name}: ${i + 1}/${queries.length}`)
    }
  }
  const cores = coresBetween(before, cpuSnapshot(ctx.server.pid, pids))
  const spans = ctx.trace ? await ctx.server.snapshot() : undefined
  const sorted = timed.map((t) => t.ms).sort((a, b) => a - b)
  const target = (TARGETS as Record<string, number>)[name]
  const p95 = quantile(sorted, 0.95)
  emit(`search.${name}.p50_ms`, quantile(sorted, 0.5), "ms")
  emit(`search.${name}.p95_ms`, p95, "ms")
  emit(`search.${name}.p99_ms`, quantile(sorted, 0.99), "ms")
  emit(`search.${name}.max_ms`, sorted.at(-1) ?? Number.NaN, "ms")
  emit(`search.${name}.queries`, sorted.length, "count")
  if (target !== undefined) {
    emit(`search.${name}.target_p95_ms`, target, "ms")
    emit(`search.${name}.target_met`, p95 < target ? 1 : 0, "bool")
  }
  for (const kind of [...new Set(timed.map((t) => t.query.kind))]) {
    const of = timed.filter((t) => t.query.kind === kind)
    const ms = of.map((t) => t.ms).sort((a, b) => a - b)
    emit(`search.${name}.${kindKey(kind)}.p95_ms`, quantile(ms, 0.95), "ms")
    progress(
      `  ${name} ${kind}: ${of.length} queries, p50 ${quantile(ms, 0.5).toFixed(1)} ms, p95 ${quantile(ms, 0.95).toFixed(1)} ms, ` +
        `p99 ${quantile(ms, 0.99).toFixed(1)} ms, max ${ms.at(-1)!.toFixed(1)} ms; ` +
        `mean ${(of.reduce((n, t) => n + t.items, 0) / of.length).toFixed(1)} results per answer`
    )
  }
  emit(`search.${name}.cpu.server`, cores.server, "cores")
  emit(`search.${name}.cpu.postgres`, cores.postgres, "cores")
  emit(`search.${name}.cpu.other`, cores.other, "cores")
  emit(`search.${name}.cpu.machine`, cores.machine, "cores")
  progress(
    `  ${name}: machine busy ${cores.machine.toFixed(2)} of ${Os.cpus().length} cores ` +
      `(server ${cores.server.toFixed(2)}, postgres ${cores.postgres.toFixed(2)}, bench ${cores.bench.toFixed(2)}, ` +
      `other processes ${cores.other.toFixed(2)}); load average ${loadAverage()}` +
      (target === undefined ? "" : `; target p95 < ${target} ms ${p95 < target ? "MET" : "MISSED"}`)
  )
  if (spans) printSpans(name, spans, queries.length)
  return { probe, timed }
}

/** `2+1 (K3*9)` -> `2_1`: a metric name part. */
const kindKey = (kind: string) => kind.split(" ")[0]!.replace(/\+/g, "_")

/** The server's span timings over one query type (--trace): where a request's time goes. */
const printSpans = (name: string, figures: ServerSnapshot, requests: number) => {
  const table = spanTable(figures.spans, requests, "per request", 15)
  if (table !== undefined) progress(`  ${name}: server spans (ms; self = without child spans)\n${table}`)
}

// ---------------------------------------------------------------------------------------------
// EXPLAIN: what the server really ran, captured from a second instance of it in this process

const compact = (sql: string) => sql.replace(/\s+/g, " ").trim()
const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max)}... (${text.length} chars)` : text)

const explain = async (db: pg.Client, statement: CapturedStatement, setup: ReadonlyArray<CapturedStatement>) => {
  await db.query("BEGIN")
  try {
    // As the server's own connections run (withSessionSettings in packages/server/src/db/Database.ts).
    await db.query("SET LOCAL jit = off")
    for (const s of setup) await db.query(s.sql, s.params as Array<unknown>)
    const { rows } = await db.query<{ "QUERY PLAN": string }>(
      `EXPLAIN (ANALYZE, BUFFERS) ${statement.sql}`,
      statement.params as Array<unknown>
    )
    return rows.map((r) => r["QUERY PLAN"]).join("\n")
  } finally {
    await db.query("ROLLBACK")
  }
}

/**
 * For the slowest measured query of each kind: the same request again, to a server in this process
 * that records its SQL; each statement of it that reads detections under EXPLAIN (ANALYZE, BUFFERS),
 * with the transaction-local settings (set_config) the server made before it.
 */
const explainSlowest = async (capture: CapturingServer, client: Client, db: pg.Client, measured: Measured) => {
  for (const kind of [...new Set(measured.timed.map((t) => t.query.kind))]) {
    const slowest = measured.timed.filter((t) => t.query.kind === kind).reduce((a, b) => (b.ms > a.ms ? b : a))
    const { result, statements } = await capture.capture(() =>
      getJson({ ...client, url: capture.url }, measured.probe.path(slowest.query))
    )
    const setup = statements.filter((s) => /\bset_config\s*\(/i.test(s.sql))
    const reads = statements.filter((s) => /^\s*(SELECT|WITH)\b/i.test(s.sql) && /\bdetections\b/.test(s.sql))
    progress(
      `EXPLAIN ${measured.probe.name} ${kind}: slowest measured query "${slowest.query.plate}" (from ${slowest.query.source}), ` +
        `${slowest.ms.toFixed(1)} ms over HTTP, ${slowest.items} results; again now: ${result.ms.toFixed(1)} ms; ` +
        `the request ran ${statements.length} statements, ${reads.length} reading detections`
    )
    for (const [i, statement] of reads.slice(0, 4).entries()) {
      const plan = await explain(db, statement, setup)
      progress(
        `  statement ${i + 1}/${reads.length}: ${clip(compact(statement.sql), 2_500)}\n` +
          `  parameters ${clip(JSON.stringify(statement.params), 400)}\n${plan}`
      )
    }
  }
}

// ---------------------------------------------------------------------------------------------

/** An operator and a session of theirs, inserted directly (sign-in with TOTP is not what is measured). */
/** Cluster settings that decide how much of the table stays in memory and what plans cost. */
const describeServer = async (db: pg.Client) => {
  const { rows } = await db.query<{ name: string; setting: string; unit: string | null }>(
    `SELECT name, setting, unit FROM pg_settings WHERE name IN ('shared_buffers', 'work_mem', 'effective_cache_size',
       'random_page_cost', 'max_parallel_workers_per_gather', 'jit', 'effective_io_concurrency') ORDER BY name`
  )
  const { rows: [version] } = await db.query<{ v: string }>("SELECT current_setting('server_version') AS v")
  progress(`PostgreSQL ${version!.v}: ${rows.map((r) => `${r.name}=${r.setting}${r.unit ?? ""}`).join(", ")}`)
  progress(`machine: ${Os.cpus().length} CPUs, ${(Os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ` +
    `${(Os.freemem() / 2 ** 30).toFixed(1)} GiB free; load average ${loadAverage()}`)
}

/** The queries of each probe: searches of busy and rare plates, timelines of busy plates, convoys of followed ones. */
const planQueries = (
  sources: Awaited<ReturnType<typeof pickSources>>,
  cameras: ReadonlyArray<{ id: string; name: string }>,
  data: DataSet,
  perProbe: number
): Array<{ probe: Probe; queries: Array<Query> }> => {
  const out = MODES.map((mode) => ({ probe: searchProbe(mode), queries: makeQueries(mode, perProbe, sources) }))
  out.push({ probe: cameraWindowProbe, queries: cameraWindows(cameras, data, perProbe) })
  const timelinePath = investigationEndpoint("timeline")
  if (timelinePath === undefined) {
    progress("timeline: GET /api/v1/plates/{plate}/timeline is not in packages/domain/src/Api.ts; not measured (timelineProbe is ready)")
  } else {
    out.push({
      probe: timelineProbe(timelinePath, { from: data.from, to: data.to }),
      queries: Array.from({ length: perProbe }, (_, i) => {
        const s = sources.timeline[i % sources.timeline.length]!
        return { mode: "timeline", kind: "busy", plate: s.plateText, source: `${s.plate}, ${s.reads} reads in the year` }
      })
    })
  }
  const convoyPath = investigationEndpoint("convoy")
  if (convoyPath === undefined) {
    progress("convoy: GET /api/v1/plates/{plate}/convoy is not in packages/domain/src/Api.ts; not measured (convoyProbe is ready)")
  } else {
    // Plates a companion follows (so that there is a convoy to find) alternating with other busy ones.
    const leaders = sources.busy.filter((s) => s.rank >= CONVOY_LEADERS.from && s.rank <= CONVOY_LEADERS.to)
    const others = sources.busy.filter((s) => !leaders.includes(s))
    const subjects = others.flatMap((other, i) => (leaders.length > 0 ? [leaders[i % leaders.length]!, other] : [other]))
    const to = data.to
    const from = new Date(Date.parse(to) - 30 * 86_400_000).toISOString()
    out.push({
      probe: convoyProbe(convoyPath, { from, to, windowS: 60, minCameras: 2 }),
      queries: Array.from({ length: perProbe }, (_, i) => {
        const s = subjects[i % subjects.length]!
        return { mode: "convoy", kind: leaders.includes(s) ? "followed" : "busy", plate: s.plateText, source: `${s.plate}, ${s.reads} reads in the year` }
      })
    })
  }
  return out
}

export const main = async (argv: ReadonlyArray<string>): Promise<void> => {
  const values = parseArgs(argv, options)
  const rows = numberOption(values, "rows", { min: 10_000, integer: true })
  const settings = {
    rows,
    pool: values.has("plates") ? numberOption(values, "plates", { min: 1_000, integer: true }) : Math.max(1_000, Math.floor(rows / 5)),
    cameras: numberOption(values, "cameras", { min: SITES.length, integer: true }),
    days: numberOption(values, "days", { min: 1, integer: true }),
    chunk: numberOption(values, "chunk", { min: 1_000, integer: true })
  }
  if (settings.cameras % SITES.length !== 0) throw new UsageError(`--cameras must be a multiple of ${SITES.length}`)
  const queries = numberOption(values, "queries", { min: 1, integer: true })
  const warmup = numberOption(values, "warmup", { min: 0, integer: true })
  const budget = numberOption(values, "budget", { min: 1 })
  const keep = values.has("keep")
  const reuse = values.get("reuse-db")
  const generateOnly = values.has("generate-only")
  const trace = values.has("trace")
  const only = values.get("only")?.split(",").map((x) => x.trim()).filter((x) => x !== "")
  const known = [...MODES, "camera_window", "timeline", "convoy"]
  for (const name of only ?? []) {
    if (!known.includes(name)) throw new UsageError(`--only takes ${known.join(", ")} (got "${name}")`)
  }
  if (reuse !== undefined && !/^[a-z_][a-z0-9_]*$/.test(reuse)) throw new UsageError("--reuse-db takes a database name")

  const { cleanups, signal: stop, close } = runScope()
  try {
    const admin = adminUrl()
    let databaseUrl: string
    let generated = false
    if (reuse !== undefined) {
      const url = new URL(admin)
      url.pathname = `/${reuse}`
      databaseUrl = url.toString()
      progress(`reusing database ${reuse} on ${url.host}`)
    } else {
      const database = await freshDatabase(admin)
      databaseUrl = database.url
      generated = true
      progress(`database ${database.name} on ${new URL(admin).host}`)
      cleanups.push(async () => {
        if (keep) return progress(`kept database ${database.name}; measure it again with: npm run bench -- search --reuse-db ${database.name}`)
        await database.drop()
        progress(`dropped database ${database.name}`)
      })
    }
    const dataDir = await Fs.mkdtemp(Path.join(Os.tmpdir(), "alpr-bench-search-"))
    cleanups.push(() => Fs.rm(dataDir, { recursive: true, force: true }))

    const start = async () => {
      // A migration added since the data was generated may build an index on millions of rows.
      const server = await startServer({ databaseUrl, dataDir, collectors: 0, trace, startTimeoutMs: 60 * 60_000 })
      let stopped = false
      const stopServer = async () => {
        if (stopped) return
        stopped = true
        await server.stop()
      }
      cleanups.push(stopServer)
      return { server, stopServer }
    }

    let data: DataSet
    if (generated) {
      progress("starting the server once to apply the migrations")
      await (await start()).stopServer()
      progress(
        `generating ${fmt(settings.rows)} detections (${settings.cameras} cameras, ${settings.days} days, ` +
          `pool of ${fmt(settings.pool)} plates) in chunks of about ${fmt(settings.chunk)} rows`
      )
      data = await generate(databaseUrl, settings, stop)
      progress(
        `generated in ${data.generatedSeconds.toFixed(0)} s (load ${data.loadSeconds.toFixed(0)} s, indexes ` +
          `${data.indexSeconds.toFixed(0)} s, vacuum ${data.vacuumSeconds.toFixed(0)} s)`
      )
      emit("search.generate.rows", data.rows, "count")
      emit("search.generate.seconds", data.generatedSeconds, "s")
      emit("search.generate.load_rows_per_s", data.rows / data.loadSeconds, "rows/s")
      emit("search.generate.index_seconds", data.indexSeconds, "s")
    } else {
      const db = await connect(databaseUrl)
      try {
        const found = await db.query<{ data: DataSet }>("SELECT data FROM bench.meta").catch(() => ({ rows: [] }))
        if (found.rows.length === 0) throw new UsageError(`${reuse} is not a finished data set of this benchmark (no bench.meta)`)
        data = found.rows[0]!.data
      } finally {
        await db.end()
      }
    }
    if (generateOnly) {
      if (!keep && generated) progress("--generate-only without --keep: the database is dropped now")
      return
    }

    const db = await connect(databaseUrl)
    cleanups.push(() => db.end())
    await describeDataSet(db, data)
    await describeServer(db)
    progress("checkpoint, so that the load's dirty pages are not written out during the measurement")
    await db.query("CHECKPOINT")

    const { server, stopServer } = await start()
    progress(`server ${server.url} (pid ${server.pid})${trace ? ", timing its spans" : ""}`)
    const client: Client = { url: server.url, cookie: await benchCookie(db, "bench-search", "operator"), stop }
    const ctx: Context = { server, db, stop, client, trace, budget }

    const sources = await pickSources(db, data, (queries + warmup) * 2)
    const results: Array<Measured> = []
    const planned = planQueries(sources, await benchCameras(db), data, queries + warmup).filter((p) => only === undefined || only.includes(p.probe.name))
    for (const { probe, queries: all } of planned) {
      results.push(await measure(probe, all.slice(0, warmup), all.slice(warmup), ctx))
    }
    await stopServer()

    progress("EXPLAIN (ANALYZE, BUFFERS) of the slowest query of each kind, as the server runs it (warm: it just ran)")
    // Imported only now, so that the server code it runs is the code on disk when the plans are taken.
    const { startCapturingServer } = await import("./lib/sqlCapture")
    const capture = await startCapturingServer({ databaseUrl, dataDir })
    cleanups.push(() => capture.close())
    for (const measured of results) {
      if (stop.aborted) throw new Interrupted("interrupted")
      await explainSlowest(capture, client, db, measured)
    }
  } finally {
    await close()
  }
}
