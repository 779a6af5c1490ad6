import { describe, expect, it } from "@effect/vitest"
import * as HttpServer from "@effect/platform/HttpServer"
import { NodeHttpServer } from "@effect/platform-node"
import * as Effect from "effect/Effect"
import { createHash, randomBytes } from "node:crypto"
import * as Fs from "node:fs"
import * as Http from "node:http"
import * as Os from "node:os"
import * as Path from "node:path"
import { makeBuffer, ReadBuffer } from "../src/buffer/Buffer"
import { type CameraConfig, loadConfig, writeLayer } from "../src/config/EdgeConfig"
import { CameraActivity, listenerRoutes, type ListenerOptions, MAX_PUSH_BYTES } from "../src/listener/Listener"
import { newPushSecret } from "../src/listener/PushAuth"
import { base64, fakeJpeg } from "./cameras"

/**
 * Who may write evidence through the camera listener: the real listener served by Node on
 * loopback, on a real SQLite buffer, pushed to over HTTP as cameras push.
 */

const GATE = newPushSecret()
const LANE = newPushSecret()

const CAMERAS: ReadonlyArray<CameraConfig> = [
  { id: "gate", vendor: "generic", mode: "push", name: "Gate" },
  { id: "lane", vendor: "generic", mode: "push" },
  // Pushes only from a range loopback is not in.
  { id: "yard", vendor: "generic", mode: "push", push_from: "10.9.8.0/24" },
  { id: "dock", vendor: "generic", mode: "push", push_from: "127.0.0.1" }
]
const SECRETS = new Map([["gate", GATE], ["lane", LANE], ["yard", newPushSecret()], ["dock", newPushSecret()]])

/** A listener on a fresh buffer, served on a free loopback port for the scope. */
const listener = (options: Partial<ListenerOptions> = {}) =>
  Effect.gen(function*() {
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "alpr-push-auth-"))
    const buffer = yield* makeBuffer({ dir, retentionDays: 7, quotaBytes: 1e9 })
    const routes = yield* listenerRoutes(CAMERAS, new CameraActivity(), { pushSecrets: SECRETS, vendorRoutes: false, ...options }).pipe(
      Effect.provideService(ReadBuffer, buffer)
    )
    const server = yield* NodeHttpServer.make(() => Http.createServer(), { port: 0, host: "127.0.0.1" })
    yield* HttpServer.serveEffect(routes).pipe(Effect.provideService(HttpServer.HttpServer, server))
    const url = `http://127.0.0.1:${(server.address as HttpServer.TcpAddress).port}`
    // A connection per push, as cameras make them: on a loaded machine a pooled keep-alive connection
    // can be reused just as the server times it out.
    const push = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      Effect.promise(() =>
        new Promise<{ status: number; challenge: string | undefined; body: Record<string, unknown> }>((resolve, reject) => {
          const request = Http.request(`${url}${path}`, {
            method: "POST",
            agent: false,
            headers: { "content-type": "application/json", ...headers }
          }, (response) => {
            const chunks: Array<Buffer> = []
            response.on("data", (c: Buffer) => chunks.push(c)).on("error", reject).on("end", () => {
              const text = Buffer.concat(chunks).toString("utf8")
              const challenge = response.headers["www-authenticate"]
              resolve({
                status: response.statusCode!,
                challenge: Array.isArray(challenge) ? challenge.join(", ") : challenge,
                body: (text === "" ? {} : JSON.parse(text)) as Record<string, unknown>
              })
            })
          })
          request.on("error", reject)
          request.end(JSON.stringify(body))
        })
      )
    /** The buffer's count of refused pushes, once it has settled (refusals are written once a second). */
    const refusedCount = (expected: number) =>
      Effect.gen(function*() {
        for (let i = 0; i < 40; i++) {
          const counted = (yield* buffer.stats).counters["unauthorized_pushes"] ?? 0
          if (counted >= expected) return counted
          yield* Effect.sleep("100 millis")
        }
        return (yield* buffer.stats).counters["unauthorized_pushes"] ?? 0
      })
    return { url, buffer, push, refusedCount }
  })

let n = 0
/** A read as the generic webhook takes it, naming a camera it does not come from. */
const claimingRead = (overrides: Record<string, unknown> = {}) => {
  n++
  return {
    detection_id: `auth-${n}-${randomBytes(4).toString("hex")}`,
    timestamp: new Date().toISOString(),
    camera: { id: "somebody-elses-camera", mac: "AA:BB:CC:DD:EE:99", name: "Not this one" },
    plate: { text: `AU${String(n).padStart(4, "0")}`, confidence: 0.9 },
    ...overrides
  }
}

const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}` })

const md5 = (value: string) => createHash("md5").update(value).digest("hex")

/** The Digest answer a Hikvision camera gives (MD5, qop=auth) to the MD5 challenge of a `WWW-Authenticate` value. */
const hikvisionDigest = (challenge: string, uri: string, user: string, password: string) => {
  const md5Challenge = /Digest ([^]*?algorithm=MD5[^]*?nonce="([^"]+)")/.exec(challenge)
  if (md5Challenge === null) throw new Error(`no MD5 Digest challenge in ${challenge}`)
  const nonce = md5Challenge[2]!
  const realm = /realm="([^"]+)"/.exec(md5Challenge[1]!)![1]!
  const cnonce = randomBytes(8).toString("hex")
  const ha1 = md5(`${user}:${realm}:${password}`)
  const ha2 = md5(`POST:${uri}`)
  const response = md5(`${ha1}:${nonce}:00000001:${cnonce}:auth:${ha2}`)
  return {
    authorization:
      `Digest username="${user}", realm="${realm}", nonce="${nonce}", uri="${uri}", algorithm=MD5, qop=auth, nc=00000001, cnonce="${cnonce}", response="${response}"`
  }
}

describe("pushes to the camera listener", () => {
  it.scopedLive("refuses every push without a camera's credentials with 401, counts it, and buffers nothing", () =>
    Effect.gen(function*() {
      const { buffer, push, refusedCount } = yield* listener()
      const attempts = [
        yield* push("/cameras/gate", claimingRead()),
        yield* push(`/push/${newPushSecret()}`, claimingRead()),
        yield* push(`/push/${GATE.slice(0, -1)}`, claimingRead()),
        yield* push("/push/", claimingRead()),
        yield* push("/cameras/gate", claimingRead(), basic("gate", `${GATE}x`)),
        // Another camera's secret does not open this camera's route.
        yield* push("/cameras/gate", claimingRead(), basic("gate", LANE)),
        yield* push("/cameras/nobody", claimingRead(), basic("nobody", GATE)),
        yield* push("/cameras/gate", claimingRead(), { authorization: "Bearer whatever" })
      ]
      expect(attempts.map((a) => a.status)).toEqual([401, 401, 401, 404, 401, 401, 401, 401])
      for (const attempt of attempts.filter((a) => a.status === 401)) {
        expect(String(attempt.body["error"])).toMatch(/no camera's credentials/)
      }
      // The camera's route says how it may authenticate: Digest and Basic.
      expect(attempts[0]!.challenge).toMatch(/^Digest realm="chaverim-edge".*algorithm=SHA-256.*Digest realm="chaverim-edge".*algorithm=MD5.*Basic realm="chaverim-edge"/)

      expect(yield* refusedCount(7)).toBe(7)
      expect(yield* buffer.pending(100)).toEqual([])
      expect((yield* buffer.stats).counters["malformed_payloads"]).toBeUndefined()
    }))

  it.scopedLive("stores a push with the secret in the path, or as Basic or Digest, as that camera's reads whatever the body claims", () =>
    Effect.gen(function*() {
      const { buffer, push, refusedCount } = yield* listener()
      const byPath = claimingRead()
      expect(yield* push(`/push/${GATE}`, byPath)).toMatchObject({ status: 200, body: { stored: 1 } })
      // Firmware that adds a path of its own after the URL it was given.
      const byLongerPath = claimingRead()
      expect(yield* push(`/push/${LANE}/event/anpr`, byLongerPath)).toMatchObject({ status: 200, body: { stored: 1 } })
      const byBasic = claimingRead()
      expect(yield* push("/cameras/gate", byBasic, basic("gate", GATE))).toMatchObject({ status: 200, body: { stored: 1 } })

      // Digest as a Hikvision camera answers it: a first request, the challenge, the answer.
      const byDigest = claimingRead()
      const challenged = yield* push("/cameras/lane", byDigest)
      expect(challenged.status).toBe(401)
      const wrong = hikvisionDigest(challenged.challenge!, "/cameras/lane", "lane", GATE)
      expect((yield* push("/cameras/lane", byDigest, wrong)).status).toBe(401)
      const right = hikvisionDigest(challenged.challenge!, "/cameras/lane", "lane", LANE)
      expect(yield* push("/cameras/lane", byDigest, right)).toMatchObject({ status: 200, body: { stored: 1 } })
      // An answer seen on the wire opens nothing more: not again with another body, nor on another route.
      expect((yield* push("/cameras/lane", claimingRead(), right)).status).toBe(401)
      expect((yield* push("/cameras/gate", claimingRead(), right)).status).toBe(401)

      const stored = yield* buffer.pending(100)
      expect(stored.map((r) => [r.detection.detection_id, r.detection.camera.id, r.detection.camera.name])).toEqual([
        [byPath.detection_id, "gate", "Gate"],
        [byLongerPath.detection_id, "lane", "Not this one"],
        [byBasic.detection_id, "gate", "Gate"],
        [byDigest.detection_id, "lane", "Not this one"]
      ])
      expect(yield* refusedCount(4)).toBe(4)
    }))

  it.scopedLive("holds a camera to its push_from address or range", () =>
    Effect.gen(function*() {
      const { buffer, push, refusedCount } = yield* listener()
      const yard = SECRETS.get("yard")!
      const dock = SECRETS.get("dock")!
      expect((yield* push(`/push/${yard}`, claimingRead())).status).toBe(401)
      expect((yield* push("/cameras/yard", claimingRead(), basic("yard", yard))).status).toBe(401)
      const fromDock = claimingRead()
      expect(yield* push(`/push/${dock}`, fromDock)).toMatchObject({ status: 200, body: { stored: 1 } })
      expect((yield* buffer.pending(100)).map((r) => r.detection.camera.id)).toEqual(["dock"])
      expect(yield* refusedCount(2)).toBe(2)
    }))

  it.scopedLive("serves /vendors without credentials only when the setting turns it on", () =>
    Effect.gen(function*() {
      const off = yield* listener()
      const refused = yield* off.push("/vendors/generic", claimingRead())
      expect(refused.status).toBe(403)
      expect(String(refused.body["error"])).toMatch(/\/vendors routes are off/)
      expect(yield* off.buffer.pending(100)).toEqual([])
      expect(yield* off.refusedCount(1)).toBe(1)

      const on = yield* listener({ vendorRoutes: true })
      const read = claimingRead()
      expect(yield* on.push("/vendors/generic", read)).toMatchObject({ status: 200, body: { stored: 1 } })
      expect((yield* on.buffer.pending(100)).map((r) => r.detection.camera.id)).toEqual(["somebody-elses-camera"])
    }))
})

describe("push_from", () => {
  it.effect("takes an address or a CIDR range, and a configuration with anything else does not load", () =>
    Effect.gen(function*() {
      const loads = (pushFrom: string) =>
        Effect.gen(function*() {
          const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "alpr-push-from-"))
          yield* writeLayer(dir, "config.yaml", { cameras: [{ id: "gate", vendor: "generic", push_from: pushFrom }] })
          return yield* Effect.either(loadConfig(dir))
        })
      for (const good of ["192.168.1.20", "10.0.0.0/8", "2001:db8::/32", "::1"]) expect((yield* loads(good))._tag).toBe("Right")
      for (const bad of ["10.0.0.0/33", "gate.lan", "10.0.0.1/8/1", "192.168.1.300", ""]) {
        const loaded = yield* loads(bad)
        expect(loaded._tag === "Left" && loaded.left.message).toMatch(/an IP address or a CIDR range/)
      }
    }))
})

describe("push bodies", () => {
  it.scopedLive("refuses a 100 MB chunked push with 413 without holding it in memory", () =>
    Effect.gen(function*() {
      const { buffer, push, url } = yield* listener()
      const chunk = Buffer.alloc(64 * 1024, 0x20)
      const total = 100 * 1024 * 1024
      const limit = 50 * 1024 * 1024
      const result = yield* Effect.promise(() =>
        new Promise<{ status: number | undefined; sent: number; growth: number }>((resolve) => {
          const baseline = process.memoryUsage().rss
          let growth = 0
          let status: number | undefined
          let sent = 0
          let done = false
          const finish = () => {
            if (done) return
            done = true
            clearInterval(sampler)
            resolve({ status, sent, growth })
          }
          const request = Http.request(`${url}/push/${GATE}`, {
            method: "POST",
            headers: { "content-type": "application/json", "transfer-encoding": "chunked" }
          })
          const started = Date.now()
          const sampler = setInterval(() => {
            growth = Math.max(growth, process.memoryUsage().rss - baseline)
            // Held whole, the body would take the process past the limit, or read slowly enough to
            // take no answer in 30 s: stop there either way.
            if (growth > limit || Date.now() - started > 30_000) {
              request.destroy()
              finish()
            }
          }, 10)
          request.on("response", (response) => {
            status = response.statusCode
            response.resume()
          })
          request.on("error", finish)
          request.on("close", finish)
          const write = () => {
            while (sent < total && !done) {
              sent += chunk.byteLength
              if (!request.write(chunk)) return void request.once("drain", write)
            }
            if (!done) request.end()
          }
          write()
        })
      )
      expect(result.status).toBe(413)
      // Refused once past the limit, without waiting for the end (Node's client stops sending at the answer).
      expect(result.sent).toBeGreaterThan(MAX_PUSH_BYTES)
      expect(result.growth).toBeLessThan(50 * 1024 * 1024)
      expect(yield* buffer.pending(10)).toEqual([])
      // The listener goes on serving.
      expect((yield* push(`/push/${GATE}`, claimingRead())).status).toBe(200)
    }))

  it.scopedLive("keeps the first photo when two pushes of one detection_id race", () =>
    Effect.gen(function*() {
      const { buffer, push } = yield* listener()
      for (let round = 0; round < 8; round++) {
        const read = claimingRead()
        // Photos that differ, the second larger so that its write ends later.
        const photos = [fakeJpeg(2_000), fakeJpeg(400_000)].map((p, i) => {
          p[100] = i + 1
          return p
        })
        const answers = yield* Effect.all(
          photos.map((photo) => push(`/push/${GATE}`, { ...read, plate_image: base64(photo) })),
          { concurrency: "unbounded" }
        )
        expect(answers.map((a) => a.status)).toEqual([200, 200])
        const winner = answers.findIndex((a) => a.body["stored"] === 1)
        expect(answers.map((a) => a.body["stored"]).sort()).toEqual([0, 1])
        const stored = (yield* buffer.pending(100)).find((r) => r.detection.detection_id === read.detection_id)!
        expect(stored.images).toHaveLength(1)
        expect(stored.images[0]!.size).toBe(photos[winner]!.byteLength)
        expect(Fs.readFileSync(stored.images[0]!.path)).toEqual(Buffer.from(photos[winner]!))
      }
      // Only the stored photos are left on disk.
      const files = Fs.readdirSync(Path.join(Path.dirname(Path.dirname((yield* buffer.pending(1))[0]!.images[0]!.path))), { recursive: true })
        .filter((f) => String(f).endsWith(".jpg"))
      expect(files).toHaveLength(8)
    }))
})
