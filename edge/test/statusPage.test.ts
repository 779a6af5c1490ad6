import { describe, expect, it } from "@effect/vitest"
import * as HttpServer from "@effect/platform/HttpServer"
import { NodeHttpServer } from "@effect/platform-node"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import { randomBytes, scryptSync } from "node:crypto"
import * as Fs from "node:fs"
import * as Http from "node:http"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Yaml from "yaml"
import { AddressBackoff } from "../src/listener/AddressBackoff"
import { checkPin, hashPin, statusPageRoutes } from "../src/listener/StatusPage"
import { makeSecretStore } from "../src/provisioning/Secrets"
import { edge } from "./edgeCli"

/**
 * The status page's one change, the local configuration layer, over real HTTP on loopback. Two
 * clients on two loopback addresses (127.0.0.1 and 127.0.0.2, both this machine) stand for two
 * phones on the site network.
 */

const tempDir = () => Fs.mkdtempSync(Path.join(Os.tmpdir(), "alpr-status-"))

interface Answer {
  readonly status: number
  readonly retryAfter: string | undefined
  readonly body: Record<string, unknown>
}

const PIN = "gate-4711-north"

/** The status page of a collector directory whose secrets hold `pinHash`, served on 127.0.0.1. */
const statusPage = (pinHash: string | undefined) =>
  Effect.gen(function*() {
    const dir = tempDir()
    Fs.writeFileSync(Path.join(dir, "machine-id"), randomBytes(16).toString("hex"))
    Fs.writeFileSync(Path.join(dir, "config.yaml"), "central_url: https://central.example\n")
    const secrets = makeSecretStore(dir, Path.join(dir, "machine-id"))
    if (pinHash !== undefined) yield* secrets.update((s) => ({ ...s, status_pin_hash: pinHash }))
    const state = { reloads: 0 }
    const server = yield* NodeHttpServer.make(() => Http.createServer(), { port: 0, host: "127.0.0.1" })
    yield* HttpServer.serveEffect(statusPageRoutes({
      dir,
      secrets,
      status: Effect.succeed({ buffer: { usedBytes: 0, quotaBytes: 1 } }),
      reload: Effect.sync(() => void state.reloads++)
    })).pipe(Effect.provideService(HttpServer.HttpServer, server))
    const port = (server.address as HttpServer.TcpAddress).port

    /** `PUT /local-config` from the loopback address `from`. */
    const put = (from: "127.0.0.1" | "127.0.0.2", pin: string | undefined, body: string) =>
      Effect.async<Answer>((resume) => {
        const request = Http.request({
          host: "127.0.0.1",
          port,
          localAddress: from,
          method: "PUT",
          path: "/local-config",
          headers: { "content-type": "application/yaml", ...(pin === undefined ? {} : { "x-pin": pin }) }
        }, (response) => {
          let text = ""
          response.setEncoding("utf8").on("data", (chunk: string) => (text += chunk)).on("end", () =>
            resume(Effect.succeed({
              status: response.statusCode!,
              retryAfter: response.headers["retry-after"],
              body: JSON.parse(text) as Record<string, unknown>
            })))
        })
        request.on("error", (error) => resume(Effect.die(error)))
        request.end(body)
      })
    const localLayer = () =>
      Fs.existsSync(Path.join(dir, "local.yaml")) ? Yaml.parse(Fs.readFileSync(Path.join(dir, "local.yaml"), "utf8")) as unknown : undefined
    return { dir, put, localLayer, state }
  })

describe("the status page PIN", () => {
  // TestClock: the waits pass without being waited for; the requests are real.
  it.scoped("backs off wrong PINs per address: A waits, doubling, while B with the right PIN still makes changes", () =>
    Effect.gen(function*() {
      const page = yield* statusPage(hashPin(PIN))
      const A = "127.0.0.1"
      const B = "127.0.0.2"

      // Four wrong PINs are free (typos); the fifth earns A a 30 s wait.
      for (const pin of ["gate-4711-nort", undefined, "12345678", "gate-4711-south"]) {
        expect((yield* page.put(A, pin, "quota_mb: 1\n")).status).toBe(401)
      }
      expect((yield* page.put(A, "00000000", "quota_mb: 1\n")).status).toBe(401)
      const waiting = yield* page.put(A, PIN, "quota_mb: 1\n")
      expect(waiting).toMatchObject({ status: 429, retryAfter: "30" })
      expect(String(waiting.body["error"])).toMatch(/too many wrong PINs from this address; try again in 30 s/)

      // B is another phone: A's guesses cost it nothing.
      expect(yield* page.put(B, PIN, "quota_mb: 100\n")).toMatchObject({ status: 200, body: { status: "applied" } })
      expect(page.localLayer()).toEqual({ quota_mb: 100 })
      expect((yield* page.put(B, "wrong-pin-b", "quota_mb: 1\n")).status).toBe(401)
      expect(yield* page.put(B, PIN, "quota_mb: 110\n")).toMatchObject({ status: 200 })

      // A, still waiting, is refused even the right PIN, and its guesses meanwhile are not checked.
      yield* TestClock.adjust("29 seconds")
      expect(yield* page.put(A, PIN, "quota_mb: 1\n")).toMatchObject({ status: 429, retryAfter: "1" })

      // Once the wait is over, the next wrong PIN from A doubles it.
      yield* TestClock.adjust("1 second")
      expect((yield* page.put(A, "still-guessing", "quota_mb: 1\n")).status).toBe(401)
      expect(yield* page.put(A, PIN, "quota_mb: 1\n")).toMatchObject({ status: 429, retryAfter: "60" })
      expect(yield* page.put(B, PIN, "quota_mb: 120\n")).toMatchObject({ status: 200 })

      yield* TestClock.adjust("60 seconds")
      expect(yield* page.put(A, PIN, "quota_mb: 130\n")).toMatchObject({ status: 200 })
      expect(page.localLayer()).toEqual({ quota_mb: 130 })
      expect(page.state.reloads).toBe(4)
    }))

  it.scoped("refuses every change while the stored PIN is one set before PINs needed 8 characters", () =>
    Effect.gen(function*() {
      // As `set-pin` stored a PIN before: salt:hash, any length.
      const salt = randomBytes(16)
      const legacy = `${salt.toString("hex")}:${scryptSync("2468", salt, 32).toString("hex")}`
      const page = yield* statusPage(legacy)
      const refused = yield* page.put("127.0.0.1", "2468", "quota_mb: 100\n")
      expect(refused.status).toBe(403)
      expect(String(refused.body["error"])).toMatch(/set before PINs needed 8 characters.*npm run edge -- set-pin/)
      expect(page.localLayer()).toBeUndefined()
    }))

  it.scoped("may not change central_url (nor mark it local): where the API key goes is not the site's to change", () =>
    Effect.gen(function*() {
      const page = yield* statusPage(hashPin(PIN))
      expect((yield* page.put("127.0.0.1", PIN, "quota_mb: 100\n")).status).toBe(200)
      for (
        const body of [
          "central_url: https://collect.example.net\n",
          "central_insecure_local: true\nquota_mb: 5\n",
          // Opening the unauthenticated vendor routes would let anyone on the camera network write reads.
          "listen:\n  unauthenticated_vendor_routes: true\n"
        ]
      ) {
        const refused = yield* page.put("127.0.0.1", PIN, body)
        expect(refused.status).toBe(400)
        expect(String(refused.body["error"])).toMatch(/cannot be changed on site/)
      }
      expect(page.localLayer()).toEqual({ quota_mb: 100 })
      expect(page.state.reloads).toBe(1)
    }))
})

describe("edge set-pin", () => {
  it("refuses a PIN shorter than 8 characters, and stores one of 8", async () => {
    const dir = tempDir()
    const env = { EDGE_DIR: dir, EDGE_MACHINE_ID_FILE: Path.join(dir, "machine-id") }
    Fs.writeFileSync(env.EDGE_MACHINE_ID_FILE, randomBytes(16).toString("hex"))
    const short = await edge(["set-pin"], env, "2468135\n")
    expect(short.code).not.toBe(0)
    expect(short.stderr).toMatch(/the PIN \(first line of standard input\) must have at least 8 characters/)
    expect(Fs.existsSync(Path.join(dir, "secrets.enc"))).toBe(false)

    const ok = await edge(["set-pin"], env, "24681357\n")
    expect(ok.code, ok.stderr).toBe(0)
    const stored = await Effect.runPromise(makeSecretStore(dir, env.EDGE_MACHINE_ID_FILE).read)
    expect(stored["status_pin_hash"]).toMatch(/^pin8:/)

    // --if-unset (the install script's): a PIN already set is kept, and standard input is not read.
    const kept = await edge(["set-pin", "--if-unset"], env, "another-pin-99\n")
    expect(kept.code, kept.stderr).toBe(0)
    expect(JSON.parse(kept.stdout)).toEqual({ pin: "kept" })
    expect((await Effect.runPromise(makeSecretStore(dir, env.EDGE_MACHINE_ID_FILE).read))["status_pin_hash"]).toBe(stored["status_pin_hash"])
  }, 180_000)

  it("--if-unset sets a PIN where none is set", async () => {
    const dir = tempDir()
    const env = { EDGE_DIR: dir, EDGE_MACHINE_ID_FILE: Path.join(dir, "machine-id") }
    Fs.writeFileSync(env.EDGE_MACHINE_ID_FILE, randomBytes(16).toString("hex"))
    const set = await edge(["set-pin", "--if-unset"], env, "first-pin-123\n")
    expect(set.code, set.stderr).toBe(0)
    expect(JSON.parse(set.stdout)).toEqual({ pin: "set" })
    const stored = (await Effect.runPromise(makeSecretStore(dir, env.EDGE_MACHINE_ID_FILE).read))["status_pin_hash"]!
    expect(checkPin("first-pin-123", stored)).toBe(true)
  }, 120_000)
})

describe("the table of addresses", () => {
  it("stays bounded, dropping the longest untouched address first", () => {
    const backoff = new AddressBackoff({ freeFailures: 0, baseMs: 1000, maxMs: 60_000, maxAddresses: 3 })
    for (const address of ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"]) backoff.failed(address, 0)
    expect(backoff.size).toBe(3)
    expect(backoff.waitMs("10.0.0.1", 0)).toBe(0)
    expect(backoff.waitMs("10.0.0.4", 0)).toBe(1000)
    // One host's IPv6 addresses share their /64; an IPv4 address mapped into IPv6 is the address.
    backoff.failed("2001:db8:1:2::a", 0)
    expect(backoff.waitMs("2001:db8:1:2:ffff::b", 0)).toBe(1000)
    expect(backoff.waitMs("::ffff:10.0.0.4", 0)).toBe(1000)
  })
})
