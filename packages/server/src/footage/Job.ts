import type { Detection } from "@chaverim/domain/Detection"
import type { FootageRead, FootageResult } from "@chaverim/domain/Footage"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import sharp from "sharp"
import type { IncomingImage } from "../images/Images"
import { ObjectStore } from "../images/ObjectStore"
import { Ingest } from "../ingest/Ingest"
import { JobFailed, type JobHandler } from "../jobs/Jobs"
import { type PlateBox, Recogniser } from "../recognise/Recogniser"
import { FOOTAGE_COLLECTOR_ID, FOOTAGE_JOB, Footage, footageCameraId, type FootageRow } from "./Footage"
import { type Frame, probe, sampleFrames } from "./Frames"
import { heicFrames, probeHeic } from "./Heic"
import { makeTracker, readOf, type Track } from "./Tracks"

const Payload = Schema.Struct({ footage_id: Schema.UUID, fps: Schema.Number.pipe(Schema.between(0.1, 30)) })

/** Reads go to ingest this many at a time (a batch's limit is 100 and 5 MiB of photos). */
const CHUNK = 20
/** How often progress is written while frames are read. */
const PROGRESS_MS = 1_000

/** The plate's crop from the frame: the box with a margin, as JPEG; none when the recogniser gave no box. */
const cropOf = (jpeg: Uint8Array, box: PlateBox | null) =>
  box === null ? Effect.succeed(undefined) : Effect.tryPromise({
    try: async () => {
      const image = sharp(jpeg)
      const { width = 0, height = 0 } = await image.metadata()
      const marginX = Math.round(box.width * 0.15)
      const marginY = Math.round(box.height * 0.3)
      const left = Math.max(0, box.x - marginX)
      const top = Math.max(0, box.y - marginY)
      const right = Math.min(width, box.x + box.width + marginX)
      const bottom = Math.min(height, box.y + box.height + marginY)
      if (right - left < 4 || bottom - top < 4) return undefined
      const crop = await image.extract({ left, top, width: right - left, height: bottom - top }).jpeg({ quality: 90 }).toBuffer()
      return new Uint8Array(crop)
    },
    catch: () => undefined
  }).pipe(Effect.orElseSucceed(() => undefined))

/** The frames' pictures worth keeping: each track's best frame so far. */
const bestFrames = (tracks: ReadonlyArray<Track>) => new Set(tracks.map((t) => readOf(t).best.frame))

/**
 * The footage job: the original from the object store to a scratch file, its frames sampled by ffmpeg
 * and read by the recogniser one by one, alike finds in consecutive frames merged into one read per
 * vehicle (Tracks.ts), and the reads stored by ingest under the footage collector with the best frame
 * and the plate's crop as photos. A read's id is the footage's and the track's number: run again
 * after a crash, the job stores nothing twice.
 */
export const footageJob: JobHandler<Footage | Recogniser | ObjectStore | Ingest | SqlClient.SqlClient> = {
  kind: FOOTAGE_JOB,
  run: ({ job, progress }) =>
    Effect.scoped(Effect.gen(function*() {
      const payload = yield* Schema.decodeUnknown(Payload)(job.payload).pipe(
        Effect.mapError(() => new JobFailed({ message: "the job's payload is not a footage job's", retry: false }))
      )
      const footage = yield* Effect.flatMap(Footage, (f) => f.get(payload.footage_id)).pipe(
        Effect.catchTag("NotFound", (e) => new JobFailed({ message: e.message, retry: false }))
      )
      const recogniser = yield* Recogniser
      const store = yield* ObjectStore

      const dir = yield* Effect.acquireRelease(
        Effect.promise(() => Fs.mkdtemp(Path.join(Os.tmpdir(), "alpr-footage-"))),
        (dir) => Effect.promise(() => Fs.rm(dir, { recursive: true, force: true }))
      )
      const file = Path.join(dir, "original")
      yield* progress(0, "fetching the footage")
      yield* store.getFile(footage.object_key, file).pipe(
        Effect.mapError((e) => new JobFailed({ message: `the footage could not be read from the object store: ${e._tag}`, retry: true }))
      )
      const heic = footage.content_type === "image/heic"
      const facts = yield* (heic ? probeHeic(file) : probe(file)).pipe(Effect.mapError((e) => new JobFailed({ message: e.message, retry: false })))
      const photo = footage.media === "photo"
      const expected = photo ? 1 : Math.max(1, Math.ceil((facts.durationS ?? 0) * payload.fps))

      const tracker = makeTracker()
      const pictures = new Map<number, Uint8Array>()
      let frames = 0
      let reported = 0
      yield* (heic ? heicFrames(file) : sampleFrames(file, { fps: payload.fps, photo, startS: facts.startS })).pipe(
        Stream.mapError((e) => new JobFailed({ message: e.message, retry: false })),
        Stream.runForEach((frame: Frame) =>
          Effect.gen(function*() {
            const finds = yield* recogniser.recognise({ bytes: frame.jpeg, contentType: "image/jpeg" }).pipe(
              Effect.mapError((e) => new JobFailed({ message: `${recogniser.name}: ${e.message}`, retry: e.retry }))
            )
            frames++
            if (finds.length > 0) {
              tracker.add(frame.index, frame.offsetS, finds)
              pictures.set(frame.index, frame.jpeg)
              // only the frames some track reads best from are kept
              const keep = bestFrames(tracker.peek())
              for (const index of pictures.keys()) if (!keep.has(index)) pictures.delete(index)
            }
            if (Date.now() - reported >= PROGRESS_MS) {
              reported = Date.now()
              yield* progress(Math.min(0.95, frames / expected), `${frames} of about ${expected} frames read`)
            }
          })
        )
      )

      const tracks = tracker.finish()
      yield* progress(0.96, `storing ${tracks.length} reads`)
      const reads = yield* storeReads(footage, tracks, pictures, recogniser.name)
      return { footage_id: footage.id, recogniser: recogniser.name, frames, reads } satisfies FootageResult
    })).pipe(
      // the database failing (a lost connection mid-job): tried again later
      Effect.catchTag("SqlError", (e) => new JobFailed({ message: `the database failed: ${e.message}`, retry: true }))
    )
}

/** Each track's read, through ingest, a chunk at a time; the reads as the job's result lists them. */
const storeReads = (footage: FootageRow, tracks: ReadonlyArray<Track>, pictures: ReadonlyMap<number, Uint8Array>, recogniser: string) =>
  Effect.gen(function*() {
    const ingest = yield* Ingest
    const sql = yield* SqlClient.SqlClient
    const start = Date.parse(footage.starts_at)
    const made = yield* Effect.forEach(tracks, (track, i) =>
      Effect.gen(function*() {
        const read = readOf(track)
        const at = new Date(start + Math.round(read.best.offsetS * 1000)).toISOString()
        const detectionId = `footage:${footage.id}:${i + 1}`
        const event: Detection & { readonly source: Record<string, unknown> } = {
          detection_id: detectionId,
          timestamp: at,
          camera: { id: footageCameraId(footage.camera_name), mac: "footage", name: footage.camera_name },
          plate: { text: read.plate, confidence: read.confidence },
          source: {
            kind: "footage",
            footage_id: footage.id,
            footage_sha256: footage.sha256,
            offset_s: read.best.offsetS,
            first_s: read.firstS,
            last_s: read.lastS,
            frames: read.frames,
            recogniser,
            ...(read.best.find.box === null ? {} : { box: read.best.find.box }),
            candidates: read.candidates
          }
        }
        const picture = pictures.get(read.best.frame)
        const images: Array<IncomingImage> = []
        if (picture !== undefined) {
          images.push({ kind: "scene", contentType: "image/jpeg", bytes: picture })
          const crop = yield* cropOf(picture, read.best.find.box)
          if (crop !== undefined) images.push({ kind: "plate", contentType: "image/jpeg", bytes: crop })
        }
        const result: Omit<FootageRead, "read_id"> = {
          detection_id: detectionId,
          plate: read.plate,
          confidence: read.confidence,
          at,
          offset_s: read.best.offsetS,
          frames: read.frames,
          candidates: read.candidates
        }
        return { event, images, result }
      }))
    for (let i = 0; i < made.length; i += CHUNK) {
      const chunk = made.slice(i, i + CHUNK)
      const outcome = yield* ingest.store(FOOTAGE_COLLECTOR_ID, {
        events: chunk.map((m) => m.event),
        images: new Map(chunk.map((m) => [m.event.detection_id, m.images])),
        badImages: new Map()
      }).pipe(Effect.mapError((e) => new JobFailed({ message: `the reads could not be stored: ${String(e)}`, retry: true })))
      if (outcome.rejected > 0) {
        return yield* new JobFailed({
          message: `ingest refused ${outcome.rejected} reads: ${outcome.errors.map((e) => e.message).join("; ").slice(0, 500)}`,
          retry: false
        })
      }
    }
    const ids = made.length === 0 ? [] : yield* sql<{ id: string; detection_id: string }>`
      SELECT id::text AS id, detection_id FROM detections
       WHERE collector_id = ${FOOTAGE_COLLECTOR_ID} AND detection_id IN ${sql.in(made.map((m) => m.event.detection_id))}`.pipe(
        Effect.mapError((e) => new JobFailed({ message: `the reads could not be looked up: ${e.message}`, retry: true }))
      )
    const idOf = new Map(ids.map((r) => [r.detection_id, r.id]))
    return made.map((m) => ({ read_id: idOf.get(m.event.detection_id) ?? "", ...m.result }))
  })
