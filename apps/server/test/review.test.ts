import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { type FakeRecogniser, startFakeCodeProject } from "../../../test-support/FakeRecognisers"
import { footageWith } from "./footageHarness"
import { makeColourVideo } from "../../../test-support/Footage"
import { alertsOf, createEntry, createList, drained, queueRetro } from "./alertHarness"
import { alprAgainst, describeRun, INVOCATION_MS, lastJson } from "./alprCli"
import { detection, postBatch, type SignedIn, startServer, type TestServer } from "./harness"
import { rpcFor } from "./rpcClient"

/**
 * The review queue before alerting (issue 20): reads from footage, and a camera's reads below its
 * min_confidence, alert no one until a person confirms or corrects them (a rejected one never does),
 * except on a list marked to alert on unreviewed reads; the review is a correction like any other.
 */

let server: TestServer
let recogniser: FakeRecogniser
let dir: string
let operator: SignedIn
const { rpc } = rpcFor(() => server)

beforeAll(async () => {
  dir = await Fs.mkdtemp(Path.join(Os.tmpdir(), "alpr-review-"))
  recogniser = await startFakeCodeProject({
    red: { plate: "RVW1234", confidence: 0.9, box: [100, 120, 160, 40] },
    blue: { plate: "RVW987", confidence: 0.8, box: [300, 200, 140, 36] }
  })
  server = await startServer({
    dataDir: Path.join(dir, "data"),
    footage: footageWith(recogniser, { jobWorkers: 0 })
  })
  operator = await server.signIn("operator")
}, 120_000)

afterAll(async () => {
  await server?.close()
  await recogniser?.close()
  if (dir !== undefined) await Fs.rm(dir, { recursive: true, force: true })
})

const review = async (readId: string, body: Record<string, unknown>) => {
  const response = await fetch(`${server.url}/api/v1/detections/${readId}/corrections`, {
    method: "POST",
    headers: { "content-type": "application/json", cookie: operator.cookie, "x-csrf-token": operator.csrf },
    body: JSON.stringify(body)
  })
  expect(response.status, await response.clone().text()).toBe(201)
}

const pending = async () =>
  (await server.db.query<{ detection_id: string; reason: string }>(
    "SELECT detection_id::text AS detection_id, reason FROM pending_reviews ORDER BY detection_id"
  )).rows

describe("the review queue before alerting", () => {
  it("holds footage reads until reviewed: confirmed alerts, rejected never does, a list may alert at once", async () => {
    const stolen = await createList(server, { category: "stolen" })
    await createEntry(server, stolen.id, "exact", "RVW1234")
    await createEntry(server, stolen.id, "exact", "RVW987")
    const eager = await createList(server, { category: "bolo" })
    // an admin marks the list, through the procedure the web app's list form calls (audited as any change)
    const admin = await server.signIn("admin")
    const marked = await rpc(admin, (client) => client.watchlists.update({ watchlist_id: eager.id, alert_unreviewed: true }))
    expect(marked.alert_unreviewed).toBe(true)
    const { rows: [change] } = await server.db.query("SELECT details FROM audit_log WHERE action = 'watchlist.update' AND target = $1", [`watchlist:${eager.id}`])
    expect(change?.details).toMatchObject({ from: { alert_unreviewed: false }, to: { alert_unreviewed: true } })
    await createEntry(server, eager.id, "exact", "RVW987")

    await makeColourVideo(Path.join(dir, "clip.mp4"), [{ colour: "red", seconds: 2 }, { colour: "black", seconds: 2 }, { colour: "blue", seconds: 2 }], {
      creationTime: new Date(Date.now() - 3_600_000).toISOString()
    })
    const run = await alprAgainst(() => server.databaseUrl, "Warning")(
      ["footage", "import", Path.join(dir, "clip.mp4"), "--camera-name", "Corner shop", "--reason", "review queue test"],
      { DATA_DIR: Path.join(dir, "data"), RECOGNISER: "codeproject", RECOGNISER_URL: recogniser.url }
    )
    expect(run.code, describeRun(run)).toBe(0)
    const reads = lastJson(run).reads as Array<{ plate: string }>
    expect(reads.map((r) => r.plate)).toEqual(["RVW1234", "RVW987"])
    const { rows: ids } = await server.db.query<{ id: string; plate: string }>(
      "SELECT id::text AS id, plate FROM detections WHERE plate IN ('RVW1234', 'RVW987') ORDER BY detected_at")
    const [first, second] = ids
    await drained(server.databaseUrl)

    // both wait; only the list that alerts on unreviewed reads has an alert
    expect(await pending()).toEqual([{ detection_id: first!.id, reason: "footage" }, { detection_id: second!.id, reason: "footage" }])
    expect(await alertsOf(server.db, stolen.id)).toEqual([])
    expect((await alertsOf(server.db, eager.id)).map((a) => a.plate)).toEqual(["RVW987"])

    // the queue as the web app reads it: oldest first, with the recogniser's readings and the photos there are
    const queue = await rpc(operator, (client) => client.review.queue({}))
    expect(queue.total).toBe(2)
    expect(queue.items.map((i) => [i.read_id, i.plate, i.reason, i.camera_name, i.has_plate_photo, i.has_scene_photo])).toEqual([
      [first!.id, "RVW1234", "footage", "Corner shop", true, true],
      [second!.id, "RVW987", "footage", "Corner shop", true, true]
    ])
    expect(queue.items[0]!.footage_id).toBe(lastJson(run).footage_id)
    // the command line's job is an admin's to follow, not an operator's
    expect((await rpc(admin, (client) => client.footage.jobs({}))).map((j) => [j.id, j.status, j.camera_name, j.file_name]))
      .toContainEqual([lastJson(run).job_id, "done", "Corner shop", "clip.mp4"])
    expect((await rpc(operator, (client) => client.footage.jobs({}))).map((j) => j.id)).not.toContain(lastJson(run).job_id)

    // confirmed: it alerts now; rejected: it never does
    await review(first!.id, { action: "confirm" })
    await review(second!.id, { action: "reject", note: "a sign, not a plate" })
    await drained(server.databaseUrl)
    expect(await pending()).toEqual([])
    expect((await alertsOf(server.db, stolen.id)).map((a) => [a.plate, a.sightings])).toEqual([["RVW1234", 1]])
    // the eager list's alert stays as it was, not doubled
    expect((await alertsOf(server.db, eager.id)).map((a) => [a.plate, a.sightings])).toEqual([["RVW987", 1]])
  }, INVOCATION_MS * 3)

  it("holds a camera's reads below its min_confidence; corrected, it alerts on the plate as corrected", async () => {
    const list = await createList(server, { category: "stolen" })
    await createEntry(server, list.id, "exact", "LOW4321")
    const { apiKey, collectorId } = await server.collector("Review site")
    // the camera's first read makes it; then its threshold is set
    expect((await postBatch(server, apiKey, [detection({ camera: { id: "gate", mac: "AA:BB:CC:00:00:09" }, plate: { text: "SURE111", confidence: 0.95 } })])).status).toBe(200)
    await server.db.query("UPDATE cameras SET min_confidence = 0.8 WHERE collector_id = $1 AND external_id = 'gate'", [collectorId])
    const doubtful = detection({ camera: { id: "gate", mac: "AA:BB:CC:00:00:09" }, plate: { text: "L0W4321", confidence: 0.55 } })
    const sure = detection({ camera: { id: "gate", mac: "AA:BB:CC:00:00:09" }, plate: { text: "LOW4321", confidence: 0.92 } })
    expect((await postBatch(server, apiKey, [doubtful])).status).toBe(200)
    await drained(server.databaseUrl)
    const { rows: [read] } = await server.db.query<{ id: string }>("SELECT id::text AS id FROM detections WHERE detection_id = $1", [doubtful.detection_id])
    expect(await pending()).toEqual([{ detection_id: read!.id, reason: "low_confidence" }])

    // an entry added while it waits finds it by the retro check, under the same rule: no alert yet
    const late = await createList(server, { category: "bolo" })
    const entry = await createEntry(server, late.id, "exact", "L0W4321")
    await queueRetro(server.db, [entry.id])
    await drained(server.databaseUrl)
    expect(await alertsOf(server.db, late.id)).toEqual([])

    await review(read!.id, { action: "correct", plate: "LOW4321" })
    await drained(server.databaseUrl)
    expect((await alertsOf(server.db, list.id)).map((a) => [a.plate, a.sightings])).toEqual([["LOW4321", 1]])
    // a read above the threshold alerts at once, as always
    expect((await postBatch(server, apiKey, [sure])).status).toBe(200)
    await drained(server.databaseUrl)
    expect((await alertsOf(server.db, list.id)).map((a) => [a.plate, a.sightings])).toEqual([["LOW4321", 2]])
    expect(await pending()).toEqual([])
  }, 60_000)
})
