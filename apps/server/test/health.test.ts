import type { LiveMessage } from "@chaverim/domain/Alerts"
import type { HealthAlert } from "@chaverim/domain/Health"
import * as Effect from "effect/Effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { LiveClient } from "./alertHarness"
import { alprAgainst, describeRun, lines } from "./alprCli"
import { checkHealth, detection, postBatch, postHeartbeat, type SignedIn, startServer, type TestServer } from "./harness"
import { rpcAs, rpcUrlOf } from "./rpcClient"

const HOUR = 3_600_000
const WEEK = 7 * 24 * HOUR
const COLLECTORS = 20
const CAMERAS_EACH = 5

interface FleetCollector {
  readonly index: number
  readonly collectorId: string
  readonly apiKey: string
}

const cameraOf = (collector: number, camera: number) => ({
  id: `cam-${camera}`,
  mac: `AA:BB:CC:${String(collector).padStart(2, "0")}:00:${String(camera).padStart(2, "0")}`,
  name: `Site ${collector} camera ${camera}`
})

/**
 * A simulated fleet: 20 collectors with 5 cameras each, a week of history for every camera in this hour
 * of the week, then one collector that goes silent, one whose clock is 5 s ahead, one whose buffer fills,
 * one camera that stops reading and one whose clock is 8 s ahead of its collector. The health monitor
 * raises exactly those five alerts, to admins only, and clears each when it recovers.
 */
describe("the health monitor over a fleet", () => {
  let server: TestServer
  let admin: SignedIn
  let fleet: Array<FleetCollector>
  const alpr = alprAgainst(() => server.databaseUrl)
  const check = () => checkHealth(server)
  const heartbeat = async (collector: FleetCollector, overrides: Record<string, unknown> = {}) => {
    const response = await postHeartbeat(server, collector.apiKey, { cameras_online: CAMERAS_EACH, disk: { used_bytes: 100, quota_bytes: 1_000, full: false }, ...overrides })
    expect(response.status, await response.clone().text()).toBe(200)
  }
  /** Reads of one camera at the given times, received by the collector `lagMs` later by its clock. */
  const reads = (collector: number, camera: number, times: ReadonlyArray<number>, cameraAheadMs = 0) =>
    times.map((t) =>
      detection({
        timestamp: new Date(t + cameraAheadMs).toISOString(),
        received_at: new Date(t + 200).toISOString(),
        camera: cameraOf(collector, camera),
        plate: { text: `H${collector}C${camera}T${t % 100_000}`, confidence: 0.9 }
      })
    )
  const upload = async (collector: FleetCollector, events: ReadonlyArray<unknown>) => {
    for (let i = 0; i < events.length; i += 100) {
      const response = await postBatch(server, collector.apiKey, events.slice(i, i + 100))
      expect(response.status).toBe(200)
      const body = (await response.json()) as { accepted: number; errors: unknown }
      expect(body.accepted, JSON.stringify(body.errors)).toBe(Math.min(100, events.length - i))
    }
  }
  const openAlerts = async () =>
    (await server.db.query<{ kind: string; collector_id: string; camera: string | null }>(
      `SELECT h.kind, h.collector_id::text AS collector_id, k.external_id AS camera
         FROM health_alerts h LEFT JOIN cameras k ON k.id = h.camera_id
        WHERE h.cleared_at IS NULL ORDER BY h.kind`
    )).rows

  beforeAll(async () => {
    // The monitor's own loop runs once at start, then not within the test: the test calls each check.
    server = await startServer({ healthCheckSeconds: 3600 })
    admin = await server.signIn("admin")
    fleet = []
    for (let index = 0; index < COLLECTORS; index++) fleet.push({ index, ...(await server.collector(`Fleet site ${index}`)) })
    const now = Date.now()
    // Every camera: a first read two hours before this hour last week, 8 reads in this hour last week,
    // and (but camera 2 of site 4) 4 reads in the last 10 minutes.
    for (const collector of fleet) {
      const events = Array.from({ length: CAMERAS_EACH }, (_, c) => {
        const camera = c + 1
        const history = [now - WEEK - 2 * HOUR, ...Array.from({ length: 8 }, (_, i) => now - WEEK - (i + 1) * 6 * 60_000)]
        const silent = collector.index === 4 && camera === 2
        const recent = silent ? [now - 50 * 60_000] : Array.from({ length: 4 }, (_, i) => now - (i + 1) * 2 * 60_000)
        // Site 2's camera 3 runs 8 s ahead of its collector.
        const ahead = collector.index === 2 && camera === 3 ? 8_000 : 0
        return [...reads(collector.index, camera, history), ...reads(collector.index, camera, recent, ahead)]
      }).flat()
      if (collector.index === 1) await heartbeat(collector, { device_time: new Date(Date.now() + 5_000).toISOString() })
      await upload(collector, events)
    }
    // Site 0 beats every second: it is silent after three missed beats.
    await heartbeat(fleet[0]!, { heartbeat_seconds: 1 })
    for (const collector of fleet.slice(1)) {
      if (collector.index === 1) await heartbeat(collector, { device_time: new Date(Date.now() + 5_000).toISOString() })
      else if (collector.index === 3) await heartbeat(collector, { disk: { used_bytes: 850, quota_bytes: 1_000, full: false } })
      else await heartbeat(collector)
    }
  }, 120_000)
  afterAll(() => server?.close())

  it("raises exactly the expected health alerts, once, to admins on the live feed, and clears each when it recovers", async () => {
    const adminFeed = await LiveClient.open(server, admin.cookie)
    const viewer = await server.signIn("viewer")
    const viewerFeed = await LiveClient.open(server, viewer.cookie)
    await adminFeed.next((m) => m.type === "hello")
    await viewerFeed.next((m) => m.type === "hello")
    // Site 0's last sign of life is more than three of its beats ago.
    await new Promise((resolve) => setTimeout(resolve, 3_500))

    const first = await check()
    expect(first.ran).toBe(true)
    const expected = [
      { kind: "buffer_filling", collector_id: fleet[3]!.collectorId, camera: null },
      { kind: "camera_clock", collector_id: fleet[2]!.collectorId, camera: "cam-3" },
      { kind: "camera_silent", collector_id: fleet[4]!.collectorId, camera: "cam-2" },
      { kind: "collector_clock", collector_id: fleet[1]!.collectorId, camera: null },
      { kind: "collector_silent", collector_id: fleet[0]!.collectorId, camera: null }
    ]
    expect(await openAlerts()).toEqual(expected)
    expect(first.raised).toHaveLength(5)
    // Raised once: the next check raises nothing more.
    expect(await check()).toMatchObject({ raised: [], cleared: [] })

    const healthOf = (feed: LiveClient) =>
      feed.messages.flatMap((m) => (m.type === "health" ? [(m as Extract<LiveMessage, { type: "health" }>).health] : []))
    await adminFeed.next((m) => m.type === "health" && m.health.id === first.raised.at(-1))
    const raised = healthOf(adminFeed)
    expect(raised.map((h) => h.id).sort()).toEqual([...first.raised].sort())
    const byKind = Object.fromEntries(raised.map((h) => [h.kind, h])) as Record<string, HealthAlert>
    expect(byKind["collector_clock"]!.details["clock_skew_s"]).toBeCloseTo(5, 0)
    expect(byKind["collector_clock"]!.message).toMatch(/^Fleet site 1: clock ahead by 5\.\d s$/)
    expect(byKind["camera_clock"]!.details["clock_offset_s"]).toBeCloseTo(8, 0)
    expect(byKind["camera_silent"]).toMatchObject({
      camera: { name: "Site 4 camera 2" },
      details: { expected_per_hour: 8, weeks_of_history: 1 },
      cleared_at: null
    })
    expect(byKind["camera_silent"]!.message).toMatch(/^Site 4 camera 2: no read for 5\d min; usually 8 an hour/)
    expect(byKind["buffer_filling"]!.message).toBe("Fleet site 3: buffer 85 % full")
    expect(byKind["collector_silent"]!.details).toMatchObject({ heartbeat_seconds: 1 })

    // A read from a skewed clock keeps its raw time and carries the offset measured: site 1's cameras
    // keep the collector's time, which is 5 s ahead.
    const { rows: skewed } = await server.db.query<{ detected_at: Date; clock_offset_ms: string; raw_time: string }>(
      `SELECT d.detected_at, d.clock_offset_ms::text AS clock_offset_ms, d.raw->>'timestamp' AS raw_time
         FROM detections d WHERE d.collector_id = $1 AND d.detected_at > now() - interval '1 hour'`,
      [fleet[1]!.collectorId]
    )
    expect(skewed.length).toBe(CAMERAS_EACH * 4)
    for (const row of skewed) {
      expect(row.detected_at.toISOString()).toBe(row.raw_time)
      expect(Number(row.clock_offset_ms)).toBeGreaterThan(4_500)
      expect(Number(row.clock_offset_ms)).toBeLessThan(5_500)
    }

    // The read's own page carries it too.
    const { rows: [one] } = await server.db.query<{ id: string }>(
      "SELECT id::text AS id FROM detections WHERE collector_id = $1 AND detected_at > now() - interval '1 hour' LIMIT 1",
      [fleet[1]!.collectorId])
    const page = await fetch(`${server.url}/api/v1/detections/${one!.id}?reason_code=audit`, { headers: { cookie: admin.cookie } })
    expect(page.status, await page.clone().text()).toBe(200)
    const item = (await page.json()) as { clock_offset_s?: number; detected_at: string }
    expect(item.clock_offset_s).toBeCloseTo(4.8, 1)

    // The command line: the collector's skew, and the open alerts, one JSON line each.
    const collectors = await alpr(["collector", "list"])
    expect(collectors.code, describeRun(collectors)).toBe(0)
    const site1 = lines(collectors.stdout).map((line) => JSON.parse(line)).find((c) => c.id === fleet[1]!.collectorId)
    expect(site1.clock_skew_s).toBeGreaterThan(4.5)
    const listed = await alpr(["health", "list", "--open"])
    expect(listed.code, describeRun(listed)).toBe(0)
    expect(lines(listed.stdout).map((line) => JSON.parse(line).kind).sort()).toEqual(expected.map((e) => e.kind).sort())

    // Recovery: each comes back.
    const now = Date.now()
    await heartbeat(fleet[0]!)
    await heartbeat(fleet[1]!)
    await heartbeat(fleet[3]!, { disk: { used_bytes: 100, quota_bytes: 1_000, full: false } })
    await upload(fleet[4]!, reads(4, 2, [now - 1_000]))
    await upload(fleet[2]!, reads(2, 3, Array.from({ length: 10 }, (_, i) => now - 1_000 + i)))
    const second = await check()
    expect([...second.cleared].sort()).toEqual([...first.raised].sort())
    expect(second.raised).toEqual([])
    expect(await openAlerts()).toEqual([])
    await adminFeed.next((m) => m.type === "health" && m.health.id === second.cleared.at(-1) && m.health.cleared_at !== null)
    const cleared = healthOf(adminFeed).filter((h) => h.cleared_at !== null)
    expect(cleared.map((h) => h.id).sort()).toEqual([...first.raised].sort())
    for (const h of cleared) expect(h.duration_s).toBeGreaterThanOrEqual(0)

    // Over RPC, for admins only; a viewer's feed never carried them.
    const listedRpc = await rpcAs(rpcUrlOf(server), admin.cookie, (client) => client.health.list({ limit: 10 }))
    expect(listedRpc.filter((h) => first.raised.includes(h.id)).every((h) => h.cleared_at !== null)).toBe(true)
    const operator = await server.signIn("operator")
    const refused = await rpcAs(rpcUrlOf(server), operator.cookie, (client) => Effect.exit(client.health.list({})))
    expect(refused._tag).toBe("Failure")
    expect(healthOf(viewerFeed)).toEqual([])
    await Promise.all([adminFeed.close(), viewerFeed.close()])
  }, 120_000)

  it("judges a camera by the reads an hour an admin expects of it, and stops watching it once retired", async () => {
    const rpc = <A, E>(f: (client: Parameters<Parameters<typeof rpcAs>[2]>[0]) => Effect.Effect<A, E>) =>
      rpcAs(rpcUrlOf(server), admin.cookie, f)
    const cameras = await rpc((client) => client.cameras.list({ collector_id: fleet[5]!.collectorId }))
    const camera = cameras.find((c) => c.external_id === "cam-1")!
    // Expecting 200 an hour, it read 4: far below (its own history said 8).
    const zone = { type: "Polygon" as const, coordinates: [[[-74.05, 41.1], [-74.04, 41.1], [-74.04, 41.11], [-74.05, 41.1]] as Array<readonly [number, number]>] as const }
    const updated = await rpc((client) =>
      client.cameras.update({
        camera_id: camera.camera_id, expected_per_hour: 200, bearing: 270, travel_direction: "westbound", zone: zone as never,
        lat: 41.105, lon: -74.045
      }))
    const onTheWall = async () =>
      (await rpc((client) => client.wall.status({ since: new Date(Date.now() - 3_600_000).toISOString() }))).cameras
        .some((c) => c.camera_id === camera.camera_id)
    expect(await onTheWall()).toBe(true)
    expect(updated).toMatchObject({ expected_per_hour: 200, bearing: 270, travel_direction: "westbound", zone, retired_at: null })
    const low = await check()
    expect(low.raised).toHaveLength(1)
    expect(await openAlerts()).toEqual([{ kind: "camera_low_rate", collector_id: fleet[5]!.collectorId, camera: "cam-1" }])
    const { rows: [raised] } = await server.db.query("SELECT message, details FROM health_alerts WHERE id = $1", [low.raised[0]])
    expect(raised).toMatchObject({ details: { expected_per_hour: 200, observed_last_hour: 4, set_by_admin: true } })
    expect(raised.message).toBe("Site 5 camera 1: 4 reads in the last hour; expected 200 an hour")

    // Retired: no longer watched, its alert cleared; the change is audited.
    const retired = await rpc((client) => client.cameras.update({ camera_id: camera.camera_id, retired: true }))
    expect(retired.retired_at).not.toBeNull()
    expect(await onTheWall()).toBe(false)
    expect(await check()).toMatchObject({ cleared: low.raised, raised: [] })
    const { rows: audited } = await server.db.query(
      "SELECT details FROM audit_log WHERE action = 'camera.update' AND target = $1 ORDER BY id", [`camera:${camera.camera_id}`])
    expect(audited.map((r) => Object.keys(r.details.to).sort())).toEqual([
      ["bearing", "expected_per_hour", "lat", "lon", "travel_direction", "zone"],
      ["retired_at"]
    ])

    // What an admin may not send: an open ring, a bearing past 359.
    const open = { type: "Polygon", coordinates: [[[-74.05, 41.1], [-74.04, 41.1], [-74.04, 41.11], [-74.03, 41.1]]] }
    const refused = await rpc((client) => Effect.exit(client.cameras.update({ camera_id: camera.camera_id, zone: open as never })))
    expect(JSON.stringify(refused)).toContain("ring 1 is not closed")
    const badBearing = await rpc((client) => Effect.exit(client.cameras.update({ camera_id: camera.camera_id, bearing: 400 })))
    expect(JSON.stringify(badBearing)).toContain("bearing is whole degrees from north, 0 to 359")
  }, 60_000)

  it("clears a clock only within 1.5 s and a buffer only below 70 %: a figure hovering at the limit raises once", async () => {
    const { apiKey, collectorId } = await server.collector("Hovering site")
    const ours = async () =>
      (await openAlerts()).filter((a) => a.collector_id === collectorId).map((a) => a.kind).sort()
    const beatAt = async (aheadMs: number, usedOfThousand: number) =>
      expect((await postHeartbeat(server, apiKey, {
        device_time: new Date(Date.now() + aheadMs).toISOString(),
        disk: { used_bytes: usedOfThousand, quota_bytes: 1_000, full: false }
      })).status).toBe(200)

    await beatAt(2_600, 850)
    await check()
    expect(await ours()).toEqual(["buffer_filling", "collector_clock"])
    // Below the limits that raise them, above those that clear them: both stay open, nothing raised again.
    await beatAt(1_800, 750)
    const between = await check()
    expect(await ours()).toEqual(["buffer_filling", "collector_clock"])
    const { rows: [{ n }] } = await server.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM health_alerts WHERE collector_id = $1 AND id = ANY($2::bigint[])", [collectorId, between.raised])
    expect(n).toBe(0)
    // Past both: cleared.
    await beatAt(1_200, 650)
    await check()
    expect(await ours()).toEqual([])
    const { rows } = await server.db.query<{ kind: string; cleared: boolean }>(
      "SELECT kind, cleared_at IS NOT NULL AS cleared FROM health_alerts WHERE collector_id = $1 ORDER BY kind", [collectorId])
    expect(rows).toEqual([{ kind: "buffer_filling", cleared: true }, { kind: "collector_clock", cleared: true }])
  })
})
