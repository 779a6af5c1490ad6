import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { useFreshDatabase } from "../../test-support/Database"
import {
  type Central,
  type Collector,
  claimedCollector,
  killAll,
  PUSH_CAMERAS,
  read,
  sendCommand,
  setPin,
  startCentral,
  waitFor
} from "./processes"

/** Commands from the central server, delivered with heartbeats to a real collector process. */

const database = useFreshDatabase()
let central: Central
let collector: Collector

beforeAll(async () => {
  central = await startCentral(database.url)
  collector = await claimedCollector(central, database.url)
  await collector.start()
}, 120_000)
afterAll(killAll)

const commandRow = (id: string) =>
  waitFor(`command ${id} to be acknowledged`, async () => {
    const { rows } = await database.db.query("SELECT status, message FROM collector_commands WHERE id = $1", [id])
    return rows[0]?.status === "pending" ? undefined : rows[0] as { status: string; message: string | null }
  })

const stored = async (id: string) =>
  (await database.db.query("SELECT count(*)::int AS n FROM detections WHERE detection_id = $1", [id])).rows[0].n as number

describe("commands through heartbeats", () => {
  it("update_cameras: the new camera gets a push secret and can push with it at once", async () => {
    const laneRoute = `http://127.0.0.1:${collector.port}/cameras/lane-1`
    expect((await fetch(laneRoute, { method: "POST", body: "{}" })).status).toBe(401)
    const id = await sendCommand(database.url, collector.id, "update_cameras", {
      cameras: [...PUSH_CAMERAS, { id: "lane-1", vendor: "generic", name: "Lane 1" }]
    })
    expect(await commandRow(id)).toMatchObject({ status: "done" })
    const event = read("cams")
    const url = await waitFor("the camera's push secret", () => collector.pushUrl("lane-1"))
    const response = await waitFor("the camera to be served", async () => {
      const r = await fetch(url, { method: "POST", body: JSON.stringify(event) })
      return r.status === 401 ? undefined : r
    })
    expect(response.status).toBe(200)
    // Its route still wants the secret: a push without it stores nothing.
    expect((await fetch(laneRoute, { method: "POST", body: JSON.stringify(read("cams")) })).status).toBe(401)
    await waitFor("the read to arrive", async () => (await stored(event.detection_id)) === 1 || undefined)
    const { rows } = await database.db.query(
      "SELECT disk_used_bytes, disk_quota_bytes, disk_full, clock_skew_ms, heartbeat_seconds FROM collectors WHERE id = $1", [collector.id])
    expect(rows[0]).toMatchObject({ disk_full: false, disk_quota_bytes: String(4096 * 1024 * 1024) })
    expect(Number(rows[0].disk_used_bytes)).toBeGreaterThan(0)
    // Its heartbeats carry its clock (one machine here: no skew to speak of) and how often it beats.
    expect(rows[0].clock_skew_ms).not.toBeNull()
    expect(Math.abs(Number(rows[0].clock_skew_ms))).toBeLessThan(1_000)
    expect(rows[0].heartbeat_seconds).toBeGreaterThan(0)
    // Its reads carry when it received them: the camera's clock is measured against that.
    const { rows: offsets } = await database.db.query(
      "SELECT raw->>'received_at' AS received_at, camera_offset_ms FROM detections WHERE detection_id = $1", [event.detection_id])
    expect(offsets[0].received_at).toMatch(/^\d{4}-\d{2}-\d{2}T/)
    expect(offsets[0].camera_offset_ms).not.toBeNull()
  })

  it("config_update: applied and reported; an invalid one is refused and changes nothing", async () => {
    const good = await sendCommand(database.url, collector.id, "config_update", { config_version: "v7", upload: { window_seconds: 1 } })
    expect(await commandRow(good)).toMatchObject({ status: "done" })
    await waitFor("the new version", async () => (await collector.status())["config_version"] === "v7" || undefined)
    const bad = await sendCommand(database.url, collector.id, "config_update", { upload: { max_events: 5000 } })
    expect(await commandRow(bad)).toMatchObject({ status: "failed" })
    expect((await collector.status())["config_version"]).toBe("v7")
  })

  it("rotate_key: the collector switches to a new key and the old one stops working", async () => {
    const { rows: before } = await database.db.query("SELECT id FROM api_keys WHERE collector_id = $1 AND revoked_at IS NULL", [collector.id])
    expect(before).toHaveLength(1)
    const id = await sendCommand(database.url, collector.id, "rotate_key")
    expect(await commandRow(id)).toMatchObject({ status: "done" })
    const event = read("rotated")
    expect((await collector.push("generic", JSON.stringify(event))).status).toBe(200)
    await waitFor("the read to arrive with the new key", async () => (await stored(event.detection_id)) === 1 || undefined)
    const { rows: after } = await database.db.query("SELECT id FROM api_keys WHERE collector_id = $1 AND revoked_at IS NULL", [collector.id])
    expect(after).toHaveLength(1)
    expect(after[0].id).not.toBe(before[0].id)
  })

  it("the status page shows the collector to anyone, and changes the local layer only with the PIN", async () => {
    const base = `http://127.0.0.1:${collector.port}`
    const html = await (await fetch(`${base}/`)).text()
    expect(html).toContain("Collector status")
    expect(html).not.toContain("alpr_")
    const change = (pin: string | undefined) =>
      fetch(`${base}/local-config`, {
        method: "PUT",
        headers: pin === undefined ? {} : { "x-pin": pin },
        body: "cameras:\n  - id: site-cam\n    vendor: generic\n"
      })
    expect((await change("1234")).status).toBe(403) // no PIN set yet
    await setPin(collector, "4711-gate")
    expect((await change(undefined)).status).toBe(401)
    expect((await change("1234")).status).toBe(401)
    const bad = await fetch(`${base}/local-config`, { method: "PUT", headers: { "x-pin": "4711-gate" }, body: "upload:\n  max_events: 999\n" })
    expect(bad.status).toBe(400)
    expect((await change("4711-gate")).status).toBe(200)
    const event = read("site")
    const url = await waitFor("the site camera's push secret", () => collector.pushUrl("site-cam"))
    const response = await waitFor("the site camera", async () => {
      const r = await fetch(url, { method: "POST", body: JSON.stringify(event) }).catch(() => undefined)
      return r === undefined || r.status === 401 ? undefined : r
    })
    expect(response.status).toBe(200)
  })

  it("reboot: acknowledged, then the process exits for systemd to restart it", async () => {
    const id = await sendCommand(database.url, collector.id, "reboot")
    expect(await commandRow(id)).toMatchObject({ status: "done" })
    expect(await collector.proc!.exited).toEqual({ code: 0, signal: null })
  })
})
