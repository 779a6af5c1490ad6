import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { useFreshDatabase } from "../../test-support/Database"
import { startFakeHikvision } from "./fakeCameras"
import { type Central, type Collector, claimedCollector, killAll, read, setCameraPassword, sleep, startCentral, waitFor } from "./processes"

/**
 * Faults, for real: a central server process on a real PostgreSQL and a collector process, with rows
 * counted in the central database.
 */

const database = useFreshDatabase()
let central: Central

beforeAll(async () => {
  central = await startCentral(database.url)
}, 120_000)
afterAll(killAll)

const stored = async (ids: ReadonlyArray<string>) => {
  const { rows } = await database.db.query(
    "SELECT count(*)::int AS n, count(DISTINCT detection_id)::int AS distinct_ids FROM detections WHERE detection_id = ANY($1)",
    [ids]
  )
  return rows[0] as { n: number; distinct_ids: number }
}

const pushAll = async (collector: Collector, events: ReadonlyArray<Record<string, unknown>>, per = 20) => {
  for (let i = 0; i < events.length; i += per) {
    const response = await collector.push("generic", JSON.stringify({ events: events.slice(i, i + per) }))
    expect(response.status).toBe(200)
  }
}

describe("the collector against a real central server", () => {
  it("delivers every read exactly once across a central outage", async () => {
    const collector = await claimedCollector(central, database.url)
    await collector.start()
    const before = Array.from({ length: 50 }, () => read("outage"))
    await pushAll(collector, before)
    await waitFor("the first reads", async () => (await stored(before.map((e) => e.detection_id))).n === 50 || undefined)

    await central.stop("SIGTERM")
    const during = Array.from({ length: 150 }, () => read("outage"))
    await pushAll(collector, during)
    await sleep(2_000) // uploads fail and back off meanwhile
    expect((await collector.status())["queue_depth"]).toBeGreaterThan(0)
    await central.start()

    const ids = [...before, ...during].map((e) => e.detection_id)
    await waitFor("every read", async () => (await stored(ids)).n === ids.length || undefined)
    expect(await stored(ids)).toEqual({ n: 200, distinct_ids: 200 })
    await waitFor("an empty queue", async () => (await collector.status())["queue_depth"] === 0 || undefined)
  })

  it("loses and doubles nothing when killed with SIGKILL in the middle of uploads", async () => {
    const collector = await claimedCollector(central, database.url, { upload: { window_seconds: 0.5, max_backoff_seconds: 2, concurrency: 1 } })
    await collector.start()
    await central.stop("SIGTERM")
    const events = Array.from({ length: 2_000 }, () => read("sigkill"))
    await pushAll(collector, events, 100)
    const ids = events.map((e) => e.detection_id)
    await central.start()
    await waitFor("uploads under way", async () => {
      const { n } = await stored(ids)
      return n > 0 && n < ids.length ? n : undefined
    }, 60_000)
    await collector.proc!.kill("SIGKILL")
    const partial = (await stored(ids)).n
    await collector.start()
    await waitFor("every read", async () => (await stored(ids)).n === ids.length || undefined, 90_000)
    expect(await stored(ids)).toEqual({ n: 2_000, distinct_ids: 2_000 })
    expect(partial).toBeLessThan(2_000)
    await waitFor("an empty queue", async () => (await collector.status())["queue_depth"] === 0 || undefined)
  })

  it("refuses malformed and truncated payloads, counts them, and keeps serving", async () => {
    const collector = await claimedCollector(central, database.url)
    await collector.start()
    const good = read("malformed")
    const truncated = JSON.stringify({ events: [good] }).slice(0, 40)
    const responses = [
      await collector.push("generic", truncated),
      await collector.push("hikvision", "<EventNotificationAlert><ANPR>", "application/xml"),
      await collector.push("unifi", "not json at all")
    ]
    expect(responses.map((r) => r.status)).toEqual([400, 400, 400])
    for (const response of responses) expect(((await response.json()) as { error: string }).error.length).toBeGreaterThan(0)
    expect((await collector.push("generic", JSON.stringify(good))).status).toBe(200)
    const status = await collector.status()
    expect(status["buffer"]["counters"]["malformed_payloads"]).toBe(3)
    await waitFor("the good read", async () => (await stored([good.detection_id])).n === 1 || undefined)
  })

  it("quarantines a read the central server rejects and uploads the rest", async () => {
    const collector = await claimedCollector(central, database.url)
    await collector.start()
    const good = read("quarantine")
    // Valid to the collector, refused by the server: more than a day in the future.
    const future = read("quarantine", { timestamp: new Date(Date.now() + 3 * 86_400_000).toISOString() })
    await pushAll(collector, [good, future])
    await waitFor("the good read", async () => (await stored([good.detection_id])).n === 1 || undefined)
    const status = await waitFor("the rejected read in quarantine", async () => {
      const s = await collector.status()
      return s["buffer"]["quarantined"] === 1 ? s : undefined
    })
    expect(status["queue_depth"]).toBe(0)
    expect((await stored([future.detection_id])).n).toBe(0)
    // Not offered again: a camera re-sending it is a duplicate.
    const again = await collector.push("generic", JSON.stringify(future))
    expect(await again.json()).toMatchObject({ stored: 0, duplicates: 1 })
  })

  it("counts a vehicle with no plate read and uploads nothing for it", async () => {
    const collector = await claimedCollector(central, database.url)
    await collector.start()
    const noPlate = read("noplate", { plate: { text: "unknown", confidence: 0 } })
    const response = await collector.push("generic", JSON.stringify(noPlate))
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({ stored: 0, no_plate: 1 })
    expect((await collector.status())["buffer"]["counters"]["no_plate_reads"]).toBe(1)
    await sleep(1_500)
    expect((await stored([noPlate.detection_id])).n).toBe(0)
  })

  it("uploads a pull camera's reads, and reconnects a camera that drops its stream mid-event", async () => {
    const camera = await startFakeHikvision("admin", "s3cret")
    try {
      const collector = await claimedCollector(central, database.url, {
        cameras: [{ id: "hik-gate", vendor: "hikvision", mode: "pull", url: camera.url, username: "admin" }]
      })
      await setCameraPassword(collector, "hik-gate", "s3cret")
      await collector.start()
      await waitFor("the alert stream", async () => camera.streams() >= 1 || undefined)
      const at = () => new Date().toISOString().replace(/\.\d+Z$/, "+00:00")
      camera.send({ uuid: "PULL-E2E-1", plate: "PULL01", dateTime: at() }, 1)
      await waitFor("the first read centrally", async () => (await stored(["hikvision:PULL-E2E-1"])).n === 1 || undefined)
      camera.send({ uuid: "PULL-E2E-2", plate: "PULL02", dateTime: at() }, 3, 120) // cut inside the event
      await waitFor("a reconnect", async () => camera.streams() >= 2 || undefined)
      camera.send({ uuid: "PULL-E2E-3", plate: "PULL03", dateTime: at() }, 5)
      await waitFor("the read after the reconnect", async () => (await stored(["hikvision:PULL-E2E-3"])).n === 1 || undefined)
      const { rows } = await database.db.query(
        "SELECT count(*)::int AS n FROM detection_images i JOIN detections d ON d.id = i.detection_id WHERE d.detection_id = $1",
        ["hikvision:PULL-E2E-3"]
      )
      expect(rows[0].n).toBe(2)
      expect((await collector.status())["camera_connections"]["hik-gate"]).toMatchObject({ state: "connected" })
    } finally {
      await camera.close()
    }
  })
})
