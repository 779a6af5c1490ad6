import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { connectAsync, type MqttClient } from "mqtt"
import { randomBytes } from "node:crypto"
import * as Fs from "node:fs"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { parseFrigate, readFrigateMessage } from "../src/adapters/frigate"
import { MAX_SNAPSHOT_BYTES } from "../src/adapters/pull/frigateMqtt"
import { CameraStates, runCameraSources, type SourcesOptions } from "../src/adapters/Sources"
import { makeBuffer, ReadBuffer } from "../src/buffer/Buffer"
import type { CameraConfig } from "../src/config/EdgeConfig"
import { CameraActivity } from "../src/listener/Listener"
import { makeSecretStore } from "../src/provisioning/Secrets"
import { accepted, eventually, fakeJpeg, json, onlyDetection, parse, refusal } from "./cameras"
import { runProcess } from "./edgeCli"

/** The samples of Frigate's own MQTT documentation (test/fixtures/frigate/SOURCES.md). */
const FIXTURE_DIR = new URL("./fixtures/frigate/", import.meta.url)
const fixtureFile = (name: string) => new URL(name, FIXTURE_DIR)
const sample = (name: string): Record<string, any> => JSON.parse(Fs.readFileSync(fixtureFile(name), "utf8"))
const EVENTS = "docs_mqtt_events_update.json"
const LPR = "docs_mqtt_tracked_object_update_lpr.json"
const FACE = "docs_mqtt_tracked_object_update_face.json"

/** The docs' events message with `after` changed by `change`. */
const eventWith = (type: string, change: (after: Record<string, any>) => void) => {
  const message = sample(EVENTS)
  message["type"] = type
  change(message["after"])
  return message
}

// ---------------------------------------------------------------------------------------------
// The parser

describe("Frigate messages", () => {
  const EVENT_READ = {
    detection_id: "frigate:1607123955.475377-mxklsc",
    // after.frame_time 1607123962.082975 s, to the millisecond
    timestamp: "2020-12-04T23:19:22.083Z",
    camera: { id: "frigate:front_door", mac: "unknown", name: "front_door" },
    plate: { text: "ABC12345", confidence: 0.933451 },
    // the docs' object is a person: no vehicle type is made of it
    source: {
      event_id: "1607123955.475377-mxklsc",
      frigate_camera: "front_door",
      label: "person",
      name: "John Smith",
      start_time: 1607123955.475377,
      entered_zones: ["yard", "driveway"]
    }
  }

  it("reads the plate of a frigate/events message (the documentation's sample)", () => {
    expect(onlyDetection(parse("frigate", Fs.readFileSync(fixtureFile(EVENTS))))).toEqual(EVENT_READ)
  })

  it("takes the vehicle type from a vehicle's label only", () => {
    const car = eventWith("update", (after) => {
      after["label"] = "car"
    })
    expect(onlyDetection(parse("frigate", json(car)))).toMatchObject({ vehicle: { type: "car" } })
    const plateObject = eventWith("update", (after) => {
      after["label"] = "license_plate"
    })
    expect(onlyDetection(parse("frigate", json(plateObject)))).not.toHaveProperty("vehicle")
  })

  it("reads the [plate, score] form Frigate's tracked objects carry, as the documented text and score", () => {
    // TrackedObject.to_dict publishes recognized_license_plate as set_object_attribute stores it.
    const message = eventWith("update", (after) => {
      after["recognized_license_plate"] = [after["recognized_license_plate"], after["recognized_license_plate_score"]]
      delete after["recognized_license_plate_score"]
    })
    expect(onlyDetection(parse("frigate", json(message)))).toEqual(EVENT_READ)
  })

  it("reads a tracked_object_update of type lpr (the documentation's sample)", () => {
    expect(onlyDetection(parse("frigate", Fs.readFileSync(fixtureFile(LPR))))).toEqual({
      detection_id: "frigate:1607123955.475377-mxklsc",
      timestamp: "2020-12-04T23:19:18.748Z",
      camera: { id: "frigate:driveway_cam", mac: "unknown", name: "driveway_cam" },
      plate: { text: "123ABC", confidence: 0.95 },
      source: {
        event_id: "1607123955.475377-mxklsc",
        frigate_camera: "driveway_cam",
        name: "John's Car",
        plate_box: [917, 487, 1029, 529]
      }
    })
  })

  it("upper-cases the plate, and the configuration names the camera", () => {
    const lpr = { ...sample(LPR), plate: "abc 123" }
    const detection = onlyDetection(parse("frigate", json(lpr), { cameraId: "driveway", cameraName: "Driveway", mac: "aa-bb-cc-dd-ee-ff" }))
    expect(detection.plate.text).toBe("ABC 123")
    expect(detection.camera).toEqual({ id: "driveway", mac: "AA:BB:CC:DD:EE:FF", name: "Driveway" })
  })

  it("takes a message without a plate as nothing to store", () => {
    const noPlateYet = eventWith("new", (after) => {
      after["recognized_license_plate"] = null
      after["recognized_license_plate_score"] = null
    })
    expect(accepted(parse("frigate", json(noPlateYet)))).toEqual({ reads: [], noPlate: 0 })
    const face = Fs.readFileSync(fixtureFile(FACE))
    expect(accepted(parse("frigate", face))).toEqual({ reads: [], noPlate: 0 })
    expect(Either.getOrThrow(readFrigateMessage(face, {}))).toEqual({
      kind: "tracked_object_update",
      eventId: "1607123955.475377-mxklsc",
      camera: "front_door_cam",
      read: undefined,
      noPlate: 0
    })
    // A plate with no letters or digits is a vehicle seen without a plate read.
    expect(accepted(parseFrigate(json({ ...sample(LPR), plate: "--" }), {}))).toEqual({ reads: [], noPlate: 1 })
  })

  it("refuses what is not a Frigate message, saying why", () => {
    expect(refusal(parse("frigate", "{\"type\": \"lpr\""))).toMatch(/^not valid JSON \(/)
    expect(refusal(parse("frigate", ""))).toBe("the payload is empty")
    expect(refusal(parse("frigate", "[1, 2]"))).toBe("a Frigate message is a JSON object")
    expect(refusal(parse("frigate", "{\"hello\": 1}")))
      .toBe("neither a frigate/events message (no `after`) nor a tracked_object_update (no `type` and `id`)")
    expect(refusal(parse("frigate", json(eventWith("begin", () => {})))))
      .toBe(`type "begin" is none of new, update, end`)
    expect(refusal(parse("frigate", json(eventWith("update", (after) => delete after["camera"]))))).toBe("after.camera is missing")
    expect(refusal(parse("frigate", json(eventWith("update", (after) => (after["recognized_license_plate_score"] = "high"))))))
      .toBe(`after.recognized_license_plate_score: Expected number, actual "high"`)
    expect(refusal(parse("frigate", json({ ...sample(LPR), score: "0.95" })))).toMatch(/^score: /)
    expect(refusal(parse("frigate", json({ ...sample(LPR), timestamp: 1e300 }))))
      .toBe("timestamp 1e+300 is not a time in seconds since the epoch")
    expect(refusal(parse("frigate", json({ ...sample(LPR), score: 1.5 }))))
      .toBe("the read is not a valid detection: plate.confidence: confidence must be between 0 and 1")
  })

  it("edge parse --vendor frigate prints the read of either message", async () => {
    const run = await runProcess(
      ["npm", "run", "-s", "edge", "--", "parse", "--vendor", "frigate", Path.join(FIXTURE_DIR.pathname, LPR)],
      process.env,
      undefined,
      30_000
    )
    expect(run.code, run.stderr).toBe(0)
    expect(JSON.parse(run.stdout)).toMatchObject({ detection_id: "frigate:1607123955.475377-mxklsc", plate: { text: "123ABC", confidence: 0.95 } })
  }, 60_000)
})

// ---------------------------------------------------------------------------------------------
// The MQTT source, against the real broker and a fake Frigate API

const BROKER = "mqtt://127.0.0.1:1883"

/** Frigate's HTTP API as far as snapshots go: `snapshots` by event id, 404 for others (snapshots off). */
interface FakeFrigate {
  readonly url: string
  readonly snapshots: Map<string, Uint8Array>
  /** event ids whose snapshot request is never answered */
  readonly silent: Set<string>
  readonly requests: Array<string>
  readonly close: () => Promise<void>
}

const startFakeFrigate = () =>
  new Promise<FakeFrigate>((resolve) => {
    const snapshots = new Map<string, Uint8Array>()
    const silent = new Set<string>()
    const requests: Array<string> = []
    const server = Http.createServer((req, res) => {
      requests.push(req.url ?? "")
      const id = /^\/api\/events\/([^/]+)\/snapshot\.jpg(?:\?|$)/.exec(req.url ?? "")?.[1]
      const eventId = id === undefined ? undefined : decodeURIComponent(id)
      if (eventId !== undefined && silent.has(eventId)) return
      const bytes = eventId === undefined ? undefined : snapshots.get(eventId)
      if (bytes === undefined) {
        res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ success: false, message: "Snapshot not available" }))
        return
      }
      res.writeHead(200, { "content-type": "image/jpeg", "x-frame-time": "1" }).end(Buffer.from(bytes))
    })
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      resolve({
        url: `http://127.0.0.1:${port}`,
        snapshots,
        silent,
        requests,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections()
            server.close(() => done())
          })
      })
    })
  })

const fakeFrigate = Effect.acquireRelease(Effect.promise(startFakeFrigate), (f) => Effect.promise(f.close))

const publisher = Effect.acquireRelease(
  Effect.promise(() => connectAsync(BROKER, { clientId: `frigate-test-${randomBytes(4).toString("hex")}` })),
  (client: MqttClient) => Effect.promise(() => client.endAsync(true))
)

const publish = (client: MqttClient, topic: string, message: unknown) =>
  Effect.promise(() => client.publishAsync(topic, typeof message === "string" ? message : JSON.stringify(message), { qos: 1 }))

/** The collector: a real buffer and secret store in a temporary directory, and the sources on them. */
const startSources = (cameras: ReadonlyArray<CameraConfig>, options: SourcesOptions, secrets: Record<string, string> = {}) =>
  Effect.gen(function*() {
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "alpr-frigate-"))
    Fs.writeFileSync(Path.join(dir, "machine-id"), "frigate-test-machine\n")
    const store = makeSecretStore(dir, Path.join(dir, "machine-id"))
    yield* store.update(() => secrets)
    const buffer = yield* makeBuffer({ dir, retentionDays: 7, quotaBytes: 1e9 })
    const states = new CameraStates()
    const activity = new CameraActivity()
    yield* runCameraSources(cameras, store, activity, states, options).pipe(Effect.provideService(ReadBuffer, buffer), Effect.forkScoped)
    return { buffer, states, activity }
  })

type TestBuffer = Effect.Effect.Success<ReturnType<typeof makeBuffer>>

const pendingReads = (buffer: TestBuffer) =>
  Effect.map(buffer.pending(100), (reads) =>
    reads.map((r) => ({
      id: r.detection.detection_id,
      plate: r.detection.plate,
      camera: r.detection.camera.id,
      timestamp: r.detection.timestamp,
      images: Object.fromEntries(r.images.map((i) => [i.kind, new Uint8Array(Fs.readFileSync(i.path))]))
    })))


const FAST: SourcesOptions["reconnect"] = { baseMs: 100, maxMs: 400, healthyMs: 60_000 }

/** A Frigate on its own topic prefix, so that test runs on the same broker do not hear each other. */
const frigateCamera = (frigate: FakeFrigate, extra: Partial<CameraConfig> = {}): CameraConfig & { topic_prefix: string } => ({
  id: "drive",
  vendor: "frigate",
  mode: "mqtt",
  url: frigate.url,
  mqtt_url: BROKER,
  frigate_camera: "driveway_cam",
  ...extra,
  topic_prefix: `frigate-test-${randomBytes(6).toString("hex")}`
})

/** The messages of one car on `camera` as Frigate publishes them, from the documentation's samples. */
const car = (id: string, camera = "driveway_cam") => {
  const now = Date.now() / 1000
  const event = (type: string, plate: string | null, score: number | null) =>
    eventWith(type, (after) => {
      Object.assign(after, { id, camera, label: "car", sub_label: null, start_time: now - 2, frame_time: now, end_time: type === "end" ? now : null })
      after["recognized_license_plate"] = plate
      after["recognized_license_plate_score"] = score
    })
  const lpr = (plate: string, score: number) => ({ ...sample(LPR), id, camera, plate, score, timestamp: now - 1 })
  return { event, lpr }
}

const connected = (states: CameraStates) =>
  eventually("the connection", Effect.sync(() => states.get("drive")?.state === "connected" || undefined))

describe("Frigate over MQTT", () => {
  it.scopedLive("stores an object's best read once, at its end, with its snapshot", () =>
    Effect.gen(function*() {
      const frigate = yield* fakeFrigate
      const mqtt = yield* publisher
      const camera = frigateCamera(frigate)
      const topic = (name: string) => `${camera.topic_prefix}/${name}`
      const { buffer, states, activity } = yield* startSources([camera], { reconnect: FAST })
      yield* connected(states)
      const id = `${(Date.now() / 1000).toFixed(6)}-abc123`
      const snapshot = fakeJpeg(2048)
      frigate.snapshots.set(id, snapshot)
      const { event, lpr } = car(id)

      yield* publish(mqtt, topic("events"), event("new", null, null))
      yield* publish(mqtt, topic("events"), event("update", "ABC123", 0.81))
      const best = lpr("ABC1234", 0.93)
      yield* publish(mqtt, topic("tracked_object_update"), best)
      yield* publish(mqtt, topic("events"), event("update", "A8C123", 0.86))
      yield* publish(mqtt, topic("tracked_object_update"), sample(FACE))
      yield* publish(mqtt, topic("events"), "not json")
      // Another Frigate camera's car, not this camera's.
      const other = car(`${id}-other`, "front_door")
      yield* publish(mqtt, topic("events"), other.event("end", "OTHER1", 0.99))
      yield* Effect.sleep("300 millis")
      expect(yield* buffer.pending(10)).toEqual([])

      yield* publish(mqtt, topic("events"), event("end", "A8C123", 0.86))
      const reads = yield* eventually("the read", Effect.map(pendingReads(buffer), (r) => r.length > 0 ? r : undefined))
      // An update after the end is not a second read.
      yield* publish(mqtt, topic("tracked_object_update"), lpr("ABC1234", 0.97))
      yield* Effect.sleep("500 millis")

      expect(yield* pendingReads(buffer)).toEqual(reads)
      expect(reads).toEqual([{
        id: `frigate:${id}`,
        plate: { text: "ABC1234", confidence: 0.93 },
        camera: "drive",
        timestamp: new Date(Math.round(best.timestamp * 1000)).toISOString(),
        images: { scene: snapshot }
      }])
      expect(frigate.requests).toEqual([`/api/events/${encodeURIComponent(id)}/snapshot.jpg?bbox=0&timestamp=0&crop=0`])
      expect(activity.snapshot()["drive"]).toMatchObject({ reads: 1, errors: 1 })
    }))

  it.scopedLive("stores a read whose end never came once the hold time has passed", () =>
    Effect.gen(function*() {
      const frigate = yield* fakeFrigate
      const mqtt = yield* publisher
      const camera = frigateCamera(frigate, { hold_seconds: 1 })
      const { buffer, states } = yield* startSources([camera], { reconnect: FAST })
      yield* connected(states)
      const id = `${(Date.now() / 1000).toFixed(6)}-lostend`
      frigate.snapshots.set(id, fakeJpeg(512))
      const { event } = car(id)

      const sent = Date.now()
      yield* publish(mqtt, `${camera.topic_prefix}/events`, event("update", "HOLD42", 0.9))
      yield* Effect.sleep("600 millis")
      // Still within the hold: the object may yet be read better.
      yield* publish(mqtt, `${camera.topic_prefix}/events`, event("update", "HOLD42", 0.88))
      yield* Effect.sleep("600 millis")
      expect(yield* buffer.pending(10)).toEqual([])

      const reads = yield* eventually("the held read", Effect.map(pendingReads(buffer), (r) => r.length > 0 ? r : undefined))
      expect(Date.now() - sent).toBeGreaterThanOrEqual(1_600)
      expect(reads.map((r) => ({ id: r.id, plate: r.plate, images: r.images })))
        .toEqual([{ id: `frigate:${id}`, plate: { text: "HOLD42", confidence: 0.9 }, images: { scene: fakeJpeg(512) } }])
      // The end that comes late does not store it again.
      yield* publish(mqtt, `${camera.topic_prefix}/events`, event("end", "HOLD42", 0.95))
      yield* Effect.sleep("500 millis")
      expect(yield* buffer.pending(10)).toHaveLength(1)
    }))

  it.scopedLive("stores the read without a photo when Frigate has no snapshot (404), does not answer, or sends one too large", () =>
    Effect.gen(function*() {
      const frigate = yield* fakeFrigate
      const mqtt = yield* publisher
      const camera = frigateCamera(frigate, { frigate_camera: undefined })
      const { buffer, states } = yield* startSources([camera], { reconnect: FAST, frigate: { snapshotTimeoutMs: 500 } })
      yield* connected(states)
      const missing = `${(Date.now() / 1000).toFixed(6)}-nosnap`
      const slow = `${(Date.now() / 1000).toFixed(6)}-slow`
      const huge = `${(Date.now() / 1000).toFixed(6)}-huge`
      frigate.silent.add(slow)
      // a JPEG larger than a batch may carry
      const big = new Uint8Array(MAX_SNAPSHOT_BYTES + 1)
      big.set([0xff, 0xd8, 0xff, 0xe0])
      frigate.snapshots.set(huge, big)

      // Without frigate_camera, every Frigate camera's objects are taken.
      yield* publish(mqtt, `${camera.topic_prefix}/events`, car(missing, "front_door").event("end", "NOSNAP1", 0.91))
      yield* publish(mqtt, `${camera.topic_prefix}/events`, car(slow).event("end", "SLOW22", 0.92))
      yield* publish(mqtt, `${camera.topic_prefix}/events`, car(huge).event("end", "HUGE333", 0.93))
      const reads = yield* eventually("the three reads", Effect.map(pendingReads(buffer), (r) => r.length === 3 ? r : undefined))

      expect(reads.map((r) => ({ id: r.id, plate: r.plate.text, camera: r.camera, images: r.images }))).toEqual([
        { id: `frigate:${missing}`, plate: "NOSNAP1", camera: "drive", images: {} },
        { id: `frigate:${slow}`, plate: "SLOW22", camera: "drive", images: {} },
        { id: `frigate:${huge}`, plate: "HUGE333", camera: "drive", images: {} }
      ])
      expect(frigate.requests).toHaveLength(3)
      expect(states.get("drive")?.state).toBe("connected")
    }))

  it.scopedLive("shows a broker it cannot reach, a camera without mqtt_url or without its broker password, in the camera's state", () =>
    Effect.gen(function*() {
      const frigate = yield* fakeFrigate
      const { states } = yield* startSources([
        frigateCamera(frigate, { mqtt_url: "mqtt://127.0.0.1:9" }),
        { ...frigateCamera(frigate), id: "nobroker", mqtt_url: undefined },
        { ...frigateCamera(frigate), id: "nopassword", username: "chaverim" },
        // The test broker takes any account: the stored password is sent and the session goes on.
        { ...frigateCamera(frigate), id: "account", username: "chaverim" }
      ], { reconnect: FAST }, { "camera_password:account": "broker-secret" })
      const state = yield* eventually("the failure", Effect.sync(() => states.get("drive")?.message === undefined ? undefined : states.get("drive")))
      expect(state).toMatchObject({ mode: "mqtt", state: "connecting" })
      expect(state.message).toMatch(/^cannot connect to the MQTT broker at mqtt:\/\/127\.0\.0\.1:9: .*ECONNREFUSED/)
      expect(states.get("nobroker")).toMatchObject({
        mode: "mqtt",
        state: "error",
        message: "an mqtt camera needs an mqtt_url (the broker Frigate publishes to)"
      })
      const noPassword = yield* eventually("the missing password", Effect.sync(() => states.get("nopassword")?.state === "error" ? states.get("nopassword") : undefined))
      expect(noPassword.message).toBe("no password or API key stored for this camera (secret camera_password:nopassword)")
      yield* eventually("the account's connection", Effect.sync(() => states.get("account")?.state === "connected" || undefined))
    }))
})
