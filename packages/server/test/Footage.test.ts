import { sniffFootageType } from "@chaverim/domain/Footage"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { type FakeRecogniser, startFakeCodeProject, startFakePlateRecognizer } from "../../../test-support/FakeRecognisers"
import { makeColourPhoto, makeColourVideo, platePicture } from "../../../test-support/Footage"
import { probe, sampleFrames } from "../src/footage/Frames"
import { makeTracker, readOf } from "../src/footage/Tracks"
import { makeBuiltInRecogniser } from "../src/recognise/BuiltIn"
import { codeProjectRecogniser, plateRecognizerRecogniser } from "../src/recognise/HttpRecognisers"
import { correctToFormats } from "../src/recognise/PlateFormats"
import type { PlateFind } from "../src/recognise/Recogniser"

/**
 * Footage's parts on their own: what a file is by its bytes and by ffprobe, frames sampled by ffmpeg
 * with their offsets, finds in consecutive frames merged into one read per vehicle, and the HTTP
 * recognisers against local servers speaking CodeProject.AI's and Plate Recognizer's protocols.
 */

const find = (plate: string, confidence: number, box: PlateFind["box"] = { x: 100, y: 100, width: 120, height: 40 }, candidates: PlateFind["candidates"] = []): PlateFind => ({
  plate,
  confidence,
  box,
  candidates
})

describe("tracks: one read per vehicle", () => {
  it("merges a plate read again and again, a little differently, into one read with the best reading and its frame", () => {
    const tracker = makeTracker()
    tracker.add(0, 0, [find("ABC1234", 0.8)])
    tracker.add(1, 0.5, [find("A8C1234", 0.6, { x: 110, y: 100, width: 120, height: 40 })])
    tracker.add(2, 1.0, [find("ABC1234", 0.93, { x: 120, y: 102, width: 124, height: 41 })])
    tracker.add(3, 1.5, [find("ABC1Z34", 0.7)])
    const [track, ...rest] = tracker.finish()
    expect(rest).toEqual([])
    const read = readOf(track!)
    expect(read).toMatchObject({ plate: "ABC1234", confidence: 0.93, firstS: 0, lastS: 1.5, frames: 4 })
    expect(read.best).toMatchObject({ frame: 2, offsetS: 1 })
    expect(read.candidates.map((c) => c.plate)).toEqual(["ABC1Z34", "A8C1234"])
  })

  it("keeps two vehicles in one frame apart, and the same plate seen again after a gap is a second read", () => {
    const tracker = makeTracker(3)
    tracker.add(0, 0, [find("ABC1234", 0.9), find("XYZ987", 0.8, { x: 900, y: 500, width: 120, height: 40 })])
    tracker.add(1, 0.5, [find("ABC1234", 0.9), find("XYZ987", 0.85, { x: 905, y: 500, width: 120, height: 40 })])
    // a similar plate far away in the picture is another vehicle
    tracker.add(2, 1.0, [find("ABC1235", 0.9, { x: 1500, y: 800, width: 120, height: 40 })])
    // ABC1234 again 10 s later: it came back
    tracker.add(3, 11, [find("ABC1234", 0.95)])
    const reads = tracker.finish().map(readOf)
    expect(reads.map((r) => [r.plate, r.firstS, r.frames])).toEqual([
      ["ABC1234", 0, 2],
      ["XYZ987", 0, 2],
      ["ABC1235", 1, 1],
      ["ABC1234", 11, 1]
    ])
  })

  it("lets candidates that several frames agree on outvote one confident misreading", () => {
    const tracker = makeTracker()
    tracker.add(0, 0, [find("8BC1234", 0.9, undefined, [find("BBC1234", 0.5)])])
    tracker.add(1, 0.5, [find("BBC1234", 0.7)])
    tracker.add(2, 1, [find("BBC1234", 0.72)])
    const read = readOf(tracker.finish()[0]!)
    expect(read.plate).toBe("BBC1234")
    expect(read.confidence).toBe(0.72)
    expect(read.candidates[0]).toEqual({ plate: "8BC1234", confidence: 0.9 })
  })
})

describe("footage files", () => {
  let dir: string
  beforeAll(async () => {
    dir = await Fs.mkdtemp(Path.join(Os.tmpdir(), "alpr-footage-test-"))
    await makeColourVideo(Path.join(dir, "clip.mp4"), [{ colour: "red", seconds: 2 }, { colour: "blue", seconds: 1 }], { creationTime: "2026-11-30T21:15:00Z" })
    await makeColourVideo(Path.join(dir, "clip.mkv"), [{ colour: "green", seconds: 1 }])
    await makeColourPhoto(Path.join(dir, "photo.png"), "white")
  })
  afterAll(async () => {
    await Fs.rm(dir, { recursive: true, force: true })
  })

  it("tells what a file is by its first bytes, never its name", async () => {
    const head = async (name: string) => new Uint8Array((await Fs.readFile(Path.join(dir, name))).subarray(0, 64))
    expect(sniffFootageType(await head("clip.mp4"))).toBe("video/mp4")
    expect(sniffFootageType(await head("clip.mkv"))).toBe("video/x-matroska")
    expect(sniffFootageType(await head("photo.png"))).toBe("image/png")
    expect(sniffFootageType(new TextEncoder().encode("#!/bin/sh\nrm -rf /\n"))).toBeUndefined()
    expect(sniffFootageType(new Uint8Array([0x52, 0x49, 0x46, 0x46, 0, 0, 0, 0, 0x41, 0x56, 0x49, 0x20]))).toBe("video/x-msvideo")
  })

  it.effect("reads a video's length and start time from its container, and a photo as one picture", () =>
    Effect.gen(function*() {
      const video = yield* probe(Path.join(dir, "clip.mp4"))
      expect(video).toMatchObject({ media: "video", width: 640, height: 360, createdAt: "2026-11-30T21:15:00.000Z" })
      expect(video.durationS).toBeCloseTo(3, 1)
      const photo = yield* probe(Path.join(dir, "photo.png"))
      expect(photo).toMatchObject({ media: "photo", durationS: null, createdAt: null })
      yield* Effect.promise(() => Fs.writeFile(Path.join(dir, "junk.mp4"), "not a video at all"))
      const refused = yield* Effect.flip(probe(Path.join(dir, "junk.mp4")))
      expect(refused.message).toMatch(/^not a photo or video that can be read/)
    }))

  it.effect("samples a video's frames at the rate asked, each with its offset, as JPEG", () =>
    Effect.gen(function*() {
      const frames = Chunk.toReadonlyArray(yield* Stream.runCollect(sampleFrames(Path.join(dir, "clip.mp4"), { fps: 2, photo: false })))
      expect(frames.map((f) => f.offsetS)).toEqual([0, 0.5, 1, 1.5, 2, 2.5])
      expect(frames.every((f) => f.jpeg[0] === 0xff && f.jpeg[1] === 0xd8 && f.jpeg.at(-1) === 0xd9)).toBe(true)
      const photo = Chunk.toReadonlyArray(yield* Stream.runCollect(sampleFrames(Path.join(dir, "photo.png"), { fps: 2, photo: true })))
      expect(photo.map((f) => f.offsetS)).toEqual([0])
      const broken = yield* Effect.flip(Stream.runCollect(sampleFrames(Path.join(dir, "junk.mp4"), { fps: 2, photo: false })))
      expect(broken.message).toMatch(/^ffmpeg could not read the footage/)
    }))
})

describe("HTTP recognisers", () => {
  let codeProject: FakeRecogniser
  let plateRecognizer: FakeRecogniser
  let red: Uint8Array
  let black: Uint8Array
  beforeAll(async () => {
    const scenes = { red: { plate: "ABC1234", confidence: 0.91, box: [100, 120, 160, 40] as const, candidates: [{ plate: "ABC1Z34", confidence: 0.4 }] } }
    codeProject = await startFakeCodeProject(scenes)
    plateRecognizer = await startFakePlateRecognizer(scenes, "pr-token-1234")
    const dir = await Fs.mkdtemp(Path.join(Os.tmpdir(), "alpr-recognise-test-"))
    await makeColourPhoto(Path.join(dir, "red.jpg"), "red", "320x240")
    await makeColourPhoto(Path.join(dir, "black.jpg"), "black", "320x240")
    red = new Uint8Array(await Fs.readFile(Path.join(dir, "red.jpg")))
    black = new Uint8Array(await Fs.readFile(Path.join(dir, "black.jpg")))
    await Fs.rm(dir, { recursive: true, force: true })
  })
  afterAll(async () => {
    await codeProject?.close()
    await plateRecognizer?.close()
  })

  it.effect("CodeProject.AI: the plate and its box from /v1/vision/alpr; no plate is no find, not an error", () =>
    Effect.gen(function*() {
      const recogniser = codeProjectRecogniser(codeProject.url)
      expect(yield* recogniser.recognise({ bytes: red, contentType: "image/jpeg" })).toEqual([
        { plate: "ABC1234", confidence: 0.91, box: { x: 100, y: 120, width: 160, height: 40 }, candidates: [] }
      ])
      expect(yield* recogniser.recognise({ bytes: black, contentType: "image/jpeg" })).toEqual([])
      expect(codeProject.requests.at(-1)).toMatchObject({ path: "/v1/vision/alpr", imageType: "image/jpeg", fields: { min_confidence: ["0.1"] } })
    }))

  it.effect("Plate Recognizer: token, regions, plate in capitals with its candidates; a refused token is not tried again", () =>
    Effect.gen(function*() {
      const recogniser = plateRecognizerRecogniser(plateRecognizer.url, Redacted.make("pr-token-1234"), ["us-ny", "gb"])
      expect(yield* recogniser.recognise({ bytes: red, contentType: "image/jpeg" })).toEqual([
        { plate: "ABC1234", confidence: 0.91, box: { x: 100, y: 120, width: 160, height: 40 }, candidates: [{ plate: "ABC1Z34", confidence: 0.4 }] }
      ])
      expect(plateRecognizer.requests.at(-1)).toMatchObject({ path: "/v1/plate-reader/", authorization: "Token pr-token-1234", fields: { regions: ["us-ny", "gb"] } })
      const refused = yield* Effect.flip(plateRecognizerRecogniser(plateRecognizer.url, Redacted.make("wrong"), []).recognise({ bytes: red, contentType: "image/jpeg" }))
      expect(refused).toMatchObject({ retry: false })
      expect(refused.message).toMatch(/^Plate Recognizer answered 403/)
    }))

  it.effect("a rate limit or a failing recogniser is tried again later; an answer not as its API describes is not", () =>
    Effect.gen(function*() {
      const recogniser = codeProjectRecogniser(codeProject.url)
      codeProject.failNext(1, 429, "Too Many Requests")
      expect(yield* Effect.flip(recogniser.recognise({ bytes: red, contentType: "image/jpeg" }))).toMatchObject({ retry: true })
      codeProject.failNext(1, 503, "overloaded")
      expect(yield* Effect.flip(recogniser.recognise({ bytes: red, contentType: "image/jpeg" }))).toMatchObject({ retry: true })
      codeProject.failNext(1, 200, "<html>a proxy's page</html>")
      expect(yield* Effect.flip(recogniser.recognise({ bytes: red, contentType: "image/jpeg" }))).toMatchObject({ retry: false })
      const unreachable = yield* Effect.flip(codeProjectRecogniser("http://127.0.0.1:9").recognise({ bytes: red, contentType: "image/jpeg" }))
      expect(unreachable).toMatchObject({ retry: true })
      expect(unreachable.message).toMatch(/did not answer/)
    }))
})

describe("plate formats", () => {
  it("fits a reading to its region's layout, letters and digits in their places, two changes at most", () => {
    expect(correctToFormats("AB12CDE", ["gb"])).toEqual({ plate: "AB12 CDE", matched: true })
    expect(correctToFormats("A812CDE", ["gb"])).toEqual({ plate: "AB12 CDE", matched: true })
    expect(correctToFormats("ABI2CDE", ["gb"])).toEqual({ plate: "AB12 CDE", matched: true })
    // three changes is another plate, not a misreading
    expect(correctToFormats("8812CD3", ["gb"])).toEqual({ plate: "8812CD3", matched: false })
    expect(correctToFormats("ABC1Z34", ["us-ny"])).toEqual({ plate: "ABC 1234", matched: true })
    expect(correctToFormats("BAB1234", ["de"])).toEqual({ plate: "B AB 1234", matched: true })
    // no region: as read
    expect(correctToFormats("ABC1Z34", [])).toEqual({ plate: "ABC1Z34", matched: false })
  })
})

describe("the built-in recogniser", () => {
  it.scoped("reads a clear plate with its box, and finds no plate in a picture without one", () =>
    Effect.gen(function*() {
      const recogniser = yield* makeBuiltInRecogniser({ regions: ["us"] })
      const picture = yield* Effect.promise(() => platePicture("KDX 4821", { x: 480, y: 470, plateWidth: 320 }))
      const [found, ...others] = yield* recogniser.recognise({ bytes: picture, contentType: "image/jpeg" })
      expect(others).toEqual([])
      expect(found!.plate).toBe("KDX 4821")
      expect(found!.confidence).toBeGreaterThan(0.5)
      // the box is where the plate was drawn, give or take its border
      expect(found!.box!.x).toBeGreaterThanOrEqual(470)
      expect(found!.box!.x).toBeLessThanOrEqual(490)
      expect(found!.box!.width).toBeGreaterThan(290)
      expect(found!.box!.width).toBeLessThan(340)
      const dir = yield* Effect.promise(() => Fs.mkdtemp(Path.join(Os.tmpdir(), "alpr-builtin-")))
      yield* Effect.promise(() => makeColourPhoto(Path.join(dir, "grey.jpg"), "gray", "1280x720"))
      const empty = new Uint8Array(yield* Effect.promise(() => Fs.readFile(Path.join(dir, "grey.jpg"))))
      expect(yield* recogniser.recognise({ bytes: empty, contentType: "image/jpeg" })).toEqual([])
      yield* Effect.promise(() => Fs.rm(dir, { recursive: true, force: true }))
      // what is not a picture is refused, not a crash
      const broken = yield* Effect.flip(recogniser.recognise({ bytes: new Uint8Array([1, 2, 3]), contentType: "image/jpeg" }))
      expect(broken).toMatchObject({ retry: false, message: "the picture could not be decoded" })
    }), 60_000)
})
