import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import type { CameraRead } from "../src/adapters/CameraRead"
import { makeBuffer } from "../src/buffer/Buffer"
import { pauseForBackpressure } from "../src/uploader/Uploader"

const tempDir = () => Fs.mkdtempSync(Path.join(Os.tmpdir(), "alpr-buffer-"))

let n = 0
const cameraRead = (imageBytes = 0): CameraRead => {
  n++
  return {
    detection: {
      detection_id: `buf-${n}`,
      timestamp: new Date().toISOString(),
      camera: { id: "cam", mac: "AA:BB:CC:DD:EE:FF" },
      plate: { text: `AB${n}`, confidence: 0.9 }
    },
    images: imageBytes === 0 ? [] : [{ kind: "plate", contentType: "image/jpeg", bytes: new Uint8Array(imageBytes).fill(n % 256) }]
  }
}

const withBuffer = <A, E>(dir: string, use: (b: Effect.Effect.Success<ReturnType<typeof makeBuffer>>) => Effect.Effect<A, E>, quotaBytes = 1e9) =>
  Effect.scoped(Effect.flatMap(makeBuffer({ dir, retentionDays: 7, quotaBytes }), use))

describe("the read buffer", () => {
  it.effect("keeps reads and photos across a reopen, pending until uploaded", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const reads = [cameraRead(2_000), cameraRead(), cameraRead(500)]
      expect(yield* withBuffer(dir, (b) => b.add(reads))).toEqual({ added: 3, duplicates: 0 })
      const pending = yield* withBuffer(dir, (b) => b.pending(10))
      expect(pending.map((p) => p.detection.detection_id)).toEqual(reads.map((r) => r.detection.detection_id))
      expect(pending[0]!.images).toHaveLength(1)
      expect(Fs.readFileSync(pending[0]!.images[0]!.path)).toEqual(Buffer.from(reads[0]!.images[0]!.bytes))
      yield* withBuffer(dir, (b) => b.uploaded([pending[0]!.seq, pending[1]!.seq]))
      const stats = yield* withBuffer(dir, (b) => b.stats)
      expect(stats).toMatchObject({ pending: 1, uploaded: 2, quarantined: 0 })
    }))

  it.effect("counts a re-sent read as a duplicate", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const read = cameraRead(100)
      yield* withBuffer(dir, (b) => b.add([read]))
      expect(yield* withBuffer(dir, (b) => b.add([read]))).toEqual({ added: 0, duplicates: 1 })
    }))

  it.effect("quarantines rejected reads with the reason and never offers them again", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const reads = [cameraRead(100), cameraRead()]
      yield* withBuffer(dir, (b) =>
        Effect.gen(function*() {
          yield* b.add(reads)
          const [first] = yield* b.pending(10)
          yield* b.quarantine([{ seq: first!.seq, reason: "plate: too long" }])
          expect((yield* b.pending(10)).map((p) => p.detection.detection_id)).toEqual([reads[1]!.detection.detection_id])
          expect(yield* b.quarantined).toMatchObject([{ detection_id: reads[0]!.detection.detection_id, reason: "plate: too long" }])
          // A camera re-sending the quarantined read does not bring it back.
          expect(yield* b.add([reads[0]!])).toEqual({ added: 0, duplicates: 1 })
        }))
    }))

  it.effect("prunes uploaded reads after the retention period, never pending ones", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      yield* withBuffer(dir, (b) =>
        Effect.gen(function*() {
          yield* b.add([cameraRead(300), cameraRead(300)])
          const [first] = yield* b.pending(10)
          yield* b.uploaded([first!.seq])
          expect(yield* b.prune(Date.now() + 6 * 86_400_000)).toBe(0)
          expect(yield* b.prune(Date.now() + 8 * 86_400_000)).toBe(1)
          expect(Fs.existsSync(first!.images[0]!.path)).toBe(false)
          expect(yield* b.stats).toMatchObject({ pending: 1, uploaded: 0 })
        }))
    }))

  it.effect("at the quota, makes room from uploaded reads, then refuses new reads and keeps the pending ones", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      // The empty database itself takes some pages; leave room for about four 100 KB reads beyond it.
      const base = yield* withBuffer(dir, (b) => Effect.map(b.stats, (s) => s.usedBytes))
      const quota = base + 450_000
      yield* withBuffer(dir, (b) =>
        Effect.gen(function*() {
          yield* b.add([cameraRead(100_000), cameraRead(100_000)])
          const pending = yield* b.pending(10)
          yield* b.uploaded([pending[0]!.seq])
          yield* b.add([cameraRead(100_000), cameraRead(100_000)])
          // Full: the uploaded read goes to make room for this one.
          yield* b.add([cameraRead(100_000)])
          expect(yield* b.stats).toMatchObject({ uploaded: 0, pending: 4 })
          const refused = yield* Effect.flip(b.add([cameraRead(100_000)]))
          expect(refused._tag).toBe("BufferFull")
          expect((yield* b.stats).pending).toBe(4)
        }), quota)
    }))
})

describe("the uploader's pacing", () => {
  it("pauses only when the server is under real pressure", () => {
    expect(pauseForBackpressure(0.3)).toBe(0)
    expect(pauseForBackpressure(0.75)).toBe(1_000)
    expect(pauseForBackpressure(1)).toBe(2_000)
  })
})
