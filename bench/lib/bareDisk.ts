import { randomBytes } from "node:crypto"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"

/**
 * The disk's limit beside the server's photo figures: the same photos written to the same disk the
 * way the filesystem store writes them (packages/server/src/images/ObjectStore.ts: a directory per
 * read, a temporary file written, synced, closed and renamed into place), with nothing else: no HTTP,
 * no multipart, no hashing, no database. `inFlight` writers at once, each taking the next read's
 * photos in turn, for `seconds`.
 */
export const measureBareDisk = async (
  dir: string,
  settings: { readonly photoBytes: ReadonlyArray<number>; readonly inFlight: number; readonly seconds: number; readonly stop: AbortSignal }
): Promise<{ readonly reads: number; readonly bytes: number; readonly seconds: number }> => {
  const photos = settings.photoBytes.map((size) => randomBytes(size))
  const perRead = photos.reduce((n, p) => n + p.length, 0)
  await Fs.mkdir(dir, { recursive: true })
  let reads = 0
  let next = 0
  const started = performance.now()
  const until = started + settings.seconds * 1000
  const writeDurably = async (target: string, body: Buffer) => {
    const temp = `${target}.${randomBytes(6).toString("hex")}.tmp`
    const handle = await Fs.open(temp, "wx", 0o640)
    try {
      await handle.writeFile(body)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await Fs.rename(temp, target)
  }
  const writer = async () => {
    while (performance.now() < until && !settings.stop.aborted) {
      const read = Path.join(dir, String(Math.floor(next / 1000)), `r${next++}`)
      await Fs.mkdir(read, { recursive: true })
      await Promise.all(photos.map((photo, i) => writeDurably(Path.join(read, `${i}.jpg`), photo)))
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
