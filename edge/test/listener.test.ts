import { describe, expect, it } from "@effect/vitest"
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServer from "@effect/platform/HttpServer"
import { NodeHttpServer } from "@effect/platform-node"
import * as Effect from "effect/Effect"
import { randomBytes } from "node:crypto"
import * as Fs from "node:fs"
import * as Http from "node:http"
import * as Os from "node:os"
import * as Path from "node:path"
import { makeBuffer, ReadBuffer } from "../src/buffer/Buffer"
import { CameraActivity, listenerRoutes } from "../src/listener/Listener"
import { newPushSecret } from "../src/listener/PushAuth"
import { base64, fakeJpeg } from "./cameras"

/**
 * The collector's own HTTP side, served on loopback by the real Node server: the camera listener on
 * a real SQLite buffer at its quota (the status page has statusPage.test.ts).
 */

const tempDir = () => Fs.mkdtempSync(Path.join(Os.tmpdir(), "alpr-listener-"))

const GATE_SECRET = newPushSecret()

/** Serves `app` on a free loopback port for the scope; its base URL. */
const serve = <E, R>(app: HttpApp.Default<E, R>) =>
  Effect.gen(function*() {
    const server = yield* NodeHttpServer.make(() => Http.createServer(), { port: 0, host: "127.0.0.1" })
    yield* HttpServer.serveEffect(app).pipe(Effect.provideService(HttpServer.HttpServer, server))
    return `http://127.0.0.1:${(server.address as HttpServer.TcpAddress).port}`
  })

const answer = (response: Response) =>
  Effect.promise(async () => ({
    status: response.status,
    retryAfter: response.headers.get("retry-after"),
    body: await response.json() as Record<string, unknown>
  }))

const request = (url: string, init: RequestInit) => Effect.flatMap(Effect.promise(() => fetch(url, init)), answer)

let n = 0
/** A plate read as the generic webhook takes it, with a plate photo of `photoBytes` when given. */
const genericEvent = (photoBytes?: number) => {
  n++
  return {
    detection_id: `listener-${n}-${randomBytes(4).toString("hex")}`,
    timestamp: new Date().toISOString(),
    camera: { id: "gate", mac: "AA:BB:CC:DD:EE:01", name: "Gate" },
    plate: { text: `LS${String(n).padStart(4, "0")}`, confidence: 0.9 },
    ...(photoBytes === undefined ? {} : { plate_image: base64(fakeJpeg(photoBytes)) })
  }
}

describe("the camera listener with a full buffer", () => {
  it.scopedLive("answers a push it cannot store 503 with Retry-After, keeps serving, and keeps the reads it has", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      // The empty database takes some pages of its own; the quota leaves room for one 40 KB photo beyond them.
      const base = yield* Effect.scoped(Effect.flatMap(makeBuffer({ dir, retentionDays: 7, quotaBytes: 1e9 }), (b) => b.stats))
      const buffer = yield* makeBuffer({ dir, retentionDays: 7, quotaBytes: base.usedBytes + 60_000 })
      const routes = yield* listenerRoutes([{ id: "gate", vendor: "generic", mode: "push" }], new CameraActivity(), {
        pushSecrets: new Map([["gate", GATE_SECRET]]),
        vendorRoutes: true
      }).pipe(Effect.provideService(ReadBuffer, buffer))
      const url = yield* serve(routes)
      const push = (path: string, event: unknown) =>
        request(`${url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(event) })

      const kept = genericEvent(40_000)
      expect(yield* push("/vendors/generic", kept)).toMatchObject({ status: 200, body: { stored: 1, duplicates: 0 } })

      const refused = genericEvent(40_000)
      const full = yield* push("/vendors/generic", refused)
      expect(full).toMatchObject({ status: 503, retryAfter: "60" })
      expect(String(full.body["error"])).toMatch(/^buffer full: \d+ of \d+ bytes used by reads not yet uploaded$/)
      // The configured camera's route, and cameras retrying all at once, get the same answer.
      expect(yield* push(`/push/${GATE_SECRET}`, genericEvent(40_000))).toMatchObject({ status: 503, retryAfter: "60" })
      const storm = yield* Effect.all(Array.from({ length: 6 }, () => push("/vendors/generic", genericEvent(40_000))), {
        concurrency: "unbounded"
      })
      expect(storm.map((a) => a.status)).toEqual([503, 503, 503, 503, 503, 503])

      // Still serving: a read that fits is stored.
      const small = genericEvent()
      expect(yield* push(`/push/${GATE_SECRET}`, small)).toMatchObject({ status: 200, body: { stored: 1 } })

      const pending = yield* buffer.pending(100)
      expect(pending.map((p) => p.detection.detection_id)).toEqual([kept.detection_id, small.detection_id])
      expect(Fs.readFileSync(pending[0]!.images[0]!.path)).toEqual(Buffer.from(fakeJpeg(40_000)))
      expect(yield* buffer.stats).toMatchObject({ pending: 2, uploaded: 0, quarantined: 0 })

      // Once the uploader has delivered the kept read, the camera's retry finds room.
      yield* buffer.uploaded([pending[0]!.seq])
      expect(yield* push("/vendors/generic", refused)).toMatchObject({ status: 200, body: { stored: 1 } })
      expect((yield* buffer.pending(100)).map((p) => p.detection.detection_id)).toEqual([small.detection_id, refused.detection_id])
    }))
})

describe("ALPR-Database's ingest on the listener (Blue Iris)", () => {
  it.scopedLive("stores a push to /api/plate-reads with the camera's push secret as x-api-key; a wrong key is 401, counted, nothing stored", () =>
    Effect.gen(function*() {
      const buffer = yield* makeBuffer({ dir: tempDir(), retentionDays: 7, quotaBytes: 1e9 })
      const secret = newPushSecret()
      const routes = yield* listenerRoutes(
        [{ id: "bi-gate", name: "Gate (Blue Iris)", vendor: "blueiris", mode: "push" }],
        new CameraActivity(),
        { pushSecrets: new Map([["bi-gate", secret]]), vendorRoutes: false }
      ).pipe(Effect.provideService(ReadBuffer, buffer))
      const url = yield* serve(routes)
      // Blue Iris's alert action body (README of ALPR-Database), here with a memo and a fake JPEG.
      const photo = fakeJpeg(5_000)
      const body = { memo: "ABC123:0.91,car:0.88", Image: base64(photo), camera: "Gate", timestamp: "2026-05-01T12:00:00Z", ALERT_PATH: "Gate.20260501_120000.1234.3-1.jpg", ALERT_CLIP: "@123456" }
      const post = (headers: Record<string, string>, payload: unknown = body) =>
        request(`${url}/api/plate-reads`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(payload) })
      const unauthorized = () => Effect.map(buffer.stats, (s) => s.counters["unauthorized_pushes"] ?? 0)

      expect(yield* post({ "x-api-key": `${secret}x` })).toMatchObject({ status: 401, body: { error: expect.any(String) } })
      expect(yield* post({})).toMatchObject({ status: 401 })
      expect(yield* buffer.pending(10)).toEqual([])
      for (let i = 0; i < 40 && (yield* unauthorized()) < 2; i++) yield* Effect.sleep("100 millis")
      expect(yield* unauthorized()).toBe(2)

      expect(yield* post({ "x-api-key": secret })).toEqual({
        status: 201,
        retryAfter: null,
        body: { processed: 1, duplicates: 0, ignored: 0, message: "Processed 1 plates, 0 duplicates, 0 ignored" }
      })
      const [stored] = yield* buffer.pending(10)
      expect(stored?.detection).toMatchObject({
        timestamp: "2026-05-01T12:00:00Z",
        camera: { id: "bi-gate", mac: "unknown", name: "Gate (Blue Iris)" },
        plate: { text: "ABC123", confidence: 0.91 },
        vehicle: { type: "car" }
      })
      expect(Fs.readFileSync(stored!.images[0]!.path)).toEqual(Buffer.from(photo))

      // Blue Iris sending the same alert again: known, ALPR-Database's 409.
      expect(yield* post({ "x-api-key": secret })).toMatchObject({ status: 409, body: { processed: 0, duplicates: 1 } })
      expect(yield* post({ "x-api-key": secret }, { camera: "Gate" })).toMatchObject({
        status: 400,
        body: { error: "No valid plates found in request: send ai_dump, memo or plate_number" }
      })
      expect(yield* buffer.pending(10)).toHaveLength(1)
    }))
})
