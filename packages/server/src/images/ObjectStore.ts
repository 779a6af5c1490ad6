import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { randomBytes } from "node:crypto"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"

export class ObjectStoreError extends Data.TaggedError("ObjectStoreError")<{
  readonly message: string
  readonly cause?: unknown
}> {}

export class ObjectNotFound extends Data.TaggedError("ObjectNotFound")<{ readonly key: string }> {}

/**
 * Where evidence photos live: MinIO/S3 in production, the local filesystem by default. Keys are
 * relative paths (`2026/05/01/<collector>/<detection>/plate.jpg`); writes are durable when `put`
 * succeeds.
 */
export interface ObjectStoreShape {
  readonly kind: "s3" | "filesystem"
  readonly put: (key: string, body: Uint8Array, contentType: string) => Effect.Effect<void, ObjectStoreError>
  readonly get: (key: string) => Effect.Effect<Uint8Array, ObjectStoreError | ObjectNotFound>
  /** Stores the file at `path` under `key`, streamed (footage may be gigabytes): durable when it succeeds. */
  readonly putFile: (key: string, path: string, contentType: string) => Effect.Effect<void, ObjectStoreError>
  /** Writes the object to the file at `path`, streamed. */
  readonly getFile: (key: string, path: string) => Effect.Effect<void, ObjectStoreError | ObjectNotFound>
  /**
   * Removes the object; one that is not there is not an error (a removal repeated after a crash). On
   * disk the folders it leaves empty go too, up to the store's root.
   */
  readonly remove: (key: string) => Effect.Effect<void, ObjectStoreError>
  /** Every key under a prefix, in no particular order. */
  readonly list: (prefix: string) => Stream.Stream<string, ObjectStoreError>
  /** Succeeds when the store answers. */
  readonly ping: Effect.Effect<void, ObjectStoreError>
}

export class ObjectStore extends Context.Tag("@chaverim/server/ObjectStore")<ObjectStore, ObjectStoreShape>() {}

const SAFE_KEY = /^(?!\/)(?!.*(?:^|\/)\.\.?(?:\/|$))[\w.\-/:=@]+$/

export const validateKey = (key: string): Effect.Effect<string, ObjectStoreError> =>
  SAFE_KEY.test(key) && key.length <= 1024
    ? Effect.succeed(key)
    : Effect.fail(new ObjectStoreError({ message: `invalid object key: ${JSON.stringify(key)}` }))

/** The filesystem store: each object a file under `root`, written to a temporary name, synced, renamed. */
export const makeFileSystemStore = (root: string): Effect.Effect<ObjectStoreShape, ObjectStoreError> =>
  Effect.gen(function*() {
    const base = Path.resolve(root)
    yield* Effect.tryPromise({
      try: () => Fs.mkdir(base, { recursive: true }),
      catch: (cause) => new ObjectStoreError({ message: `cannot create ${base}`, cause })
    })

    /**
     * Writes an object durably: `fill` writes a temporary file beside it (its handle open for writing),
     * which is synced and renamed into place; a failed write leaves no temporary file behind.
     */
    const writeDurably = (key: string, fill: (temp: string, handle: Fs.FileHandle) => Promise<void>) =>
      Effect.flatMap(validateKey(key), (k) =>
        Effect.tryPromise({
          try: async () => {
            const target = Path.join(base, k)
            await Fs.mkdir(Path.dirname(target), { recursive: true })
            const temp = `${target}.${randomBytes(6).toString("hex")}.tmp`
            const handle = await Fs.open(temp, "wx", 0o640)
            try {
              try {
                await fill(temp, handle)
                await handle.sync()
              } finally {
                await handle.close()
              }
              await Fs.rename(temp, target)
            } catch (e) {
              await Fs.rm(temp, { force: true })
              throw e
            }
          },
          catch: (cause) => new ObjectStoreError({ message: `cannot write object ${k}`, cause })
        }))

    const put: ObjectStoreShape["put"] = (key, body) => writeDurably(key, (_temp, handle) => handle.writeFile(body))

    const get: ObjectStoreShape["get"] = (key) =>
      Effect.flatMap(validateKey(key), (k) =>
        Effect.tryPromise({
          try: () => Fs.readFile(Path.join(base, k)),
          catch: (cause) =>
            (cause as NodeJS.ErrnoException)?.code === "ENOENT"
              ? new ObjectNotFound({ key: k })
              : new ObjectStoreError({ message: `cannot read object ${k}`, cause })
        }).pipe(Effect.map((buffer) => new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength))))

    // copied onto the open temporary file, so that it is synced before it takes the object's name
    const putFile: ObjectStoreShape["putFile"] = (key, path) => writeDurably(key, (temp) => Fs.copyFile(path, temp))

    const getFile: ObjectStoreShape["getFile"] = (key, path) =>
      Effect.flatMap(validateKey(key), (k) =>
        Effect.tryPromise({
          try: () => Fs.copyFile(Path.join(base, k), path),
          catch: (cause) =>
            (cause as NodeJS.ErrnoException)?.code === "ENOENT"
              ? new ObjectNotFound({ key: k })
              : new ObjectStoreError({ message: `cannot read object ${k}`, cause })
        }))

    const remove: ObjectStoreShape["remove"] = (key) =>
      Effect.flatMap(validateKey(key), (k) =>
        Effect.tryPromise({
          try: async () => {
            const target = Path.join(base, k)
            await Fs.rm(target, { force: true })
            // A read's folder and the date folders above it, once empty; a folder another object is
            // being written into is not empty (or is made again by that write).
            for (let dir = Path.dirname(target); dir.startsWith(base + Path.sep); dir = Path.dirname(dir)) {
              try {
                await Fs.rmdir(dir)
              } catch {
                break
              }
            }
          },
          catch: (cause) => new ObjectStoreError({ message: `cannot remove object ${k}`, cause })
        }))

    const list: ObjectStoreShape["list"] = (prefix) =>
      prefix === "" ? Stream.empty : Stream.unwrap(Effect.map(validateKey(prefix), (prefix) => Stream.fromAsyncIterable(
        (async function*() {
          const start = Path.join(base, prefix)
          const walk = async function*(dir: string): AsyncGenerator<string> {
            let entries: Array<import("node:fs").Dirent>
            try {
              entries = await Fs.readdir(dir, { withFileTypes: true })
            } catch (e) {
              if ((e as NodeJS.ErrnoException).code === "ENOENT") return
              throw e
            }
            for (const entry of entries) {
              const full = Path.join(dir, entry.name)
              if (entry.isDirectory()) yield* walk(full)
              else if (entry.isFile() && !entry.name.endsWith(".tmp")) yield Path.relative(base, full).split(Path.sep).join("/")
            }
          }
          yield* walk(start)
        })(),
        (cause) => new ObjectStoreError({ message: `cannot list objects under ${prefix}`, cause })
      )))

    const ping = Effect.tryPromise({
      try: () => Fs.access(base, Fs.constants.R_OK | Fs.constants.W_OK),
      catch: (cause) => new ObjectStoreError({ message: `object folder ${base} is not writable`, cause })
    })

    return { kind: "filesystem", put, get, putFile, getFile, remove, list, ping } satisfies ObjectStoreShape
  })

export const fileSystemLayer = (root: string) => Layer.effect(ObjectStore, makeFileSystemStore(root))
