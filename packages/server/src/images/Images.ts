import type { ImageKind } from "@chaverim/domain/Detection"
import { ImageIntegrityError, NotFound } from "@chaverim/domain/Errors"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { sha256Hex } from "../crypto/Tokens"
import { orBug } from "../db/Rows"
import { ObjectStore } from "./ObjectStore"

/**
 * The links of a read's stored images, as search results, timelines, alerts and the live feed give
 * them; `kinds` as `array_agg(kind)` over its detection_images rows (NULL when it has none).
 */
export const imageLinks = (detectionId: string, kinds: ReadonlyArray<string> | null) => {
  const stored = new Set(kinds ?? [])
  return {
    ...(stored.has("plate") ? { plate: `/api/v1/detections/${detectionId}/images/plate` } : {}),
    ...(stored.has("scene") ? { scene: `/api/v1/detections/${detectionId}/images/scene` } : {})
  }
}

export interface IncomingImage {
  readonly kind: ImageKind
  readonly contentType: string
  readonly bytes: Uint8Array
}

/** What `detection_images` records of a stored image. */
export interface StoredImage {
  readonly kind: ImageKind
  readonly object_key: string
  readonly content_type: string
  readonly size_bytes: number
  readonly sha256: string
}

/** What reading an image back needs of its `detection_images` row. */
const ImageRow = Schema.Struct({ object_key: Schema.String, content_type: Schema.String, sha256: Schema.String })

const EXTENSIONS: Record<string, string> = {
  "image/jpeg": "jpg",
  "image/png": "png",
  "image/webp": "webp",
  "image/gif": "gif"
}

/** Collector-chosen ids become one safe path segment, reversibly (`=XX` per escaped byte). */
export const keySegment = (id: string): string =>
  Array.from(new TextEncoder().encode(id), (b) => {
    const c = String.fromCharCode(b)
    return /[A-Za-z0-9_-]/.test(c) ? c : `=${b.toString(16).toUpperCase().padStart(2, "0")}`
  }).join("")

/**
 * Key by date, collector and detection. The content hash is part of the name, so a re-sent image
 * with other bytes can never overwrite the one the evidence row vouches for.
 */
export const imageKey = (
  detectedAt: Date,
  collectorId: string,
  detectionId: string,
  kind: ImageKind,
  sha256: string,
  contentType: string
): string => {
  const y = detectedAt.getUTCFullYear()
  const m = String(detectedAt.getUTCMonth() + 1).padStart(2, "0")
  const d = String(detectedAt.getUTCDate()).padStart(2, "0")
  const ext = EXTENSIONS[contentType] ?? "bin"
  return `detections/${y}/${m}/${d}/${collectorId}/${keySegment(detectionId)}/${kind}-${sha256.slice(0, 16)}.${ext}`
}

/** Evidence photos: written to the object store, vouched for by SHA-256 in the database. */
export class Images extends Effect.Service<Images>()("@chaverim/server/Images", {
  effect: Effect.gen(function*() {
    const store = yield* ObjectStore
    const sql = yield* SqlClient.SqlClient

    /** Writes the object; the caller records the returned row in the detection's transaction. */
    const put = Effect.fn("Images.put")(function*(
      collectorId: string,
      detectionId: string,
      detectedAt: Date,
      image: IncomingImage
    ) {
      const sha256 = sha256Hex(image.bytes)
      const key = imageKey(detectedAt, collectorId, detectionId, image.kind, sha256, image.contentType)
      yield* store.put(key, image.bytes, image.contentType)
      return {
        kind: image.kind,
        object_key: key,
        content_type: image.contentType,
        size_bytes: image.bytes.byteLength,
        sha256
      } satisfies StoredImage
    })

    const imageOf = SqlSchema.findOne({
      Request: Schema.Struct({ detectionRowId: Schema.Number, kind: Schema.String }),
      Result: ImageRow,
      execute: ({ detectionRowId, kind }) =>
        sql`
          SELECT object_key, content_type, sha256 FROM detection_images
           WHERE detection_id = ${detectionRowId} AND kind = ${kind}`
    })

    /** The image bytes, refused unless they still hash to what was recorded at ingest. */
    const read = Effect.fn("Images.read")(function*(detectionRowId: number, kind: ImageKind) {
      const found = yield* orBug(imageOf({ detectionRowId, kind }))
      if (Option.isNone(found)) return yield* new NotFound({ message: `detection ${detectionRowId} has no ${kind} image` })
      const row = found.value
      const bytes = yield* store.get(row.object_key).pipe(
        Effect.catchTag("ObjectNotFound", () =>
          Effect.logError("evidence image missing from the object store").pipe(
            Effect.annotateLogs({ key: row.object_key }),
            Effect.zipRight(new ImageIntegrityError({ message: "the stored image is missing from the object store" }))
          ))
      )
      if (sha256Hex(bytes) !== row.sha256) {
        yield* Effect.logError("evidence image failed its integrity check").pipe(Effect.annotateLogs({ key: row.object_key }))
        return yield* new ImageIntegrityError({ message: "the stored image no longer matches its recorded SHA-256" })
      }
      return { bytes, contentType: row.content_type }
    })

    const recorded = SqlSchema.findAll({
      Request: Schema.Array(Schema.String),
      Result: Schema.Struct({ object_key: Schema.String }),
      execute: (keys) => sql`SELECT object_key FROM detection_images WHERE object_key IN ${sql.in(keys)}`
    })

    /**
     * Objects that no database row points at: left when a server stopped between writing an image
     * and committing its detection. Reported, never deleted here: that is an operator's decision.
     */
    const orphans = (prefix = "detections/") =>
      store.list(prefix).pipe(
        Stream.grouped(500),
        Stream.mapEffect((keys) =>
          Effect.map(
            orBug(recorded(Chunk.toReadonlyArray(keys))),
            (rows) => {
              const known = new Set(rows.map((r) => r.object_key))
              return Chunk.filter(keys, (k) => !known.has(k))
            }
          )
        ),
        Stream.flattenChunks
      )

    return { put, read, orphans }
  })
}) {}
