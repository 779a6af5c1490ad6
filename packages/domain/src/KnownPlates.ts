/**
 * Known plates: a plate's note and tags (`resident`, `staff`, `delivery`), kept by the normalised plate
 * (Plate.ts), shown wherever the plate appears and filtered by in search (`tag=`, `known=`). The rules
 * of a tag and a note, as sql/0028 holds them too; the procedures are in rpc/KnownPlates.ts.
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { isPlateRead, normalizePlate } from "./Plate"

export const MAX_TAGS = 8
export const MAX_TAG_LENGTH = 32
export const MAX_NOTE_LENGTH = 500
/** Plates a lookup answers at once: a page of search results. */
export const MAX_LOOKUP = 200

/** The shape of a tag, as sql/0028's `known_plate_tags_valid` holds it. */
export const TAG_PATTERN = /^[a-z0-9]+(-[a-z0-9]+)*$/

/**
 * One tag: a lower-case word (letters a-z, digits, dashes inside), at most 32 characters. What is
 * typed is trimmed and lower-cased first, so `Resident ` is `resident`.
 */
export const Tag = Schema.compose(Schema.Trim, Schema.Lowercase).pipe(
  Schema.minLength(1, { message: () => "a tag must not be blank" }),
  Schema.maxLength(MAX_TAG_LENGTH, {
    message: (issue) => `the tag "${String(issue.actual)}" is longer than ${MAX_TAG_LENGTH} characters`
  }),
  Schema.pattern(TAG_PATTERN, {
    message: (issue) =>
      `"${String(issue.actual)}" is not a tag: a tag is one lower-case word, letters a-z, digits and dashes between them ` +
      "(e.g. resident, staff, delivery)"
  })
)

export const Tags = Schema.Array(Tag).pipe(
  Schema.maxItems(MAX_TAGS, { message: () => `at most ${MAX_TAGS} tags a plate` })
)

/** A plate as typed: what normalisation leaves of it is the key (`normalizePlate`). */
export const KnownPlateInput = Schema.String.pipe(
  Schema.maxLength(64, { message: () => "a plate is at most 32 characters" }),
  Schema.filter((s) => isPlateRead(s) || "the plate has no letters or digits"),
  Schema.filter((s) => normalizePlate(s).length <= 32 || "a plate is at most 32 characters")
)

// PostgreSQL text cannot hold NUL, nor JSON a lone surrogate: refused here rather than failing in the database.
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

export const KnownPlateNote = Schema.String.pipe(
  Schema.maxLength(MAX_NOTE_LENGTH, { message: () => `the note is at most ${MAX_NOTE_LENGTH} characters` }),
  Schema.filter((s) => !UNSTORABLE.test(s) || "the note contains a character that is not text (NUL or a broken surrogate)")
)

/** One version of a plate's note and tags: the one in force, or one of its history. */
export const KnownPlate = Schema.Struct({
  /** normalised */
  plate: Schema.String,
  /** "" when there is none */
  note: Schema.String,
  /** sorted */
  tags: Schema.Array(Schema.String),
  /** 1 for the first version set, one more at each change (a clearing is a version too) */
  version: Schema.Number,
  set_by_name: Schema.String,
  set_at: Schema.String
})
export type KnownPlate = typeof KnownPlate.Type

export const KnownPlateDetail = Schema.Struct({
  plate: Schema.String,
  /** null when the plate carries no note and no tag (never set, or cleared) */
  current: Schema.NullOr(KnownPlate),
  /** every version, newest first (a clearing is one with no note and no tags) */
  history: Schema.Array(KnownPlate)
})
export type KnownPlateDetail = typeof KnownPlateDetail.Type

/**
 * What a plate keeps, as the server checks it (a BadRequest saying what is wrong, so a form shows it
 * as it shows any refusal) and a form may check before sending.
 */
export const KnownPlateValue = Schema.Struct({ note: KnownPlateNote, tags: Tags }).pipe(
  Schema.filter((p) =>
    p.note.trim() !== "" || p.tags.length > 0 || "nothing to keep: give a note or a tag (knownPlates.clear removes them)"
  )
)
export type KnownPlateValue = typeof KnownPlateValue.Type

/** The reason the first rule `input` breaks gives, or the value as the server keeps it. */
export const checkKnownPlateValue = (input: { readonly note: string; readonly tags: ReadonlyArray<string> }) =>
  Either.mapLeft(
    Schema.decodeUnknownEither(KnownPlateValue)(input),
    (error) => ParseResult.ArrayFormatter.formatErrorSync(error)[0]?.message ?? "the note or the tags are not valid"
  )

/** The note and the tags come as typed; the server checks them with KnownPlateValue. */
export const KnownPlateSet = Schema.Struct({
  plate: KnownPlateInput,
  note: Schema.String,
  tags: Schema.Array(Schema.String)
})
export type KnownPlateSet = typeof KnownPlateSet.Type

export const KnownPlateQuery = Schema.Struct({
  /** only plates carrying this tag */
  tag: Schema.optional(Tag),
  /** the plate after which to go on (the previous page's `next_cursor`) */
  after: Schema.optional(Schema.String.pipe(Schema.maxLength(32, { message: () => "after is a plate" }))),
  /** default 100 */
  limit: Schema.optional(Schema.Int.pipe(Schema.between(1, 500, { message: () => "limit must be between 1 and 500" })))
})
export type KnownPlateQuery = typeof KnownPlateQuery.Type

/** By plate. */
export const KnownPlatePage = Schema.Struct({
  items: Schema.Array(KnownPlate),
  next_cursor: Schema.NullOr(Schema.String)
})
export type KnownPlatePage = typeof KnownPlatePage.Type

export const TagInUse = Schema.Struct({ tag: Schema.String, plates: Schema.Number })
export type TagInUse = typeof TagInUse.Type
