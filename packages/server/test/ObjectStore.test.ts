import { describe, expect, it, type Vitest } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as Minio from "minio"
import { randomBytes } from "node:crypto"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import S3rver from "s3rver"
import type { S3Settings } from "../src/Config"
import { fileSystemLayer, ObjectStore } from "../src/images/ObjectStore"
import { makeS3Store, s3Layer } from "../src/images/S3ObjectStore"

const tempDir = (label: string) =>
  Effect.acquireRelease(
    Effect.promise(() => Fs.mkdtemp(Path.join(Os.tmpdir(), `chaverim-${label}-`))),
    (dir) => Effect.promise(() => Fs.rm(dir, { recursive: true, force: true }))
  )

const unique = (label: string) => `${label}-${randomBytes(4).toString("hex")}`

const listAll = (prefix: string) =>
  Effect.flatMap(ObjectStore, (store) => Stream.runCollect(store.list(prefix))).pipe(
    Effect.map((keys) => Chunk.toReadonlyArray(keys).slice().sort())
  )

/** The folder the filesystem store writes under. */
class StoreRoot extends Context.Tag("test/StoreRoot")<StoreRoot, string>() {}

/** Settings that reach the s3rver started for this file. */
class S3rverSettings extends Context.Tag("test/S3rverSettings")<S3rverSettings, S3Settings>() {}

const FileSystemStoreTest = Layer.unwrapEffect(Effect.map(StoreRoot, fileSystemLayer)).pipe(
  Layer.provideMerge(Layer.scoped(StoreRoot, tempDir("fs-store")))
)

const S3rverTest = Layer.scoped(
  S3rverSettings,
  Effect.gen(function*() {
    const directory = yield* tempDir("s3rver")
    const server = new S3rver({ address: "127.0.0.1", port: 0, directory, silent: true })
    const address = yield* Effect.acquireRelease(
      Effect.promise(() => server.run()),
      () => Effect.promise(() => server.close())
    )
    return {
      endpoint: `http://127.0.0.1:${address.port}`,
      accessKey: Redacted.make("S3RVER"),
      secretKey: Redacted.make("S3RVER"),
      bucket: "evidence",
      region: "us-east-1"
    }
  })
)

const S3StoreTest = Layer.unwrapEffect(Effect.map(S3rverSettings, s3Layer)).pipe(Layer.provideMerge(S3rverTest))

/** What every ObjectStore must do, whatever holds the bytes. */
const behaviours = (it: Vitest.MethodsNonLive<ObjectStore>) => {
  it.effect("get returns the bytes put, for small and large binary objects", () =>
    Effect.gen(function*() {
      const store = yield* ObjectStore
      const everyByte = Uint8Array.from({ length: 256 }, (_, i) => i)
      const photo = new Uint8Array(randomBytes(200 * 1024))

      yield* store.put("2026/05/01/c1/d1/bytes.bin", everyByte, "application/octet-stream")
      yield* store.put("2026/05/01/c1/d1/plate.jpg", photo, "image/jpeg")

      expect(yield* store.get("2026/05/01/c1/d1/bytes.bin")).toEqual(everyByte)
      const back = yield* store.get("2026/05/01/c1/d1/plate.jpg")
      expect(back.byteLength).toBe(photo.byteLength)
      expect(Buffer.from(back).equals(Buffer.from(photo))).toBe(true)
    }))

  it.effect("putFile stores a file streamed, and getFile writes it back to a file, byte for byte", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* ObjectStore
      const dir = yield* tempDir("files")
      // larger than one S3 part (minio's client streams 64 MiB parts; this crosses a chunk boundary of the stream)
      const body = randomBytes(9 * 1024 * 1024 + 17)
      yield* Effect.promise(() => Fs.writeFile(Path.join(dir, "clip.mp4"), body))
      yield* store.putFile("footage/2026/12/07/f1/original.mp4", Path.join(dir, "clip.mp4"), "video/mp4")
      yield* store.getFile("footage/2026/12/07/f1/original.mp4", Path.join(dir, "back.mp4"))
      const back = yield* Effect.promise(() => Fs.readFile(Path.join(dir, "back.mp4")))
      expect(back.equals(body)).toBe(true)
      const missing = yield* Effect.flip(store.getFile("footage/2026/12/07/none/original.mp4", Path.join(dir, "none.mp4")))
      expect(missing._tag).toBe("ObjectNotFound")
      const refused = yield* Effect.flip(store.putFile("../escape.mp4", Path.join(dir, "clip.mp4"), "video/mp4"))
      expect(refused._tag).toBe("ObjectStoreError")
    })))

  it.effect("a second put replaces the object", () =>
    Effect.gen(function*() {
      const store = yield* ObjectStore
      yield* store.put("replace/plate.jpg", new Uint8Array([1, 2, 3]), "image/jpeg")
      yield* store.put("replace/plate.jpg", new Uint8Array([4, 5]), "image/jpeg")
      expect(yield* store.get("replace/plate.jpg")).toEqual(new Uint8Array([4, 5]))
    }))

  it.effect("remove takes the object away, leaves its neighbours, and a missing key is no error", () =>
    Effect.gen(function*() {
      const store = yield* ObjectStore
      yield* store.put("remove/2026/d1/plate.jpg", new Uint8Array([1]), "image/jpeg")
      yield* store.put("remove/2026/d2/plate.jpg", new Uint8Array([2]), "image/jpeg")
      yield* store.remove("remove/2026/d1/plate.jpg")
      expect((yield* Effect.flip(store.get("remove/2026/d1/plate.jpg")))._tag).toBe("ObjectNotFound")
      expect(yield* store.get("remove/2026/d2/plate.jpg")).toEqual(new Uint8Array([2]))
      yield* store.remove("remove/2026/d1/plate.jpg")
      expect(yield* listAll("remove")).toEqual(["remove/2026/d2/plate.jpg"])
      expect((yield* Effect.flip(store.remove("../escape.jpg")))._tag).toBe("ObjectStoreError")
    }))

  it.effect("get of a missing key fails with ObjectNotFound", () =>
    Effect.gen(function*() {
      const store = yield* ObjectStore
      const error = yield* Effect.flip(store.get("2026/01/01/nobody/nothing.jpg"))
      expect(error._tag).toBe("ObjectNotFound")
      expect(error).toMatchObject({ key: "2026/01/01/nobody/nothing.jpg" })
    }))

  it.effect("list returns exactly the keys under a prefix", () =>
    Effect.gen(function*() {
      const store = yield* ObjectStore
      const root = unique("list")
      const inside = [
        `${root}/2026/05/01/c1/d1/plate.jpg`,
        `${root}/2026/05/01/c1/d1/scene.jpg`,
        `${root}/2026/05/01/c2/d2/plate.jpg`
      ]
      // Same leading characters, different folder: must not be listed under `.../01`.
      const outside = [`${root}/2026/05/011/c1/d9/plate.jpg`, `${root}/2026/05/02/c1/d3/plate.jpg`]
      for (const key of [...inside, ...outside]) yield* store.put(key, new Uint8Array([7]), "image/jpeg")

      expect(yield* listAll(`${root}/2026/05/01`)).toEqual(inside.slice().sort())
      expect(yield* listAll(`${root}/2026/05/01/`)).toEqual(inside.slice().sort())
      expect(yield* listAll(`${root}/2026/05`)).toEqual([...inside, ...outside].sort())
      expect(yield* listAll(`${root}/2027`)).toEqual([])
    }))

  it.effect("keys that climb out or start at the root are refused", () =>
    Effect.gen(function*() {
      const store = yield* ObjectStore
      for (const key of ["../escape.jpg", "2026/../../escape.jpg", "2026/..", "/etc/passwd", "./plate.jpg", ""]) {
        const onPut = yield* Effect.flip(store.put(key, new Uint8Array([1]), "image/jpeg"))
        expect(onPut._tag, `put ${JSON.stringify(key)}`).toBe("ObjectStoreError")
        const onGet = yield* Effect.flip(store.get(key))
        expect(onGet._tag, `get ${JSON.stringify(key)}`).toBe("ObjectStoreError")
      }
    }))

  it.effect("ping succeeds", () => Effect.flatMap(ObjectStore, (store) => store.ping))
}

describe("ObjectStore", () => {
  it.layer(FileSystemStoreTest)("filesystem", (it) => {
    behaviours(it)

    it.effect("is the filesystem store", () =>
      Effect.map(ObjectStore, (store) => expect(store.kind).toBe("filesystem")))

    it.effect("a removal takes the folders it leaves empty, and no more", () =>
      Effect.gen(function*() {
        const store = yield* ObjectStore
        const root = yield* StoreRoot
        yield* store.put("empty/2026/01/c1/d1/plate.jpg", new Uint8Array([1]), "image/jpeg")
        yield* store.put("empty/2026/01/c1/d2/plate.jpg", new Uint8Array([2]), "image/jpeg")
        yield* store.remove("empty/2026/01/c1/d1/plate.jpg")
        const left = yield* Effect.promise(() => Fs.readdir(Path.join(root, "empty/2026/01/c1")))
        expect(left).toEqual(["d2"])
        yield* store.remove("empty/2026/01/c1/d2/plate.jpg")
        const exists = yield* Effect.promise(() => Fs.access(Path.join(root, "empty")).then(() => true, () => false))
        expect(exists).toBe(false)
        expect(yield* Effect.promise(() => Fs.access(root).then(() => true, () => false))).toBe(true)
      }))

    it.effect("a put leaves no temporary file behind", () =>
      Effect.gen(function*() {
        const store = yield* ObjectStore
        const root = yield* StoreRoot
        yield* store.put("tmp-check/d1/plate.jpg", new Uint8Array(randomBytes(4096)), "image/jpeg")
        yield* store.put("tmp-check/d1/plate.jpg", new Uint8Array([1, 2]), "image/jpeg")

        const files = yield* Effect.promise(() => Fs.readdir(Path.join(root, "tmp-check"), { recursive: true }))
        expect(files.filter((name) => name.endsWith(".tmp"))).toEqual([])
        expect(yield* Effect.promise(() => Fs.readFile(Path.join(root, "tmp-check/d1/plate.jpg")))).toEqual(
          Buffer.from([1, 2])
        )
      }))
  })

  it.layer(S3StoreTest)("s3 (s3rver)", (it) => {
    behaviours(it)

    it.effect("is the s3 store", () => Effect.map(ObjectStore, (store) => expect(store.kind).toBe("s3")))

    it.effect("creates the bucket when missing, and opens it again once it exists", () =>
      Effect.gen(function*() {
        const base = yield* S3rverSettings
        const settings = { ...base, bucket: unique("fresh") }
        const url = new URL(settings.endpoint)
        const admin = new Minio.Client({
          endPoint: url.hostname,
          port: Number(url.port),
          useSSL: false,
          pathStyle: true,
          region: settings.region,
          accessKey: "S3RVER",
          secretKey: "S3RVER"
        })
        expect(yield* Effect.promise(() => admin.bucketExists(settings.bucket))).toBe(false)

        const first = yield* makeS3Store(settings)
        expect(yield* Effect.promise(() => admin.bucketExists(settings.bucket))).toBe(true)
        yield* first.put("d1/plate.jpg", new Uint8Array([9, 8, 7]), "image/jpeg")
        const stat = yield* Effect.promise(() => admin.statObject(settings.bucket, "d1/plate.jpg"))
        expect(stat.metaData["content-type"]).toBe("image/jpeg")

        const second = yield* makeS3Store(settings)
        yield* second.ping
        expect(yield* second.get("d1/plate.jpg")).toEqual(new Uint8Array([9, 8, 7]))
      }))

    it.effect("unknown credentials fail with ObjectStoreError that does not reveal the keys", () =>
      Effect.gen(function*() {
        const base = yield* S3rverSettings
        // s3rver does not verify v4 signatures, only that the access key is known.
        const accessKey = "wrong-access-7d2e"
        const secretKey = "wrong-secret-4f1c9a"
        const error = yield* Effect.flip(makeS3Store({
          ...base,
          accessKey: Redacted.make(accessKey),
          secretKey: Redacted.make(secretKey)
        }))
        expect(error._tag).toBe("ObjectStoreError")
        for (const text of [error.message, String(error)]) {
          expect(text).not.toContain(accessKey)
          expect(text).not.toContain(secretKey)
        }
      }))

    it.effect("a malformed endpoint is refused without echoing credentials in it", () =>
      Effect.gen(function*() {
        const base = yield* S3rverSettings
        for (const endpoint of ["hunter2", "ftp://user:hunter2@minio", "http://user:hunter2@minio:9000/a/path"]) {
          const error = yield* Effect.flip(makeS3Store({ ...base, endpoint }))
          expect(error._tag, endpoint).toBe("ObjectStoreError")
          expect(error.message, endpoint).not.toContain("hunter2")
        }
      }))
  })
})
