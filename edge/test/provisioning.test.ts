import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Fs from "node:fs"
import * as Http from "node:http"
import type * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { loadConfig, merge, mergeLayer, readLayer, writeLayer } from "../src/config/EdgeConfig"
import { claim } from "../src/provisioning/Claim"
import { deriveMachineKeyEarly } from "../src/provisioning/DeviceKey"
import { makeSecretStore } from "../src/provisioning/Secrets"

const tempDir = () => Fs.mkdtempSync(Path.join(Os.tmpdir(), "alpr-prov-"))
const identity = (dir: string, id: string) => {
  const file = Path.join(dir, `machine-id-${id}`)
  Fs.writeFileSync(file, `${id}\n`)
  return file
}

describe("secrets at rest", () => {
  it.effect("are encrypted, and readable on the same device only", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const device = identity(dir, "device-a")
      yield* makeSecretStore(dir, device).update(() => ({ api_key: "alpr_0123456789_supersecret", camera_gate: "hunter2" }))
      const raw = Fs.readFileSync(Path.join(dir, "secrets.enc"), "utf8")
      expect(raw).not.toContain("supersecret")
      expect(raw).not.toContain("hunter2")
      expect(yield* makeSecretStore(dir, device).read).toEqual({ api_key: "alpr_0123456789_supersecret", camera_gate: "hunter2" })

      // The same SD card in another machine: another identity, same files.
      const copied = tempDir()
      for (const f of ["secrets.enc", "secrets.salt"]) Fs.copyFileSync(Path.join(dir, f), Path.join(copied, f))
      const error = yield* Effect.flip(makeSecretStore(copied, identity(copied, "device-b")).read)
      expect(error.message).toMatch(/another device, or it was altered/)
    }))

  it.effect("open with the device key derived before the collector loads, as `edge run` derives it", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const device = identity(dir, "device-early")
      yield* makeSecretStore(dir, device).update(() => ({ api_key: "alpr_early" }))
      deriveMachineKeyEarly(dir, device)
      expect(yield* makeSecretStore(dir, device).read).toEqual({ api_key: "alpr_early" })
      // Another device's identity derives another key, which opens nothing.
      deriveMachineKeyEarly(dir, identity(dir, "device-other"))
      expect((yield* Effect.flip(makeSecretStore(dir, identity(dir, "device-other")).read)).message).toMatch(/another device/)
    }))

  it.effect("refuses a tampered file", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const device = identity(dir, "device-c")
      yield* makeSecretStore(dir, device).update(() => ({ api_key: "k" }))
      const file = Path.join(dir, "secrets.enc")
      const envelope = JSON.parse(Fs.readFileSync(file, "utf8"))
      const data = Buffer.from(envelope.data, "base64")
      data[0] = data[0]! ^ 1
      Fs.writeFileSync(file, JSON.stringify({ ...envelope, data: data.toString("base64") }))
      expect((yield* Effect.flip(makeSecretStore(dir, device).read))._tag).toBe("SecretsError")
    }))
})

describe("layered configuration", () => {
  it("merges objects key by key and replaces lists and values", () => {
    expect(merge({ a: { b: 1, c: 2 }, l: [1, 2] }, { a: { c: 3 }, l: [9] })).toEqual({ a: { b: 1, c: 3 }, l: [9] })
  })

  it.effect("puts local overrides above central pushes above the base, with defaults for the rest", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      yield* writeLayer(dir, "config.yaml", { central_url: "https://central.example", upload: { window_seconds: 10 } })
      yield* writeLayer(dir, "central.yaml", { upload: { window_seconds: 20, max_events: 40 }, heartbeat_seconds: 30 })
      yield* writeLayer(dir, "local.yaml", { upload: { window_seconds: 5 } })
      const config = yield* loadConfig(dir)
      expect(config.upload).toMatchObject({ window_seconds: 5, max_events: 40, max_bytes: 5 * 1024 * 1024 })
      expect(config.heartbeat_seconds).toBe(30)
      expect(config.retention_days).toBe(7)
      expect(config.central_url).toBe("https://central.example")
    }))

  it("merges cameras by id: a later layer's camera over the earlier one of that id, the others kept, earlier layers' first", () => {
    const central = { cameras: [{ id: "gate", vendor: "hikvision", mode: "pull", url: "http://10.0.0.5" }, { id: "lot", vendor: "unifi" }] }
    const local = { cameras: [{ id: "yard", vendor: "generic" }, { id: "gate", url: "http://10.0.0.6", name: "Gate" }] }
    expect(mergeLayer(central, local)).toEqual({
      cameras: [
        { id: "gate", vendor: "hikvision", mode: "pull", url: "http://10.0.0.6", name: "Gate" },
        { id: "lot", vendor: "unifi" },
        { id: "yard", vendor: "generic" }
      ]
    })
    // Other lists still replace; a layer without cameras keeps the earlier ones.
    expect(mergeLayer({ l: [1, 2], cameras: [{ id: "a" }] }, { l: [3] })).toEqual({ l: [3], cameras: [{ id: "a" }] })
  })

  it.effect("keeps every camera the central server pushed when cameras are added or changed on site", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      yield* writeLayer(dir, "config.yaml", { cameras: [{ id: "base", vendor: "generic" }] })
      yield* writeLayer(dir, "central.yaml", {
        cameras: [{ id: "gate", vendor: "hikvision", mode: "pull", url: "http://10.0.0.5", username: "admin" }, { id: "lot", vendor: "axis" }]
      })
      yield* writeLayer(dir, "local.yaml", { cameras: [{ id: "gate", url: "http://10.0.0.6" }, { id: "yard", vendor: "survision" }] })
      const config = yield* loadConfig(dir)
      expect(config.cameras.map((c) => [c.id, c.vendor, c.mode, c.url])).toEqual([
        ["base", "generic", "push", undefined],
        ["gate", "hikvision", "pull", "http://10.0.0.6"],
        ["lot", "axis", "push", undefined],
        ["yard", "survision", "push", undefined]
      ])
      expect(config.cameras[1]!.username).toBe("admin")
      // A camera a layer adds must still be whole: merged with nothing, a vendor is missing.
      yield* writeLayer(dir, "local.yaml", { cameras: [{ id: "new-one", url: "http://10.0.0.7" }] })
      expect((yield* Effect.flip(loadConfig(dir))).message).toMatch(/vendor/)
    }))

  it.effect("says which file and field is wrong", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      Fs.writeFileSync(Path.join(dir, "local.yaml"), "upload: [oops")
      expect((yield* Effect.flip(loadConfig(dir))).message).toMatch(/local\.yaml/)
      Fs.writeFileSync(Path.join(dir, "local.yaml"), "upload:\n  max_events: 500\n")
      expect((yield* Effect.flip(loadConfig(dir))).message).toMatch(/max_events/)
    }))
})

/** The environment as the collector would see it: only `env`, nothing of the test runner's. */
const withEnv = (env: Record<string, string>) => Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

describe("the central URL", () => {
  const configWith = (layer: Record<string, unknown>) =>
    Effect.gen(function*() {
      const dir = tempDir()
      yield* writeLayer(dir, "config.yaml", layer)
      return dir
    })

  it.effect("must be https, unless marked as a trusted local network, and then only to a loopback or private address", () =>
    Effect.gen(function*() {
      const https = yield* configWith({ central_url: "https://alpr.example.org" })
      expect((yield* loadConfig(https).pipe(withEnv({}))).central_url).toBe("https://alpr.example.org")

      const plain = yield* configWith({ central_url: "http://127.0.0.1:8080" })
      expect((yield* Effect.flip(loadConfig(plain).pipe(withEnv({})))).message).toMatch(
        /central_url must be https \(http:\/\/127\.0\.0\.1:8080\).*set central_insecure_local: true in config\.yaml \(or EDGE_ALLOW_HTTP_CENTRAL=1\)/
      )
      // Marked by the environment, as the tests' collectors are.
      expect((yield* loadConfig(plain).pipe(withEnv({ EDGE_ALLOW_HTTP_CENTRAL: "1" }))).central_url).toBe("http://127.0.0.1:8080")

      for (const url of ["http://127.0.0.1:8080", "http://192.168.10.4", "http://10.1.2.3:3000", "http://[::1]:8080"]) {
        const marked = yield* configWith({ central_url: url, central_insecure_local: true })
        expect((yield* loadConfig(marked).pipe(withEnv({}))).central_url).toBe(url)
      }
      const refusals: Array<[string, RegExp]> = [
        ["http://203.0.113.7", /203\.0\.113\.7 is neither/],
        ["http://central.lan", /not to the name central\.lan/],
        ["ftp://10.0.0.1", /must be an https URL/]
      ]
      for (const [url, reason] of refusals) {
        const marked = yield* configWith({ central_url: url, central_insecure_local: true })
        expect((yield* Effect.flip(loadConfig(marked).pipe(withEnv({ EDGE_ALLOW_HTTP_CENTRAL: "1" })))).message).toMatch(reason)
      }
    }))

  it.effect("cannot be set, nor marked local, by the on-site layer", () =>
    Effect.gen(function*() {
      const dir = yield* configWith({ central_url: "https://alpr.example.org" })
      for (const local of [{ central_url: "https://collect.example.net" }, { central_insecure_local: true }]) {
        yield* writeLayer(dir, "local.yaml", local)
        expect((yield* Effect.flip(loadConfig(dir).pipe(withEnv({})))).message).toMatch(/local\.yaml may not set central_/)
      }
    }))

  it.scoped("is checked by claim before the claim code goes anywhere", () =>
    Effect.gen(function*() {
      const requests: Array<string> = []
      const server = Http.createServer((req, res) => {
        requests.push(`${req.method} ${req.url}`)
        // As the real server answers a claim: 201 with the key, shown once.
        res.writeHead(201, { "content-type": "application/json" })
        res.end(JSON.stringify({ collector_id: "c-42", api_key: "alpr_claimed_key" }))
      })
      yield* Effect.acquireRelease(
        Effect.async<void>((resume) => void server.listen(0, "127.0.0.1", () => resume(Effect.void))),
        () => Effect.sync(() => server.close())
      )
      const url = `http://127.0.0.1:${(server.address() as Net.AddressInfo).port}`
      const dir = tempDir()
      const machineIdFile = identity(dir, "claimer")

      const refused = yield* Effect.flip(claim({ dir, code: "7KQ2-M9XD-4TPA", centralUrl: url, machineIdFile }).pipe(withEnv({})))
      expect(refused.message).toMatch(/central_url must be https/)
      expect(requests).toEqual([])
      expect(Fs.existsSync(Path.join(dir, "secrets.enc"))).toBe(false)

      const claimed = yield* claim({ dir, code: "7KQ2-M9XD-4TPA", centralUrl: url, machineIdFile }).pipe(
        withEnv({ EDGE_ALLOW_HTTP_CENTRAL: "1" })
      )
      expect(claimed).toEqual({ collector_id: "c-42", central_url: url })
      expect(requests).toEqual(["POST /api/v1/collectors/claim"])
      expect((yield* makeSecretStore(dir, machineIdFile).read)["api_key"]).toBe("alpr_claimed_key")
      expect((yield* readLayer(dir, "config.yaml"))["central_url"]).toBe(url)
    }))
})
