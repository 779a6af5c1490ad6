import * as Schema from "effect/Schema"
import * as Struct from "effect/Struct"
import { Correction } from "./Corrections"
import { ReasonFields } from "./Reason"
import { Tag } from "./KnownPlates"

/**
 * Plate search: `exact` (the normalised plate), `ocr` (the OCR-aware key: BOS5 finds B0S5 and 8O55),
 * `partial` (`*` any run, `?` one character, otherwise a substring anywhere in the plate) and `fuzzy`
 * (trigram similarity and edit distance, ranked, each item with its score and what differed).
 */
export const SearchMode = Schema.Literal("exact", "ocr", "partial", "fuzzy")
export type SearchMode = typeof SearchMode.Type

/** A comma-separated list in one query parameter: `camera_id=a,b`. */
const List = (item: Schema.Schema<string>, what: string) =>
  Schema.transform(
    Schema.String.pipe(Schema.maxLength(4_000, { message: () => `${what}: too long a list` })),
    Schema.Array(item).pipe(Schema.maxItems(200, { message: () => `${what}: at most 200 values` })),
    {
      strict: true,
      decode: (s) => s.split(",").map((x) => x.trim()).filter((x) => x !== ""),
      encode: (xs) => xs.join(",")
    }
  )

/**
 * `tag=resident`, repeated or comma-separated (`tag=resident,staff`): the tags of known plates
 * (KnownPlates.ts), any of which a read's plate must carry.
 */
const TagList = Schema.transform(
  Schema.Array(Schema.String.pipe(Schema.maxLength(400, { message: () => "tag: too long a list" }))),
  Schema.Array(Tag).pipe(Schema.maxItems(20, { message: () => "tag: at most 20 tags" })),
  {
    strict: true,
    decode: (xs) => xs.flatMap((x) => x.split(",")).map((x) => x.trim()).filter((x) => x !== ""),
    encode: (xs) => xs
  }
)

const Instant = Schema.Date.annotations({ message: () => "a time is ISO 8601, e.g. 2026-11-29T14:00:00Z" })
const Word = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(64))

/** Browsing without a plate covers at most this many days (`from` to `to`). */
export const BROWSE_MAX_DAYS = 31

/**
 * Plate search, or without a plate a browse of what cameras read: then a camera (`camera` or
 * `camera_id`, one or more ids) or a `site`, and `from` and `to` at most BROWSE_MAX_DAYS apart, are
 * required (the server says so with a 400).
 */
export const SearchParams = Schema.Struct({
  plate: Schema.optional(Schema.String.pipe(
    Schema.filter((s) => s.trim().length > 0 || "plate is blank: leave it out to browse by camera or site and time"),
    Schema.maxLength(32, { message: () => "plate is at most 32 characters" })
  )),
  mode: Schema.optionalWith(SearchMode, { default: () => "exact" }),
  from: Schema.optional(Instant),
  to: Schema.optional(Instant),
  camera_id: Schema.optional(List(Schema.UUID, "camera_id")),
  /** the same as `camera_id` (both may be given: their ids together) */
  camera: Schema.optional(List(Schema.UUID, "camera")),
  site: Schema.optional(List(Word, "site")),
  direction: Schema.optional(List(Word, "direction")),
  vehicle_type: Schema.optional(List(Word, "vehicle_type")),
  vehicle_color: Schema.optional(List(Word, "vehicle_color")),
  min_confidence: Schema.optional(
    Schema.NumberFromString.pipe(Schema.between(0, 1, { message: () => "min_confidence is between 0 and 1" }))
  ),
  /** only reads whose plate carries one of these tags (a known plate's, see KnownPlates.ts) */
  tag: Schema.optional(TagList),
  /** false: leave out the reads of known plates (with a note or a tag); true: only those */
  known: Schema.optional(Schema.BooleanFromString.annotations({ message: () => "known is true or false" })),
  limit: Schema.optionalWith(
    Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 200, { message: () => "limit is 1 to 200" })),
    { default: () => 50 }
  ),
  cursor: Schema.optional(Schema.String.pipe(Schema.maxLength(200))),
  /** Why the search is made (a reason code, free text, a case number); recorded in the audit log. */
  ...ReasonFields
})
export type SearchParams = typeof SearchParams.Type

/** One difference between the searched plate and a fuzzy match, by position in the match. */
export const PlateDifference = Schema.Struct({
  op: Schema.Literal("substitute", "insert", "delete"),
  /** index in the matched plate (for `delete`, where the searched character would have been) */
  position: Schema.Number,
  searched: Schema.NullOr(Schema.String),
  found: Schema.NullOr(Schema.String)
})
export type PlateDifference = typeof PlateDifference.Type

export const CameraRef = Schema.Struct({
  id: Schema.String,
  external_id: Schema.String,
  collector_id: Schema.String,
  name: Schema.NullOr(Schema.String),
  site: Schema.NullOr(Schema.String),
  lat: Schema.NullOr(Schema.Number),
  lon: Schema.NullOr(Schema.Number)
})

/** What every view of a read shows (search results, alerts, the live feed). */
export const ReadFields = {
  id: Schema.String,
  detection_id: Schema.String,
  detected_at: Schema.String,
  received_at: Schema.String,
  plate_text: Schema.String,
  plate: Schema.String,
  confidence: Schema.Number,
  direction: Schema.NullOr(Schema.String),
  vehicle_type: Schema.NullOr(Schema.String),
  vehicle_color: Schema.NullOr(Schema.String),
  vehicle_make: Schema.NullOr(Schema.String),
  /** where the read was made: its own location, else its camera's */
  location: Schema.NullOr(Schema.Struct({ lat: Schema.Number, lon: Schema.Number })),
  /** `/api/v1/detections/:id/images/plate|scene`, present for the images stored */
  images: Schema.Struct({ plate: Schema.optional(Schema.String), scene: Schema.optional(Schema.String) })
}

export const DetectionItem = Schema.Struct({
  ...ReadFields,
  camera: CameraRef,
  /** the first read of the run this one repeats (same plate and camera within 30 s) */
  duplicate_of: Schema.NullOr(Schema.String),
  /** the newest correction an operator made of the read, if any (the read itself never changes) */
  correction: Schema.NullOr(Correction),
  /**
   * what the clock that timed the read was off by when it arrived, in seconds (its camera's against the
   * collector's receive time, plus the collector's skew): `detected_at` stays as the camera gave it.
   * Absent when not measured (a collector that sends no `received_at`).
   */
  clock_offset_s: Schema.optional(Schema.Number),
  /** fuzzy only: trigram similarity 0..1, edit distance, and what differed */
  score: Schema.optional(Schema.Number),
  distance: Schema.optional(Schema.Number),
  differences: Schema.optional(Schema.Array(PlateDifference))
})
export type DetectionItem = typeof DetectionItem.Type

/** One read by its id: `GET /api/v1/detections/{id}`. */
export const DetectionPath = Schema.Struct({
  id: Schema.NumberFromString.annotations({ message: () => "a read's id is a positive integer" }).pipe(
    Schema.int({ message: () => "a read's id is a positive integer" }),
    Schema.between(1, Number.MAX_SAFE_INTEGER, { message: () => "a read's id is a positive integer" })
  )
})

export const SearchResult = Schema.Struct({
  items: Schema.Array(DetectionItem),
  /** pass as `cursor` for the next page; null on the last */
  next_cursor: Schema.NullOr(Schema.String)
})
export type SearchResult = typeof SearchResult.Type

/** The search's own parameters without its page (`limit`, `cursor`): what the plates view and exports take. */
const WholeSearch = Struct.omit(SearchParams.fields, "limit", "cursor")

/** The plates view lists at most this many distinct plates. */
export const PLATE_GROUPS_MAX = 200

/** The distinct plates a plate search matched: `GET /api/v1/detections/plates`, with the search's parameters. */
export const PlateGroupParams = Schema.Struct(WholeSearch)
export type PlateGroupParams = typeof PlateGroupParams.Type

/** One plate a search matched, with what its reads (after the filters) add up to. */
export const PlateGroup = Schema.Struct({
  plate: Schema.String,
  reads: Schema.Number,
  first_seen: Schema.String,
  last_seen: Schema.String,
  /** the cameras that read it (with their site), most reads first */
  cameras: Schema.Array(Schema.Struct({
    id: Schema.String,
    external_id: Schema.String,
    name: Schema.NullOr(Schema.String),
    site: Schema.NullOr(Schema.String),
    reads: Schema.Number
  })),
  /** fuzzy only: edit distance and trigram similarity to the plate searched */
  distance: Schema.optional(Schema.Number),
  score: Schema.optional(Schema.Number)
})
export type PlateGroup = typeof PlateGroup.Type

export const PlateGroupsResult = Schema.Struct({
  /** fuzzy: closest first; the other modes: last seen first */
  plates: Schema.Array(PlateGroup),
  /** more plates matched than PLATE_GROUPS_MAX: the search should be narrowed */
  truncated: Schema.Boolean
})
export type PlateGroupsResult = typeof PlateGroupsResult.Type

/** An export holds at most this many reads (the newest, or the closest for fuzzy); the answer says when it was cut. */
export const EXPORT_MAX_READS = 10_000

export const ExportFormat = Schema.Literal("csv", "pdf")
export type ExportFormat = typeof ExportFormat.Type

/** A search's results as a file: `GET /api/v1/detections/export`, the search's parameters and `format`. */
export const ExportParams = Schema.Struct({ ...WholeSearch, format: ExportFormat })
export type ExportParams = typeof ExportParams.Type

/**
 * The values the search's filters may take: the cameras' sites, and the directions, vehicle types and
 * colours of recent reads (lower-cased: those filters are case-blind), most common first.
 */
export const SearchSuggestions = Schema.Struct({
  sites: Schema.Array(Schema.String),
  directions: Schema.Array(Schema.String),
  vehicle_types: Schema.Array(Schema.String),
  vehicle_colors: Schema.Array(Schema.String)
})
export type SearchSuggestions = typeof SearchSuggestions.Type

/**
 * The cheapest edit script turning `searched` into `found` (Levenshtein, with substitutions preferred),
 * as the differences an operator is shown next to a fuzzy match.
 */
export const plateDifferences = (searched: string, found: string): ReadonlyArray<PlateDifference> => {
  const a = [...searched]
  const b = [...found]
  const d: Array<Array<number>> = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)))
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(
        d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
        d[i - 1]![j]! + 1,
        d[i]![j - 1]! + 1
      )
    }
  }
  const out: Array<PlateDifference> = []
  let i = a.length
  let j = b.length
  while (i > 0 || j > 0) {
    if (i > 0 && j > 0 && d[i]![j] === d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)) {
      if (a[i - 1] !== b[j - 1]) out.push({ op: "substitute", position: j - 1, searched: a[i - 1]!, found: b[j - 1]! })
      i--
      j--
    } else if (j > 0 && d[i]![j] === d[i]![j - 1]! + 1) {
      out.push({ op: "insert", position: j - 1, searched: null, found: b[j - 1]! })
      j--
    } else {
      out.push({ op: "delete", position: j, searched: a[i - 1]!, found: null })
      i--
    }
  }
  return out.reverse()
}
