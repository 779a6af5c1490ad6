import { makeFileSystemStore } from "@chaverim/server/images/ObjectStore"
import * as Effect from "effect/Effect"
import { randomBytes } from "node:crypto"
import * as Fs from "node:fs/promises"

/**
 * The disk's limit beside the server's photo figures: the same photos written to the same disk by the
 * server's own filesystem store (packages/server/src/images/ObjectStore.ts: a directory per read, a
 * temporary file written, synced, closed and renamed into place), with nothing else: no HTTP, no
 * multipart, no hashing, no database. `inFlight` writers at once, each taking the next read's photos
 * in turn, for `seconds`.
 */
export const measureBareDisk = async (
  dir: string,
  settings: { readonly photoBytes: ReadonlyArray<number>; readonly inFlight: number; readonly seconds: number; readonly stop: AbortSignal }
): Promise<{ readonly reads: number; readonly bytes: number; readonly seconds: number }> => {
  const photos = settings.photoBytes.map((size) => new Uint8Array(randomBytes(size)))
  const perRead = photos.reduce((n, p) => n + p.length, 0)
  const store = await Effect.runPromise(makeFileSystemStore(dir))
  let reads = 0
  let next = 0
  const started = performance.now()
  const until = started + settings.seconds * 1000
  const writer = async () => {
    while (performance.now() < until && !settings.stop.aborted) {
      const read = `${Math.floor(next / 1000)}/r${next++}`
      await Promise.all(photos.map((photo, i) => Effect.runPromise(store.put(`${read}/${i}.jpg`, photo, "image/jpeg"))))
      reads++
    }
  }
  try {
    await Promise.all(Array.from({ length: settings.inFlight }, writer))
    const seconds = (performance.now() - started) / 1000
    return { reads, bytes: reads * perRead, seconds }
  } finally {
    await Fs.rm(dir, { recursive: true, force: true })
  }
}
