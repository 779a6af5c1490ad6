import { CLOCK_SKEW_LIMIT_S, HealthKind, MISSED_HEARTBEATS } from "@chaverim/domain/Health"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { AppConfig } from "../Config"
import { orBug } from "../db/Rows"
import { appendLiveEvents } from "../live/Events"
import { publishHealth } from "../outbox/Outbox"

/**
 * The health monitor (issue 19): every HEALTH_CHECK_SECONDS one server (under an advisory lock) looks at
 * the fleet and raises a health alert for each of these, once, and clears it when it has passed:
 *
 * - a collector silent for MISSED_HEARTBEATS of its heartbeats (neither a heartbeat nor an upload);
 * - a collector's clock off by more than CLOCK_SKEW_LIMIT_S (measured at each heartbeat);
 * - a collector's buffer at 80 % of its quota or full (cleared below 70 %);
 * - a camera silent: no read for 5 of its usual intervals between reads (at least 10 minutes), where
 *   "usual" is its reads in the same hour of the week over the last four weeks (its own history; a
 *   camera with fewer than 4 such reads an hour is not watched this way), or the figure an admin gave
 *   it (`expected_per_hour`);
 * - a camera far below its usual rate: fewer than a quarter of its usual reads in the last hour (for a
 *   camera of at least 20 an hour; cleared at half);
 * - a camera's clock off by more than CLOCK_SKEW_LIMIT_S against its collector (its latest 10 reads of
 *   the last 15 minutes: the largest of the camera's time less the collector's receive time; the time a
 *   read takes to reach the collector only makes a clock look behind).
 *
 * A retired camera is not watched (its open alerts clear). Clock alerts clear at three quarters of the limit, so a clock hovering at it does not flap. The cameras
 * of a silent collector are not judged (the collector's alert says it all); their open alerts stay.
 * Each alert raised or cleared goes to admins on the live feed and to the outbound channels that take
 * health alerts (the outbox: Telegram's admins), in the transaction that records it.
 */

const MONITOR_LOCK = 7_415_020
const FILL_RAISE = 0.8
const FILL_CLEAR = 0.7
const CLOCK_LIMIT_MS = CLOCK_SKEW_LIMIT_S * 1000
const CLOCK_CLEAR_MS = CLOCK_LIMIT_MS * 0.75
const HEARTBEAT_DEFAULT_S = 60
/** Weeks of a camera's history its usual rate is learnt from. */
const HISTORY_WEEKS = 4
const WEEK_MS = 7 * 86_400_000
const HOUR_MS = 3_600_000
/** A camera with fewer usual reads an hour is not judged silent. */
const SILENT_MIN_EXPECTED = 4
const SILENT_MIN_GAP_S = 600
const SILENT_GAPS = 5
const LOW_RATE_MIN_EXPECTED = 20
const LOW_RATE_RAISE = 0.25
const LOW_RATE_CLEAR = 0.5
const CLOCK_WINDOW_MS = 15 * 60_000
/** A camera's clock is judged by its latest reads: the largest offset among them (a read's way to the collector only makes it look behind). */
const CLOCK_READS = 10

/** bad: raise (or keep); holding: keep an open one, raise none; ok: clear; unknown: leave as it is. */
type State = "bad" | "holding" | "ok" | "unknown"

interface Finding {
  readonly kind: HealthKind
  readonly collectorId: string
  readonly cameraId: string | null
  readonly state: State
  readonly message: string
  readonly details: Record<string, unknown>
}

const keyOf = (kind: string, collectorId: string, cameraId: string | null) => `${kind}|${collectorId}|${cameraId ?? ""}`

const CollectorFacts = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  quiet_s: Schema.Number,
  heartbeat_seconds: Schema.NullOr(Schema.Number),
  clock_skew_ms: Schema.NullOr(Schema.Number),
  disk_used_bytes: Schema.NullOr(Schema.Number),
  disk_quota_bytes: Schema.NullOr(Schema.Number),
  disk_full: Schema.NullOr(Schema.Boolean)
})

const CameraFacts = Schema.Struct({
  id: Schema.String,
  collector_id: Schema.String,
  name: Schema.String,
  first_at_ms: Schema.NullOr(Schema.Number),
  last_at_ms: Schema.NullOr(Schema.Number),
  observed: Schema.Number,
  weeks: Schema.Array(Schema.Number),
  /** an admin's figure for its usual reads an hour, over its history */
  expected_per_hour: Schema.NullOr(Schema.Number)
})

const CameraClock = Schema.Struct({ camera_id: Schema.String, offset_ms: Schema.Number, reads: Schema.Number })

const OpenRow = Schema.Struct({
  id: Schema.String,
  kind: Schema.String,
  collector_id: Schema.String,
  camera_id: Schema.NullOr(Schema.String)
})

/** "4 min", "2 h 5 min", "36 s". */
export const spokenDuration = (seconds: number) => {
  const s = Math.max(0, Math.round(seconds))
  if (s < 60) return `${s} s`
  const minutes = Math.round(s / 60)
  if (minutes < 60) return `${minutes} min`
  const hours = Math.floor(minutes / 60)
  return minutes % 60 === 0 ? `${hours} h` : `${hours} h ${minutes % 60} min`
}

const clockWords = (ms: number) => `${ms > 0 ? "ahead" : "behind"} by ${(Math.abs(ms) / 1000).toFixed(1)} s`
const round1 = (n: number) => Math.round(n * 10) / 10

const clockState = (ms: number): State => (Math.abs(ms) > CLOCK_LIMIT_MS ? "bad" : Math.abs(ms) > CLOCK_CLEAR_MS ? "holding" : "ok")

const collectorFindings = (c: typeof CollectorFacts.Type): ReadonlyArray<Finding> => {
  const beat = c.heartbeat_seconds ?? HEARTBEAT_DEFAULT_S
  const silent = c.quiet_s > MISSED_HEARTBEATS * beat
  const findings: Array<Finding> = [{
    kind: "collector_silent",
    collectorId: c.id,
    cameraId: null,
    state: silent ? "bad" : "ok",
    message: `${c.name}: no heartbeat or upload for ${spokenDuration(c.quiet_s)} (it beats every ${beat} s)`,
    details: { silent_s: Math.round(c.quiet_s), heartbeat_seconds: beat }
  }]
  if (c.clock_skew_ms !== null) {
    findings.push({
      kind: "collector_clock",
      collectorId: c.id,
      cameraId: null,
      state: clockState(c.clock_skew_ms),
      message: `${c.name}: clock ${clockWords(c.clock_skew_ms)}`,
      details: { clock_skew_s: round1(c.clock_skew_ms / 1000) }
    })
  }
  const fill = c.disk_quota_bytes !== null && c.disk_quota_bytes > 0 && c.disk_used_bytes !== null
    ? c.disk_used_bytes / c.disk_quota_bytes
    : undefined
  if (fill !== undefined || c.disk_full !== null) {
    const full = c.disk_full === true
    findings.push({
      kind: "buffer_filling",
      collectorId: c.id,
      cameraId: null,
      state: full || (fill ?? 0) >= FILL_RAISE ? "bad" : (fill ?? 0) >= FILL_CLEAR ? "holding" : "ok",
      message: full
        ? `${c.name}: buffer full; new reads are refused until it uploads`
        : `${c.name}: buffer ${Math.round((fill ?? 0) * 100)} % full`,
      details: { fill: fill === undefined ? null : round1(fill * 100) / 100, full, used_bytes: c.disk_used_bytes, quota_bytes: c.disk_quota_bytes }
    })
  }
  return findings
}

const cameraFindings = (
  camera: typeof CameraFacts.Type,
  nowMs: number,
  clock: typeof CameraClock.Type | undefined
): ReadonlyArray<Finding> => {
  const base = { collectorId: camera.collector_id, cameraId: camera.id }
  // The weeks of its history: those that began after its first read.
  const known = camera.first_at_ms === null
    ? []
    : camera.weeks.filter((_, i) => camera.first_at_ms! <= nowMs - (i + 1) * WEEK_MS - HOUR_MS)
  const expected = camera.expected_per_hour ?? (known.length === 0 ? undefined : known.reduce((a, b) => a + b, 0) / known.length)
  const basis = camera.expected_per_hour === null ? { weeks_of_history: known.length } : { set_by_admin: true }
  const findings: Array<Finding> = []
  let silent = false
  if (expected !== undefined) {
    const gapS = Math.max(SILENT_MIN_GAP_S, (SILENT_GAPS * 3600) / Math.max(expected, 1))
    const quietS = camera.last_at_ms === null ? Infinity : (nowMs - camera.last_at_ms) / 1000
    silent = expected >= SILENT_MIN_EXPECTED && quietS > gapS
    const usual = camera.expected_per_hour === null
      ? `usually ${round1(expected)} an hour at this time of the week`
      : `expected ${camera.expected_per_hour} an hour`
    findings.push({
      ...base,
      kind: "camera_silent",
      state: silent ? "bad" : "ok",
      message: `${camera.name}: no read for ${Number.isFinite(quietS) ? spokenDuration(quietS) : "over a day"}; ${usual}`,
      details: {
        expected_per_hour: round1(expected),
        last_read_at: camera.last_at_ms === null ? null : new Date(camera.last_at_ms).toISOString(),
        ...basis
      }
    })
    const ratio = camera.observed / expected
    findings.push({
      ...base,
      kind: "camera_low_rate",
      state: silent ? "unknown" : expected < LOW_RATE_MIN_EXPECTED ? "ok" : ratio < LOW_RATE_RAISE ? "bad" : ratio < LOW_RATE_CLEAR ? "holding" : "ok",
      message: `${camera.name}: ${camera.observed} reads in the last hour; ${usual}`,
      details: { expected_per_hour: round1(expected), observed_last_hour: camera.observed, ...basis }
    })
  }
  if (clock !== undefined) {
    const offsetMs = clock.offset_ms
    findings.push({
      ...base,
      kind: "camera_clock",
      state: clockState(offsetMs),
      message: `${camera.name}: clock ${clockWords(offsetMs)} against its collector`,
      details: { clock_offset_s: round1(offsetMs / 1000), reads_measured: clock.reads }
    })
  }
  return findings
}

// The fleet as the last check saw it, for Prometheus (deploy/monitoring): set by the server that ran the
// check (one at a time), per collector and per camera.
const collectorQuiet = Metric.gauge("alpr_collector_silent_seconds", { description: "Seconds since a collector's last heartbeat or upload" })
const collectorBeat = Metric.gauge("alpr_collector_heartbeat_seconds", { description: "How often a collector says it beats" })
const collectorSkew = Metric.gauge("alpr_collector_clock_skew_seconds", { description: "A collector's clock against the server's (positive: ahead)" })
const collectorFill = Metric.gauge("alpr_collector_buffer_fill_ratio", { description: "A collector's buffer: used share of its quota" })
const cameraObserved = Metric.gauge("alpr_camera_reads_last_hour", { description: "A camera's reads in the last hour" })
const cameraUsual = Metric.gauge("alpr_camera_usual_reads_per_hour", {
  description: "A camera's usual reads in this hour of the week (its last four weeks)"
})
const cameraQuiet = Metric.gauge("alpr_camera_silent_seconds", { description: "Seconds since a camera's last read (within a day)" })
const cameraOffset = Metric.gauge("alpr_camera_clock_offset_seconds", { description: "A camera's clock against its collector's" })
const openAlertsGauge = Metric.gauge("alpr_health_alerts_open", { description: "Health alerts open, by kind" })
const checkedAt = Metric.gauge("alpr_health_check_timestamp_seconds", { description: "When this server last checked the fleet's health" })
const checkSeconds = Metric.histogram(
  "alpr_health_check_seconds",
  MetricBoundaries.fromIterable([0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]),
  "How long a health check of the whole fleet took (on the server that ran it)"
)

// Labelled by id only: a rename must not start a new series of every figure while the old one stays at
// its last value. The names go in the info series (1 now, 0 for a name no longer borne), which
// dashboards and rules join on the id: `* on (collector_id) group_left (collector) (alpr_collector_info == 1)`.
const collectorInfo = Metric.gauge("alpr_collector_info", { description: "A collector's name: 1 for the name it bears now, 0 for one it bore" })
const cameraInfo = Metric.gauge("alpr_camera_info", { description: "A camera's name and collector: 1 for the name it bears now, 0 for one it bore" })

const byCollector = (metric: Metric.Metric.Gauge<number>, c: { readonly id: string }) => metric.pipe(Metric.tagged("collector_id", c.id))
const byCamera = (metric: Metric.Metric.Gauge<number>, c: typeof CameraFacts.Type) =>
  metric.pipe(Metric.tagged("collector_id", c.collector_id), Metric.tagged("camera_id", c.id))

/** The names each info series last bore on this server, to zero the old one on a rename. */
const bornNames = new Map<string, ReadonlyArray<readonly [string, string]>>()

const setInfo = (metric: Metric.Metric.Gauge<number>, key: string, labels: ReadonlyArray<readonly [string, string]>) =>
  Effect.gen(function*() {
    const tagged = (tags: ReadonlyArray<readonly [string, string]>) => tags.reduce((m, [k, v]) => Metric.tagged(m, k, v), metric)
    const before = bornNames.get(key)
    if (before !== undefined && JSON.stringify(before) !== JSON.stringify(labels)) yield* Metric.set(tagged(before), 0)
    bornNames.set(key, labels)
    yield* Metric.set(tagged(labels), 1)
  })

export interface HealthCheck {
  /** ids of the alerts raised and cleared by this check */
  readonly raised: ReadonlyArray<string>
  readonly cleared: ReadonlyArray<string>
  /** false when another server held the check */
  readonly ran: boolean
}

export class HealthMonitor extends Effect.Service<HealthMonitor>()("@chaverim/server/HealthMonitor", {
  scoped: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const config = yield* AppConfig

    const collectorFacts = SqlSchema.findAll({
      Request: Schema.Void,
      Result: CollectorFacts,
      execute: () =>
        sql`
          SELECT c.id::text AS id, c.name,
                 extract(epoch FROM now() - greatest(c.last_seen_at, c.last_upload_at, c.claimed_at))::float8 AS quiet_s,
                 c.heartbeat_seconds, c.clock_skew_ms::float8 AS clock_skew_ms,
                 c.disk_used_bytes::float8 AS disk_used_bytes, c.disk_quota_bytes::float8 AS disk_quota_bytes, c.disk_full
            FROM collectors c
           WHERE c.status = 'active' AND c.kind = 'site' AND c.claimed_at IS NOT NULL`
    })

    // Each count reads the camera's (camera_id, detected_at) index over one hour, in that hour's month.
    const cameraFacts = SqlSchema.findAll({
      Request: Schema.Struct({ now: Schema.Number }),
      Result: CameraFacts,
      execute: ({ now }) => {
        const at = (ms: number) => new Date(ms).toISOString()
        const count = (toMs: number) =>
          sql`(SELECT count(*)::int FROM detections d
                WHERE d.camera_id = k.id AND d.detected_at > ${at(toMs - HOUR_MS)}::timestamptz
                  AND d.detected_at <= ${at(toMs)}::timestamptz)`
        const weeks = Array.from({ length: HISTORY_WEEKS }, (_, i) => count(now - (i + 1) * WEEK_MS))
        return sql`
          SELECT k.id::text AS id, k.collector_id::text AS collector_id, coalesce(k.name, k.external_id) AS name,
                 (extract(epoch FROM f.at) * 1000)::float8 AS first_at_ms,
                 (extract(epoch FROM l.at) * 1000)::float8 AS last_at_ms,
                 ${count(now)} AS observed,
                 ARRAY[${weeks[0]!}, ${weeks[1]!}, ${weeks[2]!}, ${weeks[3]!}] AS weeks, k.expected_per_hour
            FROM cameras k JOIN collectors c ON c.id = k.collector_id
            LEFT JOIN LATERAL (SELECT d.detected_at AS at FROM detections d WHERE d.camera_id = k.id
                                ORDER BY d.detected_at LIMIT 1) f ON true
            LEFT JOIN LATERAL (SELECT d.detected_at AS at FROM detections d
                                WHERE d.camera_id = k.id AND d.detected_at <= ${at(now)}::timestamptz
                                  AND d.detected_at > ${at(now - 86_400_000)}::timestamptz
                                ORDER BY d.detected_at DESC LIMIT 1) l ON true
           WHERE c.status = 'active' AND c.kind = 'site' AND k.retired_at IS NULL`
      }
    })

    // Each camera's latest reads received lately (the BRIN index on received_at), their clocks as
    // measured at ingest.
    const cameraClocks = SqlSchema.findAll({
      Request: Schema.Struct({ since: Schema.String }),
      Result: CameraClock,
      execute: ({ since }) =>
        sql`
          SELECT camera_id::text AS camera_id, max(camera_offset_ms)::float8 AS offset_ms, count(*)::int AS reads
            FROM (SELECT d.camera_id, d.camera_offset_ms,
                         row_number() OVER (PARTITION BY d.camera_id ORDER BY d.received_at DESC, d.id DESC) AS n
                    FROM detections d
                   WHERE d.received_at > ${since}::timestamptz AND d.camera_offset_ms IS NOT NULL) latest
           WHERE n <= ${CLOCK_READS}
           GROUP BY camera_id`
    })

    const openAlerts = SqlSchema.findAll({
      Request: Schema.Void,
      Result: OpenRow,
      execute: () =>
        sql`
          SELECT id::text AS id, kind, collector_id::text AS collector_id, camera_id::text AS camera_id
            FROM health_alerts WHERE cleared_at IS NULL`
    })

    const raise = SqlSchema.single({
      Request: Schema.Struct({
        kind: Schema.String,
        collectorId: Schema.String,
        cameraId: Schema.NullOr(Schema.String),
        message: Schema.String,
        details: Schema.String
      }),
      Result: Schema.Struct({ id: Schema.String }),
      execute: (f) =>
        sql`
          INSERT INTO health_alerts (kind, collector_id, camera_id, message, details)
          VALUES (${f.kind}, ${f.collectorId}::uuid, ${f.cameraId}::uuid, ${f.message}, ${f.details}::jsonb)
          RETURNING id::text AS id`
    })

    const check: Effect.Effect<HealthCheck> = sql.withTransaction(Effect.gen(function*() {
      const lock = yield* SqlSchema.findOne({
        Request: Schema.Void,
        Result: Schema.Struct({ locked: Schema.Boolean }),
        execute: () => sql`SELECT pg_try_advisory_xact_lock(${MONITOR_LOCK}) AS locked`
      })(undefined).pipe(orBug)
      if (!Option.exists(lock, (row) => row.locked)) return { raised: [], cleared: [], ran: false }
      const now = Date.now()
      const collectors = yield* orBug(collectorFacts(undefined))
      const cameras = yield* orBug(cameraFacts({ now }))
      const clocks = new Map((yield* orBug(cameraClocks({ since: new Date(now - CLOCK_WINDOW_MS).toISOString() }))).map((c) => [c.camera_id, c]))

      const present = { collectors: new Set(collectors.map((c) => c.id)), cameras: new Set(cameras.map((c) => c.id)) }
      const findings = new Map<string, Finding>()
      const add = (f: Finding) => findings.set(keyOf(f.kind, f.collectorId, f.cameraId), f)
      const silentCollectors = new Set<string>()
      for (const collector of collectors) {
        for (const f of collectorFindings(collector)) {
          add(f)
          if (f.kind === "collector_silent" && f.state === "bad") silentCollectors.add(collector.id)
        }
      }
      for (const camera of cameras) {
        if (silentCollectors.has(camera.collector_id)) continue
        for (const f of cameraFindings(camera, now, clocks.get(camera.id))) add(f)
      }

      const open = yield* orBug(openAlerts(undefined))
      const openKeys = new Set(open.map((row) => keyOf(row.kind, row.collector_id, row.camera_id)))
      const cleared: Array<string> = []
      for (const row of open) {
        const finding = findings.get(keyOf(row.kind, row.collector_id, row.camera_id))
        // Nothing measured (a camera without reads lately, or of a silent collector) leaves it open; a
        // collector or camera gone from the fleet (disabled) clears it.
        const passed = finding === undefined
          ? !(row.camera_id === null ? present.collectors.has(row.collector_id) : present.cameras.has(row.camera_id))
          : finding.state === "ok"
        if (!passed) continue
        yield* sql`
          UPDATE health_alerts SET cleared_at = now(), cleared_details = ${JSON.stringify(finding?.details ?? {})}::jsonb
           WHERE id = ${row.id} AND cleared_at IS NULL`
        cleared.push(row.id)
      }
      const raised: Array<string> = []
      for (const [key, f] of findings) {
        if (f.state !== "bad" || openKeys.has(key)) continue
        const row = yield* raise({ ...f, details: JSON.stringify(f.details) }).pipe(orBug, Effect.catchTag("NoSuchElementException", Effect.die))
        raised.push(row.id)
      }
      // To the outbound channels that take health alerts (Telegram's admins), in this transaction.
      yield* publishHealth([
        ...raised.map((id) => ({ event: "health_raised" as const, healthAlertId: id })),
        ...cleared.map((id) => ({ event: "health_cleared" as const, healthAlertId: id }))
      ])
      // Last before the commit (it takes the live feed's lock).
      yield* appendLiveEvents({ healthIds: [...raised, ...cleared] })

      // The gauges (in memory: nothing to undo if the commit fails; the next check sets them again).
      const names = new Map(collectors.map((c) => [c.id, c.name]))
      for (const c of collectors) {
        yield* setInfo(collectorInfo, `collector:${c.id}`, [["collector_id", c.id], ["collector", c.name]])
        yield* Metric.set(byCollector(collectorQuiet, c), Math.round(c.quiet_s))
        yield* Metric.set(byCollector(collectorBeat, c), c.heartbeat_seconds ?? HEARTBEAT_DEFAULT_S)
        if (c.clock_skew_ms !== null) yield* Metric.set(byCollector(collectorSkew, c), c.clock_skew_ms / 1000)
        if (c.disk_quota_bytes !== null && c.disk_quota_bytes > 0 && c.disk_used_bytes !== null) {
          yield* Metric.set(byCollector(collectorFill, c), c.disk_used_bytes / c.disk_quota_bytes)
        }
      }
      for (const camera of cameras) {
        yield* setInfo(cameraInfo, `camera:${camera.id}`, [
          ["collector_id", camera.collector_id],
          ["camera_id", camera.id],
          ["collector", names.get(camera.collector_id) ?? camera.collector_id],
          ["camera", camera.name]
        ])
        yield* Metric.set(byCamera(cameraObserved, camera), camera.observed)
        const usual = findings.get(keyOf("camera_silent", camera.collector_id, camera.id))?.details["expected_per_hour"]
        if (typeof usual === "number") yield* Metric.set(byCamera(cameraUsual, camera), usual)
        if (camera.last_at_ms !== null) yield* Metric.set(byCamera(cameraQuiet, camera), Math.round((now - camera.last_at_ms) / 1000))
        const clock = clocks.get(camera.id)
        if (clock !== undefined) yield* Metric.set(byCamera(cameraOffset, camera), clock.offset_ms / 1000)
      }
      const openNow = new Map<string, number>()
      for (const row of open) if (!cleared.includes(row.id)) openNow.set(row.kind, (openNow.get(row.kind) ?? 0) + 1)
      for (const [key, f] of findings) if (f.state === "bad" && !openKeys.has(key)) openNow.set(f.kind, (openNow.get(f.kind) ?? 0) + 1)
      for (const kind of HealthKind.literals) yield* Metric.set(Metric.tagged(openAlertsGauge, "kind", kind), openNow.get(kind) ?? 0)
      yield* Metric.set(checkedAt, Math.floor(now / 1000))
      return { raised, cleared, ran: true }
    })).pipe(
      Effect.orDie,
      Effect.provideService(SqlClient.SqlClient, sql),
      Effect.timed,
      Effect.flatMap(([took, result]) =>
        result.ran ? Effect.as(Metric.update(checkSeconds, Duration.toSeconds(took)), result) : Effect.succeed(result)
      ),
      Effect.withSpan("HealthMonitor.check")
    )

    yield* check.pipe(
      Effect.tap(({ cleared, raised }) =>
        raised.length + cleared.length === 0
          ? Effect.void
          : Effect.logInfo("health alerts").pipe(Effect.annotateLogs({ raised: raised.length, cleared: cleared.length }))
      ),
      Effect.catchAllCause((cause) => Effect.logWarning("health check failed; trying again at the next", cause)),
      Effect.repeat(Schedule.spaced(Duration.seconds(config.healthCheckSeconds))),
      Effect.forkScoped
    )

    return { check } as const
  })
}) {}
