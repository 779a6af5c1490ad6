import type { Camera } from "@chaverim/domain/rpc/Cameras"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type FakeHikvision, startFakeHikvision } from "../../../edge/test/fakeCameras"
import { type Central, type Collector, claimedCollector, killAll, setCameraPassword } from "../../../edge/test/processes"
import { type SignedIn, startServer, type TestServer, until } from "./harness"
import { outcomeOf, rpcFor } from "./rpcClient"

/**
 * Cameras managed centrally, end to end: an admin sets a camera's connection in the panel's procedures,
 * pushes it to a real collector process (`edge run`, claimed against this server), which checks the
 * list, tries the camera's login on a fake Hikvision speaking ISAPI with Digest, applies it and says
 * how it went; its heartbeats report what it runs, and the panel shows where that differs.
 */

let server: TestServer
let admin: SignedIn
let collector: Collector
let camera: FakeHikvision
const { rpc, rpcExit } = rpcFor(() => server)

const cameraNamed = async (externalId: string) =>
  (await rpc(admin, (client) => client.cameras.list({ collector_id: collector.id }))).find((c) => c.external_id === externalId)

/** Waits until the camera as listed satisfies `ok`. */
const cameraWhen = (externalId: string, what: string, ok: (camera: Camera) => boolean) =>
  until(async () => {
    const found = await cameraNamed(externalId)
    return found !== undefined && ok(found) ? found : undefined
  }, what, 60_000)

const collectorSide = () => rpc(admin, (client) => client.cameras.collector({ collector_id: collector.id }))

beforeAll(async () => {
  server = await startServer()
  admin = await server.signIn("admin")
  camera = await startFakeHikvision("admin", "s3cret")
  // A real collector, claimed with a code from this server's database, beating every 2 s.
  collector = await claimedCollector({ url: server.url } as Central, server.databaseUrl)
  await collector.start()
}, 180_000)

afterAll(async () => {
  await killAll()
  await camera?.close()
  await server?.close()
})

describe("cameras managed centrally", () => {
  it("lists the cameras a collector runs that are not set here, from its heartbeats", async () => {
    const side = await until(async () => {
      const s = await collectorSide()
      return s.reported_at !== null ? s : undefined
    }, "the collector's camera report", 60_000)
    // its own configuration's push cameras, with no password to hold
    expect(side.device_only.map((c) => [c.id, c.vendor, c.mode, c.password_set])).toEqual([
      ["gate", "generic", "push", false],
      ["hik-push", "hikvision", "push", false],
      ["unifi-push", "unifi", "push", false]
    ])
    expect(side.last_push).toBeNull()
  })

  it("refuses a connection the collector could not run, saying why", async () => {
    const base = { collector_id: collector.id, external_id: "bad-cam" }
    const refused = async (connection: Record<string, unknown>) =>
      outcomeOf(await rpcExit(admin, (client) => client.cameras.create({ ...base, connection } as never)))
    expect(await refused({ vendor: "axis", mode: "pull", url: camera.url })).toContain("mode pull is for hikvision cameras")
    expect(await refused({ vendor: "hikvision", mode: "pull" })).toContain("a pull camera needs url")
    expect(await refused({ vendor: "hikvision", mode: "pull", url: "http://admin:s3cret@192.168.1.20" }))
      .toContain("without credentials in it")
    expect(await refused({ vendor: "nokia", mode: "push" })).toContain("vendor is one of hikvision, unifi")
    expect(await refused({ vendor: "generic", mode: "push", time_zone: "Mars/Olympus" })).toContain("not an IANA time zone")
    const operator = await server.signIn("operator")
    expect(outcomeOf(await rpcExit(operator, (client) => client.cameras.push({ collector_id: collector.id })))).toMatch(/^Forbidden/)
    expect((await server.db.query("SELECT 1 FROM cameras WHERE external_id = 'bad-cam'")).rows).toEqual([])
  })

  it("pushes a camera made in the panel; the collector tests its login, runs it, and the drift goes once its password is set", async () => {
    const made = await rpc(admin, (client) =>
      client.cameras.create({
        collector_id: collector.id,
        external_id: "hik-gate",
        name: "Main gate",
        site: "North",
        lat: 41.1,
        lon: -74.05,
        connection: { vendor: "hikvision", mode: "pull", url: camera.url, username: "admin" }
      }))
    expect(made).toMatchObject({ external_id: "hik-gate", name: "Main gate", connection: { vendor: "hikvision", mode: "pull", url: camera.url } })
    expect(made.drift).toEqual(["not running on the device: push the cameras to its collector"])
    expect(outcomeOf(await rpcExit(admin, (client) =>
      client.cameras.create({ collector_id: collector.id, external_id: "hik-gate", connection: { vendor: "generic", mode: "push" } }))))
      .toBe("BadRequest: the collector has a camera hik-gate already: edit that one")

    const pushed = await rpc(admin, (client) => client.cameras.push({ collector_id: collector.id }))
    expect(pushed.cameras).toEqual(["hik-gate"])
    const { rows: [command] } = await server.db.query<{ payload: { cameras: Array<Record<string, unknown>> } }>(
      "SELECT payload FROM collector_commands WHERE id = $1", [pushed.command_id])
    expect(command!.payload.cameras).toEqual([{
      id: "hik-gate", name: "Main gate", location: { lat: 41.1, lon: -74.05 }, vendor: "hikvision", mode: "pull", url: camera.url, username: "admin"
    }])

    // Applied, with the login tried: no password on the device yet.
    const done = await until(async () => {
      const side = await collectorSide()
      return side.last_push?.status === "done" ? side.last_push : undefined
    }, "the push carried out", 60_000)
    expect(done.message).toBe("4 cameras configured; hik-gate: FAILED, the camera wants a password for user \"admin\", and none is given")
    const running = await cameraWhen("hik-gate", "the camera reported", (c) => c.device !== null)
    expect(running.device).toMatchObject({ id: "hik-gate", vendor: "hikvision", mode: "pull", url: camera.url, username: "admin", password_set: false })
    expect(running.drift).toContain("no password on the device: set it on the device's page or with edge camera-password")
    // no longer listed as the device's own
    expect((await collectorSide()).device_only.map((c) => c.id)).not.toContain("hik-gate")

    await setCameraPassword(collector, "hik-gate", "s3cret")
    const agreed = await cameraWhen("hik-gate", "the camera connected, as set", (c) => c.drift.length === 0 && c.device?.connection?.state === "connected")
    expect(agreed.device?.password_set).toBe(true)
    await until(async () => (camera.streams() >= 1 ? true : undefined), "the collector reading the camera's events")

    // A URL changed here differs from the device's until it is pushed.
    const moved = camera.url.replace("127.0.0.1", "localhost")
    await rpc(admin, (client) =>
      client.cameras.update({ camera_id: made.camera_id, connection: { vendor: "hikvision", mode: "pull", url: moved, username: "admin" } }))
    const drifted = await cameraNamed("hik-gate")
    expect(drifted!.drift).toEqual([`url: ${moved} here, ${camera.url} on the device`])
    const again = await rpc(admin, (client) => client.cameras.push({ collector_id: collector.id }))
    const second = await until(async () => {
      const side = await collectorSide()
      return side.last_push?.command_id === again.command_id && side.last_push.status === "done" ? side.last_push : undefined
    }, "the second push carried out", 60_000)
    expect(second.message).toMatch(/hik-gate: ok/)
    await cameraWhen("hik-gate", "the new URL running", (c) => c.device?.url === moved && c.drift.length === 0)

    const { rows: audit } = await server.db.query<{ action: string }>(
      "SELECT action FROM audit_log WHERE action IN ('camera.create', 'camera.push', 'camera.update') ORDER BY id")
    expect(audit.map((r) => r.action)).toEqual(["camera.create", "camera.push", "camera.update", "camera.push"])
  }, 180_000)

  it("pushes a Protect camera with the MAC address that picks it on the console; a malformed one is refused", async () => {
    const base = { collector_id: collector.id, external_id: "protect-drive" }
    expect(outcomeOf(await rpcExit(admin, (client) =>
      client.cameras.create({ ...base, connection: { vendor: "unifi", mode: "poll", url: "http://127.0.0.1:9", mac: "AA:BB:CC" } }))))
      .toContain("mac is a MAC address")
    await rpc(admin, (client) =>
      client.cameras.create({ ...base, connection: { vendor: "unifi", mode: "poll", url: "http://127.0.0.1:9", username: "alpr", mac: "AA:BB:CC:DD:EE:01" } }))
    const pushed = await rpc(admin, (client) => client.cameras.push({ collector_id: collector.id }))
    expect(pushed.cameras).toEqual(["hik-gate", "protect-drive"])
    const { rows: [command] } = await server.db.query<{ payload: { cameras: Array<Record<string, unknown>> } }>(
      "SELECT payload FROM collector_commands WHERE id = $1", [pushed.command_id])
    expect(command!.payload.cameras.find((c) => c.id === "protect-drive")).toEqual({
      id: "protect-drive", vendor: "unifi", mode: "poll", url: "http://127.0.0.1:9", username: "alpr", mac: "AA:BB:CC:DD:EE:01"
    })
    // the collector takes it (its login fails: no password on the device) and runs it
    const done = await until(async () => {
      const side = await collectorSide()
      return side.last_push?.command_id === pushed.command_id && side.last_push.status === "done" ? side.last_push : undefined
    }, "the push carried out", 60_000)
    expect(done.message).toMatch(/protect-drive: FAILED/)
    const running = await cameraWhen("protect-drive", "the Protect camera reported", (c) => c.device !== null)
    expect(running.device).toMatchObject({ id: "protect-drive", vendor: "unifi", mode: "poll", password_set: false })
  }, 120_000)
})
