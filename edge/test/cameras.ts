import { Detection } from "@chaverim/domain/Detection"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import type { CameraContext, CameraRead, Parsed, PayloadError, Vendor } from "../src/adapters/CameraRead"
import { parsePayload } from "../src/adapters/parse"

/** Helpers for tests that feed camera payloads to the adapters. */

/** The repository root, where `npm run edge` runs. */
export const ROOT = fileURLToPath(new URL("../../", import.meta.url))

/**
 * Real payloads published by others (see SOURCES.md there); read-only, kept beside the checkout in
 * `../shared/fixtures/cameras`. `ALPR_CAMERA_FIXTURES` names another place; a clone made elsewhere
 * on the same machine finds them under /work/shared. Missing fixtures fail the tests loudly.
 */
export const FIXTURES = ((): string => {
  const candidates = [
    process.env["ALPR_CAMERA_FIXTURES"],
    Path.resolve(ROOT, "../shared/fixtures/cameras"),
    "/work/shared/fixtures/cameras"
  ].filter((c): c is string => c !== undefined)
  const found = candidates.find((c) => Fs.existsSync(Path.join(c, "SOURCES.md")))
  if (found === undefined) throw new Error(`camera fixtures not found; looked in ${candidates.join(", ")}`)
  return found
})()

export const fixturePath = (name: string): string => Path.join(FIXTURES, name)
export const fixture = (name: string): Uint8Array => Fs.readFileSync(fixturePath(name))
export const fixtureText = (name: string): string => Fs.readFileSync(fixturePath(name), "utf8")

export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)
export const json = (value: unknown): Uint8Array => utf8(JSON.stringify(value))

/** Bytes that look like a JPEG of `size` bytes: the start and end markers real photos have. */
export const fakeJpeg = (size: number): Uint8Array => {
  const bytes = new Uint8Array(size).fill(0x42)
  bytes.set([0xff, 0xd8, 0xff, 0xe0], 0)
  bytes.set([0xff, 0xd9], size - 2)
  return bytes
}

export const base64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString("base64")

export interface Part {
  readonly name: string
  readonly filename?: string
  readonly type: string
  readonly body: Uint8Array
}

/** A multipart/form-data body as Node's own (WHATWG) encoder writes it, with its Content-Type. */
export const formData = async (parts: ReadonlyArray<Part>): Promise<{ body: Uint8Array; contentType: string }> => {
  const form = new FormData()
  for (const part of parts) form.append(part.name, new Blob([Buffer.from(part.body)], { type: part.type }), part.filename ?? part.name)
  const response = new Response(form)
  return { body: new Uint8Array(await response.arrayBuffer()), contentType: response.headers.get("content-type") ?? "" }
}

export type Result = Either.Either<Parsed, PayloadError>

export const parse = (
  vendor: Vendor,
  body: Uint8Array | string,
  ctx: CameraContext = {},
  contentType?: string
): Result => parsePayload(vendor, typeof body === "string" ? utf8(body) : body, contentType, ctx)

/** The reads of a payload the adapter accepted; each detection is checked against the domain schema. */
export const accepted = (result: Result): Parsed => {
  const parsed = Either.getOrThrowWith(result, (e) => new Error(`refused: ${e.message}`))
  for (const read of parsed.reads) {
    const checked = Schema.decodeUnknownEither(Detection)(read.detection)
    if (Either.isLeft(checked)) throw new Error(`not a valid Detection: ${checked.left.message}`)
  }
  return parsed
}

/** The message of a payload the adapter refused. */
export const refusal = (result: Result): string =>
  Either.match(result, {
    onLeft: (e) => e.message,
    onRight: (p) => {
      throw new Error(`accepted, with ${p.reads.length} reads`)
    }
  })

export const detections = (result: Result): ReadonlyArray<Detection> => accepted(result).reads.map((r) => r.detection)

export const onlyDetection = (result: Result): Detection => {
  const all = detections(result)
  if (all.length !== 1) throw new Error(`expected one read, got ${all.length}`)
  return all[0]!
}

export const imagesOf = (read: CameraRead | undefined) =>
  (read?.images ?? []).map((i) => ({ kind: i.kind, contentType: i.contentType, size: i.bytes.byteLength }))

/** The Detection in hikvision/parkpow_hikvision_lpr_anpr.xml, exactly as it is uploaded. */
export const HIKVISION_ANPR_DETECTION = {
  detection_id: "hikvision:2024011911172144900FlERIduqg06eKsYuvLX072NugIxaHw22mHG5D5KBmWqX",
  timestamp: "2024-01-19T11:17:19+08:00",
  camera: { id: "hikvision:D4:E8:53:BC:4C:02:1", mac: "D4:E8:53:BC:4C:02", name: "Camera 01" },
  plate: { text: "PECT600", confidence: 0.97 },
  vehicle: { direction: "leaving", type: "vehicle", color: "white" },
  location: { lat: 0.3666667, lon: 111 }
}

/** Polls `check` until it gives a value, or fails the test after `timeoutMs`. */
export const eventually = <A, E>(what: string, check: Effect.Effect<A | undefined, E>, timeoutMs = 15_000) =>
  Effect.gen(function*() {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const value = yield* check
      if (value !== undefined) return value
      if (Date.now() > deadline) return yield* Effect.dieMessage(`timed out waiting for ${what}`)
      yield* Effect.sleep("50 millis")
    }
  })
