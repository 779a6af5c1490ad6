import type { Detection } from "@chaverim/domain/Detection"
import Database from "better-sqlite3"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { createHash, randomBytes } from "node:crypto"
import * as Fs from "node:fs"
import * as Path from "node:path"
import type { CameraImage, CameraRead } from "../adapters/CameraRead"

/**
 * The collector's durable buffer: SQLite in WAL mode with `synchronous = FULL`, so a read is on disk
 * when `add` returns, and its photos beside it (written, fsynced and renamed into place first). The
 * collector answers a camera only after that, so a read a camera was told it delivered survives a
 * power cut.
 *
 * Reads stay until uploaded, however long that takes; uploaded reads are kept `retentionDays`, then
 * pruned. When the disk quota is reached, uploaded reads go first; reads not yet uploaded are never
 * removed, and new reads are refused (`BufferFull`) so the camera keeps them in its own memory.
 */

export class BufferFull extends Schema.TaggedError<BufferFull>()("BufferFull", {
  usedBytes: Schema.Number,
  quotaBytes: Schema.Number
}) {
  override get message() {
    return `buffer full: ${this.usedBytes} of ${this.quotaBytes} bytes used by reads not yet uploaded`
  }
}

export class BufferError extends Schema.TaggedError<BufferError>()("BufferError", {
  operation: Schema.String,
  cause: Schema.Defect
}) {
  override get message() {
    return `buffer ${this.operation} failed: ${this.cause instanceof Error ? this.cause.message : String(this.cause)}`
  }
}

export interface BufferOptions {
  /** directory of `buffer.db` and `images/` */
  readonly dir: string
  readonly retentionDays: number
  readonly quotaBytes: number
}

/** A read waiting for upload, with its photos on disk. */
export interface PendingRead {
  readonly seq: number
  readonly detectionId: string
  /** the Detection, parsed from `event` when first asked for */
  readonly detection: Detection
  /** the Detection as stored: JSON, which the uploader sends as it is (see `hasReceivedAt`) */
  readonly event: string
  /** whether `event` carries its own `received_at` (else the uploader adds `receivedAt`'s) */
  readonly hasReceivedAt: boolean
  readonly images: ReadonlyArray<{ readonly kind: CameraImage["kind"]; readonly contentType: string; readonly path: string; readonly size: number }>
  /** bytes of the event and its photos, as they will travel */
  readonly bytes: number
  readonly receivedAt: number
}

/**
 * A row of the buffer as a PendingRead. The uploader needs the stored JSON and the detection id
 * only, so the Detection is parsed when something asks for it: a drain then makes no objects of
 * every read only to throw them away a moment later.
 */
class PendingRow implements PendingRead {
  private parsed: Detection | undefined
  constructor(
    readonly seq: number,
    readonly detectionId: string,
    readonly event: string,
    readonly hasReceivedAt: boolean,
    readonly images: PendingRead["images"],
    readonly bytes: number,
    readonly receivedAt: number
  ) {}
  get detection(): Detection {
    return (this.parsed ??= JSON.parse(this.event) as Detection)
  }
}

/** What the buffer holds of a read a camera already gave (see `newestOf`). */
export interface BufferedRead {
  readonly timestamp: string
  readonly plate: string
}

export interface BufferStats {
  readonly pending: number
  readonly uploaded: number
  readonly quarantined: number
  readonly oldestPendingAt: number | null
  readonly lastUploadAt: number | null
  readonly usedBytes: number
  readonly quotaBytes: number
  readonly full: boolean
  readonly counters: Readonly<Record<string, number>>
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS reads (
  seq          INTEGER PRIMARY KEY,
  detection_id TEXT NOT NULL UNIQUE,
  event        TEXT NOT NULL,
  bytes        INTEGER NOT NULL,
  received_at  INTEGER NOT NULL,
  uploaded_at  INTEGER,
  attempts     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS reads_pending ON reads (seq) WHERE uploaded_at IS NULL;
CREATE INDEX IF NOT EXISTS reads_uploaded ON reads (uploaded_at) WHERE uploaded_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS images (
  read_seq     INTEGER NOT NULL REFERENCES reads (seq) ON DELETE CASCADE,
  kind         TEXT NOT NULL,
  content_type TEXT NOT NULL,
  file         TEXT NOT NULL,
  size         INTEGER NOT NULL,
  PRIMARY KEY (read_seq, kind)
);
CREATE TABLE IF NOT EXISTS quarantine (
  detection_id   TEXT PRIMARY KEY,
  event          TEXT NOT NULL,
  reason         TEXT NOT NULL,
  received_at    INTEGER NOT NULL,
  quarantined_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (
  name  TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
`

/**
 * The file name of a read's photo. Unique per write, not per read: two pushes of one detection_id
 * that race past the duplicate check both write their photos, and only the push whose row is
 * committed keeps its files; with one name per read, the loser's rename would replace the photo of
 * the read already stored.
 */
const imageFile = (detectionId: string, kind: string, contentType: string) => {
  const ext = contentType === "image/png" ? "png" : "jpg"
  const hash = createHash("sha256").update(detectionId).digest("hex")
  return Path.join(hash.slice(0, 2), `${hash.slice(2, 34)}-${kind}-${randomBytes(6).toString("hex")}.${ext}`)
}

const fsyncDir = (dir: string) => {
  const fd = Fs.openSync(dir, "r")
  try {
    Fs.fsyncSync(fd)
  } finally {
    Fs.closeSync(fd)
  }
}

const writeDurably = async (path: string, bytes: Uint8Array) => {
  const tmp = `${path}.${randomBytes(6).toString("hex")}.tmp`
  const handle = await Fs.promises.open(tmp, "w")
  try {
    await handle.writeFile(bytes)
    await handle.sync()
  } finally {
    await handle.close()
  }
  await Fs.promises.rename(tmp, path)
}

const DAY_MS = 24 * 3600 * 1000

export const makeBuffer = (options: BufferOptions) =>
  Effect.gen(function*() {
    const imagesDir = Path.join(options.dir, "images")
    Fs.mkdirSync(imagesDir, { recursive: true })
    const db = yield* Effect.acquireRelease(
      Effect.try({
        try: () => {
          const db = new Database(Path.join(options.dir, "buffer.db"))
          db.pragma("journal_mode = WAL")
          db.pragma("synchronous = FULL")
          db.pragma("foreign_keys = ON")
          db.pragma("busy_timeout = 5000")
          // better-sqlite3 builds SQLite with a 16 MiB page cache per connection; the buffer's hot pages
          // (the inner pages of its indexes, the pending reads' and the newest rows) fit in far less,
          // and a drain, which goes through every row once, fills whatever the cache may hold. 1 MiB:
          // drains and writes measured as fast as with 4 MiB (npm run bench -- edge), 3 MB less to hold.
          db.pragma("cache_size = -1024")
          db.exec(SCHEMA)
          return db
        },
        catch: (cause) => new BufferError({ operation: "open", cause })
      }),
      (db) => Effect.sync(() => db.close())
    )

    const insertRead = db.prepare<[string, string, number, number], { seq: number }>(
      "INSERT INTO reads (detection_id, event, bytes, received_at) VALUES (?, ?, ?, ?) ON CONFLICT (detection_id) DO NOTHING RETURNING seq"
    )
    const insertImage = db.prepare("INSERT INTO images (read_seq, kind, content_type, file, size) VALUES (?, ?, ?, ?, ?)")
    const isKnown = db.prepare<[string, string], { one: number }>(
      "SELECT 1 AS one FROM reads WHERE detection_id = ? UNION ALL SELECT 1 FROM quarantine WHERE detection_id = ?"
    )
    const bump = db.prepare(
      "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = value + excluded.value"
    )
    type PendingRowData = { seq: number; detection_id: string; event: string; has_received_at: number; bytes: number; received_at: number }
    const PENDING_COLUMNS = "seq, detection_id, event, json_extract(event, '$.received_at') IS NOT NULL AS has_received_at, bytes, received_at"
    const pendingRows = db.prepare<[number], PendingRowData>(
      `SELECT ${PENDING_COLUMNS} FROM reads WHERE uploaded_at IS NULL ORDER BY seq LIMIT ?`
    )
    // The same, passing over the reads whose seq is in a JSON array (those in flight), without reading them.
    const pendingRowsSkipping = db.prepare<[string, number], PendingRowData>(
      `SELECT ${PENDING_COLUMNS} FROM reads
        WHERE uploaded_at IS NULL AND seq NOT IN (SELECT value FROM json_each(?)) ORDER BY seq LIMIT ?`
    )
    const imagesOf = db.prepare<[number], { kind: CameraImage["kind"]; content_type: string; file: string; size: number }>(
      "SELECT kind, content_type, file, size FROM images WHERE read_seq = ? ORDER BY kind"
    )
    const markUploaded = db.prepare("UPDATE reads SET uploaded_at = ? WHERE seq = ? AND uploaded_at IS NULL")
    const bumpAttempts = db.prepare("UPDATE reads SET attempts = attempts + 1 WHERE seq = ?")
    const quarantineRead = db.prepare(
      `INSERT INTO quarantine (detection_id, event, reason, received_at, quarantined_at)
       SELECT detection_id, event, ?, received_at, ? FROM reads WHERE seq = ?
       ON CONFLICT (detection_id) DO UPDATE SET reason = excluded.reason`
    )
    const filesOfRead = db.prepare<[number], { file: string; size: number }>("SELECT file, size FROM images WHERE read_seq = ?")
    const deleteRead = db.prepare("DELETE FROM reads WHERE seq = ?")
    const oldUploaded = db.prepare<[number, number], { seq: number }>(
      "SELECT seq FROM reads WHERE uploaded_at IS NOT NULL AND uploaded_at < ? ORDER BY uploaded_at LIMIT ?"
    )
    const oldestUploaded = db.prepare<[number], { seq: number }>(
      "SELECT seq FROM reads WHERE uploaded_at IS NOT NULL ORDER BY uploaded_at LIMIT ?"
    )
    const imageBytes = db.prepare<[], { total: number | null }>("SELECT sum(size) AS total FROM images")
    const statsRow = db.prepare<[], {
      pending: number
      uploaded: number
      oldest: number | null
      last_upload: number | null
    }>(
      `SELECT count(*) FILTER (WHERE uploaded_at IS NULL) AS pending,
              count(*) FILTER (WHERE uploaded_at IS NOT NULL) AS uploaded,
              min(received_at) FILTER (WHERE uploaded_at IS NULL) AS oldest,
              max(uploaded_at) AS last_upload
         FROM reads`
    )
    // Every read of the camera, quarantined ones included (the camera gave them too), with times as
    // adapters write them (`Z` or `+hh:mm`, which julianday reads). A scan, run once per camera at start-up.
    const newestOfCamera = db.prepare<[{ camera: string; days: number }], BufferedRead>(
      `WITH camera_reads AS (
         SELECT json_extract(event, '$.timestamp') AS timestamp, json_extract(event, '$.plate.text') AS plate
           FROM reads WHERE json_extract(event, '$.camera.id') = @camera
         UNION ALL
         SELECT json_extract(event, '$.timestamp'), json_extract(event, '$.plate.text')
           FROM quarantine WHERE json_extract(event, '$.camera.id') = @camera
       ),
       timed AS (SELECT timestamp, plate, julianday(timestamp) AS day FROM camera_reads WHERE julianday(timestamp) IS NOT NULL)
       SELECT timestamp, plate FROM timed WHERE day >= (SELECT max(day) FROM timed) - @days ORDER BY day`
    )
    const quarantinedCount = db.prepare<[], { n: number }>("SELECT count(*) AS n FROM quarantine")
    const counterRows = db.prepare<[], { name: string; value: number }>("SELECT name, value FROM counters")

    // Bytes on disk: the photos, tracked as they come and go, plus the database file itself.
    let photoBytes = imageBytes.get()?.total ?? 0
    const pageSize = db.pragma("page_size", { simple: true }) as number
    const usedBytes = () => photoBytes + (db.pragma("page_count", { simple: true }) as number) * pageSize

    const removeReads = (seqs: ReadonlyArray<number>) => {
      const files: Array<{ file: string; size: number }> = []
      db.transaction(() => {
        for (const seq of seqs) {
          files.push(...filesOfRead.all(seq))
          deleteRead.run(seq)
        }
      })()
      for (const { file, size } of files) {
        photoBytes -= size
        Fs.rmSync(Path.join(imagesDir, file), { force: true })
      }
      return seqs.length
    }

    /** Makes room for `needed` bytes by removing uploaded reads, oldest upload first. */
    const makeRoom = (needed: number) => {
      while (usedBytes() + needed > options.quotaBytes) {
        const victims = oldestUploaded.all(200).map((r) => r.seq)
        if (victims.length === 0) return false
        removeReads(victims)
      }
      return true
    }

    /** A read as it is stored: serialised, sized and its photo files named once. */
    interface Prepared {
      readonly detectionId: string
      readonly event: string
      readonly bytes: number
      readonly photos: ReadonlyArray<{ readonly image: CameraImage; readonly file: string }>
    }
    const prepare = (read: CameraRead): Prepared => {
      const event = JSON.stringify(read.detection)
      const id = read.detection.detection_id
      return {
        detectionId: id,
        event,
        bytes: Buffer.byteLength(event) + read.images.reduce((n, i) => n + i.bytes.byteLength, 0),
        photos: read.images.map((image) => ({ image, file: imageFile(id, image.kind, image.contentType) }))
      }
    }

    /**
     * Inserts reads; returns how many were new, the photo bytes they brought, and the photo files of
     * the reads another push stored first, which nothing refers to.
     */
    const insertAll = (reads: ReadonlyArray<Prepared>, now: number) => {
      let added = 0
      let bytes = 0
      const orphans: Array<string> = []
      for (const read of reads) {
        const row = insertRead.get(read.detectionId, read.event, read.bytes, now)
        if (row === undefined) {
          orphans.push(...read.photos.map((p) => p.file))
          continue
        }
        added++
        for (const { file, image } of read.photos) {
          insertImage.run(row.seq, image.kind, image.contentType, file, image.bytes.byteLength)
          bytes += image.bytes.byteLength
        }
      }
      return { added, bytes, orphans }
    }

    /** Photo files no row refers to; a file that cannot be removed is only wasted space. */
    const removeFiles = (files: ReadonlyArray<string>) => {
      for (const file of files) {
        try {
          Fs.rmSync(Path.join(imagesDir, file), { force: true })
        } catch {
          // left for nothing to refer to
        }
      }
    }

    // Group commit: adds that arrive while the event loop is busy share one transaction, and so one
    // fsync of the WAL, instead of paying one each. Each caller still returns only after the commit.
    let waiting: Array<{ reads: ReadonlyArray<Prepared>; resume: (effect: Effect.Effect<number, BufferError>) => void }> = []
    const flush = () => {
      const jobs = waiting
      waiting = []
      try {
        const now = Date.now()
        const results = db.transaction(() => jobs.map((job) => insertAll(job.reads, now)))()
        // Counted once committed, so a failed commit leaves the quota's figure as it was.
        for (const result of results) photoBytes += result.bytes
        jobs.forEach((job, i) => job.resume(Effect.succeed(results[i]!.added)))
        removeFiles(results.flatMap((r) => r.orphans))
      } catch (cause) {
        for (const job of jobs) job.resume(Effect.fail(new BufferError({ operation: "insert", cause })))
        removeFiles(jobs.flatMap((job) => job.reads.flatMap((read) => read.photos.map((p) => p.file))))
      }
    }
    const commit = (reads: ReadonlyArray<Prepared>) =>
      reads.length === 0 ? Effect.succeed(0) : Effect.async<number, BufferError>((resume) => {
        waiting.push({ reads, resume })
        if (waiting.length === 1) setImmediate(flush)
      })

    /**
     * Stores reads durably. A read whose detection_id is already buffered (or quarantined) is a
     * camera re-sending it: counted as a duplicate, its photos not written again.
     */
    const add = (reads: ReadonlyArray<CameraRead>) =>
      Effect.gen(function*() {
        const fresh = reads
          .filter((r) => isKnown.get(r.detection.detection_id, r.detection.detection_id) === undefined)
          .map(prepare)
        if (!makeRoom(fresh.reduce((n, r) => n + r.bytes, 0))) {
          return yield* new BufferFull({ usedBytes: usedBytes(), quotaBytes: options.quotaBytes })
        }
        const files = fresh.flatMap((read) => read.photos)
        yield* Effect.tryPromise({
          try: async () => {
            const dirs = new Set(files.map((f) => Path.join(imagesDir, Path.dirname(f.file))))
            for (const dir of dirs) Fs.mkdirSync(dir, { recursive: true })
            await Promise.all(files.map((f) => writeDurably(Path.join(imagesDir, f.file), f.image.bytes)))
            for (const dir of dirs) fsyncDir(dir)
          },
          catch: (cause) => new BufferError({ operation: "write photos", cause })
        })
        const added = yield* commit(fresh)
        return { added, duplicates: reads.length - added }
      })

    /**
     * The oldest reads not yet uploaded, up to `limit`, passing over those in `skip` (the uploader's
     * reads in flight): SQLite leaves them out, so they are neither read nor parsed again for nothing.
     */
    const pending = (limit: number, skip?: ReadonlySet<number>) =>
      Effect.try({
        try: (): ReadonlyArray<PendingRead> =>
          (skip === undefined || skip.size === 0
            ? pendingRows.all(limit)
            : pendingRowsSkipping.all(JSON.stringify([...skip]), limit)).map((row) =>
            new PendingRow(
              row.seq,
              row.detection_id,
              row.event,
              row.has_received_at === 1,
              imagesOf.all(row.seq).map((i) => ({
                kind: i.kind,
                contentType: i.content_type,
                path: Path.join(imagesDir, i.file),
                size: i.size
              })),
              row.bytes,
              row.received_at
            )
          ),
        catch: (cause) => new BufferError({ operation: "read pending", cause })
      })

    /** Marks reads the server answered accepted or duplicate for. */
    const uploaded = (seqs: ReadonlyArray<number>) =>
      Effect.try({
        try: () => {
          const now = Date.now()
          db.transaction(() => {
            for (const seq of seqs) markUploaded.run(now, seq)
          })()
        },
        catch: (cause) => new BufferError({ operation: "mark uploaded", cause })
      })

    /** Moves a read the server rejected into quarantine with the reason; it is not sent again. */
    const quarantine = (entries: ReadonlyArray<{ readonly seq: number; readonly reason: string }>) =>
      Effect.try({
        try: () => {
          const now = Date.now()
          db.transaction(() => {
            for (const { seq, reason } of entries) quarantineRead.run(reason, now, seq)
          })()
          removeReads(entries.map((e) => e.seq))
        },
        catch: (cause) => new BufferError({ operation: "quarantine", cause })
      })

    const attempted = (seqs: ReadonlyArray<number>) =>
      Effect.sync(() =>
        db.transaction(() => {
          for (const seq of seqs) bumpAttempts.run(seq)
        })()
      )

    /** Removes uploaded reads older than the retention period. */
    const prune = (now = Date.now()) =>
      Effect.try({
        try: () => {
          let removed = 0
          for (;;) {
            const batch = oldUploaded.all(now - options.retentionDays * DAY_MS, 500).map((r) => r.seq)
            if (batch.length === 0) return removed
            removed += removeReads(batch)
          }
        },
        catch: (cause) => new BufferError({ operation: "prune", cause })
      })

    /**
     * The newest read of a camera by capture time, with the camera's other reads captured within
     * `withinMs` before it (oldest first); empty when the buffer holds none of the camera's reads.
     */
    const newestOf = (cameraId: string, withinMs: number) =>
      Effect.try({
        try: (): ReadonlyArray<BufferedRead> => newestOfCamera.all({ camera: cameraId, days: withinMs / DAY_MS }),
        catch: (cause) => new BufferError({ operation: "read newest", cause })
      })

    const count = (name: string, by = 1) => Effect.sync(() => void bump.run(name, by))

    const stats = Effect.sync((): BufferStats => {
      const row = statsRow.get()!
      const used = usedBytes()
      return {
        pending: row.pending,
        uploaded: row.uploaded,
        quarantined: quarantinedCount.get()!.n,
        oldestPendingAt: row.oldest,
        lastUploadAt: row.last_upload,
        usedBytes: used,
        quotaBytes: options.quotaBytes,
        full: used >= options.quotaBytes,
        counters: Object.fromEntries(counterRows.all().map((c) => [c.name, c.value]))
      }
    })

    const quarantined = Effect.sync(() =>
      db.prepare<[], { detection_id: string; reason: string; quarantined_at: number }>(
        "SELECT detection_id, reason, quarantined_at FROM quarantine ORDER BY quarantined_at"
      ).all()
    )

    return { add, pending, uploaded, quarantine, attempted, prune, newestOf, count, stats, quarantined } as const
  })

export class ReadBuffer extends Context.Tag("@chaverim/edge/ReadBuffer")<
  ReadBuffer,
  Effect.Effect.Success<ReturnType<typeof makeBuffer>>
>() {
  static readonly layer = (options: BufferOptions) => Layer.scoped(ReadBuffer, makeBuffer(options))
}
