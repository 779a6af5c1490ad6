import * as Either from "effect/Either"
import * as Encoding from "effect/Encoding"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { IsoTimestamp, MAX_BATCH_EVENTS } from "./Detection"

/**
 * The body of ALPR-Database's ingest (`POST /api/plate-reads`, github.com/algertc/ALPR-Database), as
 * Blue Iris sends it from an alert action, so that a Blue Iris user changes one URL. Shared by the
 * edge listener and the central server; browser-safe.
 *
 * What ALPR-Database reads (app/api/plate-reads/route.js, v0.1.9):
 * - `ai_dump` (Blue Iris `&JSON`): CodeProject.AI's results, an array (or one object) of
 *   `{api, found: {predictions[]}}`; the entry with `api: "alpr"` holds the plates, each prediction
 *   with `plate`, `confidence` (0..1) and its box `x_min, y_min, x_max, y_max`;
 * - else `memo` (`&MEMO`): `label:confidence` items separated by commas; a label that is not an
 *   object detector's (car, person, ...) is a plate, written bare or in brackets (`[ABC123]`, the
 *   older dayplate/nightplate models); the same plate twice is one;
 * - else `plate_number` (`&PLATE`);
 * - `Image` (`&ALERT_JPEG`, base64), `camera` (`&CAM`), `timestamp` (`&ALERT_TIME`), `ALERT_PATH`,
 *   `ALERT_CLIP` (which locate the alert's clip in Blue Iris).
 * `ai_dump` wins whenever present (not null, not ""): a dump without an `alpr` entry yields no plate
 * even if a memo came too, as in ALPR-Database.
 */

/** Confidence of a plate given without a score (`plate_number`, a memo item without one): Blue Iris sent it as read. */
export const UNSCORED = 1

/** One plate in a body. */
export interface AlprDatabaseRead {
  /** upper case, brackets removed */
  readonly plate: string
  /** 0..1 */
  readonly confidence: number
  /** the vehicle an object detector saw beside the plate (`car`, `truck`), lower case */
  readonly vehicle?: string
  /** the plate's box in the picture, from ai_dump */
  readonly box?: { readonly x_min: number; readonly y_min: number; readonly x_max: number; readonly y_max: number }
}

export interface AlprDatabasePush {
  /** where the plates were found, by ALPR-Database's precedence */
  readonly source: "ai_dump" | "memo" | "plate_number"
  /** at least one */
  readonly reads: ReadonlyArray<AlprDatabaseRead>
  readonly camera: string | undefined
  /** ISO 8601 with an offset */
  readonly timestamp: string
  /** the decoded `Image` (its type is the bytes' business) */
  readonly image: Uint8Array | undefined
  /** the body without `Image`: ALERT_PATH, ALERT_CLIP, ai_dump, memo and anything else sent */
  readonly kept: Readonly<Record<string, unknown>>
}

/** A body that holds no plate or is not what ALPR-Database takes; `message` says why. */
export class AlprDatabaseError extends Schema.TaggedError<AlprDatabaseError>()("AlprDatabaseError", {
  message: Schema.String
}) {}

const OptionalText = Schema.optionalWith(Schema.NullOr(Schema.String), { exact: true })

/** The fields ALPR-Database reads; anything else is kept as sent. */
export const AlprDatabaseBody = Schema.Struct({
  ai_dump: Schema.optionalWith(Schema.Unknown, { exact: true }),
  memo: OptionalText,
  plate_number: OptionalText,
  Image: OptionalText,
  camera: OptionalText,
  timestamp: OptionalText,
  ALERT_PATH: OptionalText,
  ALERT_CLIP: OptionalText
})

const Prediction = Schema.Struct({
  plate: Schema.optionalWith(Schema.NullOr(Schema.String), { exact: true }),
  label: Schema.optionalWith(Schema.NullOr(Schema.String), { exact: true }),
  confidence: Schema.Number.pipe(Schema.between(0, 1, { message: () => "confidence must be between 0 and 1" })),
  x_min: Schema.optionalWith(Schema.Number, { exact: true }),
  y_min: Schema.optionalWith(Schema.Number, { exact: true }),
  x_max: Schema.optionalWith(Schema.Number, { exact: true }),
  y_max: Schema.optionalWith(Schema.Number, { exact: true })
})
type Prediction = typeof Prediction.Type

const AiResult = Schema.Struct({
  api: Schema.optionalWith(Schema.NullOr(Schema.String), { exact: true }),
  found: Schema.optionalWith(
    Schema.NullOr(Schema.Struct({ predictions: Schema.optionalWith(Schema.NullOr(Schema.Array(Prediction)), { exact: true }) })),
    { exact: true }
  )
})

/**
 * Labels of the object detectors Blue Iris runs beside ALPR (the COCO classes, and the names of
 * CodeProject.AI's other models), none of which is a plate in a memo.
 */
const OBJECT_LABELS = new Set(
  ("person,people,bicycle,car,motorcycle,motorbike,bus,truck,vehicle,van,boat,airplane,train,traffic light," +
    "fire hydrant,stop sign,parking meter,bench,bird,cat,dog,horse,sheep,cow,bear,deer,rabbit,raccoon,fox,skunk," +
    "squirrel,pig,elephant,zebra,giraffe,backpack,umbrella,handbag,tie,suitcase,frisbee,skis,snowboard," +
    "sports ball,kite,baseball bat,baseball glove,skateboard,surfboard,tennis racket,bottle,wine glass,cup,fork," +
    "knife,spoon,bowl,banana,apple,sandwich,orange,broccoli,carrot,hot dog,pizza,donut,cake,chair,couch," +
    "potted plant,bed,dining table,table,toilet,tv,laptop,mouse,remote,keyboard,cell phone,microwave,oven," +
    "toaster,sink,refrigerator,book,clock,vase,scissors,teddy bear,hair drier,toothbrush,plate,dayplate,nightplate")
    .split(",")
)

/** The object labels that are a vehicle a plate belongs to. */
const VEHICLE_LABELS = new Set(["car", "truck", "bus", "motorcycle", "motorbike", "van", "vehicle"])

const fail = (message: string) => Either.left(new AlprDatabaseError({ message }))

const describe = (where: string, error: ParseResult.ParseError) => {
  const [first] = ParseResult.ArrayFormatter.formatErrorSync(error)
  if (first === undefined) return `${where}: ${error.message}`
  const path = [where, ...first.path.map((k) => typeof k === "number" ? `[${k}]` : `.${String(k)}`)].join("")
  return first._tag === "Missing" ? `${path} is missing` : `${path}: ${first.message}`
}

const text = (value: string | null | undefined) => {
  const trimmed = value?.trim()
  return trimmed === undefined || trimmed === "" ? undefined : trimmed
}

/** A confidence as a memo writes it: `0.91`, or `91%`; absent is UNSCORED. */
const memoConfidence = (raw: string | undefined, item: string): Either.Either<number, AlprDatabaseError> => {
  const value = text(raw)
  if (value === undefined) return Either.right(UNSCORED)
  const percent = value.endsWith("%")
  const n = Number(percent ? value.slice(0, -1) : value)
  const confidence = percent ? n / 100 : n
  return Number.isFinite(confidence) && confidence >= 0 && confidence <= 1
    ? Either.right(confidence)
    : fail(`memo item "${item}": confidence ${value} is not between 0 and 1 (nor a percentage)`)
}

/** The best-scored vehicle label among labelled results, lower case. */
const bestVehicle = (labelled: ReadonlyArray<{ readonly label: string; readonly confidence: number }>) =>
  labelled
    .filter((l) => VEHICLE_LABELS.has(l.label.toLowerCase()))
    .reduce<{ label: string; confidence: number } | undefined>(
      (top, l) => top === undefined || l.confidence > top.confidence ? l : top,
      undefined
    )?.label.toLowerCase()

const withVehicle = (read: AlprDatabaseRead, vehicle: string | undefined): AlprDatabaseRead =>
  vehicle === undefined ? read : { ...read, vehicle }

const fromMemo = (memo: string): Either.Either<ReadonlyArray<AlprDatabaseRead>, AlprDatabaseError> =>
  Either.gen(function*() {
    const plates: Array<AlprDatabaseRead> = []
    const seen = new Set<string>()
    const objects: Array<{ label: string; confidence: number }> = []
    for (const item of memo.split(",").map((i) => i.trim()).filter((i) => i !== "")) {
      const colon = item.lastIndexOf(":")
      const label = (colon < 0 ? item : item.slice(0, colon)).trim()
      const confidence = yield* memoConfidence(colon < 0 ? undefined : item.slice(colon + 1), item)
      if (label === "") continue
      if (OBJECT_LABELS.has(label.toLowerCase())) {
        objects.push({ label, confidence })
        continue
      }
      const plate = label.replace(/[[\]]/g, "").trim().toUpperCase()
      if (plate === "" || seen.has(plate)) continue
      seen.add(plate)
      plates.push({ plate, confidence })
    }
    const vehicle = bestVehicle(objects)
    return plates.map((p) => withVehicle(p, vehicle))
  })

const box = (p: Prediction): AlprDatabaseRead["box"] =>
  p.x_min === undefined || p.y_min === undefined || p.x_max === undefined || p.y_max === undefined
    ? undefined
    : { x_min: p.x_min, y_min: p.y_min, x_max: p.x_max, y_max: p.y_max }

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** Labels and scores of the other models' results (objects, vehicles), read leniently: they only name the vehicle. */
const objectLabels = (entries: ReadonlyArray<unknown>) =>
  entries.flatMap((entry) => {
    const found = isRecord(entry) ? entry["found"] : undefined
    const predictions = isRecord(found) ? found["predictions"] : undefined
    return Array.isArray(predictions)
      ? predictions.flatMap((p) =>
        isRecord(p) && typeof p["label"] === "string" && typeof p["confidence"] === "number"
          ? [{ label: p["label"].trim(), confidence: p["confidence"] }]
          : []
      )
      : []
  })

const fromAiDump = (dump: unknown): Either.Either<ReadonlyArray<AlprDatabaseRead>, AlprDatabaseError> =>
  Either.gen(function*() {
    const entries: ReadonlyArray<unknown> = Array.isArray(dump) ? dump : [dump]
    const index = entries.findIndex((e) => isRecord(e) && e["api"] === "alpr")
    if (index < 0) return yield* fail("No valid plates found in request: ai_dump has no ALPR result (no entry with api \"alpr\")")
    const alpr = yield* Either.mapLeft(
      Schema.decodeUnknownEither(AiResult)(entries[index]),
      (e) => new AlprDatabaseError({ message: describe(Array.isArray(dump) ? `ai_dump[${index}]` : "ai_dump", e) })
    )
    const vehicle = bestVehicle(objectLabels(entries.filter((_, i) => i !== index)))
    return (alpr.found?.predictions ?? []).flatMap((p): Array<AlprDatabaseRead> => {
      const plate = text(p.plate)?.toUpperCase()
      if (plate === undefined) return []
      const b = box(p)
      return [withVehicle(b === undefined ? { plate, confidence: p.confidence } : { plate, confidence: p.confidence, box: b }, vehicle)]
    })
  })

const ISO_WITHOUT_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?$/i

/** A date-time whose fields are what they say (no 31 February, no hour 25). */
const isRealTime = (iso: string) => {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/.exec(iso)
  if (m === null) return false
  const [y, mo, d, h, mi, s] = m.slice(1).map((v) => Number(v ?? 0))
  const date = new Date(Date.UTC(y!, mo! - 1, d!, h!, mi!, s!))
  return date.getUTCFullYear() === y && date.getUTCMonth() === mo! - 1 && date.getUTCDate() === d &&
    date.getUTCHours() === h && date.getUTCMinutes() === mi && date.getUTCSeconds() === s
}

/**
 * The time of the alert. Blue Iris's `&ALERT_TIME` is ISO 8601 (`2025-07-15T13:59:04Z`, or with
 * milliseconds and an offset); a space for the `T` is taken, and a time without an offset is read as
 * UTC. An absent or empty `timestamp` is the time the body was received (`receivedAt`), as
 * ALPR-Database does. Anything else (`&ALERT_TIME` left unexpanded, a date alone, epoch numbers) is
 * refused.
 */
const timeOf = (raw: string | null | undefined, receivedAt: Date): Either.Either<string, AlprDatabaseError> => {
  const value = text(raw)
  if (value === undefined) return Either.right(receivedAt.toISOString())
  const iso = value.replace(/^(\d{4}-\d{2}-\d{2}) /, "$1T")
  const withOffset = ISO_WITHOUT_OFFSET.test(iso) ? `${iso}Z` : iso
  return Schema.is(IsoTimestamp)(withOffset) && isRealTime(withOffset)
    ? Either.right(withOffset)
    : fail(`timestamp "${value.slice(0, 60)}" is not an ISO 8601 time such as 2025-07-15T13:59:04Z`)
}

/** `Image` as base64 (a `data:` URL prefix and line breaks allowed); empty is no image. */
const imageOf = (raw: string | null | undefined): Either.Either<Uint8Array | undefined, AlprDatabaseError> => {
  const encoded = (raw ?? "").replace(/^data:[^,]*;base64,/i, "").replace(/\s+/g, "")
  if (encoded === "") return Either.right(undefined)
  return Either.mapLeft(Encoding.decodeBase64(encoded), () => new AlprDatabaseError({ message: "Image is not base64" }))
}

/**
 * The plate reads of an ALPR-Database body (already parsed from JSON). `receivedAt` is the time of a
 * body sent without `timestamp`.
 */
export const parseAlprDatabase = (body: unknown, receivedAt: Date): Either.Either<AlprDatabasePush, AlprDatabaseError> =>
  Either.gen(function*() {
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      return yield* fail("the body must be a JSON object with ai_dump, memo or plate_number")
    }
    const fields = yield* Either.mapLeft(
      Schema.decodeUnknownEither(AlprDatabaseBody)(body),
      (e) => new AlprDatabaseError({ message: describe("body", e) })
    )
    const dump = fields.ai_dump
    const source = dump !== undefined && dump !== null && dump !== "" && dump !== false
      ? "ai_dump" as const
      : text(fields.memo) !== undefined
      ? "memo" as const
      : text(fields.plate_number) !== undefined
      ? "plate_number" as const
      : undefined
    if (source === undefined) return yield* fail("No valid plates found in request: send ai_dump, memo or plate_number")
    const reads = source === "ai_dump"
      ? yield* fromAiDump(dump)
      : source === "memo"
      ? yield* fromMemo(fields.memo!)
      : [{ plate: text(fields.plate_number)!.toUpperCase(), confidence: UNSCORED }]
    if (reads.length === 0) return yield* fail(`No valid plates found in request: ${source} holds no plate`)
    // One body is one batch: held to a batch's events, so that it cannot make a transaction of
    // thousands of reads (a 5 MiB memo holds a million items).
    if (reads.length > MAX_BATCH_EVENTS) {
      return yield* fail(`${source} holds ${reads.length} plates; one body may hold at most ${MAX_BATCH_EVENTS}`)
    }
    const { Image: _image, ...kept } = body as Record<string, unknown>
    return {
      source,
      reads,
      camera: text(fields.camera),
      timestamp: yield* timeOf(fields.timestamp, receivedAt),
      image: yield* imageOf(fields.Image),
      kept
    }
  })

/** The same, from the body's text; JSON that does not parse is refused with the parser's reason. */
export const parseAlprDatabaseJson = (
  json: string,
  receivedAt: Date
): Either.Either<AlprDatabasePush, AlprDatabaseError> =>
  Either.flatMap(
    Either.try({
      try: () => JSON.parse(json.replace(/^\uFEFF/, "")) as unknown,
      catch: (e) => new AlprDatabaseError({ message: `the body is not valid JSON (${e instanceof Error ? e.message : String(e)})` })
    }),
    (body) => parseAlprDatabase(body, receivedAt)
  )

/** The success body of `POST /api/plate-reads`, in ALPR-Database's shape (see `alprDatabaseAnswer`). */
export const AlprDatabaseResult = Schema.Struct({
  processed: Schema.Int,
  duplicates: Schema.Int,
  ignored: Schema.Int,
  message: Schema.String
})

/**
 * The answer to a body, in ALPR-Database's shape: 201 when a read was new, 409 when every read was
 * known already (a re-send), with the counts and ALPR-Database's message. ALPR-Database lists the
 * plates (`processed: [{plate, id}]`, `duplicates: [plate]`); the stores here count them, so the
 * fields are counts. A body none of whose plates could be kept is the 400 of `AlprDatabaseError`.
 */
export const alprDatabaseAnswer = (processed: number, duplicates: number): {
  readonly status: 201 | 409
  readonly body: typeof AlprDatabaseResult.Type
} => ({
  status: processed > 0 ? 201 : 409,
  body: {
    processed,
    duplicates,
    ignored: 0,
    message: `Processed ${processed} plates, ${duplicates} duplicates, 0 ignored`
  }
})
