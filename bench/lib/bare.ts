/**
 * The machine's limit beside our figure: the same rows going into the same PostgreSQL through the same
 * driver (pg) with nothing in between: no HTTP, no validation, no runs, no triggers. An ingest
 * benchmark runs these after each of its scenarios, at the same batch size and concurrency, so one run
 * shows how far the server is from what the database and the disk allow.
 *
 * The rows go into `bench_bare`, made LIKE the reads' table with its defaults, checks and indexes (not
 * its triggers, partitions or foreign key): every index the server maintains is maintained here too.
 */
import pg from "pg"
import { from as copyFrom } from "pg-copy-streams"
import { pipeline } from "node:stream/promises"
import { Readable } from "node:stream"

/** A read as stored, in the columns an ingest fills. */
export interface BareRow {
  readonly collector_id: string
  readonly detection_id: string
  readonly camera_id: string
  readonly detected_at: string
  readonly plate_text: string
  readonly plate: string
  readonly confidence: number
  readonly direction: string | null
  readonly vehicle_type: string | null
  readonly vehicle_color: string | null
  readonly vehicle_make: string | null
  readonly lat: number | null
  readonly lon: number | null
  readonly raw: string
}

const COLUMNS = [
  "collector_id", "detection_id", "camera_id", "detected_at", "plate_text", "plate", "plate_ocr", "confidence",
  "direction", "vehicle_type", "vehicle_color", "vehicle_make", "lat", "lon", "raw"
] as const

const values = (row: BareRow): ReadonlyArray<string | number | null> => [
  row.collector_id, row.detection_id, row.camera_id, row.detected_at, row.plate_text, row.plate, row.plate,
  row.confidence, row.direction, row.vehicle_type, row.vehicle_color, row.vehicle_make, row.lat, row.lon, row.raw
]

/** How the rows are written: one multi-row INSERT per batch, one COPY per batch, or BEGIN, INSERT, COMMIT per row. */
export type BareMethod = "insert" | "copy" | "transaction"

export interface BareResult {
  readonly method: BareMethod
  readonly rows: number
  readonly seconds: number
  readonly rowsPerSecond: number
  /** per batch (per row for "transaction"), from sending to the answer */
  readonly latenciesMs: ReadonlyArray<number>
}

export const prepareBareTable = async (db: pg.Client): Promise<void> => {
  await db.query("DROP TABLE IF EXISTS bench_bare")
  await db.query("CREATE TABLE bench_bare (LIKE detections INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)")
}

export const dropBareTable = (db: pg.Client): Promise<unknown> => db.query("DROP TABLE IF EXISTS bench_bare")

/** COPY's text format: backslash, tab, newline and carriage return escaped, NULL as \N. */
const copyField = (value: string | number | null): string =>
  value === null ? "\\N" : String(value).replace(/[\\\t\n\r]/g, (c) => ({ "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r" })[c]!)

const insertText = (rows: number): string => {
  const tuples = Array.from({ length: rows }, (_, r) =>
    `(${COLUMNS.map((_, c) => `$${r * COLUMNS.length + c + 1}`).join(", ")})`)
  return `INSERT INTO bench_bare (${COLUMNS.join(", ")}) VALUES ${tuples.join(", ")}`
}

/**
 * Writes batches from `nextBatch` for `seconds` over `concurrency` connections of their own, each
 * batch its own transaction (autocommitted, or BEGIN ... COMMIT around each row for "transaction").
 */
export const measureBare = async (
  url: string,
  method: BareMethod,
  options: {
    readonly concurrency: number
    readonly seconds: number
    readonly nextBatch: () => ReadonlyArray<BareRow>
    readonly stop: AbortSignal
  }
): Promise<BareResult> => {
  const clients = await Promise.all(Array.from({ length: options.concurrency }, async () => {
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    return client
  }))
  const latenciesMs: Array<number> = []
  let rows = 0
  const started = performance.now()
  const end = started + options.seconds * 1000
  const write = async (client: pg.Client, batch: ReadonlyArray<BareRow>) => {
    switch (method) {
      case "insert":
        await client.query({ text: insertText(batch.length), values: batch.flatMap(values) })
        return
      case "copy": {
        const text = batch.map((row) => values(row).map(copyField).join("\t")).join("\n") + "\n"
        await pipeline(Readable.from([text]), client.query(copyFrom(`COPY bench_bare (${COLUMNS.join(", ")}) FROM STDIN`)))
        return
      }
      case "transaction":
        for (const row of batch) {
          await client.query("BEGIN")
          await client.query({ text: insertText(1), values: [...values(row)] })
          await client.query("COMMIT")
        }
    }
  }
  try {
    await Promise.all(clients.map(async (client) => {
      while (performance.now() < end && !options.stop.aborted) {
        const batch = options.nextBatch()
        const t = performance.now()
        await write(client, batch)
        latenciesMs.push(performance.now() - t)
        rows += batch.length
      }
    }))
  } finally {
    await Promise.all(clients.map((client) => client.end().catch(() => undefined)))
  }
  const seconds = (performance.now() - started) / 1000
  return { method, rows, seconds, rowsPerSecond: rows / seconds, latenciesMs: latenciesMs.sort((a, b) => a - b) }
}
