import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { CameraContext, Parsed } from "./CameraRead"
import {
  decodeJson,
  decodeMultipart,
  decodeText,
  decodeWith,
  type Decoded,
  type FormPart,
  isMultipart,
  Numeric,
  optional,
  refuse,
  required,
  sniffMultipartType
} from "./decode"
import {
  attribute,
  cameraRef,
  collect,
  type Direction,
  direction,
  image,
  isoTime,
  lowerAttribute,
  type Sighting,
  text
} from "./reads"

/**
 * Plate Recognizer (Stream, or Snapshot with a webhook): the webhook body `{hook, data}`, whose
 * `data` is a recognition (`camera_id`, `timestamp` in UTC, with or without the `Z`,
 * `timestamp_local`, `filename`, `results[]`), sent as JSON or as multipart/form-data with the JSON
 * in the `json` field and the picture in `upload`; or a bare Snapshot API response (the recognition
 * itself), as saved from the API.
 *
 * One read per result: `plate` (lower case as sent) upper-cased, `score` (0..1) the confidence.
 * Vehicle type, and the best-scoring colour, make and orientation; `generic` is the make Plate
 * Recognizer gives a vehicle whose make it could not tell. Direction: orientation `Front` (the front
 * is seen: approaching) and `Rear` (leaving); the `direction` angle in the image says nothing of
 * towards or away without the camera's geometry. The candidates, region, plate box, dscore and
 * angle go with the read as its `source` (kept in the stored read's raw).
 * Time: `timestamp`; without it, `timestamp_local` (its offset, else the configured time zone).
 * Identity: no id per result (`filename` names the frame, which may hold several), so a fingerprint;
 * the camera is `platerecognizer:<camera_id>`. The picture, when sent (Stream's `webhook_image_type`:
 * the vehicle, or the whole frame), is every read's scene photo.
 */

const VENDOR = "platerecognizer"

const ORIENTATIONS: Readonly<Record<string, Direction>> = { front: "approaching", rear: "leaving" }

const NO_MAKE = "generic"

/** A list of guesses with their scores; absent or null when not asked for. */
const Guesses = <A, I>(guess: Schema.Schema<A, I>) => optional(Schema.NullOr(Schema.Array(guess)))

const Result = Schema.Struct({
  plate: Schema.String,
  score: Numeric,
  candidates: optional(Schema.Unknown),
  region: optional(Schema.Unknown),
  box: optional(Schema.Unknown),
  dscore: optional(Schema.Unknown),
  direction: optional(Schema.Unknown),
  vehicle: optional(Schema.NullOr(Schema.Struct({ type: optional(Schema.NullOr(Schema.String)) }))),
  color: Guesses(Schema.Struct({ color: Schema.String, score: Numeric })),
  model_make: Guesses(Schema.Struct({ make: Schema.String, score: Numeric })),
  orientation: Guesses(Schema.Struct({ orientation: Schema.String, score: Numeric }))
})
type Result = typeof Result.Type

const Recognition = Schema.Struct({
  camera_id: optional(Schema.NullOr(Schema.String)),
  timestamp: optional(Schema.String),
  timestamp_local: optional(Schema.NullOr(Schema.String)),
  results: Schema.Array(Result)
})
type Recognition = typeof Recognition.Type

const Webhook = Schema.Struct({ data: Recognition })

/** The entry with the highest score. */
const best = <A extends { readonly score: number }>(entries: ReadonlyArray<A> | null | undefined): A | undefined =>
  (entries ?? []).reduce<A | undefined>((top, e) => top === undefined || e.score > top.score ? e : top, undefined)

/**
 * `timestamp_local` as Stream writes it (`2021-10-27 06:20:55.161444+00:00`); a space for the
 * offset's sign is a `+` lost to form encoding on the way.
 */
const localTime = (value: string, timeZone: string | undefined) =>
  isoTime(value.trim().replace(/ (\d{2}:?\d{2})$/, "+$1"), timeZone)

const timeOf = (recognition: Recognition, ctx: CameraContext): Decoded<string> => {
  if (recognition.timestamp !== undefined) {
    return required(VENDOR, isoTime(recognition.timestamp, undefined), `timestamp "${recognition.timestamp}" is not an ISO 8601 time`)
  }
  const local = text(recognition.timestamp_local ?? undefined)
  if (local === undefined) return refuse(VENDOR, "timestamp is missing")
  return required(VENDOR, localTime(local, ctx.timeZone), `timestamp_local "${local}" is not an ISO 8601 time`)
}

/** What a result says beyond the read: the other candidate plates, the region, the boxes, the angle. */
const sourceOf = (result: Result): Record<string, unknown> | undefined => {
  const kept = Object.fromEntries(
    (["candidates", "region", "box", "dscore", "direction"] as const)
      .flatMap((key) => (result[key] === undefined || result[key] === null ? [] : [[key, result[key]]]))
  )
  return Object.keys(kept).length === 0 ? undefined : kept
}

const make = (result: Result) => {
  const value = attribute(best(result.model_make)?.make)
  return value?.toLowerCase() === NO_MAKE ? undefined : value
}

const recognitionReads = (json: unknown, frame: FormPart | undefined, ctx: CameraContext): Decoded<Parsed> =>
  Either.gen(function*() {
    const wrapped = typeof json === "object" && json !== null && !Array.isArray(json) && !("results" in json) &&
      ("data" in json || "hook" in json)
    const recognition = wrapped ? (yield* decodeWith(VENDOR, Webhook, json)).data : yield* decodeWith(VENDOR, Recognition, json)
    const timestamp = yield* timeOf(recognition, ctx)
    const camera = cameraRef(VENDOR, ctx, { key: recognition.camera_id ?? undefined })
    const scene = frame === undefined ? undefined : yield* image(VENDOR, "scene", "part upload", frame.bytes)
    return yield* collect(
      VENDOR,
      recognition.results.map((result): Sighting => ({
        timestamp,
        camera,
        plate: result.plate.toUpperCase(),
        confidence: result.score,
        vehicle: {
          direction: direction(ORIENTATIONS, best(result.orientation)?.orientation),
          type: lowerAttribute(result.vehicle?.type ?? undefined),
          color: lowerAttribute(best(result.color)?.color),
          make: make(result)
        },
        location: ctx.location,
        images: [scene],
        source: sourceOf(result)
      }))
    )
  })

/** The multipart webhook: the `json` field and the `upload` picture. */
const webhookReads = (body: Uint8Array, contentType: string, ctx: CameraContext): Decoded<Parsed> =>
  Either.gen(function*() {
    const parts = yield* decodeMultipart(VENDOR, body, contentType)
    const jsonPart = yield* required(VENDOR, parts.find((p) => p.name === "json"), "the multipart body has no json part")
    const json = yield* decodeJson(VENDOR, yield* decodeText(VENDOR, jsonPart.bytes))
    return yield* recognitionReads(json, parts.find((p) => p.name === "upload"), ctx)
  })

/** The webhook (JSON or multipart), or a bare Snapshot API response. */
export const parsePlateRecognizer = (
  body: Uint8Array,
  contentType: string | undefined,
  ctx: CameraContext
): Decoded<Parsed> => {
  const multipartType = isMultipart(contentType) ? contentType : sniffMultipartType(body)
  if (multipartType !== undefined) return webhookReads(body, multipartType, ctx)
  return Either.gen(function*() {
    const json = yield* decodeJson(VENDOR, yield* decodeText(VENDOR, body))
    return yield* recognitionReads(json, undefined, ctx)
  })
}
