import { sniffFootageType } from "@chaverim/domain/Footage"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { randomBytes } from "node:crypto"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import sharp from "sharp"
import { exifCreatedAt, heicFrames, heicJpeg, probeHeic } from "../src/footage/Heic"

/**
 * HEIC photos read by libheif's WebAssembly build: the fixtures (test/fixtures/heic, SOURCES.md there)
 * are real HEVC-coded HEIF files as libheif's encoder writes them, one with a thumbnail and EXIF.
 */

const FIXTURES = Path.resolve(__dirname, "fixtures/heic")
const SAMPLE = Path.join(FIXTURES, "car-plate-720x960.heic")
const NO_OFFSET = Path.join(FIXTURES, "no-offset-160x120.heic")

let dir = ""
beforeAll(async () => {
  dir = await Fs.mkdtemp(Path.join(Os.tmpdir(), "alpr-heic-"))
})
afterAll(async () => {
  await Fs.rm(dir, { recursive: true, force: true })
})

/** A file of these bytes in the scratch folder. */
const scratch = (name: string, bytes: Uint8Array) =>
  Effect.promise(async () => {
    const path = Path.join(dir, name)
    await Fs.writeFile(path, bytes)
    return path
  })

/** The footage error's message, failing the test when the effect succeeds or fails otherwise. */
const failure = <A, E extends { readonly _tag: string; readonly message: string }>(effect: Effect.Effect<A, E>) =>
  Effect.flip(effect).pipe(Effect.tap((e) => expect(e._tag).toBe("FootageError")), Effect.map((e) => e.message))

describe("HEIC photos", () => {
  it.effect("the sample is sniffed as HEIC and probed: its size, and when it was taken by its EXIF", () =>
    Effect.gen(function*() {
      const bytes = yield* Effect.promise(() => Fs.readFile(SAMPLE))
      expect(sniffFootageType(bytes.subarray(0, 64))).toBe("image/heic")
      const facts = yield* probeHeic(SAMPLE)
      // DateTimeOriginal 2024:05:12 14:30:05 with OffsetTimeOriginal +03:00
      expect(facts).toEqual({
        media: "photo",
        format: "heif",
        durationS: null,
        startS: 0,
        width: 720,
        height: 960,
        createdAt: "2024-05-12T11:30:05.000Z"
      })
    }))

  it.effect("a time with no offset says no instant: createdAt is null", () =>
    Effect.gen(function*() {
      const facts = yield* probeHeic(NO_OFFSET)
      expect(facts).toMatchObject({ width: 160, height: 120, createdAt: null })
    }))

  it.effect("decodes the primary image (not its thumbnail) to one JPEG of its size, with a picture in it", () =>
    Effect.gen(function*() {
      const jpeg = yield* heicJpeg(SAMPLE)
      expect([...jpeg.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff])
      const meta = yield* Effect.promise(() => sharp(jpeg).metadata())
      expect([meta.width, meta.height, meta.format]).toEqual([720, 960, "jpeg"])
      const stats = yield* Effect.promise(() => sharp(jpeg).stats())
      // not a blank or flat picture: every channel varies
      for (const channel of stats.channels.slice(0, 3)) expect(channel.stdev).toBeGreaterThan(20)
      // the sky is above (light, blue), the road below (dark grey): the picture is the right way up
      // (sharp's stats are of its input: the band is cut out first)
      const half = (top: number) =>
        Effect.promise(async () => sharp(await sharp(jpeg).extract({ left: 0, top, width: 720, height: 200 }).toBuffer()).stats())
      const sky = yield* half(0)
      const road = yield* half(760)
      expect(sky.channels[2]!.mean).toBeGreaterThan(200)
      expect(sky.channels[2]!.mean - sky.channels[0]!.mean).toBeGreaterThan(40)
      expect(road.channels[0]!.mean).toBeLessThan(110)
    }))

  it.effect("scales the JPEG down to maxWidth, and gives it as one frame at offset 0", () =>
    Effect.gen(function*() {
      const frames = Chunk.toReadonlyArray(yield* Stream.runCollect(heicFrames(SAMPLE, { maxWidth: 360 })))
      expect(frames.map((f) => [f.index, f.offsetS])).toEqual([[0, 0]])
      const meta = yield* Effect.promise(() => sharp(frames[0]!.jpeg).metadata())
      expect([meta.width, meta.height]).toEqual([360, 480])
    }))

  it.effect("refuses a photo over the limit of pixels before decoding it, saying why", () =>
    Effect.gen(function*() {
      const probed = yield* failure(probeHeic(SAMPLE, { maxPixels: 500_000 }))
      expect(probed).toContain("720 x 960")
      expect(probed).toContain("over 0.5 megapixels")
      const decoded = yield* failure(heicJpeg(SAMPLE, { maxPixels: 500_000 }))
      expect(decoded).toContain("not read")
    }))

  it.effect("a truncated file (its first half) is a FootageError, not a crash", () =>
    Effect.gen(function*() {
      const bytes = yield* Effect.promise(() => Fs.readFile(SAMPLE))
      const half = yield* scratch("half.heic", bytes.subarray(0, Math.floor(bytes.length / 2)))
      expect(sniffFootageType(new Uint8Array(yield* Effect.promise(() => Fs.readFile(half))).subarray(0, 64))).toBe("image/heic")
      expect(yield* failure(heicJpeg(half))).toMatch(/^not a HEIC photo that can be read: .+/)
      expect(yield* failure(probeHeic(half))).toMatch(/^not a HEIC photo that can be read: .+/)
    }))

  it.effect("a HEIC ftyp box followed by random bytes is a FootageError", () =>
    Effect.gen(function*() {
      const ftyp = Buffer.from([0, 0, 0, 0x18, ...Buffer.from("ftypheic"), 0, 0, 0, 0, ...Buffer.from("mif1heic")])
      const path = yield* scratch("random.heic", Buffer.concat([ftyp, randomBytes(64 * 1024)]))
      expect(sniffFootageType(Buffer.concat([ftyp, Buffer.alloc(40)]))).toBe("image/heic")
      expect(yield* failure(heicJpeg(path))).toMatch(/^not a HEIC photo that can be read: .+/)
      expect(yield* failure(probeHeic(path))).toMatch(/^not a HEIC photo that can be read: .+/)
    }))

  it.effect("a file that is not there is a FootageError", () =>
    Effect.gen(function*() {
      expect(yield* failure(probeHeic(Path.join(dir, "missing.heic")))).toMatch(/^the file could not be read: /)
    }))

  it("EXIF that is missing or malformed gives no time, never an exception", async () => {
    const bytes = new Uint8Array(await Fs.readFile(SAMPLE))
    expect(exifCreatedAt(bytes)).toBe("2024-05-12T11:30:05.000Z")
    expect(exifCreatedAt(new Uint8Array(0))).toBeNull()
    expect(exifCreatedAt(bytes.subarray(0, 300))).toBeNull()
    // every byte of the header boxes changed in turn: each gives a time or none, and never throws
    const meta = Math.min(bytes.length, 600)
    for (let at = 0; at < meta; at++) {
      const mangled = Uint8Array.from(bytes)
      mangled[at] = mangled[at]! ^ 0xff
      const time = exifCreatedAt(mangled)
      expect(time === null || typeof time === "string").toBe(true)
    }
  })
})
