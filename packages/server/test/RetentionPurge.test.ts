import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type pg from "pg"
import { connect, useFreshDatabase } from "../../../test-support/Database"
import { migratedWithServingRole } from "./servingRole"

/**
 * The purge function of sql/0017 on its own, against a migrated database with no server: what it
 * deletes, what it keeps and why, and what it refuses whoever calls it. Rows are written in SQL; the
 * serving role is made as a server would make it.
 */

const database = useFreshDatabase()
let serving: pg.Client
let collector: string
let camera: string
let otherCamera: string

beforeAll(async () => {
  serving = await migratedWithServingRole(database)
  ;({ rows: [{ id: collector }] } = await database.db.query("INSERT INTO collectors (name) VALUES ('purge') RETURNING id"))
  ;({ rows: [{ id: camera }] } = await database.db.query(
    "INSERT INTO cameras (collector_id, external_id, mac) VALUES ($1, 'cam-a', 'm') RETURNING id",
    [collector]
  ))
  ;({ rows: [{ id: otherCamera }] } = await database.db.query(
    "INSERT INTO cameras (collector_id, external_id, mac) VALUES ($1, 'cam-b', 'm') RETURNING id",
    [collector]
  ))
  // Reads are written straight in: their alert work is no engine's here.
  await database.db.query("ALTER TABLE detections DISABLE TRIGGER detections_queue_alert_work")
}, 60_000)

afterAll(async () => {
  await serving?.end()
})

let sequence = 0

interface ReadOptions {
  /** how long ago it was read, as an interval: '400 days' */
  readonly ago: string
  readonly plate?: string
  readonly camera?: string
  readonly duplicateOf?: string
  readonly photos?: boolean
}

const read = async (options: ReadOptions): Promise<string> => {
  const plate = options.plate ?? `P${++sequence}`
  const { rows: [row] } = await database.db.query(
    `INSERT INTO detections (collector_id, detection_id, camera_id, detected_at, plate_text, plate, plate_ocr, confidence, raw, duplicate_of)
     VALUES ($1, $2, $3, now() - $4::interval, $5, $5, $5, 0.9, '{}', $6) RETURNING id::text AS id`,
    [collector, `d${++sequence}`, options.camera ?? camera, options.ago, plate, options.duplicateOf ?? null]
  )
  if (options.photos !== false) {
    await database.db.query(
      `INSERT INTO detection_images (detection_id, detected_at, kind, object_key, content_type, size_bytes, sha256)
       SELECT d.id, d.detected_at, k, 'detections/test/' || $1::text || '/' || k || '.jpg', 'image/jpeg', 10, repeat('a', 64)
         FROM detections d CROSS JOIN unnest(ARRAY['plate', 'scene']) AS k WHERE d.id = $1::bigint`,
      [row.id]
    )
  }
  return row.id as string
}

interface Purged {
  readonly scene_images_deleted: number
  readonly plate_images_deleted: number
  readonly detections_deleted: number
  readonly alerts_deleted: number
  readonly held_skipped: number
  readonly kept: number
  readonly object_keys: ReadonlyArray<string>
  readonly extra_ids: ReadonlyArray<string>
}

interface Cutoffs {
  readonly scene?: string
  readonly plate?: string
  readonly detection?: string
  readonly nonhit?: string
}

/** `retention_purge` as the serving role calls it; cut-offs as intervals before now(). */
const purge = async (ids: ReadonlyArray<string>, cutoffs: Cutoffs, options: { dryRun?: boolean; as?: pg.Client } = {}) => {
  const { rows: [row] } = await (options.as ?? serving).query(
    `SELECT scene_images_deleted, plate_images_deleted, detections_deleted, alerts_deleted, held_skipped, kept,
            object_keys, extra_ids::text[] AS extra_ids
       FROM retention_purge($1::bigint[], now() - $2::interval, now() - $3::interval, now() - $4::interval,
                            now() - $5::interval, $6)`,
    [ids, cutoffs.scene ?? null, cutoffs.plate ?? null, cutoffs.detection ?? null, cutoffs.nonhit ?? null, options.dryRun ?? false]
  )
  return row as Purged
}

/** The default policy: photos a year, reads seven years. */
const POLICY: Cutoffs = { scene: "365 days", plate: "365 days", detection: "2557 days" }

const exists = async (id: string) =>
  (await database.db.query("SELECT 1 FROM detections WHERE id = $1", [id])).rowCount === 1
const photos = async (id: string) =>
  (await database.db.query<{ kind: string }>("SELECT kind FROM detection_images WHERE detection_id = $1 ORDER BY kind", [id]))
    .rows.map((r) => r.kind)
const keptWhy = async (id: string) =>
  (await database.db.query<{ why: string }>("SELECT why FROM retention_kept WHERE detection_id = $1", [id])).rows[0]?.why

const hold = async (fields: Record<string, unknown>) => {
  const { rows: [row] } = await database.db.query(
    `INSERT INTO legal_holds (case_number, reason, plate, detection_ids, camera_id, from_at, to_at, created_by_name)
     VALUES ('C-1', 'test', $1, $2::bigint[], $3, now() - $4::interval, now() - $5::interval, 'test') RETURNING id`,
    [fields.plate ?? null, fields.detections ?? null, fields.camera ?? null, fields.from ?? null, fields.to ?? null]
  )
  return row.id as string
}
const release = (id: string) =>
  database.db.query("UPDATE legal_holds SET released_at = now(), released_by_name = 'test' WHERE id = $1", [id])

/** The statement fails with this SQLSTATE (and message, when given). */
const refused = async (client: pg.Client, statement: string, params: Array<unknown>, code: string, message?: RegExp) => {
  const error = await client.query(statement, params).then(() => undefined, (e: { code?: string; message?: string }) => e)
  expect(error, `${statement} was allowed`).toBeDefined()
  expect(error!.code, error!.message).toBe(code)
  if (message) expect(error!.message).toMatch(message)
}

describe("write-once outside the purge", () => {
  it("refuses the serving role any DELETE, even with the purge's setting, and the owner's own DELETE", async () => {
    const id = await read({ ago: "3000 days" })
    await refused(serving, "DELETE FROM detections WHERE id = $1", [id], "42501", /permission denied/)
    await refused(serving, "DELETE FROM detection_images WHERE detection_id = $1", [id], "42501", /permission denied/)
    await serving.query("SET alpr.retention = 'purge'")
    await refused(serving, "DELETE FROM detections WHERE id = $1", [id], "42501", /permission denied/)
    await serving.query("RESET alpr.retention")
    // The owner (here a superuser) is stopped by the trigger, whatever it deletes.
    await refused(database.db, "DELETE FROM detections WHERE id = $1", [id], "42501", /immutable evidence/)
    await refused(database.db, "DELETE FROM detection_images WHERE detection_id = $1", [id], "42501", /immutable evidence/)
    await refused(database.db, "DELETE FROM corrections WHERE detection_id = $1", [id], "42501", /append-only/)
    await refused(database.db, "UPDATE detections SET plate = 'X' WHERE id = $1", [id], "42501", /immutable evidence/)
    expect(await exists(id)).toBe(true)
    expect(await photos(id)).toEqual(["plate", "scene"])
  })

  it("leaves the policy, the queue of objects and the owner's policy function to the owner", async () => {
    await refused(serving, "UPDATE retention_policy SET keep = interval '1 minute'", [], "42501")
    await refused(serving, "INSERT INTO retention_pending_objects (object_key, detection_id, kind) VALUES ('x', 1, 'plate')", [], "42501")
    await refused(serving, "DELETE FROM retention_kept", [], "42501")
    await refused(serving, "SELECT retention_set_policy(1, 1, 1, 1)", [], "42501")
  })

  it("refuses any cut-off newer than the policy, whoever asks and for whatever read", async () => {
    const id = await read({ ago: "10 days" })
    for (
      const cutoffs of [
        { scene: "364 days" },
        { plate: "1 second" },
        { detection: "2556 days" },
        { ...POLICY, detection: "365 days" },
        // no non-hit policy is set: no non-hit cut-off at all
        { nonhit: "3000 days" }
      ]
    ) {
      const error = await purge([id], cutoffs).then(() => undefined, (e: { code?: string; message?: string }) => e)
      expect(error?.message, JSON.stringify(cutoffs)).toMatch(/retention refused/)
      expect(error?.code).toBe("42501")
    }
    expect(await exists(id)).toBe(true)
    expect(await photos(id)).toEqual(["plate", "scene"])
  })
})

describe("the purge", () => {
  it("takes a year-old read's photos and keeps the read; seven years on, the read and its corrections", async () => {
    const year = await read({ ago: "400 days" })
    const seven = await read({ ago: "2600 days" })
    const young = await read({ ago: "300 days" })
    const { rows: [user] } = await database.db.query("INSERT INTO users (username, role) VALUES ('corrector', 'operator') RETURNING id")
    await database.db.query(
      "INSERT INTO corrections (detection_id, action, user_id, username) VALUES ($1, 'confirm', $2, 'corrector')",
      [seven, user.id]
    )
    const done = await purge([year, seven, young], POLICY)
    expect(done).toMatchObject({ scene_images_deleted: 2, plate_images_deleted: 2, detections_deleted: 1, held_skipped: 0, kept: 0 })
    expect(await exists(year)).toBe(true)
    expect(await photos(year)).toEqual([])
    expect(await exists(seven)).toBe(false)
    expect(await photos(young)).toEqual(["plate", "scene"])
    // Their objects wait in the queue until the server has removed them from the store.
    const { rows: queued } = await database.db.query<{ object_key: string }>(
      "SELECT object_key FROM retention_pending_objects WHERE detection_id = ANY($1::bigint[]) ORDER BY object_key",
      [[year, seven]]
    )
    expect(queued.map((q) => q.object_key)).toEqual([...done.object_keys].sort())
    const { rows: [removed] } = await serving.query("SELECT retention_objects_removed($1::text[]) AS n", [done.object_keys])
    expect(removed.n).toBe(4)
    expect((await database.db.query("SELECT 1 FROM retention_pending_objects WHERE detection_id = ANY($1::bigint[])", [[year, seven]])).rowCount).toBe(0)
  })

  it("answers a dry run with the counts the real purge then gives, and changes nothing", async () => {
    const a = await read({ ago: "400 days" })
    const b = await read({ ago: "2600 days" })
    const c = await read({ ago: "2600 days", plate: "DRYRUN" })
    await hold({ plate: "DRYRUN" })
    const before = await database.db.query("SELECT (SELECT count(*) FROM detections) AS d, (SELECT count(*) FROM detection_images) AS i")
    const dry = await purge([a, b, c], POLICY, { dryRun: true })
    const after = await database.db.query("SELECT (SELECT count(*) FROM detections) AS d, (SELECT count(*) FROM detection_images) AS i")
    expect(after.rows).toEqual(before.rows)
    expect(await keptWhy(c)).toBeUndefined()
    const real = await purge([a, b, c], POLICY)
    expect({ ...dry, object_keys: [] }).toEqual({ ...real, object_keys: [] })
    expect(real).toMatchObject({ scene_images_deleted: 2, plate_images_deleted: 2, detections_deleted: 1, held_skipped: 1, kept: 1 })
    expect(await keptWhy(c)).toBe("hold")
  })
})

describe("legal holds", () => {
  it("keep a plate's reads (and reads corrected to it), a list of reads, and a camera's range, ends included", async () => {
    const byPlate = await read({ ago: "3000 days", plate: "HELD01" })
    const corrected = await read({ ago: "3000 days", plate: "HELDO1" })
    const { rows: [user] } = await database.db.query("INSERT INTO users (username, role) VALUES ('holder', 'operator') RETURNING id")
    await database.db.query(
      `INSERT INTO corrections (detection_id, action, plate_text, plate, plate_ocr, user_id, username)
       VALUES ($1, 'correct', 'HELD01', 'HELD01', 'HE1D01', $2, 'holder')`,
      [corrected, user.id]
    )
    const listed = await read({ ago: "3000 days" })
    const atStart = await read({ ago: "2990 days", camera: otherCamera })
    const atEnd = await read({ ago: "2980 days", camera: otherCamera })
    const outside = await read({ ago: "2970 days", camera: otherCamera })
    const otherPlate = await read({ ago: "3000 days", plate: "FREE01" })
    await hold({ plate: "HELD01" })
    await hold({ detections: `{${listed}}` })
    // From the first read's time to the last's, to the microsecond.
    await database.db.query(
      `INSERT INTO legal_holds (case_number, reason, camera_id, from_at, to_at, created_by_name)
       VALUES ('C-2', 'camera', $1, (SELECT detected_at FROM detections WHERE id = $2),
               (SELECT detected_at FROM detections WHERE id = $3), 'test')`,
      [otherCamera, atStart, atEnd]
    )
    const done = await purge([byPlate, corrected, listed, atStart, atEnd, outside, otherPlate], POLICY)
    expect(done).toMatchObject({ detections_deleted: 2, held_skipped: 5, kept: 5 })
    for (const id of [byPlate, corrected, listed, atStart, atEnd]) {
      expect(await exists(id), id).toBe(true)
      expect(await photos(id)).toEqual(["plate", "scene"])
      expect(await keptWhy(id)).toBe("hold")
    }
    expect(await exists(outside)).toBe(false)
    expect(await exists(otherPlate)).toBe(false)
  })

  it("stop keeping once released: the reads they kept go at the next purge", async () => {
    const id = await read({ ago: "400 days", plate: "RELEAS" })
    const held = await hold({ plate: "RELEAS" })
    expect(await purge([id], POLICY)).toMatchObject({ scene_images_deleted: 0, held_skipped: 1 })
    expect(await keptWhy(id)).toBe("hold")
    await release(held)
    expect(await purge([id], POLICY)).toMatchObject({ scene_images_deleted: 1, plate_images_deleted: 1, held_skipped: 0 })
    expect(await keptWhy(id)).toBeUndefined()
  })

  it("are released once and never deleted or changed otherwise", async () => {
    const id = await hold({ plate: "GUARD1" })
    await refused(serving, "DELETE FROM legal_holds WHERE id = $1", [id], "42501", /never deleted/)
    await refused(serving, "UPDATE legal_holds SET plate = 'OTHER1' WHERE id = $1", [id], "42501", /only ever changes by being released/)
    await refused(serving, "UPDATE legal_holds SET released_at = now() WHERE id = $1", [id], "23514")
    await serving.query("UPDATE legal_holds SET released_at = now(), released_by_name = 'admin' WHERE id = $1", [id])
    await refused(serving, "UPDATE legal_holds SET released_at = NULL, released_by_name = NULL WHERE id = $1", [id], "42501", /released already/)
  })
})

describe("reads tied together", () => {
  it("keep a run's first read while a read of its run stays, and take the run whole once it may go", async () => {
    const head = await read({ ago: "2600 days", plate: "RUN001" })
    const member = await read({ ago: "2600 days - 20 seconds", plate: "RUN001", duplicateOf: head })
    // the cut-off between the two: the head is past it, its run's second read is not
    const between = { ...POLICY, detection: "2600 days - 10 seconds" }
    expect(await purge([head], between)).toMatchObject({ detections_deleted: 0, kept: 1 })
    expect(await keptWhy(head)).toBe("pinned")
    const done = await purge([head], POLICY)
    expect(done).toMatchObject({ detections_deleted: 2, kept: 0 })
    expect(done.extra_ids).toEqual([member])
    expect(await exists(member)).toBe(false)
    expect(await keptWhy(head)).toBeUndefined()
  })

  it("take an alert with its reads, once every read of it may go, with its sightings, outbox rows and deliveries", async () => {
    const { rows: [list] } = await database.db.query("INSERT INTO watchlists (name, category) VALUES ('tied', 'stolen') RETURNING id")
    const { rows: [entry] } = await database.db.query(
      "INSERT INTO watchlist_entries (watchlist_id, kind, value, added_by_name) VALUES ($1, 'exact', 'ALRT01', 'test') RETURNING id",
      [list.id]
    )
    const first = await read({ ago: "2700 days", plate: "ALRT01" })
    const last = await read({ ago: "2600 days", plate: "ALRT01", camera: otherCamera })
    const { rows: [alert] } = await database.db.query(
      `INSERT INTO alerts (watchlist_id, entry_id, plate, detection_id, last_detection_id, first_seen_at, last_seen_at, sightings)
       VALUES ($1, $2, 'ALRT01', $3, $4, now() - interval '2700 days', now() - interval '2600 days', 2) RETURNING id`,
      [list.id, entry.id, first, last]
    )
    await database.db.query(
      "INSERT INTO alert_sightings (detection_id, watchlist_id, entry_key, alert_id) VALUES ($1, $3, $4, $5), ($2, $3, $4, $5)",
      [first, last, list.id, entry.id, alert.id]
    )
    const { rows: [volunteer] } = await database.db.query("INSERT INTO users (username, role) VALUES ('volunteer', 'viewer') RETURNING id")
    await database.db.query("INSERT INTO telegram_deliveries (alert_id, user_id, chat_id) VALUES ($1, $2, 42)", [alert.id, volunteer.id])
    await database.db.query("INSERT INTO outbox (channel, event, alert_id) VALUES ('telegram', 'alert_raised', $1)", [alert.id])
    // the other channels' deliveries (sql/0024) go with their alert, the purge naming no channel
    await database.db.query(
      "INSERT INTO output_deliveries (channel, target, alert_id, event, outbox_id) VALUES ('webhook', 'hook', $1, 'alert_raised', 1), ('mqtt', 'broker', $1, 'alert_raised', 2)",
      [alert.id]
    )

    // The alert's other read is younger than the cut-off: both stay (the old one's photos go).
    expect(await purge([first], { ...POLICY, detection: "2650 days" })).toMatchObject({ detections_deleted: 0, alerts_deleted: 0, kept: 1 })
    expect(await keptWhy(first)).toBe("pinned")
    expect(await photos(first)).toEqual([])
    // Both past the cut-off (asked about the first only): all of it goes.
    const done = await purge([first], POLICY)
    expect(done).toMatchObject({ detections_deleted: 2, alerts_deleted: 1 })
    expect(done.extra_ids).toEqual([last])
    for (const table of ["alerts", "alert_sightings", "telegram_deliveries", "outbox", "output_deliveries"]) {
      const column = table === "alerts" ? "id" : "alert_id"
      expect((await database.db.query(`SELECT 1 FROM ${table} WHERE ${column} = $1`, [alert.id])).rowCount, table).toBe(0)
    }
  })
})

describe("non-hits", () => {
  beforeAll(async () => {
    // The owner sets a non-hit policy of five minutes (as a server started with RETENTION_NONHIT_MINUTES=5 does).
    const { rows: [set] } = await database.db.query("SELECT retention_set_policy(365, 365, 2557, 5) AS changed")
    expect(set.changed).toBe(true)
  })

  it("go whole after the non-hit period; a hit, a held read and a read the engine has still to check stay", async () => {
    const nonhit = await read({ ago: "10 minutes" })
    const fresh = await read({ ago: "1 minute" })
    const hit = await read({ ago: "10 minutes", plate: "NHHIT1" })
    const { rows: [list] } = await database.db.query("INSERT INTO watchlists (name, category) VALUES ('nonhit', 'bolo') RETURNING id")
    const { rows: [alert] } = await database.db.query(
      `INSERT INTO alerts (watchlist_id, plate, detection_id, last_detection_id, first_seen_at, last_seen_at)
       VALUES ($1, 'NHHIT1', $2, $2, now(), now()) RETURNING id`,
      [list.id, hit]
    )
    await database.db.query(
      "INSERT INTO alert_sightings (detection_id, watchlist_id, entry_key, alert_id) VALUES ($1, $2, 0, $3)",
      [hit, list.id, alert.id]
    )
    const held = await read({ ago: "10 minutes", plate: "NHHOLD" })
    await hold({ plate: "NHHOLD" })
    const unchecked = await read({ ago: "10 minutes" })
    const { rows: [work] } = await database.db.query("INSERT INTO alert_work (detection_ids) VALUES (ARRAY[$1::bigint]) RETURNING id", [unchecked])

    const done = await purge([nonhit, fresh, hit, held, unchecked], { ...POLICY, nonhit: "5 minutes" })
    expect(done).toMatchObject({ detections_deleted: 1, scene_images_deleted: 1, plate_images_deleted: 1, held_skipped: 1, kept: 2 })
    expect(await exists(nonhit)).toBe(false)
    expect(await exists(fresh)).toBe(true)
    expect(await photos(hit)).toEqual(["plate", "scene"])
    expect(await keptWhy(hit)).toBeUndefined()
    expect(await keptWhy(held)).toBe("hold")
    expect(await keptWhy(unchecked)).toBe("unchecked")

    // Checked (the engine deleted its item, finding nothing): it goes at the next purge.
    await database.db.query("DELETE FROM alert_work WHERE id = $1", [work.id])
    expect(await purge([unchecked], { ...POLICY, nonhit: "5 minutes" })).toMatchObject({ detections_deleted: 1 })
  })

  it("stay while a retro check of new watchlist entries waits: one of them may be a hit", async () => {
    const id = await read({ ago: "10 minutes" })
    const { rows: [work] } = await database.db.query("INSERT INTO alert_work (entry_ids) VALUES (ARRAY[1::bigint]) RETURNING id")
    expect(await purge([id], { ...POLICY, nonhit: "5 minutes" })).toMatchObject({ detections_deleted: 0, kept: 1 })
    expect(await keptWhy(id)).toBe("unchecked")
    await database.db.query("DELETE FROM alert_work WHERE id = $1", [work.id])
    expect(await purge([id], { ...POLICY, nonhit: "5 minutes" })).toMatchObject({ detections_deleted: 1, kept: 0 })
  })

  it("refuse a non-hit cut-off newer than the non-hit policy", async () => {
    const id = await read({ ago: "10 minutes" })
    await expect(purge([id], { nonhit: "4 minutes" })).rejects.toThrow(/retention refused: nonhit is kept for 00:05:00/)
    expect(await exists(id)).toBe(true)
  })

  it("a change of policy is written to the audit log with what it was", async () => {
    const { rows } = await database.db.query(
      "SELECT details FROM audit_log WHERE action = 'retention.policy' ORDER BY id DESC LIMIT 1"
    )
    expect(rows[0].details.before.nonhit).toBeNull()
    expect(rows[0].details.after.nonhit).toBe("00:05:00")
  })
})

describe("the plates table", () => {
  it("forgets a plate whose last read has gone, and keeps one still read", async () => {
    const gone = await read({ ago: "3000 days", plate: "FORGET" })
    await read({ ago: "3000 days", plate: "REMAIN" })
    await read({ ago: "1 day", plate: "REMAIN" })
    const oldRemain = (await database.db.query("SELECT id::text AS id FROM detections WHERE plate = 'REMAIN' ORDER BY detected_at LIMIT 1")).rows[0].id
    await purge([gone, oldRemain], POLICY)
    for (;;) {
      const { rows: [pruned] } = await serving.query("SELECT taken FROM retention_prune_plates(100)")
      if (pruned.taken === 0) break
    }
    const { rows } = await database.db.query("SELECT plate FROM plates WHERE plate IN ('FORGET', 'REMAIN')")
    expect(rows.map((r) => r.plate)).toEqual(["REMAIN"])
    // And the months each was read in (sql/0023): only REMAIN's month of yesterday is left.
    const { rows: months } = await database.db.query(
      "SELECT plate, to_char(month, 'YYYY-MM') AS month FROM plate_months WHERE plate IN ('FORGET', 'REMAIN') ORDER BY 1, 2"
    )
    expect(months).toEqual([
      { plate: "REMAIN", month: new Date(Date.now() - 86_400_000).toISOString().slice(0, 7) }
    ])
  })

  it("note each plate's months by the reads' own time (UTC), whoever inserts them", async () => {
    // The last instant of a month in UTC and the first of the next, in a session set to New York.
    const client = await connect(database.url)
    try {
      await client.query("SET TIME ZONE 'America/New_York'")
      for (const at of ["2019-10-31T23:59:59.999Z", "2019-11-01T00:00:00Z"]) {
        await client.query(
          `INSERT INTO detections (collector_id, detection_id, camera_id, detected_at, plate_text, plate, plate_ocr, confidence, raw)
           VALUES ($1, $2, $3, $4, 'NOTED', 'NOTED', 'N0TED', 0.9, '{}')`,
          [collector, `noted-${at}`, camera, at]
        )
      }
    } finally {
      await client.end()
    }
    const { rows } = await database.db.query("SELECT to_char(month, 'YYYY-MM-DD') AS month FROM plate_months WHERE plate = 'NOTED' ORDER BY 1")
    expect(rows).toEqual([{ month: "2019-10-01" }, { month: "2019-11-01" }])
  })
})
