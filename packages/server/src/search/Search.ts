import { BadRequest } from "@chaverim/domain/Errors"
import { normalizePlate, ocrKey } from "@chaverim/domain/Plate"
import {
  type DetectionItem,
  plateDifferences,
  type SearchParams,
  type SearchResult
} from "@chaverim/domain/Search"
import * as SqlClient from "@effect/sql/SqlClient"
import type * as Statement from "@effect/sql/Statement"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { Audit } from "../audit/Audit"
import type { Actor, RequestInfo } from "../auth/Accounts"
import { requireReason } from "../audit/Reason"
import { AppConfig } from "../Config"
import { type CorrectionRow, correctionOf } from "../corrections/Corrections"

/** Keyset position: newest first by (detected_at, id); fuzzy first by closeness. */
const Cursor = Schema.Struct({
  t: Schema.String.pipe(Schema.pattern(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/)),
  id: Schema.String.pipe(Schema.pattern(/^\d{1,18}$/)),
  d: Schema.optional(Schema.Number),
  s: Schema.optional(Schema.Number)
})
type Cursor = typeof Cursor.Type

const encodeCursor = (cursor: Cursor) => Buffer.from(JSON.stringify(cursor)).toString("base64url")
const decodeCursor = (text: string) =>
  Effect.try(() => JSON.parse(Buffer.from(text, "base64url").toString("utf8")) as unknown).pipe(
    Effect.flatMap(Schema.decodeUnknown(Cursor)),
    Effect.mapError(() => new BadRequest({ message: "cursor is not one this server gave out" }))
  )

/** `*` any run, `?` one character; what is between them is normalised like a plate. LIKE's own wildcards are escaped. */
export const likePattern = (typed: string): string | undefined => {
  let literal = 0
  let out = "%"
  for (const part of typed.split(/([*?])/)) {
    if (part === "*") out += "%"
    else if (part === "?") out += "_"
    else {
      const plain = normalizePlate(part)
      literal += [...plain].length
      out += plain.replace(/[\\%_]/g, (c) => `\\${c}`)
    }
  }
  out += "%"
  // Two characters at least: a pattern of one matches most of the table.
  return literal >= 2 ? out.replace(/%+/g, "%") : undefined
}

/** Candidates for fuzzy search must share this much of their trigrams with the searched plate. */
const FUZZY_SIMILARITY = 0.3

interface Row {
  id: string
  detection_id: string
  detected_at: Date
  /** detected_at to the microsecond (a Date holds milliseconds), for the cursor */
  cursor_time: string
  received_at: Date
  plate_text: string
  plate: string
  confidence: number
  direction: string | null
  vehicle_type: string | null
  vehicle_color: string | null
  vehicle_make: string | null
  lat: number | null
  lon: number | null
  duplicate_of: string | null
  camera_id: string
  camera_external_id: string
  collector_id: string
  camera_name: string | null
  camera_site: string | null
  camera_lat: number | null
  camera_lon: number | null
  image_kinds: ReadonlyArray<string> | null
  score: number | null
  distance: number | null
  correction: CorrectionRow | null
}

/**
 * Plate search over the detections: the modes, the filters, keyset pages. Every search is recorded in
 * the audit log with the query, the filters, how many reads it returned and the reason given.
 */
export class Search extends Effect.Service<Search>()("@chaverim/server/Search", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const audit = yield* Audit
    const config = yield* AppConfig

    const filtersOf = (params: SearchParams): Array<Statement.Fragment> => {
      const where: Array<Statement.Fragment> = []
      if (params.from !== undefined) where.push(sql`d.detected_at >= ${params.from}`)
      if (params.to !== undefined) where.push(sql`d.detected_at < ${params.to}`)
      if (params.camera_id !== undefined && params.camera_id.length > 0) where.push(sql`d.camera_id IN ${sql.in(params.camera_id)}`)
      if (params.site !== undefined && params.site.length > 0) where.push(sql`c.site IN ${sql.in(params.site)}`)
      // Case-blind lists: cameras write "IN", "in" and "In" alike.
      for (const column of ["direction", "vehicle_type", "vehicle_color"] as const) {
        const values = params[column]
        if (values !== undefined && values.length > 0) {
          where.push(sql`lower(${sql(`d.${column}`)}) IN ${sql.in(values.map((v) => v.toLowerCase()))}`)
        }
      }
      if (params.min_confidence !== undefined) where.push(sql`d.confidence >= ${params.min_confidence}`)
      return where
    }

    const select = sql`
      d.id::text AS id, d.detection_id, d.detected_at,
      to_char(d.detected_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_time,
      d.received_at, d.plate_text, d.plate, d.confidence,
      d.direction, d.vehicle_type, d.vehicle_color, d.vehicle_make, d.lat, d.lon, d.duplicate_of::text AS duplicate_of,
      c.id AS camera_id, c.external_id AS camera_external_id, c.collector_id, c.name AS camera_name,
      c.site AS camera_site, c.lat AS camera_lat, c.lon AS camera_lon,
      (SELECT array_agg(i.kind ORDER BY i.kind) FROM detection_images i WHERE i.detection_id = d.id) AS image_kinds,
      (SELECT row_to_json(k) FROM (
         SELECT id::text AS id, detection_id::text AS detection_id, action, plate_text, plate, note, username, created_at
           FROM corrections WHERE detection_id = d.id ORDER BY corrections.id DESC LIMIT 1) k) AS correction`

    /**
     * Reads whose correction in force says they show a plate matching `condition` (on the corrections'
     * columns): found by their corrected plate as well as their original one.
     */
    const corrected = (condition: Statement.Fragment) =>
      sql`d.id = ANY(ARRAY(
        SELECT c.detection_id FROM corrections c
         WHERE c.action = 'correct' AND ${condition}
           AND NOT EXISTS (SELECT 1 FROM corrections n WHERE n.detection_id = c.detection_id AND n.id > c.id)))`

    const itemOf = (row: Row, searched: string | undefined): DetectionItem => {
      const kinds = new Set(row.image_kinds ?? [])
      const lat = row.lat ?? row.camera_lat
      const lon = row.lon ?? row.camera_lon
      return {
        id: row.id,
        detection_id: row.detection_id,
        detected_at: row.detected_at.toISOString(),
        received_at: row.received_at.toISOString(),
        plate_text: row.plate_text,
        plate: row.plate,
        confidence: row.confidence,
        direction: row.direction,
        vehicle_type: row.vehicle_type,
        vehicle_color: row.vehicle_color,
        vehicle_make: row.vehicle_make,
        location: lat !== null && lon !== null ? { lat, lon } : null,
        camera: {
          id: row.camera_id,
          external_id: row.camera_external_id,
          collector_id: row.collector_id,
          name: row.camera_name,
          site: row.camera_site,
          lat: row.camera_lat,
          lon: row.camera_lon
        },
        duplicate_of: row.duplicate_of,
        correction: row.correction === null ? null : correctionOf(row.correction),
        images: {
          ...(kinds.has("plate") ? { plate: `/api/v1/detections/${row.id}/images/plate` } : {}),
          ...(kinds.has("scene") ? { scene: `/api/v1/detections/${row.id}/images/scene` } : {})
        },
        ...(searched === undefined ? {} : {
          score: Math.round((row.score ?? 0) * 1000) / 1000,
          distance: row.distance ?? 0,
          differences: plateDifferences(searched, row.plate)
        })
      }
    }

    /**
     * Newest first; the page after the cursor. Reads matched by the plate read and reads matched by a
     * correction are two branches, each ordered and limited on its own (an OR of the two would
     * defeat the ordered index scan and read every sighting of a busy plate), then merged.
     */
    const byTime = (match: Statement.Fragment, byCorrection: Statement.Fragment, params: SearchParams, cursor: Cursor | undefined) => {
      const branch = (condition: Statement.Fragment) =>
        sql`(SELECT ${select}, NULL::real AS score, NULL::int AS distance
               FROM detections d JOIN cameras c ON c.id = d.camera_id
              WHERE ${sql.and([
          condition,
          ...filtersOf(params),
          ...(cursor === undefined ? [] : [sql`(d.detected_at, d.id) < (${cursor.t}::timestamptz, ${cursor.id}::bigint)`])
        ])}
              ORDER BY d.detected_at DESC, d.id DESC
              LIMIT ${params.limit + 1})`
      return sql<Row>`
        SELECT * FROM (${branch(match)} UNION ALL ${branch(sql`${corrected(byCorrection)} AND NOT ${match}`)}) u
         ORDER BY u.detected_at DESC, u.id::bigint DESC
         LIMIT ${params.limit + 1}`
    }

    /**
     * Closest first: the trigram index finds plates sharing enough trigrams, the edit distance ranks
     * them (then similarity, then time). Two edits at most for plates of six or more characters, one below.
     */
    const byCloseness = (searched: string, params: SearchParams, cursor: Cursor | undefined) => {
      const maxDistance = [...searched].length >= 6 ? 2 : 1
      return sql<Row>`
        SELECT * FROM (
          SELECT ${select},
                 similarity(d.plate, ${searched}) AS score,
                 levenshtein(d.plate, ${searched}) AS distance
            FROM detections d JOIN cameras c ON c.id = d.camera_id
           WHERE ${sql.and([sql`d.plate % ${searched}`, ...filtersOf(params)])}
        ) m
        WHERE ${sql.and([
        sql`m.distance <= ${maxDistance}`,
        ...(cursor === undefined ? [] : [
          sql`(m.distance, -m.score, -extract(epoch FROM m.detected_at), -m.id::bigint) >
              (${cursor.d ?? 0}, ${-(cursor.s ?? 0)}::real, -extract(epoch FROM ${cursor.t}::timestamptz), ${`-${cursor.id}`}::bigint)`
        ])
      ])}
        ORDER BY m.distance, m.score DESC, m.detected_at DESC, m.id::bigint DESC
        LIMIT ${params.limit + 1}`
    }

    const search = (params: SearchParams, user: Actor, request: RequestInfo) =>
      Effect.gen(function*() {
        const reason = yield* requireReason(config.reasonRequired, params.reason, "search")
        const cursor = params.cursor === undefined ? undefined : yield* decodeCursor(params.cursor)
        const normalized = normalizePlate(params.plate)
        let rows: ReadonlyArray<Row>
        switch (params.mode) {
          case "exact":
          case "ocr": {
            if (normalized === "") return yield* new BadRequest({ message: "plate has no letters or digits" })
            rows = yield* (params.mode === "exact"
              ? byTime(sql`d.plate = ${normalized}`, sql`c.plate = ${normalized}`, params, cursor)
              : byTime(sql`d.plate_ocr = ${ocrKey(params.plate)}`, sql`c.plate_ocr = ${ocrKey(params.plate)}`, params, cursor))
            break
          }
          case "partial": {
            const pattern = likePattern(params.plate)
            if (pattern === undefined) {
              return yield* new BadRequest({ message: "a partial plate needs at least two letters or digits besides * and ?" })
            }
            rows = yield* byTime(sql`d.plate LIKE ${pattern}`, sql`c.plate LIKE ${pattern}`, params, cursor)
            break
          }
          case "fuzzy": {
            if ([...normalized].length < 3) return yield* new BadRequest({ message: "a fuzzy search needs at least three letters or digits" })
            rows = yield* sql.withTransaction(Effect.zipRight(
              sql`SELECT set_config('pg_trgm.similarity_threshold', ${String(FUZZY_SIMILARITY)}, true)`,
              byCloseness(normalized, params, cursor)
            ))
            break
          }
        }
        const page = rows.slice(0, params.limit)
        const last = page.at(-1)
        const more = rows.length > params.limit && last !== undefined
        const result: SearchResult = {
          items: page.map((row) => itemOf(row, params.mode === "fuzzy" ? normalized : undefined)),
          next_cursor: more
            ? encodeCursor({
              t: last.cursor_time,
              id: last.id,
              ...(params.mode === "fuzzy" ? { d: last.distance ?? 0, s: last.score ?? 0 } : {})
            })
            : null
        }
        yield* audit.record({
          actor: user,
          address: request.address,
          action: "search",
          target: `plate:${normalized}`,
          ...(reason === undefined ? {} : { reason }),
          details: {
            mode: params.mode,
            plate: params.plate,
            filters: {
              ...(params.from === undefined ? {} : { from: params.from.toISOString() }),
              ...(params.to === undefined ? {} : { to: params.to.toISOString() }),
              ...(params.camera_id === undefined ? {} : { camera_id: params.camera_id }),
              ...(params.site === undefined ? {} : { site: params.site }),
              ...(params.direction === undefined ? {} : { direction: params.direction }),
              ...(params.vehicle_type === undefined ? {} : { vehicle_type: params.vehicle_type }),
              ...(params.vehicle_color === undefined ? {} : { vehicle_color: params.vehicle_color }),
              ...(params.min_confidence === undefined ? {} : { min_confidence: params.min_confidence })
            },
            page: params.cursor === undefined ? 1 : "next",
            results: result.items.length
          },
          outcome: "success"
        })
        return result
      })

    return { search } as const
  })
}) {}
