import { type BatchError, type BatchResult, Detection } from "@chaverim/domain/Detection"
import { normalizePlate, ocrKey } from "@chaverim/domain/Plate"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Metric from "effect/Metric"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { Images, type StoredImage } from "../images/Images"
import type { ReceivedBatch } from "./BatchBody"
import { ingestBatchSeconds, ingestDetections, ingestImageBytes } from "./Metrics"

const decodeDetection = Schema.decodeUnknownEither(Detection, { errors: "all", onExcessProperty: "ignore" })

const describe = (error: ParseResult.ParseError): string =>
  ParseResult.ArrayFormatter.formatErrorSync(error)
    .map((issue) => (issue.path.length > 0 ? `${issue.path.join(".")}: ${issue.message}` : issue.message))
    .join("; ")

// A camera clock may be wrong, but not this wrong: such times are refused, not stored as evidence.
const EARLIEST = Date.UTC(2000, 0, 1)
const FUTURE_TOLERANCE_MS = 24 * 3600 * 1000

interface ValidEvent {
  readonly index: number
  readonly event: Detection
  readonly detectedAt: Date
  readonly raw: unknown
}

type Row = {
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
  readonly raw: string
}

const toRow = (collectorId: string, cameraId: string, v: ValidEvent): Row => {
  const e = v.event
  return {
    collector_id: collectorId,
    detection_id: e.detection_id,
    camera_id: cameraId,
    detected_at: v.detectedAt.toISOString(),
    plate_text: e.plate.text,
    plate: normalizePlate(e.plate.text),
    plate_ocr: ocrKey(e.plate.text),
    confidence: e.plate.confidence,
    direction: e.vehicle?.direction ?? null,
    vehicle_type: e.vehicle?.type ?? null,
    vehicle_color: e.vehicle?.color ?? null,
    vehicle_make: e.vehicle?.make ?? null,
    lat: e.location?.lat ?? null,
    lon: e.location?.lon ?? null,
    raw: JSON.stringify(v.raw)
  }
}

/**
 * Central ingest: validates each event on its own, stores the valid ones with their images as
 * immutable evidence, and counts re-sent ones as duplicates. Images are written before the
 * transaction that records them, so no committed row can point at a missing object.
 */
export class Ingest extends Effect.Service<Ingest>()("@chaverim/server/Ingest", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const images = yield* Images
    // Camera rows by collector + camera id, with the mac and name they were stored with.
    const cameraCache = new Map<string, { id: string; mac: string; name: string | undefined }>()

    const cameraId = (collectorId: string, camera: Detection["camera"]) =>
      Effect.gen(function*() {
        const cacheKey = `${collectorId}\u0000${camera.id}`
        const cached = cameraCache.get(cacheKey)
        if (cached && cached.mac === camera.mac && (camera.name === undefined || cached.name === camera.name)) {
          return cached.id
        }
        const [row] = yield* sql<{ id: string; name: string | null }>`
          INSERT INTO cameras (collector_id, external_id, mac, name)
          VALUES (${collectorId}, ${camera.id}, ${camera.mac}, ${camera.name ?? null})
          ON CONFLICT (collector_id, external_id) DO UPDATE
            SET mac = EXCLUDED.mac, name = coalesce(EXCLUDED.name, cameras.name), updated_at = now()
          RETURNING id, name`
        cameraCache.set(cacheKey, { id: row!.id, mac: camera.mac, name: row!.name ?? undefined })
        return row!.id
      })

    const validate = (events: ReadonlyArray<unknown>, now: number) => {
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
        if (seen.has(event.detection_id)) {
          repeats++
          return
        }
        seen.add(event.detection_id)
        valid.push({ index, event, detectedAt, raw })
      })
      return { valid, errors, repeats }
    }

    const store = Effect.fn("Ingest.store")(function*(collectorId: string, batch: ReceivedBatch) {
      const started = performance.now()
      const { valid, errors, repeats } = validate(batch.events, Date.now())

      // Images of a detection stored by an earlier upload are not written again. Without images,
      // ON CONFLICT alone tells new from re-sent, so the lookup is only made for events with images.
      const withImages = valid.filter((v) => batch.images.has(v.event.detection_id))
      const known = withImages.length === 0 ? new Set<string>() : new Set(
        (yield* sql<{ detection_id: string }>`
          SELECT detection_id FROM detections
           WHERE collector_id = ${collectorId}
             AND detection_id IN ${sql.in(withImages.map((v) => v.event.detection_id))}`).map((r) => r.detection_id)
      )
      // Oldest first, so reads of one run link to the first read of the run (see the trigger).
      const fresh = valid.filter((v) => !known.has(v.event.detection_id))
        .sort((a, b) => a.detectedAt.getTime() - b.detectedAt.getTime())

      const rows: Array<Row> = []
      for (const v of fresh) rows.push(toRow(collectorId, yield* cameraId(collectorId, v.event.camera), v))

      const stored = new Map<string, ReadonlyArray<StoredImage>>()
      yield* Effect.forEach(withImages.filter((v) => !known.has(v.event.detection_id)), (v) => {
        const incoming = batch.images.get(v.event.detection_id)!
        return Effect.forEach(incoming, (image) => images.put(collectorId, v.event.detection_id, v.detectedAt, image)).pipe(
          Effect.tap((written) => Effect.sync(() => stored.set(v.event.detection_id, written)))
        )
      }, { concurrency: 8, discard: true })

      const inserted = rows.length === 0 ? [] : yield* sql.withTransaction(Effect.gen(function*() {
        const ids = yield* sql<{ id: string; detection_id: string }>`
          INSERT INTO detections ${sql.insert(rows)}
          ON CONFLICT (collector_id, detection_id) DO NOTHING
          RETURNING id, detection_id`
        const imageRows = ids.flatMap(({ id, detection_id }) =>
          (stored.get(detection_id) ?? []).map((image) => ({ detection_id: id, ...image })))
        if (imageRows.length > 0) yield* sql`INSERT INTO detection_images ${sql.insert(imageRows)}`
        return ids
      }))

      const accepted = inserted.length
      const duplicates = repeats + (valid.length - accepted)
      const imageBytes = [...stored.values()].flat().reduce((n, i) => n + i.size_bytes, 0)
      yield* Effect.all([
        Metric.incrementBy(Metric.tagged(ingestDetections, "outcome", "accepted"), accepted),
        Metric.incrementBy(Metric.tagged(ingestDetections, "outcome", "duplicate"), duplicates),
        Metric.incrementBy(Metric.tagged(ingestDetections, "outcome", "rejected"), errors.length),
        Metric.incrementBy(ingestImageBytes, imageBytes),
        Metric.update(ingestBatchSeconds, (performance.now() - started) / 1000)
      ], { discard: true })
      if (errors.length > 0) {
        yield* Effect.logWarning("batch events rejected").pipe(
          Effect.annotateLogs({ collector_id: collectorId, rejected: errors.length, first: errors[0]!.message })
        )
      }
      return { accepted, duplicates, rejected: errors.length, errors } satisfies BatchResult
    })

    return { store }
  })
}) {}
