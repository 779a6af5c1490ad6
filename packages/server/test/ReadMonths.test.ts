import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import type pg from "pg"
import { connect, freshDatabase, useFreshDatabase } from "../../../test-support/Database"
import { migrate, migrateFrom, MIGRATIONS_DIR } from "../src/db/Migrator"
import { derivedServingUrl, ensureRole, grantServing, servingPassword, servingRoleName } from "../src/db/ServingRole"
import { migratedWithServingRole, runOn } from "./servingRole"

/**
 * Reads partitioned by month (sql/0019) and months dropped whole by retention (sql/0020), against a
 * migrated database with no server: rows are written in SQL, the serving role is made as a server
 * makes it.
 */

const database = useFreshDatabase()
let serving: pg.Client
let collector: string
let camera: string
let fixer: string

beforeAll(async () => {
  serving = await migratedWithServingRole(database)
  ;({ rows: [{ id: collector }] } = await database.db.query("INSERT INTO collectors (name) VALUES ('months') RETURNING id"))
  ;({ rows: [{ id: camera }] } = await database.db.query(
    "INSERT INTO cameras (collector_id, external_id, mac) VALUES ($1, 'cam', 'm') RETURNING id",
    [collector]
  ))
  ;({ rows: [{ id: fixer }] } = await database.db.query("INSERT INTO users (username, role) VALUES ('fixer', 'operator') RETURNING id"))
  await database.db.query("ALTER TABLE detections DISABLE TRIGGER detections_queue_alert_work")
}, 60_000)

afterAll(async () => {
  await serving?.end()
})

let sequence = 0

/**
 * A read at `at`, inserted by the serving role, after its month's partition is made (unless told not
 * to) by the owner's unbounded call: the serving role's own call makes only months near now.
 */
const read = async (at: string, options: { plate?: string; duplicateOf?: string; ensure?: boolean; photos?: boolean } = {}) => {
  if (options.ensure !== false) await database.db.query("SELECT detections_make_months(ARRAY[$1::timestamptz])", [at])
  const plate = options.plate ?? "MON001"
  const { rows: [row] } = await serving.query(
    `INSERT INTO detections (collector_id, detection_id, camera_id, detected_at, plate_text, plate, plate_ocr, confidence, raw, duplicate_of)
     VALUES ($1, $2, $3, $4, $5, $5, $5, 0.9, '{}', $6) RETURNING id::text AS id, tableoid::regclass::text AS month`,
    [collector, `m${++sequence}`, camera, at, plate, options.duplicateOf ?? null]
  )
  if (options.photos !== false) {
    await serving.query(
      `INSERT INTO detection_images (detection_id, detected_at, kind, object_key, content_type, size_bytes, sha256)
       SELECT $1::bigint, $2::timestamptz, k, 'detections/months/' || $1::text || '/' || k || '.jpg', 'image/jpeg', 10, repeat('a', 64)
         FROM unnest(ARRAY['plate', 'scene']) AS k`,
      [row.id, at]
    )
  }
  return row as { id: string; month: string }
}

interface Dropped {
  readonly reads: number
  readonly scene_images: number
  readonly plate_images: number
  readonly alerts_deleted: number
  readonly why: string | null
}

/** `retention_drop_month` as the serving role calls it, under the default policy (reads seven years). */
const dropMonth = async (month: string, options: { dryRun?: boolean; before?: string } = {}) => {
  const { rows: [row] } = await serving.query(
    `SELECT reads::int, scene_images, plate_images, alerts_deleted, why
       FROM retention_drop_month($1::timestamptz, ${options.before ?? "now() - interval '2557 days'"}, $2)`,
    [month, options.dryRun ?? false]
  )
  return row as Dropped
}

const partitionExists = async (name: string) =>
  (await database.db.query("SELECT to_regclass($1) IS NOT NULL AS found", [name])).rows[0].found as boolean

const refused = async (client: pg.Client, statement: string, params: Array<unknown>, code: string, message?: RegExp) => {
  const error = await client.query(statement, params).then(() => undefined, (e: { code?: string; message?: string }) => e)
  expect(error, `${statement} was allowed`).toBeDefined()
  expect(error!.code, error!.message).toBe(code)
  if (message) expect(error!.message).toMatch(message)
}

const alertOver = async (plate: string, first: string, last: string) => {
  const { rows: [list] } = await database.db.query("INSERT INTO watchlists (name, category) VALUES ($1, 'stolen') RETURNING id", [`l-${plate}`])
  const { rows: [entry] } = await database.db.query(
    "INSERT INTO watchlist_entries (watchlist_id, kind, value, added_by_name) VALUES ($1, 'exact', $2, 'test') RETURNING id",
    [list.id, plate]
  )
  const { rows: [alert] } = await database.db.query(
    `INSERT INTO alerts (watchlist_id, entry_id, plate, detection_id, last_detection_id, first_seen_at, last_seen_at, sightings)
     VALUES ($1, $2, $3, $4, $5, now(), now(), 2) RETURNING id::text AS id`,
    [list.id, entry.id, plate, first, last]
  )
  await database.db.query(
    "INSERT INTO alert_sightings (detection_id, watchlist_id, entry_key, alert_id) VALUES ($1, $3, $4, $5), ($2, $3, $4, $5)",
    [first, last, list.id, entry.id, alert.id]
  )
  return alert.id as string
}

describe("monthly partitions of the reads", () => {
  it("give a month its partition when asked before its first read; a read of a month without one waits in the default partition", async () => {
    const { rows: [made] } = await database.db.query("SELECT detections_make_months(ARRAY['2019-03-15T12:00:00Z', '2019-03-20T00:00:00Z']::timestamptz[]) AS n")
    expect(made.n).toBe(1)
    const { rows: [again] } = await database.db.query("SELECT detections_make_months(ARRAY['2019-03-01T00:00:00Z']::timestamptz[]) AS n")
    expect(again.n).toBe(0)
    // Months are UTC: the last instant of March and the first of April fall either side.
    expect((await read("2019-03-31T23:59:59.999Z")).month).toBe("detections_2019_03")
    expect((await read("2019-04-01T00:00:00Z")).month).toBe("detections_2019_04")

    const stray = await read("2019-06-10T00:00:00Z", { ensure: false })
    expect(stray.month).toBe("detections_default")
    // That month keeps its reads where they are: a partition for it would have to move evidence.
    const { rows: [none] } = await database.db.query("SELECT detections_make_months(ARRAY['2019-06-01T00:00:00Z']::timestamptz[]) AS n")
    expect(none.n).toBe(0)
    expect(await partitionExists("detections_2019_06")).toBe(false)
    expect((await read("2019-06-11T00:00:00Z")).month).toBe("detections_default")
  })

  it("are made by the serving role only for the months a collector can still be sending: older and later reads wait in the default partition", async () => {
    const monthStart = (months: number) => {
      const now = new Date()
      return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + months, 1))
    }
    const name = (at: Date) => `detections_${at.toISOString().slice(0, 4)}_${at.toISOString().slice(5, 7)}`
    // Two months back is the oldest it makes (the migration made this month and the next two).
    const twoBack = monthStart(-2)
    const threeBack = monthStart(-3)
    const { rows: [made] } = await serving.query(
      "SELECT detections_ensure_months(ARRAY[$1::timestamptz, $2::timestamptz]) AS n",
      [new Date(twoBack.getTime() + 86_400_000), new Date(threeBack.getTime() + 86_400_000)]
    )
    expect(made.n).toBe(1)
    expect(await partitionExists(name(twoBack))).toBe(true)
    expect(await partitionExists(name(threeBack))).toBe(false)

    // A batch spread a month apart over 2000 to 2024 asks for 300 months and makes none of them.
    const spread = Array.from({ length: 300 }, (_, i) => new Date(Date.UTC(2000, i, 15)).toISOString())
    const { rows: [{ tables: before }] } = await database.db.query(
      "SELECT count(*)::int AS tables FROM pg_inherits WHERE inhparent = 'detections'::regclass"
    )
    const { rows: [none] } = await serving.query("SELECT detections_ensure_months($1::timestamptz[]) AS n", [spread])
    expect(none.n).toBe(0)
    const { rows: [{ tables: after }] } = await database.db.query(
      "SELECT count(*)::int AS tables FROM pg_inherits WHERE inhparent = 'detections'::regclass"
    )
    expect(after).toBe(before)
    // Their reads are stored all the same.
    expect((await read("2003-05-05T05:05:05Z", { ensure: false })).month).toBe("detections_default")
    // Nor may the serving role call the owner's unbounded one.
    await expect(serving.query("SELECT detections_make_months(ARRAY['2004-01-01T00:00:00Z']::timestamptz[])")).rejects.toThrow(
      /permission denied/
    )
  })

  it("lose, at the server's next grant, a function grant the serving role's list does not name", async () => {
    const { rows: [me] } = await database.db.query("SELECT current_database() AS name, current_schema() AS schema")
    const role = servingRoleName(me.name)
    await database.db.query(`GRANT EXECUTE ON FUNCTION detections_make_months(timestamptz[]) TO ${role}`)
    await serving.query("SELECT detections_make_months(ARRAY['2001-01-01T00:00:00Z']::timestamptz[])")
    await runOn(database.url, grantServing(role, me.schema))
    await expect(serving.query("SELECT detections_make_months(ARRAY['2001-02-01T00:00:00Z']::timestamptz[])")).rejects.toThrow(
      /permission denied/
    )
    // What it does name stays granted.
    await serving.query("SELECT detections_ensure_months(ARRAY[now()])")
  })

  it("take ids from their sequence alone: the serving role may not choose one", async () => {
    await refused(
      serving,
      `INSERT INTO detections (id, collector_id, detection_id, camera_id, detected_at, plate_text, plate, plate_ocr, confidence, raw)
       VALUES (1, $1, 'chosen', $2, now(), 'X', 'X', 'X', 0.9, '{}')`,
      [collector, camera],
      "42501"
    )
    const a = await read("2019-03-02T00:00:00Z", { photos: false })
    const b = await read("2019-04-02T00:00:00Z", { photos: false })
    expect(BigInt(b.id)).toBeGreaterThan(BigInt(a.id))
  })

  it("keep a read's identity per collector, detection id and time: a re-sent event is refused, another time is another read", async () => {
    const insert = (at: string) =>
      serving.query(
        `INSERT INTO detections (collector_id, detection_id, camera_id, detected_at, plate_text, plate, plate_ocr, confidence, raw)
         VALUES ($1, 'same-id', $2, $3, 'X', 'X', 'X', 0.9, '{}') ON CONFLICT (collector_id, detection_id, detected_at) DO NOTHING`,
        [collector, camera, at]
      )
    expect((await insert("2019-03-05T00:00:00Z")).rowCount).toBe(1)
    expect((await insert("2019-03-05T00:00:00Z")).rowCount).toBe(0)
    expect((await insert("2019-03-05T00:00:01Z")).rowCount).toBe(1)
  })

  it("are write-once each: no DELETE or TRUNCATE of a month's partition, from the serving role or the owner", async () => {
    const { id } = await read("2019-03-07T00:00:00Z")
    await refused(serving, "DELETE FROM detections_2019_03 WHERE id = $1", [id], "42501")
    await refused(serving, "UPDATE detections_2019_03 SET plate = 'X' WHERE id = $1", [id], "42501")
    await refused(database.db, "DELETE FROM detections_2019_03 WHERE id = $1", [id], "42501", /immutable evidence/)
    await refused(database.db, "TRUNCATE detections_2019_03", [], "42501", /immutable evidence/)
    await refused(database.db, "DELETE FROM detections_default", [], "42501", /immutable evidence/)
    await refused(serving, "SELECT detections_guard_partition('detections_2019_03')", [], "42501")
    expect((await database.db.query("SELECT 1 FROM detections WHERE id = $1", [id])).rowCount).toBe(1)
  })

  it("check the read a photo, a correction or an alert names, as a foreign key would", async () => {
    const { id } = await read("2019-03-08T00:00:00Z", { photos: false })
    await refused(
      serving,
      `INSERT INTO detection_images (detection_id, detected_at, kind, object_key, content_type, size_bytes, sha256)
       VALUES ($1, '2019-03-08T00:00:01Z', 'plate', 'k/wrong-time.jpg', 'image/jpeg', 1, repeat('a', 64))`,
      [id],
      "23503"
    )
    await refused(
      serving,
      `INSERT INTO corrections (detection_id, action, plate_text, plate, plate_ocr, user_id, username)
       VALUES (999999999, 'correct', 'X', 'X', 'X', $1, 'fixer')`,
      [fixer],
      "23503"
    )
    const other = await read("2019-04-08T00:00:00Z", { photos: false })
    const alert = await alertOver("CHK001", id, other.id)
    await refused(database.db, "UPDATE alerts SET last_detection_id = 999999999 WHERE id = $1", [alert], "23503")
  })
})

describe("lookups by id that name their months", () => {
  it("an alert work item carries its reads' earliest and latest times", async () => {
    await database.db.query("SELECT detections_make_months(ARRAY['2019-08-01T00:00:00Z', '2019-09-01T00:00:00Z']::timestamptz[])")
    await database.db.query("ALTER TABLE detections ENABLE TRIGGER detections_queue_alert_work")
    try {
      const { rows: ids } = await serving.query(
        `INSERT INTO detections (collector_id, detection_id, camera_id, detected_at, plate_text, plate, plate_ocr, confidence, raw)
         VALUES ($1, 'w1', $2, '2019-08-31T23:59:59.123456Z', 'W', 'W', 'W', 0.9, '{}'),
                ($1, 'w2', $2, '2019-09-02T10:00:00Z', 'W', 'W', 'W', 0.9, '{}')
         RETURNING id::text AS id`,
        [collector, camera]
      )
      const { rows: [item] } = await database.db.query(
        `SELECT detection_ids::text[] AS ids, detected_from = '2019-08-31T23:59:59.123456Z' AS from_ok,
                detected_to = '2019-09-02T10:00:00Z' AS to_ok
           FROM alert_work ORDER BY id DESC LIMIT 1`
      )
      expect(item).toEqual({ ids: ids.map((r) => r.id).sort(), from_ok: true, to_ok: true })
    } finally {
      await database.db.query("ALTER TABLE detections DISABLE TRIGGER detections_queue_alert_work")
    }
  })
})

describe("retention by whole months", () => {
  it("drops a month past the policy with its photos (queued for the store), corrections, alerts and plates", async () => {
    const a = await read("2017-01-10T00:00:00Z", { plate: "GONE01" })
    const b = await read("2017-01-20T00:00:00Z", { plate: "GONE02" })
    await serving.query(
      `INSERT INTO corrections (detection_id, action, plate_text, plate, plate_ocr, user_id, username)
       VALUES ($1, 'correct', 'GONE09', 'GONE09', 'G0NE09', $2, 'fixer')`,
      [a.id, fixer]
    )
    const alert = await alertOver("GONE01", a.id, b.id)

    const dry = await dropMonth("2017-01-01T00:00:00Z", { dryRun: true })
    expect(dry).toEqual({ reads: 2, scene_images: 2, plate_images: 2, alerts_deleted: 1, why: null })
    expect(await partitionExists("detections_2017_01")).toBe(true)

    expect(await dropMonth("2017-01-01T00:00:00Z")).toEqual({ reads: 2, scene_images: 2, plate_images: 2, alerts_deleted: 1, why: null })
    expect(await partitionExists("detections_2017_01")).toBe(false)
    expect((await database.db.query("SELECT 1 FROM detections WHERE id = ANY($1::bigint[])", [[a.id, b.id]])).rowCount).toBe(0)
    expect((await database.db.query("SELECT 1 FROM detection_images WHERE detection_id = ANY($1::bigint[])", [[a.id, b.id]])).rowCount).toBe(0)
    const { rows: pending } = await database.db.query(
      "SELECT object_key FROM retention_pending_objects WHERE detection_id = ANY($1::bigint[]) ORDER BY object_key",
      [[a.id, b.id]]
    )
    expect(pending).toHaveLength(4)
    expect((await database.db.query("SELECT 1 FROM corrections WHERE detection_id = $1", [a.id])).rowCount).toBe(0)
    expect((await database.db.query("SELECT 1 FROM alerts WHERE id = $1", [alert])).rowCount).toBe(0)
    expect((await database.db.query("SELECT 1 FROM alert_sightings WHERE alert_id = $1", [alert])).rowCount).toBe(0)
    const { rows: candidates } = await database.db.query("SELECT plate FROM retention_plate_candidates WHERE plate LIKE 'GONE%' ORDER BY plate")
    expect(candidates.map((r) => r.plate)).toEqual(["GONE01", "GONE02"])
    // Gone already: nothing to do.
    expect(await dropMonth("2017-01-01T00:00:00Z")).toMatchObject({ reads: 0, why: "no partition" })
  })

  it("asks for the parent's exclusive lock only at the drop itself, after every deletion", async () => {
    await read("2016-03-10T00:00:00Z", { plate: "LOCK01" })
    const reader = await connect(database.url)
    const dropper = await connect(database.url)
    try {
      // A long query over this month's reads holds the parent (and its month) shared.
      await reader.query("BEGIN")
      await reader.query("SELECT count(*) FROM detections WHERE detected_at >= now() - interval '1 day'")
      const { rows: [{ pid }] } = await dropper.query("SELECT pg_backend_pid() AS pid")
      const dropping = dropper.query(
        "SELECT reads::int FROM retention_drop_month('2016-03-01T00:00:00Z', now() - interval '2557 days', false)"
      )
      const locksOf = async () =>
        (await database.db.query(
          `SELECT c.relname AS rel, l.mode, l.granted FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
            WHERE l.pid = $1 AND l.locktype = 'relation'`,
          [pid]
        )).rows as Array<{ rel: string; mode: string; granted: boolean }>
      let locks = await locksOf()
      for (let i = 0; i < 100 && !locks.some((l) => !l.granted); i++) {
        await new Promise((resolve) => setTimeout(resolve, 50))
        locks = await locksOf()
      }
      // It waits for the parent's exclusive lock, having deleted the month's photo rows already; the
      // parent was never locked exclusively before, so ingest and search went on meanwhile.
      expect(locks).toContainEqual({ rel: "detections", mode: "AccessExclusiveLock", granted: false })
      expect(locks).toContainEqual({ rel: "detection_images", mode: "RowExclusiveLock", granted: true })
      expect(locks.filter((l) => l.rel === "detections" && l.granted).map((l) => l.mode)).not.toContain("AccessExclusiveLock")
      await reader.query("COMMIT")
      expect((await dropping).rows[0]).toEqual({ reads: 1 })
      expect(await partitionExists("detections_2016_03")).toBe(false)
    } finally {
      await reader.end()
      await dropper.end()
    }
  })

  it("keeps a month a legal hold covers, and drops it once the hold is released", async () => {
    await read("2016-01-10T00:00:00Z", { plate: "HELD01" })
    await read("2016-01-11T00:00:00Z", { plate: "FREE01" })
    const { rows: [hold] } = await database.db.query(
      "INSERT INTO legal_holds (case_number, reason, plate, created_by_name) VALUES ('C-9', 'test', 'HELD01', 'test') RETURNING id"
    )
    expect(await dropMonth("2016-01-01T00:00:00Z")).toEqual({ reads: 2, scene_images: 0, plate_images: 0, alerts_deleted: 0, why: "hold" })
    expect(await partitionExists("detections_2016_01")).toBe(true)
    await database.db.query("UPDATE legal_holds SET released_at = now(), released_by_name = 'test' WHERE id = $1", [hold.id])
    expect(await dropMonth("2016-01-01T00:00:00Z")).toMatchObject({ reads: 2, why: null })
    expect(await partitionExists("detections_2016_01")).toBe(false)
  })

  it("keeps a month whose run goes on into the next, or whose alert stands for a read of another month", async () => {
    const start = await read("2016-02-29T23:59:50Z", { plate: "RUN001" })
    await read("2016-03-01T00:00:10Z", { plate: "RUN001", duplicateOf: start.id })
    expect(await dropMonth("2016-02-01T00:00:00Z")).toMatchObject({ reads: 1, why: "run" })

    const first = await read("2016-04-30T12:00:00Z", { plate: "ALR001" })
    const later = await read("2016-05-02T12:00:00Z", { plate: "ALR001" })
    await alertOver("ALR001", first.id, later.id)
    expect(await dropMonth("2016-04-01T00:00:00Z")).toMatchObject({ reads: 1, why: "alert" })
    expect(await partitionExists("detections_2016_04")).toBe(true)
  })

  it("refuses a month that has not ended before the policy's cut-off, and a cut-off newer than the policy", async () => {
    await read("2026-01-10T00:00:00Z")
    await refused(serving, "SELECT * FROM retention_drop_month('2026-01-01T00:00:00Z', now() - interval '2557 days', false)", [], "42501", /does not end before/)
    await refused(serving, "SELECT * FROM retention_drop_month('2026-01-01T00:00:00Z', now(), false)", [], "42501", /retention refused/)
    await refused(serving, "SELECT * FROM retention_drop_month('2016-01-15T00:00:00Z', now() - interval '2557 days', false)", [], "42501", /does not end before/)
    expect(await partitionExists("detections_2026_01")).toBe(true)
    // Only through the function: the serving role may not drop a month itself.
    await refused(serving, "DROP TABLE detections_2026_01", [], "42501")
  })

  it("lists the months that have ended before a cut-off, oldest first", async () => {
    const { rows } = await serving.query("SELECT m FROM retention_months('2019-04-01T00:00:00Z') AS m")
    const months = rows.map((r) => (r.m as Date).toISOString())
    expect(months).toContain("2019-03-01T00:00:00.000Z")
    expect(months).not.toContain("2019-04-01T00:00:00.000Z")
    expect([...months].sort()).toEqual(months)
  })
})

/**
 * A fresh database migrated only up to (not including) migration `before`, as an installation made
 * before it, with a collector and its camera; dropped with `drop`.
 */
const installationBefore = async (before: string) => {
  const upgrading = await freshDatabase()
  const db = await connect(upgrading.url)
  const dir = await Fs.mkdtemp(Path.join(Os.tmpdir(), `alpr-before-${before}-`))
  for (const name of await Fs.readdir(MIGRATIONS_DIR)) {
    if (name < before) await Fs.copyFile(Path.join(MIGRATIONS_DIR, name), Path.join(dir, name))
  }
  await runOn(upgrading.url, migrateFrom(dir))
  await Fs.rm(dir, { recursive: true })
  const { rows: [c] } = await db.query("INSERT INTO collectors (name) VALUES ('old') RETURNING id")
  const { rows: [cam] } = await db.query("INSERT INTO cameras (collector_id, external_id, mac) VALUES ($1, 'cam', 'm') RETURNING id", [c.id])
  return {
    url: upgrading.url,
    db,
    collector: c.id as string,
    camera: cam.id as string,
    drop: async () => {
      await db.end()
      await upgrading.drop()
    }
  }
}

describe("the move to monthly partitions", () => {
  it("keeps every read of an installation made before it, with its photos, and ids go on from the last", async () => {
    const upgrading = await installationBefore("0019")
    const { collector, camera, db } = upgrading
    try {
      await db.query(
        `INSERT INTO detections (collector_id, detection_id, camera_id, detected_at, plate_text, plate, plate_ocr, confidence, raw)
         SELECT $1, 'old' || i, $2, now() - make_interval(days => i * 20), 'OLD' || i, 'OLD' || i, 'OLD' || i, 0.9, '{}'
           FROM generate_series(1, 30) AS i`,
        [collector, camera]
      )
      await db.query(
        `INSERT INTO detection_images (detection_id, kind, object_key, content_type, size_bytes, sha256)
         SELECT id, 'plate', 'old/' || id, 'image/jpeg', 1, repeat('a', 64) FROM detections`
      )
      const before = (await db.query("SELECT id, detection_id, detected_at, raw FROM detections ORDER BY id")).rows

      await runOn(upgrading.url, migrate)
      const after = (await db.query("SELECT id, detection_id, detected_at, raw FROM detections ORDER BY id")).rows
      expect(after).toEqual(before)
      const { rows: homes } = await db.query("SELECT DISTINCT tableoid::regclass::text AS p FROM detections")
      expect(homes.map((r) => r.p)).not.toContain("detections_default")
      expect(homes.length).toBeGreaterThan(10)
      const { rows: [images] } = await db.query(
        "SELECT count(*)::int AS n FROM detection_images i JOIN detections d ON d.id = i.detection_id AND d.detected_at = i.detected_at"
      )
      expect(images.n).toBe(30)
      const { rows: [next] } = await db.query(
        `INSERT INTO detections (collector_id, detection_id, camera_id, detected_at, plate_text, plate, plate_ocr, confidence, raw)
         VALUES ($1, 'new', $2, now(), 'NEW', 'NEW', 'NEW', 0.9, '{}') RETURNING id::int AS id`,
        [collector, camera]
      )
      expect(next.id).toBe(31)
    } finally {
      await upgrading.drop()
    }
  }, 120_000)
})

describe("the upgrade to bounded months and plates' months (sql/0022, 0023)", () => {
  it("takes the unbounded call from the serving role it was granted to, and notes the months of the reads already stored", async () => {
    const upgrading = await installationBefore("0022")
    const { collector, camera, db } = upgrading
    let serving: pg.Client | undefined
    try {
      // A server of then made its serving role and granted it, among the rest, the (then unbounded) call.
      const { rows: [me] } = await db.query("SELECT current_database() AS name, current_schema() AS schema")
      const role = servingRoleName(me.name)
      await runOn(upgrading.url, ensureRole(role, servingPassword(upgrading.url, role)))
      await db.query(`GRANT USAGE ON SCHEMA ${me.schema} TO ${role}`)
      await db.query(`GRANT EXECUTE ON FUNCTION detections_ensure_months(timestamptz[]) TO ${role}`)
      serving = await connect(derivedServingUrl(upgrading.url, me.name))
      await serving.query("SELECT detections_ensure_months(ARRAY['2018-01-01T00:00:00Z']::timestamptz[])")
      await db.query(
        `INSERT INTO detections (collector_id, detection_id, camera_id, detected_at, plate_text, plate, plate_ocr, confidence, raw)
         VALUES ($1, 'a', $2, '2018-01-31T23:59:59Z', 'UPG1', 'UPG1', 'UPG1', 0.9, '{}'),
                ($1, 'b', $2, '2018-02-01T00:00:00Z', 'UPG1', 'UPG1', 'UPG1', 0.9, '{}'),
                ($1, 'c', $2, '2018-01-15T00:00:00Z', 'UPG2', 'UPG2', 'UPG2', 0.9, '{}')`,
        [collector, camera]
      )

      // The migrations run while that server's role still holds its grants (a server grants at start).
      await runOn(upgrading.url, migrate)
      await expect(serving.query("SELECT detections_make_months(ARRAY['2017-01-01T00:00:00Z']::timestamptz[])")).rejects.toThrow(
        /permission denied/
      )
      await runOn(upgrading.url, grantServing(role, me.schema))
      const { rows: [none] } = await serving.query("SELECT detections_ensure_months(ARRAY['2017-01-01T00:00:00Z']::timestamptz[]) AS n")
      expect(none.n).toBe(0)

      const { rows: months } = await db.query("SELECT plate, to_char(month, 'YYYY-MM') AS month FROM plate_months ORDER BY 1, 2")
      expect(months).toEqual([
        { plate: "UPG1", month: "2018-01" },
        { plate: "UPG1", month: "2018-02" },
        { plate: "UPG2", month: "2018-01" }
      ])
    } finally {
      await serving?.end()
      await upgrading.drop()
    }
  }, 120_000)
})
