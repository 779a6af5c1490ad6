import { BadRequest } from "@chaverim/domain/Errors"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

/**
 * Keyset position in a list ordered newest first by (time, id), opaque to clients: reads by
 * detected_at, alerts by created_at. The time is kept to the microsecond (a Date holds milliseconds,
 * so rows sharing a millisecond are not skipped); fuzzy search adds its rank (edit distance, similarity).
 */
export const Cursor = Schema.Struct({
  t: Schema.String.pipe(Schema.pattern(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/)),
  id: Schema.String.pipe(Schema.pattern(/^\d{1,18}$/)),
  d: Schema.optional(Schema.Number),
  s: Schema.optional(Schema.Number)
})
export type Cursor = typeof Cursor.Type

/** SQL expression giving a read's `detected_at` in the cursor's form; select it with the rows of a page. */
export const CURSOR_TIME = `to_char(d.detected_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`

export const encodeCursor = (cursor: Cursor) => Buffer.from(JSON.stringify(cursor)).toString("base64url")

export const decodeCursor = (text: string) =>
  Effect.try(() => JSON.parse(Buffer.from(text, "base64url").toString("utf8")) as unknown).pipe(
    Effect.flatMap(Schema.decodeUnknown(Cursor)),
    Effect.mapError(() => new BadRequest({ message: "cursor is not one this server gave out" }))
  )
