import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as Minio from "minio"
import type { S3Settings } from "../Config"
import { ObjectNotFound, ObjectStore, ObjectStoreError, type ObjectStoreShape, validateKey } from "./ObjectStore"

const s3Code = (cause: unknown): string | undefined =>
  typeof cause === "object" && cause !== null && "code" in cause && typeof cause.code === "string"
    ? cause.code
    : undefined

const clientOptions = (settings: S3Settings): Effect.Effect<Minio.ClientOptions, ObjectStoreError> =>
  Effect.gen(function*() {
    // The endpoint is not echoed back: a URL may carry credentials in its user-info part.
    const url = yield* Effect.try({
      try: () => new URL(settings.endpoint),
      catch: () => new ObjectStoreError({ message: "S3 endpoint is not a valid URL" })
    })
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      return yield* new ObjectStoreError({ message: `S3 endpoint must be http or https, not ${url.protocol}` })
    }
    if (url.pathname !== "/" && url.pathname !== "") {
      return yield* new ObjectStoreError({ message: "S3 endpoint must not have a path; the bucket is set separately" })
    }
    const useSSL = url.protocol === "https:"
    return {
      endPoint: url.hostname,
      port: url.port === "" ? (useSSL ? 443 : 80) : Number(url.port),
      useSSL,
      // MinIO and S3-compatible servers on a bare host have no DNS per bucket.
      pathStyle: true,
      region: settings.region,
      accessKey: Redacted.value(settings.accessKey),
      secretKey: Redacted.value(settings.secretKey)
    }
  })

/** The S3 store (MinIO in production): one bucket, created on start when missing. */
export const makeS3Store = (settings: S3Settings): Effect.Effect<ObjectStoreShape, ObjectStoreError> =>
  Effect.gen(function*() {
    const options = yield* clientOptions(settings)
    const where = `${options.endPoint}:${options.port}/${settings.bucket}`
    const client = yield* Effect.try({
      try: () => new Minio.Client(options),
      catch: (cause) =>
        new ObjectStoreError({ message: `invalid S3 settings for ${where}: ${(cause as Error)?.message}`, cause })
    })
    const { bucket } = settings

    const ensureBucket = Effect.tryPromise({
      try: async () => {
        if (await client.bucketExists(bucket)) return
        try {
          await client.makeBucket(bucket, settings.region)
        } catch (cause) {
          // Another server instance may have created it between the check and the create.
          if (s3Code(cause) !== "BucketAlreadyOwnedByYou") throw cause
        }
      },
      catch: (cause) =>
        new ObjectStoreError({ message: `cannot open S3 bucket ${where} (${s3Code(cause) ?? "unreachable"})`, cause })
    }).pipe(Effect.withSpan("S3ObjectStore.ensureBucket", { attributes: { bucket } }))

    yield* ensureBucket

    const put: ObjectStoreShape["put"] = Effect.fn("S3ObjectStore.put")(
      function*(key: string, body: Uint8Array, contentType: string) {
        const k = yield* validateKey(key)
        yield* Effect.tryPromise({
          try: () =>
            client.putObject(bucket, k, Buffer.from(body.buffer, body.byteOffset, body.byteLength), body.byteLength, {
              "Content-Type": contentType
            }),
          catch: (cause) => new ObjectStoreError({ message: `cannot write object ${k}`, cause })
        })
      }
    )

    const putFile: ObjectStoreShape["putFile"] = Effect.fn("S3ObjectStore.putFile")(
      function*(key: string, path: string, contentType: string) {
        const k = yield* validateKey(key)
        // fPutObject streams the file, in parts when it is large
        yield* Effect.tryPromise({
          try: () => client.fPutObject(bucket, k, path, { "Content-Type": contentType }),
          catch: (cause) => new ObjectStoreError({ message: `cannot write object ${k}`, cause })
        })
      }
    )

    const getFile: ObjectStoreShape["getFile"] = Effect.fn("S3ObjectStore.getFile")(function*(key: string, path: string) {
      const k = yield* validateKey(key)
      yield* Effect.tryPromise({
        try: () => client.fGetObject(bucket, k, path),
        catch: (cause) => {
          const code = s3Code(cause)
          return code === "NoSuchKey" || code === "NotFound"
            ? new ObjectNotFound({ key: k })
            : new ObjectStoreError({ message: `cannot read object ${k}`, cause })
        }
      })
    })

    const get: ObjectStoreShape["get"] = Effect.fn("S3ObjectStore.get")(function*(key: string) {
      const k = yield* validateKey(key)
      const buffer = yield* Effect.tryPromise({
        try: async (signal) => {
          const body = await client.getObject(bucket, k)
          signal.addEventListener("abort", () => body.destroy())
          const chunks: Array<Buffer> = []
          for await (const chunk of body) chunks.push(chunk as Buffer)
          return Buffer.concat(chunks)
        },
        catch: (cause) => {
          const code = s3Code(cause)
          return code === "NoSuchKey" || code === "NotFound"
            ? new ObjectNotFound({ key: k })
            : new ObjectStoreError({ message: `cannot read object ${k}`, cause })
        }
      })
      return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)
    })

    // S3 answers a removal of a missing key with success, as the contract wants.
    const remove: ObjectStoreShape["remove"] = Effect.fn("S3ObjectStore.remove")(function*(key: string) {
      const k = yield* validateKey(key)
      yield* Effect.tryPromise({
        try: () => client.removeObject(bucket, k),
        catch: (cause) => new ObjectStoreError({ message: `cannot remove object ${k}`, cause })
      })
    })

    // Keys are paths, so a prefix names a folder: "2026/05/0" must not match "2026/05/01/...", as on disk.
    const list: ObjectStoreShape["list"] = (prefix) => {
      const folder = prefix.replace(/\/+$/, "")
      const checked = folder === "" ? Effect.succeed("") : Effect.map(validateKey(folder), (f) => `${f}/`)
      return Stream.unwrap(Effect.map(checked, (s3Prefix) =>
        Stream.fromAsyncIterable(
          client.listObjectsV2(bucket, s3Prefix, true) as AsyncIterable<Minio.BucketItem>,
          (cause) => new ObjectStoreError({ message: `cannot list objects under ${prefix}`, cause })
        ))).pipe(
          // Recursive listings carry no common-prefix entries, but the item type allows them.
          Stream.filterMap((item) => Option.fromNullable(item.name)),
          Stream.withSpan("S3ObjectStore.list", { attributes: { prefix } })
        )
    }

    const ping = Effect.tryPromise({
      try: () => client.bucketExists(bucket),
      catch: (cause) => new ObjectStoreError({ message: `S3 bucket ${where} does not answer`, cause })
    }).pipe(
      Effect.filterOrFail(
        (exists) => exists,
        () => new ObjectStoreError({ message: `S3 bucket ${where} is gone` })
      ),
      Effect.asVoid,
      Effect.withSpan("S3ObjectStore.ping")
    )

    return { kind: "s3", put, get, putFile, getFile, remove, list, ping } satisfies ObjectStoreShape
  })

export const s3Layer = (settings: S3Settings) => Layer.effect(ObjectStore, makeS3Store(settings))
