import type * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"

/** The largest photo taken from an NVR or camera: a scene JPEG is well under this. */
export const MAX_PHOTO_BYTES = 4 * 1024 * 1024

/**
 * A photo's body read with a limit: refused by its declared length before reading, or as soon as the bytes
 * read pass the limit (a chunked answer declares none), so an answer of any size costs at most `max` bytes.
 */
export const boundedBody = (
  response: HttpClientResponse.HttpClientResponse,
  max: number = MAX_PHOTO_BYTES
): Effect.Effect<Uint8Array, HttpClientError.ResponseError | TooLarge> => {
  const declared = Number(response.headers["content-length"] ?? Number.NaN)
  if (Number.isFinite(declared) && declared > max) return Effect.fail(new TooLarge(declared, max))
  return response.stream.pipe(
    Stream.runFoldEffect({ chunks: [] as Array<Uint8Array>, size: 0 }, (acc, chunk) => {
      const size = acc.size + chunk.length
      if (size > max) return Effect.fail(new TooLarge(size, max))
      acc.chunks.push(chunk)
      return Effect.succeed({ chunks: acc.chunks, size })
    }),
    Effect.map(({ chunks, size }) => {
      const bytes = new Uint8Array(size)
      let at = 0
      for (const chunk of chunks) {
        bytes.set(chunk, at)
        at += chunk.length
      }
      return bytes
    })
  )
}

export class TooLarge extends Data.TaggedError("TooLarge")<{ readonly bytes: number; readonly max: number }> {
  constructor(bytes: number, max: number) {
    super({ bytes, max })
  }
  override get message() {
    return `the photo is larger than ${this.max} bytes (${this.bytes} declared or read)`
  }
}
