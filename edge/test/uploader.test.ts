import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"
import { randomBytes } from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import type { CameraRead } from "../src/adapters/CameraRead"
import { makeBuffer, ReadBuffer } from "../src/buffer/Buffer"
import { AlprApi } from "@chaverim/domain/Api"
import { ClaimRequest, CommandAck, Heartbeat } from "@chaverim/domain/Collector"
import * as HttpApi from "@effect/platform/HttpApi"
import { centralHttpClientLayer, CentralUnavailable, COLLECTOR_ENDPOINTS, eventJson, makeCentral } from "../src/uploader/Central"
import { makeUploader, pauseForBackpressure, type UploaderOptions } from "../src/uploader/Uploader"
import { fakeJpeg } from "./cameras"
import { type BatchSeen, type FakeCentral, type Reply, startFakeCentral } from "./fakeCentral"

/**
 * The uploader against a fake central server on loopback, over real HTTP, from a real SQLite buffer:
 * what it does with a 503 and its Retry-After, with X-Backpressure, and with a 413. Waits are
 * asserted as lower bounds only, so a loaded machine can make them slower but never make them fail.
 */

let n = 0
const cameraRead = (photoBytes = 700): CameraRead => {
  n++
  return {
    detection: {
      detection_id: `up-${n}-${randomBytes(4).toString("hex")}`,
      timestamp: new Date().toISOString(),
      camera: { id: "gate", mac: "AA:BB:CC:DD:EE:01" },
      plate: { text: `UP${String(n).padStart(4, "0")}`, confidence: 0.9 }
    },
    images: [{ kind: "plate", contentType: "image/jpeg", bytes: fakeJpeg(photoBytes) }]
  }
}
const idOf = (read: CameraRead) => read.detection.detection_id

const fakeCentral = (reply?: (batch: BatchSeen) => Reply) =>
  Effect.acquireRelease(Effect.promise(() => startFakeCentral(reply)), (central) => Effect.promise(central.close))

const OPTIONS: UploaderOptions = {
  windowSeconds: 0,
  maxEvents: 50,
  maxBytes: 5 * 1024 * 1024,
  concurrency: 2,
  // Backoff of at most 100 ms: a longer wait can only have come from what the server said.
  maxBackoffSeconds: 0.1
}

/** The collector's side: reads in a buffer on a fresh SQLite file, and the uploader draining it to `central`. */
const uploading = (central: FakeCentral, reads: ReadonlyArray<CameraRead>, options: Partial<UploaderOptions> = {}) =>
  Effect.gen(function*() {
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "alpr-uploader-"))
    const buffer = yield* makeBuffer({ dir, retentionDays: 7, quotaBytes: 1e9 })
    expect(yield* buffer.add(reads)).toEqual({ added: reads.length, duplicates: 0 })
    const client = yield* makeCentral(central.url, () => central.apiKey)
    const uploader = yield* makeUploader(client, { ...OPTIONS, ...options }).pipe(Effect.provideService(ReadBuffer, buffer))
    yield* Effect.forkScoped(uploader.run)
    return { buffer, uploader }
  }).pipe(Effect.provide(centralHttpClientLayer))

/** Polls `probe` until it gives a value. */
const eventually = <A>(what: string, probe: Effect.Effect<A | undefined>) =>
  probe.pipe(
    Effect.filterOrFail((a): a is A => a !== undefined, () => "not yet"),
    Effect.retry(Schedule.spaced("20 millis")),
    Effect.timeoutFail({ duration: "30 seconds", onTimeout: () => new Error(`timed out waiting for ${what}`) }),
    Effect.orDie
  )

describe("the uploader against the central server's answers", () => {
  it.scopedLive("waits out a 503's Retry-After before trying again, and keeps the read until it is accepted", () =>
    Effect.gen(function*() {
      const central = yield* fakeCentral((batch) =>
        batch.index === 0 ? { status: 503, headers: { "retry-after": "1" }, body: "ingest overloaded" } : {}
      )
      const read = cameraRead()
      const { buffer, uploader } = yield* uploading(central, [read])

      const state = yield* eventually("the uploader to back off", Effect.map(uploader.state, (s) => s._tag === "BackingOff" ? s : undefined))
      const refused = central.answered[0]!
      expect(refused).toMatchObject({ status: 503, ids: [idOf(read)], photos: [`plate:${idOf(read)}`] })
      expect(state.until - refused.answeredAt).toBeGreaterThanOrEqual(1000)
      // Refused, so still waiting in the buffer: nothing marked uploaded.
      expect(yield* buffer.stats).toMatchObject({ pending: 1, uploaded: 0, quarantined: 0 })

      yield* eventually("the read to be uploaded", Effect.map(buffer.stats, (s) => s.uploaded === 1 ? s : undefined))
      const retried = central.answered[1]!
      expect(retried).toMatchObject({ status: 200, ids: [idOf(read)] })
      expect(retried.at - refused.answeredAt).toBeGreaterThanOrEqual(1000)
      expect(central.answered).toHaveLength(2)
      expect(central.deliveries.get(idOf(read))).toBe(1)
      expect(yield* buffer.stats).toMatchObject({ pending: 0, uploaded: 1 })
    }))

  it.scopedLive("keeps to a Retry-After when another worker's batch succeeds meanwhile", () =>
    Effect.gen(function*() {
      // Two workers, one read each. The server refuses `later` with Retry-After: 1, then answers the
      // batch of `first`, which it took before it was overloaded: that success must not cut the wait short.
      const [first, later] = [cameraRead(), cameraRead()]
      let releaseFirst = () => {}
      const firstMayAnswer = new Promise<void>((resolve) => (releaseFirst = resolve))
      let refusedOnce = false
      const central = yield* fakeCentral((batch) => {
        if (batch.ids.includes(idOf(first))) return { hold: firstMayAnswer }
        if (!refusedOnce) {
          refusedOnce = true
          setTimeout(releaseFirst, 100)
          return { status: 503, headers: { "retry-after": "1" } }
        }
        return {}
      })
      const { buffer } = yield* uploading(central, [first, later], { maxEvents: 1 })

      yield* eventually("both reads to be uploaded", Effect.map(buffer.stats, (s) => s.uploaded === 2 ? s : undefined))
      const refused = central.answered.find((a) => a.status === 503)!
      expect(refused.ids).toEqual([idOf(later)])
      const success = central.answered.find((a) => a.ids.includes(idOf(first)))!
      expect(success.answeredAt).toBeGreaterThan(refused.answeredAt)
      const retried = central.answered.filter((a) => a.ids.includes(idOf(later)) && a.at > refused.answeredAt)
      expect(retried).toHaveLength(1)
      expect(retried[0]!.at - refused.answeredAt).toBeGreaterThanOrEqual(1000)
      expect([...central.deliveries.values()]).toEqual([1, 1])
    }))

  it.scopedLive("slows its pace as X-Backpressure rises", () =>
    Effect.gen(function*() {
      const pressure = [0, 0.6, 0.8, 0]
      const central = yield* fakeCentral((batch) => ({ backpressure: pressure[batch.index] ?? 0 }))
      const reads = pressure.map(() => cameraRead())
      const { buffer } = yield* uploading(central, reads, { maxEvents: 1, concurrency: 1 })

      yield* eventually("all reads to be uploaded", Effect.map(buffer.stats, (s) => s.uploaded === reads.length ? s : undefined))
      const answered = central.answered
      expect(answered.map((a) => a.ids)).toEqual(reads.map((r) => [idOf(r)]))
      const gaps = answered.slice(1).map((a, i) => a.at - answered[i]!.answeredAt)
      expect(pauseForBackpressure(0.6)).toBe(400)
      expect(pauseForBackpressure(0.8)).toBe(1200)
      expect(gaps[1]).toBeGreaterThanOrEqual(400)
      expect(gaps[2]).toBeGreaterThanOrEqual(1200)
      expect(gaps[2]).toBeGreaterThan(gaps[1]!)
    }))

  it.scopedLive("halves a batch the server finds too large (413) until it fits; every read arrives exactly once", () =>
    Effect.gen(function*() {
      const LIMIT = 3
      const central = yield* fakeCentral((batch) =>
        batch.ids.length > LIMIT ? { status: 413, body: `at most ${LIMIT} events in a batch` } : {}
      )
      const reads = Array.from({ length: 20 }, () => cameraRead())
      const { buffer } = yield* uploading(central, reads, { maxEvents: 16 })

      yield* eventually("all reads to be uploaded", Effect.map(buffer.stats, (s) => s.uploaded === reads.length ? s : undefined))
      const tooLarge = central.answered.filter((a) => a.status === 413)
      expect(tooLarge.map((a) => a.ids.length)).toEqual(expect.arrayContaining([16, 8]))
      const stored = central.answered.filter((a) => a.status === 200)
      expect(stored.every((a) => a.ids.length <= LIMIT && a.photos.length === a.ids.length)).toBe(true)
      expect([...central.deliveries.keys()].sort()).toEqual(reads.map(idOf).sort())
      expect([...central.deliveries.values()].every((times) => times === 1)).toBe(true)
      expect(central.duplicates()).toBe(0)
      expect(yield* buffer.stats).toMatchObject({ pending: 0, uploaded: 20, quarantined: 0 })
    }))

  it.scopedLive("quarantines a read too large for the server on its own, and uploads the others", () =>
    Effect.gen(function*() {
      const huge = cameraRead(200_000)
      const central = yield* fakeCentral((batch) => batch.ids.includes(idOf(huge)) ? { status: 413, body: "body over the limit" } : {})
      const reads = [cameraRead(), huge, cameraRead(), cameraRead()]
      const { buffer } = yield* uploading(central, reads, { maxEvents: 4 })

      yield* eventually("the others uploaded and the huge one quarantined", Effect.map(buffer.stats, (s) => s.uploaded === 3 && s.quarantined === 1 ? s : undefined))
      expect(yield* buffer.quarantined).toMatchObject([{ detection_id: idOf(huge), reason: "too large for the central server: body over the limit" }])
      expect(central.deliveries.has(idOf(huge))).toBe(false)
      expect([...central.deliveries.values()]).toEqual([1, 1, 1])
      expect(yield* buffer.stats).toMatchObject({ pending: 0 })
    }))

  it.scopedLive("sends a read whose photo the server would refuse (a GIF) without that photo, not at all", () =>
    Effect.gen(function*() {
      const central = yield* fakeCentral()
      const gif = cameraRead()
      const withGif: CameraRead = {
        ...gif,
        images: [...gif.images, { kind: "scene", contentType: "image/gif", bytes: new TextEncoder().encode("GIF89a\x01\x00\x01\x00") }]
      }
      const { buffer } = yield* uploading(central, [withGif])
      yield* eventually("the read uploaded", Effect.map(buffer.stats, (s) => s.uploaded === 1 ? s : undefined))
      expect(central.answered[0]).toMatchObject({ ids: [idOf(gif)], photos: [`plate:${idOf(gif)}`] })
    }))
})

/** Gives the uploader's fibers real time to run (the TestClock does not move meanwhile). */
const realPause = (ms: number) => Effect.promise(() => new Promise((resolve) => setTimeout(resolve, ms)))

/**
 * An uploader on the TestClock, sending to an in-process stand-in for the central server that
 * answers at once (failing while `down`), so that attempts can be timed to the millisecond; the
 * answers over real HTTP are covered above.
 */
const onTestClock = (maxBackoffSeconds: number, read: CameraRead) =>
  Effect.gen(function*() {
    const attempts: Array<{ readonly at: number; readonly ids: ReadonlyArray<string> }> = []
    const central = {
      down: true,
      upload: (batch: ReadonlyArray<{ readonly detection: { readonly detection_id: string } }>) =>
        Effect.gen(function*() {
          attempts.push({ at: yield* Clock.currentTimeMillis, ids: batch.map((r) => r.detection.detection_id) })
          if (central.down) return yield* new CentralUnavailable({ message: "connection refused" })
          return { result: { accepted: batch.length, duplicates: 0, rejected: 0, errors: [] }, backpressure: 0 }
        })
    }
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "alpr-uploader-"))
    const buffer = yield* makeBuffer({ dir, retentionDays: 7, quotaBytes: 1e9 })
    // Before the uploader starts: an idle one looks again only after a sleep, which the TestClock would hold.
    yield* buffer.add([read])
    const uploader = yield* makeUploader(central, { ...OPTIONS, concurrency: 1, maxBackoffSeconds }).pipe(
      Effect.provideService(ReadBuffer, buffer)
    )
    yield* Effect.forkScoped(uploader.run)

    /** Waits (in real time) for attempt number `n` (1 for the first). */
    const attempt = (n: number) =>
      Effect.gen(function*() {
        for (let i = 0; i < 500 && attempts.length < n; i++) yield* realPause(2)
        expect(attempts, `attempt ${n}`).toHaveLength(n)
        return attempts[n - 1]!
      })

    /**
     * The gaps after `count` failed attempts from attempt `from` on: each time the clock is moved to a
     * millisecond before the retry is due (none may come), then to when it is due (it must come).
     */
    const retries = (from: number, count: number) =>
      Effect.gen(function*() {
        const gaps: Array<number> = []
        for (let n = from; n < from + count; n++) {
          const failed = yield* attempt(n)
          const state = yield* uploader.state
          if (state._tag !== "BackingOff") throw new Error(`not backing off after attempt ${n}: ${state._tag}`)
          yield* TestClock.setTime(state.until - 1)
          yield* realPause(30)
          expect(attempts, `no retry sooner than ${state.until - failed.at} ms`).toHaveLength(n)
          yield* TestClock.setTime(state.until)
          gaps.push((yield* attempt(n + 1)).at - failed.at)
        }
        return gaps
      })
    return { attempts, buffer, central, retries } as const
  })

describe("the uploader's backoff, on the TestClock", () => {
  it.scoped("retries a failed upload after up to 2 s, then 4, 8, ... up to the cap; a success starts over", () =>
    Effect.gen(function*() {
      const { attempts, buffer, central, retries } = yield* onTestClock(10, cameraRead())
      // Drawn in the middle of the full jitter: half of 2, 4, 8, then the 10 s cap.
      expect(yield* retries(1, 6)).toEqual([1_000, 2_000, 4_000, 5_000, 5_000, 5_000])

      central.down = false
      yield* TestClock.adjust("10 seconds")
      for (let i = 0; i < 500 && (yield* buffer.stats).uploaded < 1; i++) yield* realPause(2)
      expect(yield* buffer.stats).toMatchObject({ uploaded: 1, pending: 0 })

      central.down = true
      const from = attempts.length + 1
      const second = cameraRead()
      yield* buffer.add([second])
      // An idle uploader looks for reads every half second.
      yield* TestClock.adjust("500 millis")
      expect(yield* retries(from, 3)).toEqual([1_000, 2_000, 4_000])
      expect(attempts.slice(from - 1).map((a) => a.ids)).toEqual(Array(4).fill([idOf(second)]))
    }).pipe(Effect.withRandomFixed([0.5])))

  it.scoped("never waits longer than the cap, however high the jitter draws", () =>
    Effect.gen(function*() {
      const { retries } = yield* onTestClock(3, cameraRead())
      expect(yield* retries(1, 4)).toEqual([1_998, 2_997, 2_997, 2_997])
    }).pipe(Effect.withRandomFixed([0.999])))
})

describe("the collector's client of the central server", () => {
  it("calls the collectors' endpoints as the shared contract defines them", () => {
    const contract: Record<string, { method: string; path: string; statuses: Array<number>; payload: unknown }> = {}
    HttpApi.reflect(AlprApi, {
      predicate: ({ group }) => group.identifier === "collectors",
      onGroup: () => {},
      onEndpoint: ({ endpoint, successes }) => {
        contract[endpoint.name] = {
          method: endpoint.method,
          path: endpoint.path,
          statuses: [...successes.keys()],
          payload: endpoint.payloadSchema._tag === "Some" ? endpoint.payloadSchema.value : undefined
        }
      }
    })
    const payloads: Record<string, unknown> = { claim: ClaimRequest, heartbeat: Heartbeat, ack: CommandAck, rotateKey: undefined }
    expect(Object.keys(contract).sort()).toEqual(Object.keys(COLLECTOR_ENDPOINTS).sort())
    for (const [name, endpoint] of Object.entries(COLLECTOR_ENDPOINTS)) {
      expect({ name, ...contract[name] }).toEqual({
        name,
        method: "POST",
        path: endpoint.path,
        statuses: [endpoint.status],
        payload: payloads[name]
      })
    }
  })
})

describe("a read's event as it is uploaded", () => {
  it.scoped("is the stored JSON, with the time the collector received it unless the camera gave one", () =>
    Effect.gen(function*() {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "alpr-uploader-"))
      const buffer = yield* makeBuffer({ dir, retentionDays: 7, quotaBytes: 1e9 })
      const plain = cameraRead(100)
      const stamped = cameraRead(100)
      const given = "2026-03-01T10:00:00.000Z"
      const withTime = { ...stamped, detection: { ...stamped.detection, received_at: given } }
      yield* buffer.add([plain, withTime])
      const [first, second] = yield* buffer.pending(10)
      expect([first!.detectionId, first!.hasReceivedAt, second!.detectionId, second!.hasReceivedAt])
        .toEqual([idOf(plain), false, idOf(withTime), true])
      // What JSON.stringify({ ...detection, received_at: detection.received_at ?? receivedAt }) sent before.
      expect(JSON.parse(eventJson(first!))).toEqual({ ...plain.detection, received_at: new Date(first!.receivedAt).toISOString() })
      expect(JSON.parse(eventJson(second!))).toEqual(withTime.detection)
      expect(eventJson(second!)).toBe(second!.event)
      expect(first!.detection).toEqual(plain.detection)
      expect(JSON.parse(eventJson({ event: "{}", hasReceivedAt: false, receivedAt: 0 }))).toEqual({ received_at: "1970-01-01T00:00:00.000Z" })
    }))
})
