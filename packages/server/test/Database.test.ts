import * as SqlClient from "@effect/sql/SqlClient"
import { PgClient } from "@effect/sql-pg"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { useFreshDatabase } from "../../../test-support/Database"
import { withSessionSettings } from "../src/db/Database"
import { migrate, MIGRATIONS_DIR, migrateFrom } from "../src/db/Migrator"

const database = useFreshDatabase()

const run = <A, E>(effect: Effect.Effect<A, E, SqlClient.SqlClient>) =>
  Effect.runPromise(Effect.provide(effect, PgClient.layer({ url: Redacted.make(database.url) })) as Effect.Effect<A, E>)


const expectRefused = async (statement: string, params: Array<unknown> = []) => {
  await expect(database.db.query(statement, params)).rejects.toThrow(/immutable evidence/)
}

describe("migrations", () => {
  it("apply every file once and record it", async () => {
    const first = await run(migrate)
    expect(first).toContain("0001_init.sql")
    expect(await run(migrate)).toEqual([])
    const { rows } = await database.db.query("SELECT version, name, checksum FROM schema_migrations ORDER BY version")
    expect(rows[0]).toMatchObject({ version: 1, name: "0001_init.sql" })
    expect(rows[0].checksum).toMatch(/^[0-9a-f]{64}$/)
    const ext = await database.db.query("SELECT extname FROM pg_extension WHERE extname = 'pg_trgm'")
    expect(ext.rowCount).toBe(1)
  })

  it("refuse to run when an applied file has changed", async () => {
    const dir = await Fs.mkdtemp(Path.join(Os.tmpdir(), "alpr-migrations-"))
    for (const name of await Fs.readdir(MIGRATIONS_DIR)) {
      await Fs.copyFile(Path.join(MIGRATIONS_DIR, name), Path.join(dir, name))
    }
    await Fs.appendFile(Path.join(dir, "0001_init.sql"), "\n-- edited after the fact\n")
    await expect(run(migrateFrom(dir))).rejects.toThrow(/0001_init\.sql was changed after it was applied/)
    await Fs.rm(dir, { recursive: true })
  })

  it("create the indexes searches and ingest rely on", async () => {
    const { rows } = await database.db.query("SELECT indexname FROM pg_indexes WHERE tablename = 'detections'")
    expect(rows.map((r) => r.indexname)).toEqual(expect.arrayContaining([
      "detections_plate_time", "detections_plate_ocr", "detections_camera_time", "detections_time",
      "detections_read_key", "detections_pkey"
    ]))
  })
})

describe("the plates table", () => {
  it("holds each plate ever read once, whatever inserted the reads", async () => {
    const collector = await database.db.query("INSERT INTO collectors (name) VALUES ('plates') RETURNING id")
    const camera = await database.db.query(
      "INSERT INTO cameras (collector_id, external_id, mac) VALUES ($1, 'p1', 'm') RETURNING id",
      [collector.rows[0].id]
    )
    const insert = (ids: Array<string>, plates: Array<string>) =>
      database.db.query(
        `INSERT INTO detections (collector_id, detection_id, camera_id, detected_at, plate_text, plate, plate_ocr, confidence, raw)
         SELECT $1, d, $2, now(), p, p, p, 0.9, '{}' FROM unnest($3::text[], $4::text[]) AS u(d, p)`,
        [collector.rows[0].id, camera.rows[0].id, ids, plates]
      )
    // Two sessions bringing the same new plates in opposite orders, at once.
    await Promise.all([
      insert(["a1", "a2", "a3"], ["PLT001", "PLT002", "PLT001"]),
      insert(["b1", "b2"], ["PLT002", "PLT003"])
    ])
    await insert(["c1"], ["PLT003"])
    const { rows } = await database.db.query("SELECT plate FROM plates WHERE plate LIKE 'PLT%' ORDER BY plate")
    expect(rows.map((r) => r.plate)).toEqual(["PLT001", "PLT002", "PLT003"])
    const { rows: [pairs] } = await database.db.query("SELECT plate_pairs('K3K3Z') AS p")
    expect(pairs.p).toEqual(["3K", "3Z", "K3"])
  })
})

describe("the application's connections", () => {
  it("run without JIT, unless the URL says otherwise", async () => {
    const setting = (url: string) =>
      Effect.runPromise(Effect.provide(
        Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ jit: string }>`SHOW jit`),
        PgClient.layer({ url: Redacted.make(url) })
      )).then(([row]) => row!.jit)
    expect(await setting(withSessionSettings(database.url))).toBe("off")
    const explicit = new URL(database.url)
    explicit.searchParams.set("options", "-c jit=on -c work_mem=8MB")
    expect(await setting(withSessionSettings(explicit.toString()))).toBe("on")
    expect(withSessionSettings(explicit.toString())).toBe(explicit.toString())
  })
})

describe("evidence is write-once", () => {
  let detectionId: string

  beforeAll(async () => {
    const collector = await database.db.query("INSERT INTO collectors (name) VALUES ('worm') RETURNING id")
    const camera = await database.db.query(
      "INSERT INTO cameras (collector_id, external_id, mac) VALUES ($1, 'c1', 'm') RETURNING id",
      [collector.rows[0].id]
    )
    const detection = await database.db.query(
      `INSERT INTO detections (collector_id, detection_id, camera_id, detected_at, plate_text, plate, plate_ocr, confidence, raw)
       VALUES ($1, 'd1', $2, now(), 'ABC 123', 'ABC123', 'A8C123', 0.9, '{}') RETURNING id`,
      [collector.rows[0].id, camera.rows[0].id]
    )
    detectionId = detection.rows[0].id
    await database.db.query(
      `INSERT INTO detection_images (detection_id, detected_at, kind, object_key, content_type, size_bytes, sha256)
       SELECT id, detected_at, 'plate', 'k/1.jpg', 'image/jpeg', 10, repeat('a', 64) FROM detections WHERE id = $1`,
      [detectionId]
    )
  })

  it("refuses UPDATE, DELETE and TRUNCATE of detections", async () => {
    await expectRefused("UPDATE detections SET plate = 'XYZ999' WHERE id = $1", [detectionId])
    await expectRefused("DELETE FROM detections WHERE id = $1", [detectionId])
    await expectRefused("TRUNCATE detections CASCADE")
    const { rows } = await database.db.query("SELECT plate FROM detections WHERE id = $1", [detectionId])
    expect(rows[0].plate).toBe("ABC123")
  })

  it("refuses UPDATE, DELETE and TRUNCATE of detection images", async () => {
    await expectRefused("UPDATE detection_images SET sha256 = repeat('b', 64) WHERE detection_id = $1", [detectionId])
    await expectRefused("DELETE FROM detection_images WHERE detection_id = $1", [detectionId])
    await expectRefused("TRUNCATE detection_images")
    const { rows } = await database.db.query("SELECT sha256 FROM detection_images WHERE detection_id = $1", [detectionId])
    expect(rows[0].sha256).toBe("a".repeat(64))
  })
})
