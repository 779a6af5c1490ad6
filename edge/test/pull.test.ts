import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as HashMap from "effect/HashMap"
import * as Logger from "effect/Logger"
import * as Stream from "effect/Stream"
import { createHash } from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Zlib from "node:zlib"
import * as Path from "node:path"
import { authorize, digestAuthorization, DigestSession, parseChallenge } from "../src/adapters/pull/digest"
import { MultipartSplitter, splitMultipart, type MultipartPart } from "../src/adapters/pull/multipartStream"
import { MAX_PHOTO_BYTES } from "../src/adapters/pull/photoBody"
import { decodeUpdatePacket, encodeUpdatePacket } from "../src/adapters/pull/unifiPoll"
import { CameraStates, reconnectDelay, runCameraSources, type SourcesOptions } from "../src/adapters/Sources"
import * as Schema from "effect/Schema"
import { makeBuffer, ReadBuffer } from "../src/buffer/Buffer"
import { CameraConfig } from "../src/config/EdgeConfig"
import { CameraActivity } from "../src/listener/Listener"
import { makeSecretStore } from "../src/provisioning/Secrets"
import { accepted, eventually, parse } from "./cameras"
import {
  anprXml,
  eventParts,
  eventPictures,
  type FakeHikvision,
  type FakeProtect,
  type HikvisionEvent,
  listedPicture,
  type ProtectEventJson,
  protectSample,
  startFakeHikvision,
  startFakeProtect
} from "./fakeCameras"

const md5 = (value: string) => createHash("md5").update(value).digest("hex")

// ---------------------------------------------------------------------------------------------
// Digest

describe("Digest authentication", () => {
  // RFC 7616 section 3.9.1, with the SHA-256 and the MD5 challenge as one header (as Node joins them).
  const NONCE = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
  const OPAQUE = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"
  const CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
  const challengeFor = (algorithm: string) =>
    `Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=${algorithm}, nonce="${NONCE}", opaque="${OPAQUE}"`
  const request = { method: "GET", uri: "/dir/index.html", username: "Mufasa", password: "Circle of Life", nc: 1, cnonce: CNONCE }
  const expected = (algorithm: string, response: string) =>
    `Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", algorithm=${algorithm}, nonce="${NONCE}", ` +
    `nc=00000001, cnonce="${CNONCE}", qop=auth, response="${response}", opaque="${OPAQUE}"`

  it("answers the RFC 7616 example with MD5", () => {
    expect(Either.getOrThrow(authorize(challengeFor("MD5"), request))).toBe(expected("MD5", "8ca523f5e9506fed4657c9700eebdbec"))
  })

  it("answers the RFC 7616 example with SHA-256, preferring it when both are offered", () => {
    const both = `${challengeFor("SHA-256")}, ${challengeFor("MD5")}`
    const challenge = Either.getOrThrow(parseChallenge(both))
    expect(challenge.algorithm).toBe("SHA-256")
    expect(digestAuthorization(challenge, request))
      .toBe(expected("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"))
  })

  it("answers the RFC 2617 example, and an RFC 2069 challenge without qop", () => {
    const base = `realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"`
    const rfc2617 = Either.getOrThrow(parseChallenge(`Digest qop="auth,auth-int", ${base}`))
    const asked = { method: "GET", uri: "/dir/index.html", username: "Mufasa", password: "Circle Of Life", nc: 1, cnonce: "0a4f113b" }
    expect(digestAuthorization(rfc2617, asked)).toContain(`response="6629fae49393a05397450978507c4ef1"`)

    const rfc2069 = Either.getOrThrow(parseChallenge(`Digest ${base}`))
    const header = digestAuthorization(rfc2069, asked)
    const ha1 = md5("Mufasa:testrealm@host.com:Circle Of Life")
    const ha2 = md5("GET:/dir/index.html")
    expect(header).toContain(`response="${md5(`${ha1}:dcd98b7102dd2f0e8b11d0f600bfb0c093:${ha2}`)}"`)
    expect(header).not.toMatch(/nc=|cnonce=|qop=/)
  })

  it("finds the Digest challenge among others, and says when there is none it can answer", () => {
    const hikvision = `Basic realm="IP Camera", Digest qop="auth", realm="IP Camera(C123)", nonce="abc", stale="FALSE"`
    expect(Either.getOrThrow(parseChallenge(hikvision))).toMatchObject({ realm: "IP Camera(C123)", nonce: "abc", algorithm: "MD5", stale: false })
    expect(Either.getOrThrow(Either.flip(parseChallenge(`Basic realm="IP Camera"`))).message)
      .toBe("the server offers no Digest authentication (schemes: basic)")
    expect(Either.isLeft(parseChallenge(`Digest realm="r", nonce="n", qop="auth-int"`))).toBe(true)
    expect(Either.isLeft(parseChallenge(`Digest realm="r", nonce="n", algorithm=SHA-1`))).toBe(true)
  })

  it("counts requests under one nonce, and starts again on a new challenge", () => {
    const session = new DigestSession("admin", "pw", () => "c")
    expect(session.authorization("GET", "/")).toBeUndefined()
    Either.getOrThrow(session.challenged(`Digest qop="auth", realm="r", nonce="n1"`))
    expect(session.authorization("GET", "/a")).toContain("nc=00000001")
    expect(session.authorization("POST", "/b")).toContain("nc=00000002")
    Either.getOrThrow(session.challenged(`Digest qop="auth", realm="r", nonce="n2", stale="TRUE"`))
    expect(session.authorization("GET", "/a")).toMatch(/nonce="n2", nc=00000001/)
  })

  it("answers an MD5-sess challenge with the session key", () => {
    const challenge = Either.getOrThrow(parseChallenge(`Digest qop="auth", realm="r", nonce="n", algorithm=MD5-sess`))
    const header = digestAuthorization(challenge, { method: "GET", uri: "/x", username: "u", password: "p", nc: 1, cnonce: "c" })
    const ha1 = md5(`${md5("u:r:p")}:n:c`)
    expect(header).toContain(`algorithm=MD5-sess`)
    expect(header).toContain(`response="${md5(`${ha1}:n:00000001:c:auth:${md5("GET:/x")}`)}"`)
  })
})

// ---------------------------------------------------------------------------------------------
// The multipart stream

describe("the multipart stream parser", () => {
  const B = "hik-boundary"
  const bytes = (...pieces: ReadonlyArray<string | Uint8Array>) =>
    new Uint8Array(Buffer.concat(pieces.map((p) => typeof p === "string" ? Buffer.from(p, "latin1") : p)))
  const xml = `<?xml version="1.0"?>\r\n<EventNotificationAlert><eventType>ANPR</eventType></EventNotificationAlert>`
  const jpeg = bytes("\xff\xd8\xff\xe0", "--hik-bound\r\n--hik", "\r\n--hik-boundar", "\xff\xd9")
  const sample = bytes(
    "a preamble to skip\r\n",
    `--${B}\r\nContent-Type: application/xml; charset="UTF-8"\r\nContent-Length: ${xml.length}\r\n\r\n`,
    xml,
    "\r\n",
    // A sized part followed by the boundary without its CRLF, as some firmware writes it.
    `--${B}\r\nContent-Disposition: form-data; name="licensePlatePicture.jpg"; filename="licensePlatePicture.jpg"\r\nContent-Type: image/jpeg\r\nContent-Length: ${jpeg.length}\r\n\r\n`,
    jpeg,
    // A part without a length, read up to the delimiter.
    `--${B}\r\nContent-Type: image/jpeg\r\n\r\n`,
    jpeg,
    `\r\n--${B}\r\n`,
    "Content-Type: text/plain\r\n\r\nlast",
    `\r\n--${B}--\r\nan epilogue to ignore`
  )
  const expected: ReadonlyArray<MultipartPart> = [
    { headers: { "content-type": `application/xml; charset="UTF-8"`, "content-length": String(xml.length) }, body: bytes(xml) },
    {
      headers: {
        "content-disposition": `form-data; name="licensePlatePicture.jpg"; filename="licensePlatePicture.jpg"`,
        "content-type": "image/jpeg",
        "content-length": String(jpeg.length)
      },
      body: jpeg
    },
    { headers: { "content-type": "image/jpeg" }, body: jpeg },
    { headers: { "content-type": "text/plain" }, body: bytes("last") }
  ]

  const feed = (chunks: ReadonlyArray<Uint8Array>, limits = {}) => {
    const splitter = new MultipartSplitter(B, limits)
    const parts: Array<MultipartPart> = []
    for (const chunk of chunks) parts.push(...Either.getOrThrow(splitter.push(chunk)))
    return parts
  }

  it("gives the same parts however the input is split (two and three chunks, at every byte, and byte by byte)", () => {
    expect(feed([sample])).toEqual(expected)
    for (let i = 0; i <= sample.length; i++) {
      expect(feed([sample.subarray(0, i), sample.subarray(i)])).toEqual(expected)
      for (const gap of [1, 2, 3, 7, 13]) {
        const j = Math.min(sample.length, i + gap)
        expect(feed([sample.subarray(0, i), sample.subarray(i, j), sample.subarray(j)])).toEqual(expected)
      }
    }
    expect(feed(Array.from(sample, (b) => Uint8Array.of(b)))).toEqual(expected)
  })

  it.effect("ends without a part cut off by the end of the input", () =>
    Effect.gen(function*() {
      const cutInThirdPart = sample.indexOf(0xd9, sample.indexOf(0xd9) + 1) - 3
      for (const cut of [cutInThirdPart, cutInThirdPart - 20]) {
        const chunks = [sample.subarray(0, 40), sample.subarray(40, cut)]
        const parts = yield* Stream.fromIterable(chunks).pipe(splitMultipart(B), Stream.runCollect)
        expect(Chunk.toReadonlyArray(parts)).toEqual(expected.slice(0, 2))
      }
    }))

  it("refuses a part over the limit, whether its length is declared or not", () => {
    const splitter = (limit: number) => new MultipartSplitter(B, { maxPartBytes: limit })
    const declared = bytes(`--${B}\r\nContent-Length: 1000\r\n\r\n`)
    expect(Either.getOrThrow(Either.flip(splitter(999).push(declared))).message).toMatch(/of 1000 bytes or more is over the limit of 999/)
    const open = splitter(100)
    expect(Either.getOrThrow(open.push(bytes(`--${B}\r\n\r\n`, "x".repeat(60))))).toEqual([])
    expect(Either.isLeft(open.push(bytes("y".repeat(60))))).toBe(true)
    expect(Either.isLeft(new MultipartSplitter(B).push(new Uint8Array(70_000)))).toBe(true)
  })

  it("skips stray bytes after a part read by its length, up to the next boundary", () => {
    const input = bytes(`--${B}\r\nContent-Length: 3\r\n\r\nabcGARBAGE\r\nmore garbage--${B} not at a line start\r\n--${B}\r\n\r\nnext\r\n--${B}`)
    expect(feed([input]).map((p) => Buffer.from(p.body).toString())).toEqual(["abc", "next"])
  })
})

// ---------------------------------------------------------------------------------------------
// Reconnecting

describe("reconnect waits", () => {
  it("double from 1 s to a 60 s cap, each jittered down by at most half", () => {
    expect([0, 1, 2, 5, 6, 7, 30].map((a) => reconnectDelay(a, 0.999_999))).toEqual([1_000, 2_000, 4_000, 32_000, 60_000, 60_000, 60_000])
    expect([0, 1, 6].map((a) => reconnectDelay(a, 0))).toEqual([500, 1_000, 30_000])
  })
})

// ---------------------------------------------------------------------------------------------
// Against fake cameras

const tempDir = () => Fs.mkdtempSync(Path.join(Os.tmpdir(), "alpr-pull-"))

type TestBuffer = Effect.Effect.Success<ReturnType<typeof makeBuffer>>

/**
 * The collector's side: a real buffer and a real secret store in a temporary directory, and the
 * sources running on them; `before` fills the buffer as an earlier run left it.
 */
const startSources = <E>(
  cameras: ReadonlyArray<CameraConfig>,
  secrets: Record<string, string>,
  options: SourcesOptions,
  before: (buffer: TestBuffer) => Effect.Effect<unknown, E> = () => Effect.void
) =>
  Effect.gen(function*() {
    const dir = tempDir()
    Fs.writeFileSync(Path.join(dir, "machine-id"), "pull-test-machine\n")
    const store = makeSecretStore(dir, Path.join(dir, "machine-id"))
    yield* store.update(() => secrets)
    const buffer = yield* makeBuffer({ dir, retentionDays: 7, quotaBytes: 1e9 })
    yield* before(buffer)
    const states = new CameraStates()
    const activity = new CameraActivity()
    yield* runCameraSources(cameras, store, activity, states, options).pipe(
      Effect.provideService(ReadBuffer, buffer),
      Effect.forkScoped
    )
    return { buffer, states, activity }
  })


const fakeHikvision = (username: string, password: string) =>
  Effect.acquireRelease(Effect.promise(() => startFakeHikvision(username, password)), (f) => Effect.promise(f.close))

const fakeProtect = (account: Parameters<typeof startFakeProtect>[0] = { username: "alpr", password: "pr0tect" }) =>
  Effect.acquireRelease(Effect.promise(() => startFakeProtect(account)), (f) => Effect.promise(f.close))

const FAST: SourcesOptions["reconnect"] = { baseMs: 100, maxMs: 400, healthyMs: 60_000 }

const hikvisionCamera = (fake: FakeHikvision): CameraConfig => ({
  id: "gate",
  vendor: "hikvision",
  mode: "pull",
  url: fake.url,
  username: "admin",
  name: "Main gate"
})

const pendingReads = (buffer: TestBuffer) =>
  Effect.map(buffer.pending(100), (reads) =>
    reads.map((r) => ({
      id: r.detection.detection_id,
      plate: r.detection.plate.text,
      camera: r.detection.camera.id,
      timestamp: r.detection.timestamp,
      images: Object.fromEntries(r.images.map((i) => [i.kind, new Uint8Array(Fs.readFileSync(i.path))]))
    })))

const UTC_DIGITS = (ms: number) => new Date(ms).toISOString().replace(/[-:T]/g, "").slice(0, 14)

describe("pulling a Hikvision camera", () => {
  it.scopedLive("takes the events of its alertStream, with their pictures, into the buffer", () =>
    Effect.gen(function*() {
      const camera = yield* fakeHikvision("admin", "s3cret")
      const started = Date.now()
      const { buffer, states, activity } = yield* startSources([hikvisionCamera(camera)], { "camera_password:gate": "s3cret" }, { reconnect: FAST })
      yield* eventually("the connection", Effect.sync(() => states.get("gate")?.state === "connected" || undefined))

      camera.send({ uuid: "EVT-A", plate: "ABC123", dateTime: "2030-05-01T10:00:00+02:00" }, 1)
      camera.send({ uuid: "EVT-B", plate: "XYZ789", dateTime: "2030-05-01T10:00:05+02:00" }, 3)
      const reads = yield* eventually("two reads", Effect.map(pendingReads(buffer), (r) => r.length === 2 ? r : undefined))

      expect(reads).toEqual([
        { id: "hikvision:EVT-A", plate: "ABC123", camera: "gate", timestamp: "2030-05-01T10:00:00+02:00", images: eventPictures(1) },
        { id: "hikvision:EVT-B", plate: "XYZ789", camera: "gate", timestamp: "2030-05-01T10:00:05+02:00", images: eventPictures(3) }
      ])
      // The camera challenged, then took the answer; the first backfill looked back ten minutes (UTC: no zone configured).
      expect(camera.refused()).toBe(1)
      expect(camera.streams()).toBe(1)
      const picTime = /<AfterTime><picTime>(\d{14})<\/picTime><\/AfterTime>/.exec(camera.platesQueries[0] ?? "")?.[1]
      expect(Number(picTime)).toBeGreaterThanOrEqual(Number(UTC_DIGITS(started - 10 * 60_000 - 2_000)))
      expect(Number(picTime)).toBeLessThanOrEqual(Number(UTC_DIGITS(Date.now() - 10 * 60_000)))
      expect(activity.snapshot()["gate"]).toMatchObject({ reads: 2, errors: 0 })
    }))

  it.scopedLive("shows a refused password as an error and retries it slowly, not in a tight loop", () =>
    Effect.gen(function*() {
      const camera = yield* fakeHikvision("admin", "right")
      const { buffer, states } = yield* startSources([hikvisionCamera(camera)], { "camera_password:gate": "wrong" }, { reconnect: FAST })
      const state = yield* eventually("the error state", Effect.sync(() => states.get("gate")?.state === "error" ? states.get("gate") : undefined))
      expect(state).toMatchObject({ mode: "pull", message: `the camera refused user "admin": wrong username or password (or the account is locked)` })
      expect(Date.parse(state.retry_at!)).toBeGreaterThan(Date.now() - 1_000)

      yield* Effect.sleep("2 seconds")
      // Each attempt is a challenge and a refused answer; at 200-400 ms apart, 2 s hold a handful of them.
      expect(camera.refused()).toBeGreaterThanOrEqual(4)
      expect(camera.refused()).toBeLessThanOrEqual(2 * 13)
      expect(states.get("gate")?.state).toBe("error")
      expect(camera.streams()).toBe(0)
      expect(yield* buffer.pending(10)).toEqual([])
    }))

  it.scopedLive("reconnects after the camera drops mid-part, without the cut part, and backfills what it missed", () =>
    Effect.gen(function*() {
      const camera = yield* fakeHikvision("admin", "s3cret")
      const A = { uuid: "EVT-A", plate: "ABC123", dateTime: "2030-05-01T10:00:00+02:00" }
      const B = { uuid: "EVT-B", plate: "XYZ789", dateTime: "2030-05-01T10:00:30+02:00" }
      const C = { uuid: "EVT-C", plate: "NEW001", dateTime: "2030-05-01T10:03:00+02:00" }
      // The plate list after B: B itself (the stream gave it already) and D, read while the connection was down.
      camera.plates = (picTime) =>
        picTime === "20300501100030"
          ? [
            { plate: "XYZ 789", captureTime: "20300501T100030+0200", picName: "203005011000300100" },
            { plate: "MISSED1", captureTime: "20300501T100200+0200", picName: "203005011002000100" }
          ]
          : []
      const { buffer, states } = yield* startSources([hikvisionCamera(camera)], { "camera_password:gate": "s3cret" }, {
        reconnect: FAST,
        hikvision: { pictureWaitMs: 300 }
      })
      yield* eventually("the connection", Effect.sync(() => states.get("gate")?.state === "connected" || undefined))

      camera.send(A, 1)
      yield* eventually("A", Effect.map(pendingReads(buffer), (r) => r.length === 1 || undefined))
      // B's XML and plate picture arrive whole, its scene picture is cut in the middle, and the socket is destroyed.
      const [xml, plate] = eventParts(B, 3)
      camera.send(B, 3, xml!.length + plate!.length + 700)

      yield* eventually("the reconnection", Effect.sync(() => camera.streams() === 2 && states.get("gate")?.state === "connected" || undefined))
      camera.send(C, 5)
      const reads = yield* eventually("A, B, C and the missed read", Effect.map(pendingReads(buffer), (r) => r.length === 4 ? r : undefined))
      yield* Effect.sleep("300 millis") // nothing more comes (B is not taken twice)

      const byPlate = Object.fromEntries((yield* pendingReads(buffer)).map((r) => [r.plate, r]))
      expect(Object.keys(byPlate).sort()).toEqual(["ABC123", "MISSED1", "NEW001", "XYZ789"])
      expect(reads).toHaveLength(4)
      expect(byPlate["ABC123"]).toMatchObject({ id: "hikvision:EVT-A", images: eventPictures(1) })
      expect(byPlate["XYZ789"]).toMatchObject({ id: "hikvision:EVT-B", images: { plate: eventPictures(3).plate } })
      expect(Object.keys(byPlate["XYZ789"]!.images)).toEqual(["plate"])
      expect(byPlate["NEW001"]).toMatchObject({ id: "hikvision:EVT-C", images: eventPictures(5) })
      expect(byPlate["MISSED1"]).toMatchObject({
        camera: "gate",
        timestamp: "2030-05-01T10:02:00+02:00",
        images: { plate: listedPicture("203005011002000100") }
      })
      expect(byPlate["MISSED1"]!.id).toMatch(/^hikvision:[0-9a-f]{32}$/)
      // B, listed again, was skipped: only the missed read's picture was fetched.
      expect(camera.pictureRequests).toEqual(["203005011002000100"])

      // The backfill after the reconnect asked after B, the last read taken, then after the last picName listed.
      expect(camera.platesQueries.slice(1)).toEqual([
        "<AfterTime><picTime>20300501100030</picTime></AfterTime>",
        "<AfterTime><picTime>203005011002000100</picTime></AfterTime>"
      ])
    }))
})

describe("backfilling a Hikvision camera from its plate list", () => {
  const SECRETS = { "camera_password:gate": "s3cret" }
  const listed = (plate: string, at: string, picName: string) => ({ plate, captureTime: at, picName })
  /** The plate list answers `plates` to the first request, asked after a time, and nothing after a picName. */
  const listOnce = (camera: FakeHikvision, plates: ReadonlyArray<ReturnType<typeof listed>>, afterTime = /^\d{14}$/) => {
    camera.plates = (picTime) => afterTime.test(picTime) ? plates : []
  }
  const gateReads = (buffer: TestBuffer) =>
    Effect.map(pendingReads(buffer), (reads) => reads.filter((r) => r.camera === "gate"))
  const streamRead = (event: HikvisionEvent, cameraId = "gate") => accepted(parse("hikvision", anprXml(event), { cameraId })).reads

  it.scopedLive("buffers each listed read with its plate picture, fetched with the session's Digest", () =>
    Effect.gen(function*() {
      const camera = yield* fakeHikvision("admin", "s3cret")
      listOnce(camera, [
        listed("LIST001", "20300501T100000+0200", "203005011000000100"),
        listed("LIST002", "20300501T100100+0200", "203005011001000200")
      ])
      const { buffer } = yield* startSources([hikvisionCamera(camera)], SECRETS, { reconnect: FAST })
      const reads = yield* eventually("the listed reads", Effect.map(gateReads(buffer), (r) => r.length === 2 ? r : undefined))

      expect(reads.map(({ plate, timestamp, images }) => ({ plate, timestamp, images }))).toEqual([
        { plate: "LIST001", timestamp: "2030-05-01T10:00:00+02:00", images: { plate: listedPicture("203005011000000100") } },
        { plate: "LIST002", timestamp: "2030-05-01T10:01:00+02:00", images: { plate: listedPicture("203005011001000200") } }
      ])
      expect(camera.pictureRequests).toEqual(["203005011000000100", "203005011001000200"])
      // One challenge, for the stream; the list and the pictures were answered under its nonce.
      expect(camera.refused()).toBe(1)
      expect(camera.platesRequests[0]?.channel).toBe(1)
    }))

  it.scopedLive("buffers a listed read whose picture is missing (404) or never comes, without a photo", () =>
    Effect.gen(function*() {
      const camera = yield* fakeHikvision("admin", "s3cret")
      listOnce(camera, [
        listed("GONE404", "20300501T100000+0200", "203005011000000100"),
        listed("SLOWPIC", "20300501T100100+0200", "203005011001000200"),
        listed("HASPIC1", "20300501T100200+0200", "203005011002000300")
      ])
      camera.picture = (picName) =>
        picName === "203005011000000100" ? "missing" : picName === "203005011001000200" ? "hang" : listedPicture(picName)
      const { buffer } = yield* startSources([hikvisionCamera(camera)], SECRETS, {
        reconnect: FAST,
        hikvision: { requestTimeoutMs: 1_000 }
      })
      const reads = yield* eventually("the listed reads", Effect.map(gateReads(buffer), (r) => r.length === 3 ? r : undefined))

      expect(reads.map(({ plate, images }) => ({ plate, images }))).toEqual([
        { plate: "GONE404", images: {} },
        { plate: "SLOWPIC", images: {} },
        { plate: "HASPIC1", images: { plate: listedPicture("203005011002000300") } }
      ])
      expect(camera.pictureRequests).toEqual(["203005011000000100", "203005011001000200", "203005011002000300"])
    }))

  it.scopedLive("reads the plate list of the camera's configured channel", () =>
    Effect.gen(function*() {
      const camera = yield* fakeHikvision("admin", "s3cret")
      listOnce(camera, [listed("CHAN003", "20300501T100000+0200", "203005011000000100")])
      const config = Schema.decodeUnknownSync(CameraConfig)({ ...hikvisionCamera(camera), channel: 3 })
      const { buffer } = yield* startSources([config], SECRETS, { reconnect: FAST })
      yield* eventually("the listed read", Effect.map(gateReads(buffer), (r) => r.length === 1 || undefined))

      expect([...new Set(camera.platesRequests.map((r) => r.channel))]).toEqual([3])
      expect(Either.isLeft(Schema.decodeUnknownEither(CameraConfig)({ ...hikvisionCamera(camera), channel: 0 }))).toBe(true)
    }))

  it.scopedLive("starts at the newest buffered read of the camera, and takes none of the buffered reads again", () =>
    Effect.gen(function*() {
      const camera = yield* fakeHikvision("admin", "s3cret")
      const A = { uuid: "EVT-A", plate: "ABC123", dateTime: "2030-05-01T10:00:00+02:00" }
      const B = { uuid: "EVT-B", plate: "XYZ789", dateTime: "2030-05-01T10:05:00+02:00" }
      // Listed after B's time: B itself (the stream gave it to the earlier run) and a read missed while the collector was off.
      listOnce(camera, [
        listed("XYZ 789", "20300501T100500+0200", "203005011005000100"),
        listed("MISSED1", "20300501T101000+0200", "203005011010000100")
      ], /^20300501100500$/)
      const { buffer } = yield* startSources([hikvisionCamera(camera)], SECRETS, { reconnect: FAST }, (buffer) =>
        // B stored before A, and a later read of another camera: the newest is by capture time, of this camera.
        buffer.add([
          ...streamRead(B),
          ...streamRead(A),
          ...streamRead({ uuid: "EVT-O", plate: "OTHER01", dateTime: "2030-06-01T00:00:00+02:00" }, "lane-2")
        ]))
      const reads = yield* eventually("the missed read", Effect.map(gateReads(buffer), (r) => r.length === 3 ? r : undefined))
      yield* Effect.sleep("300 millis") // nothing more comes (B is not taken twice)

      expect(camera.platesRequests[0]).toEqual({ channel: 1, afterTime: "20300501100500" })
      expect((yield* gateReads(buffer)).map(({ id, plate }) => [id, plate])).toEqual([
        ["hikvision:EVT-B", "XYZ789"],
        ["hikvision:EVT-A", "ABC123"],
        [reads[2]!.id, "MISSED1"]
      ])
      expect(reads[2]!.images).toEqual({ plate: listedPicture("203005011010000100") })
      expect(camera.pictureRequests).toEqual(["203005011010000100"])
    }))

  it.scopedLive("looks back no further than backfill_max_hours however old the newest buffered read", () =>
    Effect.gen(function*() {
      const camera = yield* fakeHikvision("admin", "s3cret")
      const started = Date.now()
      const old = new Date(started - 3 * 3_600_000).toISOString().slice(0, 19) + "Z"
      const config = { ...hikvisionCamera(camera), backfill_max_hours: 1 }
      yield* startSources([config], SECRETS, { reconnect: FAST }, (buffer) =>
        buffer.add(streamRead({ uuid: "EVT-OLD", plate: "OLD0001", dateTime: old })))
      const asked = yield* eventually("the plate list request", Effect.sync(() => camera.platesRequests[0]?.afterTime))

      expect(Number(asked)).toBeGreaterThanOrEqual(Number(UTC_DIGITS(started - 3_600_000 - 2_000)))
      expect(Number(asked)).toBeLessThanOrEqual(Number(UTC_DIGITS(Date.now() - 3_600_000)))
    }))
})

// ---------------------------------------------------------------------------------------------

const protectCamera = (fake: FakeProtect, extra: Partial<CameraConfig> = {}): CameraConfig => ({
  id: "drive",
  vendor: "unifi",
  mode: "poll",
  url: fake.url,
  username: "alpr",
  ...extra
})

const PROTECT_SECRETS = { "camera_password:drive": "pr0tect" }

describe("reading a UniFi Protect console", () => {
  // uiprotect's sample data (test/fixtures/unifi-protect/SOURCES.md).
  const [LPR, FACE] = protectSample("uiprotect_sample_raw_events_smartdetect.json") as Array<ProtectEventJson>
  const RECORDED = Object.values(protectSample("uiprotect_sample_ws_messages_events.json") as Record<string, {
    raw: string
    action: Record<string, unknown>
    data: unknown
  }>)
  const BOOTSTRAP = protectSample("uiprotect_sample_bootstrap_cameras.json") as { lastUpdateId: string }

  type Thumbnail = Record<string, unknown> & { group: Record<string, unknown> }
  const thumbnailsOf = (event: ProtectEventJson) => (event["metadata"] as { detectedThumbnails: Array<Thumbnail> }).detectedThumbnails

  /** The sample LPR event as another vehicle's: its id, plate and times changed, the rest as Protect sent it. */
  const lprEvent = (id: string, plate: string, start: number): ProtectEventJson => {
    const metadata = LPR!["metadata"] as Record<string, unknown>
    return {
      ...LPR!,
      id,
      thumbnail: `e-${id}`,
      start,
      end: start + 16_700,
      timestamp: start + 8_350,
      metadata: {
        ...metadata,
        detectedThumbnails: thumbnailsOf(LPR!).map((t) => ({ ...t, clockBestWall: start + 12_301, group: { ...t.group, matchedName: plate } }))
      }
    }
  }

  let updateId = 0
  const packet = (action: "add" | "update", id: string, data: unknown) =>
    encodeUpdatePacket({ action: { action, newUpdateId: `update-${++updateId}`, modelKey: "event", id }, data })

  /** An event as the websocket tells it: added while in progress, updated, then ended with its thumbnails. */
  const streamed = (event: ProtectEventJson, withThumbnails = true) => {
    const { end, metadata, ...rest } = event
    const { detectedThumbnails, ...openMetadata } = metadata as Record<string, unknown>
    return [
      packet("add", event.id, { ...rest, metadata: openMetadata }),
      packet("update", event.id, { score: 80 }),
      packet("update", event.id, withThumbnails ? { end, metadata: { detectedThumbnails } } : { end })
    ]
  }

  const connected = (states: CameraStates, fake: FakeProtect, sessions = 1) =>
    eventually("the updates websocket", Effect.sync(() => states.get("drive")?.state === "connected" && fake.updateIds.length >= sessions && fake.clients() === 1 || undefined))

  it("decodes the update packets uiprotect recorded from a console, and refuses broken ones with a reason", () => {
    for (const recorded of RECORDED) {
      const decoded = Either.getOrThrow(decodeUpdatePacket(Buffer.from(recorded.raw, "base64")))
      expect(decoded).toEqual({ action: recorded.action, data: recorded.data })
    }
    const good = Buffer.from(RECORDED[0]!.raw, "base64")
    const message = (bytes: Uint8Array) => Either.getOrThrow(Either.flip(decodeUpdatePacket(bytes))).message
    expect(message(good.subarray(0, 5))).toBe("update packet: the action frame's header is cut short")
    expect(message(good.subarray(0, good.length - 10))).toMatch(/^update packet: the data frame announces \d+ bytes, \d+ came$/)
    const garbled = Buffer.from(good)
    garbled[8] ^= 0xff
    expect(message(garbled)).toBe("update packet: the action frame is not valid deflate data, or inflates past 8388608 bytes")
    // a small frame that would inflate to 9 MiB (a deflate bomb) is refused, not held in memory
    const bomb = Zlib.deflateSync(Buffer.alloc(9 * 1024 * 1024))
    const header = Buffer.alloc(8)
    header.writeInt8(2, 0)
    header.writeInt8(1, 1)
    header.writeInt8(1, 2)
    header.writeInt32BE(bomb.length, 4)
    const actionFrame = Buffer.from(encodeUpdatePacket({ action: { action: "add", modelKey: "event", id: "e1" }, data: {} }))
    const actionLength = 8 + actionFrame.readInt32BE(4)
    expect(message(Buffer.concat([actionFrame.subarray(0, actionLength), header, bomb])))
      .toBe("update packet: the data frame is not valid deflate data, or inflates past 8388608 bytes")
    const noAction = encodeUpdatePacket({ action: { action: "add", modelKey: "event" } as never, data: {} })
    expect(message(noAction)).toBe("update packet: the action frame has no action, modelKey and id")
  })

  it.scopedLive("logs in, and takes a plate event from the updates websocket once, when it has ended, with its thumbnail", () =>
    Effect.gen(function*() {
      const fake = yield* fakeProtect()
      fake.events.push(LPR!) // from November 2025: outside the start-up backfill, its thumbnail is there
      const { buffer, states, activity } = yield* startSources([protectCamera(fake)], PROTECT_SECRETS, { reconnect: FAST })
      yield* connected(states, fake)
      expect(fake.updateIds).toEqual([BOOTSTRAP.lastUpdateId])
      expect(fake.logins()).toBe(1)

      // What the console sent uiprotect (a person, a doorbell ring and its end): no reads, nothing refused.
      for (const recorded of RECORDED) fake.send(Buffer.from(recorded.raw, "base64"))
      fake.send(packet("add", FACE!.id, FACE))
      fake.send(new Uint8Array([1, 1, 1, 0, 0, 0, 0, 99, 1, 2, 3]))
      const [add, progress, end] = streamed(LPR!)
      fake.send(add!)
      fake.send(progress!)
      yield* Effect.sleep("200 millis")
      expect(yield* pendingReads(buffer)).toEqual([]) // not before it ends
      fake.send(end!)
      fake.send(packet("update", LPR!.id, { score: 95 })) // updated after its end: not taken again
      const reads = yield* eventually("the read", Effect.map(pendingReads(buffer), (r) => r.length === 1 ? r : undefined))
      yield* Effect.sleep("300 millis")

      expect(yield* pendingReads(buffer)).toEqual([{
        id: "unifi:f1d59512b03f596d87db22c7",
        plate: "WWHXXXX",
        camera: "drive",
        timestamp: "2025-11-22T13:16:38.276Z",
        images: { scene: fake.thumbnailOf("f1d59512b03f596d87db22c7") }
      }])
      expect(reads).toHaveLength(1)
      const [pending] = yield* buffer.pending(1)
      expect(pending!.detection.plate.confidence).toBe(0.75)
      expect(pending!.detection.vehicle).toEqual({ type: "car", color: "white" })
      expect(activity.snapshot()["drive"]).toMatchObject({
        errors: 1,
        lastError: "update packet: the action frame announces 99 bytes, 3 came"
      })
      expect(states.get("drive")).toMatchObject({ mode: "poll", state: "connected" })
      expect(fake.requests.filter((r) => r.startsWith("/proxy/protect/api/events/"))).toEqual([
        "/proxy/protect/api/events/f1d59512b03f596d87db22c7/thumbnail"
      ])
    }))

  it.scopedLive("after a reconnect, backfills the gap from the newest event taken, without taking any event twice", () =>
    Effect.gen(function*() {
      const fake = yield* fakeProtect()
      const now = Date.now()
      const before = lprEvent("a0000000000000000000000a", "BEFORE1", now - 120_000)
      fake.events.push(before)
      const { buffer, states } = yield* startSources([protectCamera(fake)], PROTECT_SECRETS, { reconnect: FAST })
      yield* connected(states, fake)
      yield* eventually("the event before start-up", Effect.map(pendingReads(buffer), (r) => r.length === 1 || undefined))

      const live = lprEvent("b0000000000000000000000b", "LIVE001", now - 60_000)
      fake.events.push(live)
      // Its end update does not carry the plate: the event is fetched whole.
      for (const p of streamed(live, false)) fake.send(p)
      yield* eventually("the streamed event", Effect.map(pendingReads(buffer), (r) => r.length === 2 || undefined))

      fake.drop()
      const missed = lprEvent("c0000000000000000000000c", "MISSED1", now - 30_000)
      fake.events.push(missed)
      yield* connected(states, fake, 2)
      yield* eventually("the missed event", Effect.map(pendingReads(buffer), (r) => r.length === 3 || undefined))
      // The live event ends again on the new connection (a console replays): still one read.
      for (const p of streamed(live)) fake.send(p)
      yield* Effect.sleep("300 millis")

      expect((yield* pendingReads(buffer)).map((r) => [r.id, r.plate])).toEqual([
        ["unifi:a0000000000000000000000a", "BEFORE1"],
        ["unifi:b0000000000000000000000b", "LIVE001"],
        ["unifi:c0000000000000000000000c", "MISSED1"]
      ])
      const lists = fake.requests.filter((r) => r.startsWith("/proxy/protect/api/events?"))
      expect(lists).toHaveLength(2)
      for (const list of lists) {
        expect(list).toMatch(
          /^\/proxy\/protect\/api\/events\?start=\d+&end=\d+&types=smartDetectZone&types=smartDetectLine&smartDetectTypes=licensePlate&orderDirection=ASC&withoutDescriptions=true$/
        )
      }
      // The second backfill starts a minute before the end of the newest event taken (the streamed one).
      expect(new URL(lists[1]!, "http://c").searchParams.get("start")).toBe(String(live.end! - 60_000))
      expect(fake.requests).toContain("/proxy/protect/api/events/b0000000000000000000000b")
      expect(fake.updateIds).toEqual([BOOTSTRAP.lastUpdateId, BOOTSTRAP.lastUpdateId])
    }))

  it.scopedLive("at start-up, backfills from the newest buffered read and does not take it again", () =>
    Effect.gen(function*() {
      const fake = yield* fakeProtect()
      const now = Date.now()
      const old = lprEvent("d0000000000000000000000d", "OLDREAD", now - 300_000)
      const gap = lprEvent("e0000000000000000000000e", "GAPREAD", now - 200_000)
      fake.events.push(old, gap)
      const oldRead = accepted(parse("unifi", JSON.stringify({ ...old, modelKey: "event" }), { cameraId: "drive" })).reads
      const { buffer } = yield* startSources([protectCamera(fake)], PROTECT_SECRETS, { reconnect: FAST }, (b) => b.add(oldRead))
      yield* eventually("the gap", Effect.map(pendingReads(buffer), (r) => r.length === 2 || undefined))
      yield* Effect.sleep("300 millis")

      expect((yield* pendingReads(buffer)).map((r) => r.plate)).toEqual(["OLDREAD", "GAPREAD"])
      const list = fake.requests.find((r) => r.startsWith("/proxy/protect/api/events?"))!
      expect(new URL(list, "http://c").searchParams.get("start")).toBe(String((old["metadata"] as { detectedThumbnails: Array<{ clockBestWall: number }> }).detectedThumbnails[0]!.clockBestWall - 60_000))
      expect(fake.requests.filter((r) => r.includes("d0000000000000000000000d"))).toEqual([])
    }))

  it.scopedLive("logs in again when the console answers 401 (an expired session), and goes on", () =>
    Effect.gen(function*() {
      const fake = yield* fakeProtect()
      fake.events.push(LPR!)
      const { buffer, states } = yield* startSources([protectCamera(fake)], PROTECT_SECRETS, { reconnect: FAST })
      yield* connected(states, fake)
      fake.expireSessions()
      for (const p of streamed(LPR!)) fake.send(p)
      const [read] = yield* eventually("the read", Effect.map(pendingReads(buffer), (r) => r.length === 1 ? r : undefined))

      expect(read!.images).toEqual({ scene: fake.thumbnailOf(LPR!.id) })
      expect(fake.logins()).toBe(2)
      expect(fake.refused()).toBe(1)
      expect(states.get("drive")).toMatchObject({ state: "connected" })
    }))

  it.scopedLive("keeps the read without its thumbnail when the console streams one past the photo limit", () =>
    Effect.gen(function*() {
      const fake = yield* fakeProtect()
      fake.events.push(LPR!)
      const huge = new Uint8Array(MAX_PHOTO_BYTES + 300 * 1024)
      huge.set([0xff, 0xd8, 0xff, 0xe0])
      fake.setThumbnail(LPR!.id, huge)
      const { buffer, states } = yield* startSources([protectCamera(fake)], PROTECT_SECRETS, { reconnect: FAST })
      yield* connected(states, fake)
      for (const p of streamed(LPR!)) fake.send(p)
      const [read] = yield* eventually("the read", Effect.map(pendingReads(buffer), (r) => r.length === 1 ? r : undefined))
      expect(read).toMatchObject({ id: "unifi:f1d59512b03f596d87db22c7", plate: "WWHXXXX", images: {} })
      expect(fake.requests).toContain("/proxy/protect/api/events/f1d59512b03f596d87db22c7/thumbnail")
      expect(states.get("drive")).toMatchObject({ state: "connected" })
    }))

  it.scopedLive("shows a wrong password as an error, without retrying it at once", () =>
    Effect.gen(function*() {
      const fake = yield* fakeProtect()
      const { states } = yield* startSources([protectCamera(fake)], { "camera_password:drive": "wrong" }, { reconnect: FAST })
      const state = yield* eventually("the error state", Effect.sync(() => states.get("drive")?.state === "error" ? states.get("drive") : undefined))
      expect(state.message).toBe(`the console refused user "alpr": wrong username or password (HTTP 401)`)
      expect(fake.requests).toEqual([])
    }))

  it.scopedLive("with an API key (no username), sends X-API-KEY and never writes the key to the log", () =>
    Effect.gen(function*() {
      const fake = yield* fakeProtect({ username: "alpr", password: "pr0tect", apiKey: "key-123-secret" })
      const logged: Array<string> = []
      const capture = Logger.make(({ annotations, cause, message }) => {
        logged.push(JSON.stringify({ message, annotations: Object.fromEntries(HashMap.toEntries(annotations)) }) + Cause.pretty(cause))
      })
      const { buffer, states } = yield* startSources(
        [protectCamera(fake, { username: undefined })],
        { "camera_password:drive": "key-123-secret" },
        { reconnect: FAST }
      ).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, capture)))
      yield* connected(states, fake)
      for (const p of streamed(LPR!)) fake.send(p)
      yield* eventually("the read", Effect.map(pendingReads(buffer), (r) => r.length === 1 || undefined))

      fake.setApiKey("key-456-rotated")
      fake.drop()
      const state = yield* eventually("the error state", Effect.sync(() => states.get("drive")?.state === "error" ? states.get("drive") : undefined))

      expect(state.message).toBe(
        "the console refused the API key for the bootstrap (HTTP 401); a console may take API keys only on its Integration API: configure a local account (username)"
      )
      expect(fake.logins()).toBe(0)
      expect(new Set(fake.apiKeys)).toEqual(new Set(["key-123-secret"]))
      expect(logged.some((line) => line.includes("refused the API key"))).toBe(true)
      expect(logged.filter((line) => line.includes("key-123"))).toEqual([])
    }))

  it.scopedLive("takes only the events of the camera with the configured MAC", () =>
    Effect.gen(function*() {
      const fake = yield* fakeProtect()
      // uiprotect's bootstrap: 1c9a2db4df6efda47a3509be is 331AFA68BE00; the sample event is another camera's.
      const { buffer, states } = yield* startSources([protectCamera(fake, { mac: "33:1a:fa:68:be:00" })], PROTECT_SECRETS, { reconnect: FAST })
      yield* connected(states, fake)
      for (const p of streamed(LPR!)) fake.send(p)
      const ours = { ...lprEvent("f0000000000000000000000f", "OURS001", Date.now() - 10_000), camera: "1c9a2db4df6efda47a3509be" }
      for (const p of streamed(ours)) fake.send(p)
      yield* eventually("our read", Effect.map(pendingReads(buffer), (r) => r.length === 1 || undefined))
      yield* Effect.sleep("300 millis")
      expect((yield* pendingReads(buffer)).map((r) => [r.id, r.plate])).toEqual([["unifi:f0000000000000000000000f", "OURS001"]])
    }))
})
