import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

/**
 * Columns as the contracts carry them. Rows are decoded with these inside `SqlSchema` queries (one
 * Schema per table or view, next to its queries), so no query result is cast to a hand-written row type
 * and mapped field by field.
 */

/** A point in time as the contracts carry it: ISO 8601 in UTC, to the millisecond. */
export const iso = (at: Date | string | number): string => new Date(at).toISOString()

/** A `timestamptz` column (the driver gives a Date) as an ISO string. */
export const IsoTime: Schema.Schema<string, Date> = Schema.transform(Schema.DateFromSelf, Schema.String, {
  strict: true,
  decode: (at) => at.toISOString(),
  encode: (text) => new Date(text)
})

export const IsoTimeOrNull = Schema.NullOr(IsoTime)

/**
 * A `timestamptz` inside JSON built by SQL (`json_build_object`, `json_agg`, `row_to_json` give it as
 * text with its offset, to the microsecond) as an ISO string.
 */
export const IsoTimeFromText: Schema.Schema<string, string> = Schema.transform(Schema.String, Schema.String, {
  strict: true,
  decode: iso,
  encode: (text) => text
})

/**
 * A `bigint` column (the driver gives its digits as text, or a number when cast) as the decimal string
 * ids are carried as.
 */
export const Int8Text: Schema.Schema<string, string | number | bigint> = Schema.transform(
  Schema.Union(Schema.String, Schema.Number, Schema.BigIntFromSelf),
  Schema.String,
  { strict: true, decode: (value) => String(value), encode: (text) => text }
)

export const Int8TextOrNull = Schema.NullOr(Int8Text)

/**
 * A count or sum from SQL (`count(*)` is a bigint, which the driver gives as text) as a number; counts
 * stay far below 2^53.
 */
export const Count: Schema.Schema<number, string | number | bigint> = Schema.transform(
  Schema.Union(Schema.String, Schema.Number, Schema.BigIntFromSelf),
  Schema.Number,
  { strict: true, decode: (value) => Number(value), encode: (n) => n }
)

/**
 * Rows that do not decode are a bug of ours (the query and its Schema disagree), not a failure the
 * caller could handle: a defect, with the ParseError's message.
 */
export const orBug = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.catchIf(effect, (e): e is Extract<E, { readonly _tag: "ParseError" }> =>
    typeof e === "object" && e !== null && "_tag" in e && e._tag === "ParseError", Effect.die) as Effect.Effect<
      A,
      Exclude<E, { readonly _tag: "ParseError" }>,
      R
    >
