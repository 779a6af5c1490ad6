import { Retention, RetentionBusy } from "@chaverim/server"
import { derivedServingUrl } from "@chaverim/server/db/ServingRole"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { connect } from "../../../test-support/Database"
import { createEntry, createList, drained, latestRevision, matcherAt, queueRetro } from "./alertHarness"
import { alprAgainst, describeRun, INVOCATION_MS, lastJson, lines } from "./alprCli"
import { startServer, type TestServer } from "./harness"
import {
  ago,
  api,
  auditOf,
  daysAgo,
  ingestWithPhotos,
  orphans,
  photoKeys,
  readExists,
  retentionSettings,
  runRetention
} from "./retentionHarness"

/** Retention through the whole server with photos on disk: the job, its command line, holds over HTTP. */

const onDisk = (server: TestServer, key: string) =>
  Fs.access(Path.join(server.dataDir, "objects", key)).then(() => true, () => false)

describe("retention, photos on disk", () => {
  let server: TestServer
  let apiKey: string
  const alpr = alprAgainst(() => server.databaseUrl)
  /** The command line against this server's database and object folder. */
  const cli = (args: ReadonlyArray<string>, env: Record<string, string> = {}) => alpr(args, { DATA_DIR: server.dataDir, ...env })

  beforeAll(async () => {
    server = await startServer({ retention: retentionSettings() })
    ;({ apiKey } = await server.collector("retention site"))
  }, 60_000)
  afterAll(() => server?.close())

  it("keeps a held read's photos through a run, removes them at the run after its release, and audits both", async () => {
    const [held, free, young] = await ingestWithPhotos(server, apiKey, [
      { plate: "HOLD-01", at: daysAgo(400) },
      { plate: "FREE01", at: daysAgo(400) },
      { plate: "YOUNG1", at: daysAgo(10) }
    ])
    const heldKeys = await photoKeys(server, held!.id)
    const freeKeys = await photoKeys(server, free!.id)
    expect(heldKeys).toHaveLength(2)
    for (const key of [...heldKeys, ...freeKeys]) expect(await onDisk(server, key), key).toBe(true)

    const operator = await server.signIn("operator")
    const made = await api(server, operator, "/api/v1/holds", {
      method: "POST",
      body: { plate: "hold 01", case_number: "2026-CR-0017", reason: "subpoena of the district court" }
    })
    expect(made.status).toBe(201)
    const hold = await made.json() as { id: string; plate: string; detections: number; created_by: string }
    expect(hold).toMatchObject({ plate: "HOLD01", detections: 1, created_by: operator.username })

    const first = await cli(["retention", "run"])
    expect(first.code, describeRun(first)).toBe(0)
    const summary = lastJson(first)
    expect(Object.keys(summary).sort()).toEqual(["detections_deleted", "held_skipped", "plate_images_deleted", "scene_images_deleted", "seconds"])
    expect(summary).toMatchObject({ scene_images_deleted: 1, plate_images_deleted: 1, detections_deleted: 0, held_skipped: 1 })
    expect(typeof summary.seconds).toBe("number")

    // The held read keeps its photos, and people still see them; the other's are gone, rows and files.
    expect(await photoKeys(server, held!.id)).toEqual(heldKeys)
    for (const key of heldKeys) expect(await onDisk(server, key)).toBe(true)
    const photo = await fetch(`${server.url}/api/v1/detections/${held!.id}/images/scene?reason_code=investigation`, {
      headers: { cookie: operator.cookie }
    })
    expect(photo.status).toBe(200)
    expect(await readExists(server, free!.id)).toBe(true)
    expect(await photoKeys(server, free!.id)).toEqual([])
    for (const key of freeKeys) expect(await onDisk(server, key), key).toBe(false)
    expect((await fetch(`${server.url}/api/v1/detections/${free!.id}/images/plate`, { headers: { cookie: operator.cookie } })).status).toBe(404)
    expect(await photoKeys(server, young!.id)).toHaveLength(2)

    // Operators make holds, admins release them.
    expect((await api(server, operator, `/api/v1/holds/${hold.id}/release`, { method: "POST", body: {} })).status).toBe(403)
    const admin = await server.signIn("admin")
    const released = await api(server, admin, `/api/v1/holds/${hold.id}/release`, { method: "POST", body: { note: "case closed" } })
    expect(released.status).toBe(200)
    expect(await released.json()).toMatchObject({ released_by: admin.username, release_note: "case closed" })
    expect((await api(server, admin, `/api/v1/holds/${hold.id}/release`, { method: "POST", body: {} })).status).toBe(409)

    const second = await cli(["retention", "run"])
    expect(second.code, describeRun(second)).toBe(0)
    expect(lastJson(second)).toMatchObject({ scene_images_deleted: 1, plate_images_deleted: 1, detections_deleted: 0, held_skipped: 0 })
    expect(await photoKeys(server, held!.id)).toEqual([])
    for (const key of heldKeys) expect(await onDisk(server, key)).toBe(false)

    const audited = await auditOf(server, ["hold.create", "hold.release", "retention.run"])
    expect(audited.map((row) => row.action)).toEqual(["hold.create", "retention.run", "hold.release", "retention.run"])
    expect(audited[0]).toMatchObject({ actor_username: operator.username, target: `hold:${hold.id}`, details: { case_number: "2026-CR-0017", plate: "HOLD01", detections: 1 } })
    expect(audited[1]!.details).toMatchObject({ dry_run: false, held_skipped: 1, scene_images_deleted: 1, objects_removed: 2 })
    expect(audited[1]!.details.covered.scene_image).toMatchObject({ from: null })
    expect(audited[2]).toMatchObject({ actor_username: admin.username, target: `hold:${hold.id}` })
    expect(audited[3]!.details).toMatchObject({ held_skipped: 0, scene_images_deleted: 1, plate_images_deleted: 1, objects_removed: 2 })
    // The second run went on from where the first ended.
    expect(audited[3]!.details.covered.scene_image.from).toBe(audited[1]!.details.cutoffs.scene_before)

    const clean = await alpr(["images", "orphans"], { DATA_DIR: server.dataDir })
    expect(clean.code, describeRun(clean)).toBe(0)
    expect(lastJson(clean)).toEqual({ orphans: 0 })
  }, INVOCATION_MS * 4)

  it("answers a dry run with the counts of the real run after it, deleting nothing", async () => {
    const [photosOnly, whole] = await ingestWithPhotos(server, apiKey, [
      { plate: "DRY001", at: daysAgo(500) },
      { plate: "DRY002", at: daysAgo(3000) }
    ])
    const operator = await server.signIn("operator")
    const corrected = await api(server, operator, `/api/v1/detections/${whole!.id}/corrections`, {
      method: "POST",
      body: { action: "correct", plate: "DRY 003" }
    })
    expect(corrected.status).toBe(201)
    const keys = [...await photoKeys(server, photosOnly!.id), ...await photoKeys(server, whole!.id)]

    const dry = await cli(["retention", "run", "--dry-run"])
    expect(dry.code, describeRun(dry)).toBe(0)
    const counted = lastJson(dry)
    expect(counted).toMatchObject({ scene_images_deleted: 2, plate_images_deleted: 2, detections_deleted: 1, held_skipped: 0 })
    expect(await readExists(server, whole!.id)).toBe(true)
    for (const key of keys) expect(await onDisk(server, key), key).toBe(true)
    expect(await photoKeys(server, photosOnly!.id)).toHaveLength(2)

    const real = await runRetention(server)
    const { seconds: _dry, ...dryCounts } = counted
    expect({
      scene_images_deleted: real.scene_images_deleted,
      plate_images_deleted: real.plate_images_deleted,
      detections_deleted: real.detections_deleted,
      held_skipped: real.held_skipped
    }).toEqual(dryCounts)
    expect(await readExists(server, whole!.id)).toBe(false)
    expect((await server.db.query("SELECT 1 FROM corrections WHERE detection_id = $1", [whole!.id])).rowCount).toBe(0)
    for (const key of keys) expect(await onDisk(server, key), key).toBe(false)
    const runs = await auditOf(server, ["retention.run"])
    expect(runs.at(-2)!.details).toMatchObject({ dry_run: true, detections_deleted: 1 })
    expect(runs.at(-1)!.details).toMatchObject({ dry_run: false, detections_deleted: 1 })
  }, INVOCATION_MS * 2)

  it("takes a hit with its alert once the whole alert is past the read period", async () => {
    const list = await createList(server, { category: "stolen" })
    await createEntry(server, list.id, "exact", "ALRT99")
    await matcherAt(server, await latestRevision(server.db))
    // Ingest makes partitions only for months near now (sql/0022): this month of eight years ago gets
    // one from the owner, as an installation's history brought in by the owner would.
    await server.db.query("SELECT detections_make_months(ARRAY[$1::timestamptz])", [daysAgo(3000)])
    const [a, b] = await ingestWithPhotos(server, apiKey, [
      { plate: "ALRT99", at: daysAgo(3000) },
      { plate: "ALRT99", at: ago(3000 * 86_400_000 - 120_000) }
    ])
    await drained(server.databaseUrl)
    const { rows: [alert] } = await server.db.query("SELECT id, sightings FROM alerts WHERE watchlist_id = $1", [list.id])
    expect(alert.sightings).toBe(2)
    const report = await runRetention(server)
    // Nothing else in their month: it went whole, and the run's audit row says so.
    expect(report).toMatchObject({ detections_deleted: 2, alerts_deleted: 1, months_dropped: 1 })
    const [audited] = (await auditOf(server, ["retention.run"])).slice(-1)
    expect(audited!.details).toMatchObject({ months_dropped: 1, detections_deleted: 2 })
    expect(await readExists(server, a!.id)).toBe(false)
    expect(await readExists(server, b!.id)).toBe(false)
    expect((await server.db.query("SELECT 1 FROM alerts WHERE id = $1", [alert.id])).rowCount).toBe(0)
  })

  it("finishes at the next run what a run left between deleting rows and removing their objects", async () => {
    const [left] = await ingestWithPhotos(server, apiKey, [{ plate: "HALF01", at: daysAgo(400) }])
    const keys = await photoKeys(server, left!.id)
    // A run that stopped after its batch committed: the rows are gone, the objects not yet.
    const { rows: [{ database }] } = await server.db.query("SELECT current_database() AS database")
    const serving = await connect(derivedServingUrl(server.databaseUrl, database))
    try {
      const { rows: [done] } = await serving.query(
        `SELECT scene_images_deleted, plate_images_deleted
           FROM retention_purge(ARRAY[$1::bigint], now() - interval '365 days', now() - interval '365 days', NULL, NULL, false)`,
        [left!.id]
      )
      expect(done).toEqual({ scene_images_deleted: 1, plate_images_deleted: 1 })
    } finally {
      await serving.end()
    }
    for (const key of keys) expect(await onDisk(server, key)).toBe(true)
    expect([...await orphans(server)].sort()).toEqual([...keys].sort())

    const next = await runRetention(server)
    expect(next.objects_removed).toBe(2)
    for (const key of keys) expect(await onDisk(server, key)).toBe(false)
    const clean = await alpr(["images", "orphans"], { DATA_DIR: server.dataDir })
    expect(lastJson(clean)).toEqual({ orphans: 0 })
    expect((await server.db.query("SELECT count(*)::int AS n FROM retention_pending_objects")).rows[0].n).toBe(0)
  }, INVOCATION_MS * 2)

  it("runs one at a time on a database", async () => {
    const holder = await connect(server.databaseUrl)
    try {
      await holder.query("SELECT pg_advisory_lock(7415018)")
      const busy = await server.runtime.runPromise(
        Effect.flatMap(Retention, (r) => r.run({ dryRun: false, trigger: "cli" })).pipe(Effect.flip)
      )
      expect(busy).toBeInstanceOf(RetentionBusy)
      const cliBusy = await cli(["retention", "run"])
      expect(cliBusy.code).not.toBe(0)
      expect(cliBusy.stderr).toMatch(/already under way/)
    } finally {
      await holder.end()
    }
    expect((await runRetention(server)).dry_run).toBe(false)
  }, INVOCATION_MS * 2)

  it("records a run that fails as a failure, and the next run picks up from the last good one", async () => {
    const [blocked] = await ingestWithPhotos(server, apiKey, [{ plate: "BLOCK1", at: daysAgo(3000) }])
    // A table of someone else's that points at the read: its foreign key refuses the purge.
    await server.db.query(
      `CREATE TABLE retention_blocker (detection_id bigint, detected_at timestamptz,
                                       FOREIGN KEY (detection_id, detected_at) REFERENCES detections (id, detected_at))`
    )
    await server.db.query("INSERT INTO retention_blocker SELECT id, detected_at FROM detections WHERE id = $1", [blocked!.id])
    try {
      const failed = await server.runtime.runPromise(
        Effect.flatMap(Retention, (r) => r.run({ dryRun: false, trigger: "cli" })).pipe(Effect.exit)
      )
      expect(failed._tag).toBe("Failure")
      const [row] = (await auditOf(server, ["retention.run"])).slice(-1)
      expect(row).toMatchObject({ outcome: "failure" })
      // The purge names the table; dropping the read's month says other objects depend on it.
      expect(row!.details.error).toMatch(/retention_blocker|other objects depend on it/)
      const { rows: [run] } = await server.db.query("SELECT error IS NOT NULL AS failed, finished_at IS NOT NULL AS finished FROM retention_runs ORDER BY id DESC LIMIT 1")
      expect(run).toEqual({ failed: true, finished: true })
      expect(await readExists(server, blocked!.id)).toBe(true)
    } finally {
      await server.db.query("DROP TABLE retention_blocker")
    }
    expect((await runRetention(server)).detections_deleted).toBe(1)
    expect(await readExists(server, blocked!.id)).toBe(false)
  })

  it("prunes derived tables past their lifetime", async () => {
    const user = await server.signIn("viewer")
    await server.db.query(
      `INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES
         ('old-ended', $1, now() - interval '100 days', now() - interval '99 days'),
         ('old-live', $1, now() - interval '100 days', now() + interval '1 day')`,
      [user.userId]
    )
    await server.db.query(
      `INSERT INTO auth_throttle (key, failures, window_start, locked_until) VALUES
         ('test:stale', 3, now() - interval '2 days', NULL),
         ('test:locked', 3, now() - interval '2 days', now() + interval '1 hour')`
    )
    await server.db.query(
      `INSERT INTO pending_logins (token_hash, user_id, stage, password_change_required, expires_at) VALUES
         ('old-preauth', $1, 'totp', false, now() - interval '2 hours'),
         ('new-preauth', $1, 'totp', false, now() + interval '5 minutes')`,
      [user.userId]
    )
    await server.db.query(
      `INSERT INTO telegram_link_codes (code_hash, user_id, created_at, expires_at, used_at) VALUES
         ('old-used', $1, now() - interval '2 days', now() - interval '2 days', now() - interval '2 days'),
         ('new-open', $1, now(), now() + interval '10 minutes', NULL)`,
      [user.userId]
    )
    const report = await runRetention(server)
    expect(report.derived).toEqual({ sessions: 1, auth_throttle: 1, pending_logins: 1, telegram_link_codes: 1 })
    expect((await server.db.query("SELECT token_hash FROM pending_logins WHERE token_hash LIKE '%-preauth'")).rows).toEqual([{ token_hash: "new-preauth" }])
    expect((await server.db.query("SELECT code_hash FROM telegram_link_codes WHERE code_hash IN ('old-used', 'new-open')")).rows).toEqual([{ code_hash: "new-open" }])
    const { rows: sessions } = await server.db.query("SELECT token_hash FROM sessions WHERE token_hash LIKE 'old-%'")
    expect(sessions.map((s) => s.token_hash)).toEqual(["old-live"])
    const { rows: throttles } = await server.db.query("SELECT key FROM auth_throttle WHERE key LIKE 'test:%'")
    expect(throttles.map((t) => t.key)).toEqual(["test:locked"])
  })
})

describe("the retention policy", () => {
  let server: TestServer
  let apiKey: string
  const alpr = alprAgainst(() => server.databaseUrl)

  beforeAll(async () => {
    server = await startServer({ retention: retentionSettings() })
    ;({ apiKey } = await server.collector("policy site"))
  }, 60_000)
  afterAll(() => server?.close())

  it("refuses to start with a bad period, naming the setting", async () => {
    const bad = await alpr(["retention", "run"], { RETENTION_SCENE_IMAGE_DAYS: "a year" })
    expect(bad.code).not.toBe(0)
    expect(bad.stderr).toMatch(/RETENTION_SCENE_IMAGE_DAYS/)
    // (every rule of the settings: RetentionConfig.test.ts)
  }, INVOCATION_MS)

  it("is set by whoever holds the owner's URL, audited; a server without it cannot go below", async () => {
    const [read] = await ingestWithPhotos(server, apiKey, [{ plate: "MONTH1", at: daysAgo(40) }])
    const short = { RETENTION_SCENE_IMAGE_DAYS: "30", RETENTION_PLATE_IMAGE_DAYS: "30", DATA_DIR: server.dataDir }
    const { rows: [{ database }] } = await server.db.query("SELECT current_database() AS database")
    // The serving role's URL only: it may not change the policy, and its run refuses to start.
    const asServing = await alpr(["retention", "run"], { ...short, DATABASE_URL: derivedServingUrl(server.databaseUrl, database) })
    expect(asServing.code, describeRun(asServing)).not.toBe(0)
    expect(asServing.stderr).toMatch(/RETENTION_SCENE_IMAGE_DAYS asks for 30 days, shorter than the 1 year \(365 days\) the database enforces/)
    expect(await photoKeys(server, read!.id)).toHaveLength(2)

    // The owner's: the policy changes (audited, before and after), and the photos go.
    const asOwner = await alpr(["retention", "run"], short)
    expect(asOwner.code, describeRun(asOwner)).toBe(0)
    expect(lastJson(asOwner)).toMatchObject({ scene_images_deleted: 1, plate_images_deleted: 1 })
    const [policy] = (await auditOf(server, ["retention.policy"])).slice(-1)
    expect(policy!.details.before.scene_image).toBe("365 days")
    expect(policy!.details.after.scene_image).toBe("30 days")
    const { rows } = await server.db.query("SELECT data_class, keep::text AS keep FROM retention_policy ORDER BY data_class")
    expect(rows).toContainEqual({ data_class: "scene_image", keep: "30 days" })
    expect(lines(asOwner.stdout).length).toBe(2)
  }, INVOCATION_MS * 2)
})

describe("non-hits", () => {
  let server: TestServer
  let apiKey: string

  beforeAll(async () => {
    server = await startServer({ retention: retentionSettings({ nonhitMinutes: Option.some(1) }), retroAlertDays: 7 })
    ;({ apiKey } = await server.collector("non-hit site"))
  }, 60_000)
  afterAll(() => server?.close())

  it("go with their photos after RETENTION_NONHIT_MINUTES; hits keep the long policy", async () => {
    const list = await createList(server, { category: "bolo" })
    await createEntry(server, list.id, "exact", "NHHIT1")
    await matcherAt(server, await latestRevision(server.db))
    const [hit, nonhit] = await ingestWithPhotos(server, apiKey, [
      { plate: "NHHIT1", at: ago(3 * 60_000) },
      { plate: "NHNON1", at: ago(3 * 60_000) }
    ])
    await drained(server.databaseUrl)
    const nonhitKeys = await photoKeys(server, nonhit!.id)
    const report = await runRetention(server)
    expect(report).toMatchObject({ detections_deleted: 1, scene_images_deleted: 1, plate_images_deleted: 1 })
    expect(await readExists(server, nonhit!.id)).toBe(false)
    for (const key of nonhitKeys) expect(await Fs.access(Path.join(server.dataDir, "objects", key)).then(() => true, () => false)).toBe(false)
    expect(await readExists(server, hit!.id)).toBe(true)
    expect(await photoKeys(server, hit!.id)).toHaveLength(2)
  })

  it("a non-hit a retro check matches before it expires becomes a hit and stays", async () => {
    const [retro, plain] = await ingestWithPhotos(server, apiKey, [
      { plate: "RETRO9", at: ago(40_000) },
      { plate: "NHNON2", at: ago(40_000) }
    ])
    await drained(server.databaseUrl)
    // A new entry, checked against recent reads while the read is still within its minute.
    const list = await createList(server, { category: "stolen" })
    const entry = await createEntry(server, list.id, "exact", "RETRO9")
    await queueRetro(server.db, [entry.id])
    await drained(server.databaseUrl)
    const { rows: [alert] } = await server.db.query("SELECT retro FROM alerts WHERE watchlist_id = $1", [list.id])
    expect(alert.retro).toBe(true)
    // Both are past the non-hit period now.
    await new Promise((resolve) => setTimeout(resolve, 25_000))
    const report = await runRetention(server)
    expect(report.detections_deleted).toBe(1)
    expect(await readExists(server, plain!.id)).toBe(false)
    expect(await readExists(server, retro!.id)).toBe(true)
    expect(await photoKeys(server, retro!.id)).toHaveLength(2)
  }, 60_000)
})

describe("a run's pages", () => {
  it("goes through a camera's reads page by page without skipping any, ids of every length alike", async () => {
    const server = await startServer({ retention: retentionSettings() })
    try {
      const { apiKey } = await server.collector("pages")
      // Ids 996 to 1005, all read at the same instant at one camera: in text order "1000" comes before "996".
      await server.db.query("SELECT setval(pg_get_serial_sequence('detections', 'id'), 995)")
      const at = daysAgo(3000)
      const reads = await ingestWithPhotos(server, apiKey, Array.from({ length: 10 }, (_, i) => ({ plate: `PAGE${i}`, at, camera: "cam-pages" })))
      expect(reads.map((r) => r.id)).toEqual(Array.from({ length: 10 }, (_, i) => String(996 + i)))
      // The first run: every camera's reads from the beginning, three at a time.
      const report = await runRetention(server, false, 3)
      expect(report.detections_deleted).toBe(10)
      for (const read of reads) expect(await readExists(server, read.id), read.id).toBe(false)
    } finally {
      await server.close()
    }
  }, 60_000)
})

describe("the schedule", () => {
  it("runs the job every RETENTION_INTERVAL_MINUTES on its own", async () => {
    const server = await startServer({ retention: retentionSettings({ intervalMinutes: Option.some(0.02) }) })
    try {
      const deadline = Date.now() + 20_000
      let runs: Array<{ trigger: string }> = []
      while (Date.now() < deadline) {
        runs = (await server.db.query("SELECT trigger FROM retention_runs WHERE finished_at IS NOT NULL")).rows
        if (runs.length >= 2) break
        await new Promise((resolve) => setTimeout(resolve, 250))
      }
      expect(runs.length).toBeGreaterThanOrEqual(2)
      expect(new Set(runs.map((r) => r.trigger))).toEqual(new Set(["schedule"]))
      expect((await auditOf(server, ["retention.run"])).length).toBeGreaterThanOrEqual(2)
    } finally {
      await server.close()
    }
  }, 60_000)
})
