import { ObjectStore } from "@chaverim/server"
import { derivedServingUrl } from "@chaverim/server/db/ServingRole"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import S3rver from "s3rver"
import { connect } from "../../../test-support/Database"
import { alprAgainst, describeRun, INVOCATION_MS, lastJson } from "./alprCli"
import { startServer, type TestServer } from "./harness"
import { api, auditOf, daysAgo, ingestWithPhotos, orphans, photoKeys, retentionSettings, runRetention } from "./retentionHarness"

/** Retention with the photos in S3 (s3rver standing in for MinIO): objects go after their rows, and only then. */

let s3: S3rver
let s3Dir: string
let endpoint: string
let server: TestServer
let apiKey: string

beforeAll(async () => {
  s3Dir = await Fs.mkdtemp(Path.join(Os.tmpdir(), "alpr-retention-s3-"))
  s3 = new S3rver({ address: "127.0.0.1", port: 0, directory: s3Dir, silent: true })
  const address = await s3.run()
  endpoint = `http://127.0.0.1:${address.port}`
  server = await startServer({
    retention: retentionSettings(),
    s3: Option.some({
      endpoint,
      accessKey: Redacted.make("S3RVER"),
      secretKey: Redacted.make("S3RVER"),
      bucket: "evidence",
      region: "us-east-1"
    })
  })
  ;({ apiKey } = await server.collector("s3 site"))
}, 60_000)

afterAll(async () => {
  await server?.close()
  await s3?.close()
  await Fs.rm(s3Dir, { recursive: true, force: true })
})

/** Every key in the bucket. */
const stored = () =>
  server.runtime.runPromise(
    Effect.flatMap(ObjectStore, (store) => Stream.runCollect(store.list("detections/"))).pipe(
      Effect.map((keys) => new Set(Chunk.toReadonlyArray(keys)))
    )
  )

describe("retention, photos in S3", () => {
  it("keeps a held read's objects through a run and removes them after the release; the others at once", async () => {
    const [held, free] = await ingestWithPhotos(server, apiKey, [
      { plate: "S3HOLD", at: daysAgo(400) },
      { plate: "S3FREE", at: daysAgo(400) }
    ])
    const heldKeys = await photoKeys(server, held!.id)
    const freeKeys = await photoKeys(server, free!.id)
    const before = await stored()
    for (const key of [...heldKeys, ...freeKeys]) expect(before.has(key), key).toBe(true)

    const operator = await server.signIn("operator")
    const made = await api(server, operator, "/api/v1/holds", {
      method: "POST",
      body: { plate: "S3HOLD", case_number: "S3-1", reason: "evidence for trial" }
    })
    expect(made.status).toBe(201)
    const hold = await made.json() as { id: string }

    expect(await runRetention(server)).toMatchObject({ scene_images_deleted: 1, plate_images_deleted: 1, held_skipped: 1, objects_removed: 2 })
    const during = await stored()
    for (const key of heldKeys) expect(during.has(key), key).toBe(true)
    for (const key of freeKeys) expect(during.has(key), key).toBe(false)

    const admin = await server.signIn("admin")
    expect((await api(server, admin, `/api/v1/holds/${hold.id}/release`, { method: "POST", body: {} })).status).toBe(200)
    expect(await runRetention(server)).toMatchObject({ scene_images_deleted: 1, plate_images_deleted: 1, held_skipped: 0, objects_removed: 2 })
    const after = await stored()
    for (const key of heldKeys) expect(after.has(key), key).toBe(false)
    expect((await auditOf(server, ["hold.create", "retention.run", "hold.release"])).map((r) => r.action)).toEqual([
      "hold.create",
      "retention.run",
      "hold.release",
      "retention.run"
    ])
  })

  it("finishes a run that stopped between rows and objects, and `images orphans` is clean after", async () => {
    const [left] = await ingestWithPhotos(server, apiKey, [{ plate: "S3HALF", at: daysAgo(400) }])
    const keys = await photoKeys(server, left!.id)
    const { rows: [{ database }] } = await server.db.query("SELECT current_database() AS database")
    const serving = await connect(derivedServingUrl(server.databaseUrl, database))
    try {
      await serving.query(
        `SELECT * FROM retention_purge(ARRAY[$1::bigint], now() - interval '365 days', now() - interval '365 days', NULL, NULL, false)`,
        [left!.id]
      )
    } finally {
      await serving.end()
    }
    expect([...await orphans(server)].sort()).toEqual([...keys].sort())

    expect((await runRetention(server)).objects_removed).toBe(2)
    const now = await stored()
    for (const key of keys) expect(now.has(key), key).toBe(false)
    const clean = await alprAgainst(() => server.databaseUrl)(["images", "orphans"], {
      S3_ENDPOINT: endpoint,
      S3_ACCESS_KEY: "S3RVER",
      S3_SECRET_KEY: "S3RVER",
      S3_BUCKET: "evidence"
    })
    expect(clean.code, describeRun(clean)).toBe(0)
    expect(lastJson(clean)).toEqual({ orphans: 0 })
  }, INVOCATION_MS * 2)
})
