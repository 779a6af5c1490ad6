import { type BatchError, type BatchResult, Detection, MAX_BATCH_EVENTS } from "@chaverim/domain/Detection"
import { normalizePlate, ocrKey } from "@chaverim/domain/Plate"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Metric from "effect/Metric"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { ALERT_WORK_CHANNEL, makeBell } from "../db/Bell"
import { orBug } from "../db/Rows"
import { Images, type IncomingImage, type StoredImage } from "../images/Images"
import { makeReadMonths } from "../db/ReadMonths"
import type { ReceivedBatch } from "./BatchBody"
import { makeCoalescer } from "./Coalesce"
import { linkRuns, type NewRead, type RunStart, type StoredPredecessor } from "./Runs"
import { ingestBatchSeconds, ingestDetections, ingestImageBytes } from "./Metrics"

/** A raw event's detection id, when it has one. */
const idOf = (event: unknown): string | undefined => {
  const id = (event as { detection_id?: unknown } | null)?.detection_id
  return typeof id === "string" ? id : undefined
}

/** A collector's batch: one of the batches of a group stored together. */
interface Part {
  readonly collectorId: string
  readonly batch: ReceivedBatch
}

/** A read among a group's: detection ids are unique per collector, not across collectors. */
const readKey = (collectorId: string, detectionId: string) => `${collectorId}\u0000${detectionId}`

const decodeDetection = Schema.decodeUnknownEither(Detection, { errors: "all", onExcessProperty: "ignore" })

const describe = (error: ParseResult.ParseError): string =>
  ParseResult.ArrayFormatter.formatErrorSync(error)
    .map((issue) => (issue.path.length > 0 ? `${issue.path.join(".")}: ${issue.message}` : issue.message))
    .join("; ")

// A camera clock may be wrong, but not this wrong: such times are refused, not stored as evidence.
const EARLIEST = Date.UTC(2000, 0, 1)
const FUTURE_TOLERANCE_MS = 24 * 3600 * 1000

const hasNul = (value: unknown): boolean => {
  if (typeof value === "string") return value.includes("\u0000")
  if (Array.isArray(value)) return value.some(hasNul)
  if (typeof value === "object" && value !== null) {
    return Object.entries(value).some(([key, v]) => key.includes("\u0000") || hasNul(v))
  }
  return false
}

interface ValidEvent {
  readonly index: number
  readonly event: Detection
  readonly detectedAt: Date
  readonly raw: unknown
}

// The batch's lookup and insert answer one row per read: those rows are typed, not decoded with a
// Schema, which would cost ~1.3 µs a lookup row and ~0.6 µs an inserted row on the path that must
// keep up with 5,000 reads a second. Their shape is fixed by the query that reads them.

/** Per read of the batch: whether it is stored already, and the stored read whose run it may continue. */
interface LookupRow {
  readonly collector_id: string
  readonly detection_id: string
  readonly known: boolean
  /** bigint as text; null when no stored read of the plate at the camera is at most 30 s older */
  readonly root: string | null
  /** null exactly when `root` is */
  readonly detected_at: Date | null
}

/** A read the batch's INSERT stored: its identity (bigint as text), its collector and the collector's id of it. */
interface InsertedRow {
  readonly id: string
  readonly collector_id: string
  readonly detection_id: string
}

// One new row for `detections`, as a JSON record for json_to_recordset (see insertDetections).
interface Row {
  readonly collector_id: string
  readonly detection_id: string
  readonly camera_id: string
  readonly detected_at: string
  readonly plate_text: string
  readonly plate: string
  readonly plate_ocr: string
  readonly confidence: number
  readonly direction: string | null
  readonly vehicle_type: string | null
  readonly vehicle_color: string | null
  readonly vehicle_make: string | null
  readonly lat: number | null
  readonly lon: number | null
  readonly raw: unknown
  /** set when the read joins a run that starts at a stored read */
  readonly duplicate_of: string | null
  /** set when the read joins a run that starts at another read of this batch */
  readonly run_start: string | null
  /** the camera's time less the collector's receive time, when the collector sent it */
  readonly camera_offset_ms: number | null
}

/** A photo's row for `detection_images`, by its read's collector and detection id (see insertDetections). */
interface PhotoRow extends StoredImage {
  readonly collector_id: string
  readonly detection_id: string
}

/** The earliest time among rows (ISO strings of one format sort as times): the batch's months begin there. */
const earliestOf = (rows: ReadonlyArray<Row>) => rows.reduce((min, row) => (row.detected_at < min ? row.detected_at : min), rows[0]!.detected_at)

const toRow = (collectorId: string, read: NewRead, v: ValidEvent, start: RunStart | undefined): Row => {
  const e = v.event
  return {
    collector_id: collectorId,
    detection_id: e.detection_id,
    camera_id: read.cameraId,
    detected_at: v.detectedAt.toISOString(),
    plate_text: e.plate.text,
    plate: read.plate,
    plate_ocr: ocrKey(e.plate.text),
    confidence: e.plate.confidence,
    direction: e.vehicle?.direction ?? null,
    vehicle_type: e.vehicle?.type ?? null,
    vehicle_color: e.vehicle?.color ?? null,
    vehicle_make: e.vehicle?.make ?? null,
    lat: e.location?.lat ?? null,
    lon: e.location?.lon ?? null,
    raw: v.raw,
    duplicate_of: start?._tag === "Stored" ? start.id : null,
    run_start: start?._tag === "New" ? start.detectionId : null,
    camera_offset_ms: e.received_at === undefined ? null : v.detectedAt.getTime() - Date.parse(e.received_at)
  }
}

/**
 * Central ingest: validates each event on its own, stores the valid ones with their images as
 * immutable evidence, and counts re-sent ones as duplicates. Images are written before the
 * statement that records them, so no committed row can point at a missing object.
 */
export class Ingest extends Effect.Service<Ingest>()("@chaverim/server/Ingest", {
  scoped: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const images = yield* Images
    const months = yield* makeReadMonths
    // The reads' insert queues their alert work (a trigger, sql/0009); the engines are woken after the
    // commit, not by a NOTIFY inside it (sql/0040, Bell.ts).
    const alertWork = yield* makeBell(ALERT_WORK_CHANNEL)
    // Camera rows by collector + camera id, with the mac and name they were stored with, and whether
    // the row has a position.
    const cameraCache = new Map<string, { id: string; mac: string; name: string | undefined; placed: boolean }>()

    const cameraId = (collectorId: string, camera: Detection["camera"], location: Detection["location"]) =>
      Effect.gen(function*() {
        const cacheKey = `${collectorId}\u0000${camera.id}`
        const cached = cameraCache.get(cacheKey)
        if (
          cached && cached.mac === camera.mac && (camera.name === undefined || cached.name === camera.name) &&
          (cached.placed || location === undefined)
        ) {
          return cached.id
        }
        // The name a camera reports only fills an empty one: a name an admin gave it stays. So does a
        // position: a camera without one takes the one its reads carry (issue 18), and keeps it until an
        // admin places it. An upsert always returns its row.
        const row = yield* SqlSchema.single({
          Request: Schema.Void,
          Result: Schema.Struct({ id: Schema.String, placed: Schema.Boolean }),
          execute: () =>
            sql`
              INSERT INTO cameras (collector_id, external_id, mac, name, lat, lon)
              VALUES (${collectorId}, ${camera.id}, ${camera.mac}, ${camera.name ?? null}, ${location?.lat ?? null},
                      ${location?.lon ?? null})
              ON CONFLICT (collector_id, external_id) DO UPDATE
                SET mac = EXCLUDED.mac, name = coalesce(cameras.name, EXCLUDED.name),
                    lat = CASE WHEN cameras.lat IS NULL OR cameras.lon IS NULL THEN EXCLUDED.lat ELSE cameras.lat END,
                    lon = CASE WHEN cameras.lat IS NULL OR cameras.lon IS NULL THEN EXCLUDED.lon ELSE cameras.lon END,
                    updated_at = now()
              RETURNING id, (lat IS NOT NULL AND lon IS NOT NULL) AS placed`
        })(undefined).pipe(orBug, Effect.catchTag("NoSuchElementException", Effect.die))
        cameraCache.set(cacheKey, { id: row.id, mac: camera.mac, name: camera.name, placed: row.placed })
        return row.id
      })

    // The whole batch is one parameter, read by json_to_recordset: far cheaper to bind than a
    // parameter per field. Reads that start a run or continue a stored one go in first; reads that
    // continue a run started in this batch go in second, pointing at the identity the first gave it
    // (a run is one camera's, so one collector's). A run start that was not inserted (sent at the same
    // moment by a retry) is looked up instead. A read's clock offset is its camera's against its
    // collector plus its collector's against ours. The photos' rows go in with their reads, in the same
    // statement: one statement is atomic on its own, so storing a group needs no BEGIN and COMMIT (two
    // round trips fewer; a photo's row is checked against its read at the statement's end, sql/0019).
    const insertDetections = (rows: ReadonlyArray<Row>, photos: ReadonlyArray<PhotoRow>) =>
      sql<InsertedRow>`
        WITH input AS (
          SELECT r.*, coalesce(c.clock_skew_ms, 0) AS skew_ms
            FROM json_to_recordset(${JSON.stringify(rows)}::json) AS r(
              collector_id uuid, detection_id text, camera_id uuid, detected_at timestamptz, plate_text text,
              plate text, plate_ocr text, confidence real, direction text, vehicle_type text, vehicle_color text,
              vehicle_make text, lat double precision, lon double precision, raw jsonb,
              duplicate_of bigint, run_start text, camera_offset_ms bigint)
            LEFT JOIN collectors c ON c.id = r.collector_id
        ), first AS (
          INSERT INTO detections (collector_id, detection_id, camera_id, detected_at, plate_text, plate,
                                  plate_ocr, confidence, direction, vehicle_type, vehicle_color,
                                  vehicle_make, lat, lon, duplicate_of, raw, camera_offset_ms, clock_offset_ms)
          SELECT collector_id, detection_id, camera_id, detected_at, plate_text, plate, plate_ocr,
                 confidence, direction, vehicle_type, vehicle_color, vehicle_make, lat, lon,
                 duplicate_of, raw, camera_offset_ms, camera_offset_ms + skew_ms
            FROM input WHERE run_start IS NULL ORDER BY detected_at
          ON CONFLICT (collector_id, detection_id, detected_at) DO NOTHING
          RETURNING id, collector_id, detection_id, detected_at
        ), second AS (
          INSERT INTO detections (collector_id, detection_id, camera_id, detected_at, plate_text, plate,
                                  plate_ocr, confidence, direction, vehicle_type, vehicle_color,
                                  vehicle_make, lat, lon, duplicate_of, raw, camera_offset_ms, clock_offset_ms)
          SELECT i.collector_id, i.detection_id, i.camera_id, i.detected_at, i.plate_text, i.plate,
                 i.plate_ocr, i.confidence, i.direction, i.vehicle_type, i.vehicle_color, i.vehicle_make,
                 i.lat, i.lon,
                 coalesce(f.id, (SELECT coalesce(d.duplicate_of, d.id) FROM detections d
                                  WHERE d.collector_id = i.collector_id AND d.detection_id = i.run_start
                                    AND d.camera_id = i.camera_id AND d.plate = i.plate
                                    AND d.detected_at <= i.detected_at
                                    AND d.detected_at >= ${earliestOf(rows)}::timestamptz
                                  ORDER BY d.detected_at DESC LIMIT 1)),
                 i.raw, i.camera_offset_ms, i.camera_offset_ms + i.skew_ms
            FROM input i LEFT JOIN first f ON f.collector_id = i.collector_id AND f.detection_id = i.run_start
           WHERE i.run_start IS NOT NULL ORDER BY i.detected_at
          ON CONFLICT (collector_id, detection_id, detected_at) DO NOTHING
          RETURNING id, collector_id, detection_id, detected_at
        ), stored AS (
          SELECT * FROM first UNION ALL SELECT * FROM second
        ), photos AS (
          INSERT INTO detection_images (detection_id, detected_at, kind, object_key, content_type, size_bytes, sha256)
          SELECT s.id, s.detected_at, p.kind, p.object_key, p.content_type, p.size_bytes, p.sha256
            FROM json_to_recordset(${JSON.stringify(photos)}::json) AS p(
              collector_id uuid, detection_id text, kind text, object_key text, content_type text,
              size_bytes integer, sha256 text)
            JOIN stored s ON s.collector_id = p.collector_id AND s.detection_id = p.detection_id
        )
        SELECT id, collector_id, detection_id FROM stored`

    const validate = (events: ReadonlyArray<unknown>, badImages: ReadonlyMap<string, string>, now: number) => {
      const valid: Array<ValidEvent> = []
      const errors: Array<BatchError> = []
      const seen = new Set<string>()
      let repeats = 0
      events.forEach((raw, index) => {
        const id = (raw as { detection_id?: unknown } | null)?.detection_id
        const detectionId = typeof id === "string" ? id : undefined
        const reject = (message: string) =>
          errors.push(detectionId === undefined ? { index, message } : { index, detection_id: detectionId, message })
        const decoded = decodeDetection(raw)
        if (Either.isLeft(decoded)) return reject(describe(decoded.left))
        const event = decoded.right
        const detectedAt = new Date(event.timestamp)
        if (detectedAt.getTime() < EARLIEST) return reject("timestamp: earlier than the year 2000; check the camera clock")
        if (detectedAt.getTime() > now + FUTURE_TOLERANCE_MS) {
          return reject("timestamp: more than a day in the future; check the camera clock")
        }
        // PostgreSQL can store neither text nor JSON with a NUL character in it.
        if (hasNul(raw)) return reject("contains a NUL character (\\u0000), which cannot be stored")
        const badImage = badImages.get(event.detection_id)
        if (badImage !== undefined) return reject(badImage)
        if (seen.has(event.detection_id)) {
          repeats++
          return
        }
        seen.add(event.detection_id)
        valid.push({ index, event, detectedAt, raw })
      })
      return { valid, errors, repeats }
    }

    /** A group of batches (one or more, of one or more collectors) stored together: an answer for each, in order. */
    const storeNow = Effect.fn("Ingest.store")(function*(parts: ReadonlyArray<Part>) {
      const started = performance.now()
      const now = Date.now()
      const checked = parts.map((part) => ({ part, ...validate(part.batch.events, part.batch.badImages, now) }))

      const reads: Array<{ collectorId: string; v: ValidEvent; read: NewRead; photos: ReadonlyArray<IncomingImage> | undefined }> = []
      for (const { part: { batch, collectorId }, valid } of checked) {
        for (const v of valid) {
          const read = {
            key: readKey(collectorId, v.event.detection_id),
            detectionId: v.event.detection_id,
            cameraId: yield* cameraId(collectorId, v.event.camera, v.event.location),
            plate: normalizePlate(v.event.plate.text),
            at: v.detectedAt.getTime()
          }
          reads.push({ collectorId, v, read, photos: batch.images.get(read.detectionId) })
        }
      }

      // The batch's time span, as parameters the planner sees (an unnamed statement is planned with
      // their values): the reads are partitioned by month, and a probe bounded only by each row's own
      // time would be planned against every month.
      const times = reads.map(({ read }) => read.at)
      const spanFrom = new Date(times.length === 0 ? 0 : Math.min(...times) - 30_000).toISOString()
      const spanTo = new Date(times.length === 0 ? 0 : Math.max(...times)).toISOString()

      // For each read: whether an earlier upload stored it already (then neither it nor its images are
      // stored again), and the stored read whose run it may continue (see Runs.ts).
      const lookup = reads.length === 0 ? [] : yield* sql<LookupRow>`
        SELECT r.collector_id, r.detection_id, p.root, p.detected_at, k.known IS NOT NULL AS known
          FROM json_to_recordset(${
        JSON.stringify(reads.map(({ collectorId, read }) => ({
          collector_id: collectorId,
          detection_id: read.detectionId,
          camera_id: read.cameraId,
          plate: read.plate,
          at: new Date(read.at).toISOString()
        })))
      }::json) AS r(collector_id uuid, detection_id text, camera_id uuid, plate text, at timestamptz)
          LEFT JOIN LATERAL (
            SELECT coalesce(d.duplicate_of, d.id) AS root, d.detected_at
              FROM detections d
             WHERE d.plate = r.plate AND d.camera_id = r.camera_id
               AND d.detected_at BETWEEN r.at - interval '30 seconds' AND r.at
               AND d.detected_at BETWEEN ${spanFrom}::timestamptz AND ${spanTo}::timestamptz
               AND NOT (d.collector_id = r.collector_id AND d.detection_id = r.detection_id)
             ORDER BY d.detected_at DESC, d.id DESC
             LIMIT 1) p ON true
          -- A lateral probe rather than EXISTS: with stale statistics on a growing table the planner
          -- ran EXISTS as a scan of all of the collector's rows (bench: 33 ms a batch at 34k rows).
          LEFT JOIN LATERAL (
            SELECT true AS known FROM detections k
             WHERE k.collector_id = r.collector_id AND k.detection_id = r.detection_id AND k.detected_at = r.at
               AND k.detected_at BETWEEN ${spanFrom}::timestamptz AND ${spanTo}::timestamptz
             LIMIT 1) k ON true`
      const known = new Set<string>()
      const predecessors = new Map<string, StoredPredecessor>()
      for (const row of lookup) {
        const key = readKey(row.collector_id, row.detection_id)
        if (row.known) known.add(key)
        else if (row.root !== null && row.detected_at !== null) {
          predecessors.set(key, { root: row.root, at: row.detected_at.getTime() })
        }
      }
      const fresh = reads.filter(({ read }) => !known.has(read.key))
      const starts = linkRuns(fresh.map((c) => c.read), predecessors)
      // Oldest first, so identities follow time within a batch.
      const rows = fresh.sort((a, b) => a.read.at - b.read.at)
        .map((c) => toRow(c.collectorId, c.read, c.v, starts.get(c.read.key)))

      const stored = new Map<string, ReadonlyArray<StoredImage>>()
      yield* Effect.forEach(fresh, ({ collectorId, photos, read, v }) => {
        if (photos === undefined) return Effect.void
        return Effect.forEach(photos, (image) => images.put(collectorId, read.detectionId, v.detectedAt, image)).pipe(
          Effect.tap((written) => Effect.sync(() => stored.set(read.key, written)))
        )
      }, { concurrency: 8, discard: true })

      if (rows.length > 0) yield* months.ensure(fresh.map(({ v }) => v.detectedAt))
      const photoRows = fresh.flatMap(({ collectorId, read }) =>
        (stored.get(read.key) ?? []).map((image): PhotoRow => ({ collector_id: collectorId, detection_id: read.detectionId, ...image })))
      const inserted = rows.length === 0 ? [] : yield* insertDetections(rows, photoRows)
      if (inserted.length > 0) yield* alertWork.ring

      const storedNow = new Set(inserted.map((row) => readKey(row.collector_id, row.detection_id)))
      const results = checked.map(({ part, valid, errors, repeats }): BatchResult => {
        const accepted = valid.filter((v) => storedNow.has(readKey(part.collectorId, v.event.detection_id))).length
        return { accepted, duplicates: repeats + (valid.length - accepted), rejected: errors.length, errors }
      })
      const total = (count: (result: BatchResult) => number) => results.reduce((n, r) => n + count(r), 0)
      const imageBytes = [...stored.values()].flat().reduce((n, i) => n + i.size_bytes, 0)
      yield* Effect.all([
        Metric.incrementBy(Metric.tagged(ingestDetections, "outcome", "accepted"), total((r) => r.accepted)),
        Metric.incrementBy(Metric.tagged(ingestDetections, "outcome", "duplicate"), total((r) => r.duplicates)),
        Metric.incrementBy(Metric.tagged(ingestDetections, "outcome", "rejected"), total((r) => r.rejected)),
        Metric.incrementBy(ingestImageBytes, imageBytes),
        Metric.update(ingestBatchSeconds, (performance.now() - started) / 1000)
      ], { discard: true })
      for (const { part, errors } of checked) {
        if (errors.length > 0) {
          yield* Effect.logWarning("batch events rejected").pipe(
            Effect.annotateLogs({ collector_id: part.collectorId, rejected: errors.length, first: errors[0]!.message })
          )
        }
      }
      return results
    })

    // Batches that arrive while a group is being stored go in together, whichever collectors sent them
    // (Coalesce.ts): one lookup, one statement and one alert work item for all of them, which is what
    // many requests of one read each (webhooks, integrations, /api/plate-reads, many collectors at once)
    // otherwise pay per read.
    const coalesced = makeCoalescer<Part, BatchResult, Effect.Effect.Error<ReturnType<typeof storeNow>>>({
      // Two at once: one group's round trips overlap the next one's, and a group still holds what
      // arrived during one store (bench ingest --scenario single, 8 in flight over 4 collectors: 197-220
      // reads/s against 168-170 with a group per collector; in a trial on a loaded machine 133, 182 and
      // 94 reads/s with one, two and four groups at once).
      groups: 2,
      fits: (group, next) => {
        const events = group.reduce((n, p) => n + p.batch.events.length, 0)
        if (events + next.batch.events.length > MAX_BATCH_EVENTS) return false
        // the same read sent twice at once stays two answers: one stored, one a duplicate
        const keysOf = (p: Part) => p.batch.events.flatMap((e) => { const id = idOf(e); return id === undefined ? [] : [readKey(p.collectorId, id)] })
        const keys = new Set(group.flatMap(keysOf))
        return keysOf(next).every((key) => !keys.has(key))
      },
      storeOne: (part) => Effect.map(storeNow([part]), (results) => results[0]!),
      storeMany: storeNow
    })
    const store = (collectorId: string, batch: ReceivedBatch) => coalesced({ collectorId, batch })

    return { store }
  })
}) {}
