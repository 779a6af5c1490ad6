import { BadRequest, NotFound } from "@chaverim/domain/Errors"
import { normalizePlate, ocrKey } from "@chaverim/domain/Plate"
import type { ReasonParams } from "@chaverim/domain/Reason"
import {
  BROWSE_MAX_DAYS,
  type DetectionItem,
  EXPORT_MAX_READS,
  type ExportParams,
  PLATE_GROUPS_MAX,
  plateDifferences,
  type PlateGroup,
  type PlateGroupParams,
  type PlateGroupsResult,
  ReadFields,
  type SearchParams,
  type SearchResult
} from "@chaverim/domain/Search"
import { locationOf } from "@chaverim/domain/Location"
import * as SqlClient from "@effect/sql/SqlClient"
import type * as Statement from "@effect/sql/Statement"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Struct from "effect/Struct"
import { Audit } from "../audit/Audit"
import type { Actor, RequestInfo } from "../auth/Accounts"
import { givenReason, makeReasonOf, reasonDetails } from "../audit/Reason"
import { Cursor, CURSOR_TIME, decodeCursor, encodeCursor } from "../db/Cursor"
import { Count, IsoTime, orBug } from "../db/Rows"
import { CorrectionJson } from "../corrections/Corrections"
import { imageLinks } from "../images/Images"
import { csvOf, pdfOf } from "./Export"
import { makeSuggestions } from "./Suggestions"
import { makeReadDetails } from "./ReadDetails"

/**
 * A typed partial plate as a LIKE pattern over the normalised plate (`*` any run, `?` one character,
 * what is between them normalised like a plate, LIKE's own wildcards escaped, unanchored), with the
 * two-character pieces its literal runs require (`plate_pairs` in sql/0008), which the index of the
 * plates table finds even where no run is three characters long.
 */
export const partialPattern = (typed: string): { readonly like: string; readonly pairs: ReadonlyArray<string> } | undefined => {
  let literal = 0
  let like = "%"
  const pairs = new Set<string>()
  for (const part of typed.split(/([*?])/)) {
    if (part === "*") like += "%"
    else if (part === "?") like += "_"
    else {
      const plain = [...normalizePlate(part)]
      literal += plain.length
      for (let i = 0; i + 1 < plain.length; i++) pairs.add(plain[i]! + plain[i + 1]!)
      like += plain.join("").replace(/[\\%_]/g, (c) => `\\${c}`)
    }
  }
  like += "%"
  // Two characters at least: a pattern of one matches most of the table.
  return literal >= 2 ? { like: like.replace(/%+/g, "%"), pairs: [...pairs].sort() } : undefined
}

/** Exports gathered and drawn at once on one server; the others wait their turn. */
const EXPORTS_AT_ONCE = 2

/** What a plate search looks for, checked (`plateMatchOf`). */
type PlateMatch =
  | { readonly _tag: "key"; readonly reads: Statement.Fragment; readonly corrections: Statement.Fragment }
  | { readonly _tag: "partial"; readonly like: string; readonly plates: Statement.Fragment }
  | FuzzyMatch
interface FuzzyMatch {
  readonly _tag: "fuzzy"
  readonly normalized: string
  readonly maxDistance: number
  readonly plates: Statement.Fragment
}

/** Candidates for fuzzy search must share this much of their trigrams with the searched plate. */
const FUZZY_SIMILARITY = 0.3

/** A read as every mode selects it: its columns, its camera's, its photos' kinds and the correction in force. */
const SearchRow = Schema.Struct({
  ...Struct.omit(ReadFields, "location", "images"),
  detected_at: IsoTime,
  received_at: IsoTime,
  /** detected_at to the microsecond (a Date holds milliseconds), for the cursor */
  cursor_time: Schema.String,
  lat: Schema.NullOr(Schema.Number),
  lon: Schema.NullOr(Schema.Number),
  duplicate_of: Schema.NullOr(Schema.String),
  clock_offset_ms: Schema.NullOr(Schema.Number),
  camera_id: Schema.String,
  camera_external_id: Schema.String,
  collector_id: Schema.String,
  camera_name: Schema.NullOr(Schema.String),
  camera_site: Schema.NullOr(Schema.String),
  camera_lat: Schema.NullOr(Schema.Number),
  camera_lon: Schema.NullOr(Schema.Number),
  image_kinds: Schema.NullOr(Schema.Array(Schema.String)),
  /** fuzzy only: trigram similarity and edit distance */
  score: Schema.NullOr(Schema.Number),
  distance: Schema.NullOr(Schema.Number),
  correction: Schema.NullOr(CorrectionJson)
})
type SearchRow = typeof SearchRow.Type

/**
 * The rows of a page, whichever of the statements below found them (the mode picks one): what
 * `SqlSchema.findAll` does after its statement, at this one place.
 */
const decodePage = Schema.decodeUnknown(Schema.Array(SearchRow))

/** A plate a plates view matched, with its rank when fuzzy. */
const Candidate = Schema.Struct({ plate: Schema.String, score: Schema.NullOr(Schema.Number), distance: Schema.NullOr(Schema.Number) })
const decodeCandidates = Schema.decodeUnknown(Schema.Array(Candidate))

/** One plate's reads at one camera, after the search's filters. */
const PlateCameraRow = Schema.Struct({
  plate: Schema.String,
  camera_id: Schema.String,
  camera_external_id: Schema.String,
  camera_name: Schema.NullOr(Schema.String),
  camera_site: Schema.NullOr(Schema.String),
  reads: Count,
  first_seen: IsoTime,
  last_seen: IsoTime
})
type PlateCameraRow = typeof PlateCameraRow.Type
const decodePlateCameras = Schema.decodeUnknown(Schema.Array(PlateCameraRow))

/** Each plate's cameras added up, in the order of `rows`' first appearance of each plate. */
const groupsOf = (rows: ReadonlyArray<PlateCameraRow>): Array<PlateGroup> => {
  const groups = new Map<string, { reads: number; first_seen: string; last_seen: string; cameras: Array<PlateGroup["cameras"][number]> }>()
  for (const row of rows) {
    const group = groups.get(row.plate) ?? { reads: 0, first_seen: row.first_seen, last_seen: row.last_seen, cameras: [] }
    group.reads += row.reads
    if (row.first_seen < group.first_seen) group.first_seen = row.first_seen
    if (row.last_seen > group.last_seen) group.last_seen = row.last_seen
    group.cameras.push({ id: row.camera_id, external_id: row.camera_external_id, name: row.camera_name, site: row.camera_site, reads: row.reads })
    groups.set(row.plate, group)
  }
  return [...groups].map(([plate, group]) => ({
    plate,
    ...group,
    cameras: group.cameras.sort((a, b) => b.reads - a.reads || (a.name ?? a.external_id).localeCompare(b.name ?? b.external_id))
  }))
}

/** Reads fetched per statement while an export gathers its reads. */
const EXPORT_PAGE = 500

/**
 * Plate search over the detections: the modes, the filters, keyset pages. Every search is recorded in
 * the audit log with the query, the filters, how many reads it returned and the reason given.
 */
export class Search extends Effect.Service<Search>()("@chaverim/server/Search", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const audit = yield* Audit
    const reasonOf = yield* makeReasonOf

    const filtersOf = (params: SearchParams): Array<Statement.Fragment> => {
      const where: Array<Statement.Fragment> = []
      if (params.from !== undefined) where.push(sql`d.detected_at >= ${params.from}`)
      if (params.to !== undefined) where.push(sql`d.detected_at < ${params.to}`)
      if (params.camera_id !== undefined && params.camera_id.length > 0) where.push(sql`d.camera_id IN ${sql.in(params.camera_id)}`)
      if (params.site !== undefined && params.site.length > 0) {
        where.push(sql`d.camera_id IN (SELECT s.id FROM cameras s WHERE s.site IN ${sql.in(params.site)})`)
      }
      return [...where, ...readFiltersOf(params)]
    }

    /** The filters on a read's own columns (not its place or time). */
    const readFiltersOf = (params: SearchParams): Array<Statement.Fragment> => {
      const where: Array<Statement.Fragment> = []
      // Case-blind lists: cameras write "IN", "in" and "In" alike.
      for (const column of ["direction", "vehicle_type", "vehicle_color"] as const) {
        const values = params[column]
        if (values !== undefined && values.length > 0) {
          where.push(sql`lower(${sql(`d.${column}`)}) IN ${sql.in(values.map((v) => v.toLowerCase()))}`)
        }
      }
      if (params.min_confidence !== undefined) where.push(sql`d.confidence >= ${params.min_confidence}`)
      return [...where, ...knownFiltersOf(sql`d.plate`, params)]
    }

    /**
     * `tag` and `known` on a plate column: whether the plate, as read, is a known one (sql/0028). The
     * known plates are few; each filter is one hashed set of them (the tags' GIN index finds a tag's).
     */
    const knownFiltersOf = (plate: Statement.Fragment, params: SearchParams): Array<Statement.Fragment> => {
      const where: Array<Statement.Fragment> = []
      if (params.tag !== undefined && params.tag.length > 0) {
        where.push(sql`${plate} IN (SELECT k.plate FROM known_plates k WHERE k.tags && ${textArray(params.tag)})`)
      }
      if (params.known !== undefined) {
        const known = sql`${plate} IN (SELECT k.plate FROM known_plates k WHERE k.note <> '' OR cardinality(k.tags) > 0)`
        where.push(params.known ? known : sql`NOT ${known}`)
      }
      return where
    }

    const select = sql`
      d.id::text AS id, d.detection_id, d.detected_at,
      ${sql.literal(CURSOR_TIME)} AS cursor_time,
      d.received_at, d.plate_text, d.plate, d.confidence,
      d.direction, d.vehicle_type, d.vehicle_color, d.vehicle_make, d.lat, d.lon, d.duplicate_of::text AS duplicate_of,
      d.clock_offset_ms::float8 AS clock_offset_ms, c.id AS camera_id, c.external_id AS camera_external_id, c.collector_id, c.name AS camera_name,
      c.site AS camera_site, c.lat AS camera_lat, c.lon AS camera_lon,
      (SELECT array_agg(i.kind ORDER BY i.kind) FROM detection_images i WHERE i.detection_id = d.id) AS image_kinds,
      (SELECT row_to_json(k) FROM (
         SELECT id::text AS id, detection_id::text AS detection_id, action, plate_text, plate, note,
                username AS "by", created_at AS "at"
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

    const itemOf = (row: SearchRow, searched: string | undefined): DetectionItem => {
      return {
        id: row.id,
        detection_id: row.detection_id,
        detected_at: row.detected_at,
        received_at: row.received_at,
        plate_text: row.plate_text,
        plate: row.plate,
        confidence: row.confidence,
        direction: row.direction,
        vehicle_type: row.vehicle_type,
        vehicle_color: row.vehicle_color,
        vehicle_make: row.vehicle_make,
        location: locationOf(row, { lat: row.camera_lat, lon: row.camera_lon }),
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
        correction: row.correction,
        images: imageLinks(row.id, row.image_kinds),
        ...(row.clock_offset_ms === null ? {} : { clock_offset_s: Math.round(row.clock_offset_ms) / 1000 }),
        ...(searched === undefined ? {} : {
          score: Math.round((row.score ?? 0) * 1000) / 1000,
          distance: row.distance ?? 0,
          differences: plateDifferences(searched, row.plate)
        })
      }
    }

    const afterCursor = (cursor: Cursor | undefined) =>
      cursor === undefined ? [] : [sql`(d.detected_at, d.id) < (${cursor.t}::timestamptz, ${cursor.id}::bigint)`]

    /** Reads matched by a correction in force, newest first, limited: the second branch of a search by time. */
    const byCorrectionBranch = (condition: Statement.Fragment, params: SearchParams, cursor: Cursor | undefined) =>
      sql`(SELECT ${select}, NULL::real AS score, NULL::int AS distance
             FROM detections d JOIN cameras c ON c.id = d.camera_id
            WHERE ${sql.and([condition, ...filtersOf(params), ...afterCursor(cursor)])}
            ORDER BY d.detected_at DESC, d.id DESC
            LIMIT ${params.limit + 1})`

    /**
     * Newest first; the page after the cursor. Reads matched by the plate read and reads matched by a
     * correction are two branches, each ordered and limited on its own (an OR of the two would
     * defeat the ordered index scan and read every sighting of a busy plate), then merged.
     */
    const byTime = (match: Statement.Fragment, byCorrection: Statement.Fragment, params: SearchParams, cursor: Cursor | undefined) =>
      sql`
        SELECT * FROM (
          (SELECT ${select}, NULL::real AS score, NULL::int AS distance
             FROM detections d JOIN cameras c ON c.id = d.camera_id
            WHERE ${sql.and([match, ...filtersOf(params), ...afterCursor(cursor)])}
            ORDER BY d.detected_at DESC, d.id DESC
            LIMIT ${params.limit + 1})
          UNION ALL ${byCorrectionBranch(sql`${corrected(byCorrection)} AND NOT ${match}`, params, cursor)}) u
         ORDER BY u.detected_at DESC, u.id::bigint DESC
         LIMIT ${params.limit + 1}`

    /** A list as a SQL text array (NULL when absent or empty), lower-cased where the filter is case-blind. */
    const textArray = (values: ReadonlyArray<string> | undefined, lower = false) =>
      values === undefined || values.length === 0
        ? sql`NULL::text[]`
        : sql`ARRAY(SELECT jsonb_array_elements_text(${JSON.stringify(lower ? values.map((v) => v.toLowerCase()) : values)}::jsonb))`

    /**
     * The newest page of the reads of `plates` (a text[] expression) after the search's filters and
     * before (`at`, `id`), through `plate_reads_newest` (sql/0023): each plate's months newest first,
     * probed in their own partition, under a plan PostgreSQL keeps (planned here at each search, the same
     * statement spent longer planning against every month than running). Rows as `detections`, as `d`.
     */
    const newestReads = (plates: Statement.Fragment, params: SearchParams, before: { at: Statement.Fragment; id: Statement.Fragment }) =>
      sql`plate_reads_newest(${plates}, ${params.limit + 1}::int,
            ${params.from ?? null}::timestamptz, ${params.to ?? null}::timestamptz, ${before.at}, ${before.id},
            ${textArray(params.camera_id)}::uuid[], ${textArray(params.site)}, ${textArray(params.direction, true)},
            ${textArray(params.vehicle_type, true)}, ${textArray(params.vehicle_color, true)},
            ${params.min_confidence ?? null}::float8) d`

    const beforeCursor = (cursor: Cursor | undefined) =>
      cursor === undefined
        ? { at: sql`NULL::timestamptz`, id: sql`NULL::bigint` }
        : { at: sql`${cursor.t}::timestamptz`, id: sql`${cursor.id}::bigint` }

    /**
     * Newest first among the reads of the plates `plates` selects (from the distinct plates), the
     * months each was read in newest first (newestReads). Reads corrected to a plate matching
     * `byCorrection` are merged in.
     */
    const byPlates = (plates: Statement.Fragment, byCorrection: Statement.Fragment, params: SearchParams, cursor: Cursor | undefined) =>
      sql`
        WITH m AS MATERIALIZED (${plates})
        SELECT * FROM (
          (SELECT ${select}, NULL::real AS score, NULL::int AS distance
             FROM ${newestReads(sql`ARRAY(SELECT plate FROM m)`, params, beforeCursor(cursor))}
             JOIN cameras c ON c.id = d.camera_id)
          UNION ALL ${byCorrectionBranch(sql`${corrected(byCorrection)} AND d.plate NOT IN (SELECT plate FROM m)`, params, cursor)}) u
         ORDER BY u.detected_at DESC, u.id::bigint DESC
         LIMIT ${params.limit + 1}`

    /**
     * Closest first: the trigram index of the distinct plates finds plates sharing enough trigrams,
     * the edit distance ranks them (then similarity, then time), and only then are their reads
     * fetched, newest first per plate. Two edits at most for plates of six or more characters, one below.
     */
    const byCloseness = (fuzzy: FuzzyMatch, params: SearchParams, cursor: Cursor | undefined) => {
      // The cursor's place in (distance, -score): plates before it are skipped whole, the plate it stopped
      // in is read on from the cursor's read, and the plates after it from their newest.
      const place = cursor === undefined ? undefined : { distance: cursor.d ?? 0, score: sql`${-(cursor.s ?? 0)}::real` }
      const inPlace = (value: Statement.Fragment) =>
        place === undefined ? value : sql`CASE WHEN (k.distance, -k.score) = (${place.distance}, ${place.score}) THEN ${value} END`
      const before = beforeCursor(cursor)
      return sql`
        WITH k AS MATERIALIZED (
          SELECT * FROM (
            SELECT plate, similarity(plate, ${fuzzy.normalized}) AS score, levenshtein(plate, ${fuzzy.normalized}) AS distance
              FROM plates WHERE ${fuzzy.plates}) p
           WHERE ${sql.and([
        sql`p.distance <= ${fuzzy.maxDistance}`,
        ...(place === undefined ? [] : [sql`(p.distance, -p.score) >= (${place.distance}, ${place.score})`])
      ])})
        SELECT ${select}, k.score, k.distance
          FROM k CROSS JOIN LATERAL ${
        newestReads(sql`ARRAY[k.plate]`, params, { at: inPlace(before.at), id: inPlace(before.id) })
      }
          JOIN cameras c ON c.id = d.camera_id
         ORDER BY k.distance, k.score DESC, d.detected_at DESC, d.id DESC
         LIMIT ${params.limit + 1}`
    }

    /**
     * Without a plate: the reads of the cameras named (or of a site's) in [from, to), newest first.
     * Each camera's newest page comes from its own (camera_id, detected_at) index, in the partitions of
     * the range's months only, and the pages are merged: an `IN` over several cameras would read every
     * read of the range to sort them.
     */
    const byCameras = (params: SearchParams, range: { from: Date; to: Date }, cursor: Cursor | undefined) => {
      const place = [
        ...(params.camera_id === undefined || params.camera_id.length === 0 ? [] : [sql`s.id IN ${sql.in(params.camera_id)}`]),
        ...(params.site === undefined || params.site.length === 0 ? [] : [sql`s.site IN ${sql.in(params.site)}`])
      ]
      // The row comparison alone does not bound the index (it holds no id): the time does.
      const after = cursor === undefined ? [] : [sql`d.detected_at <= ${cursor.t}::timestamptz`, ...afterCursor(cursor)]
      return sql`
        WITH cam AS MATERIALIZED (SELECT s.id FROM cameras s WHERE ${sql.and(place)})
        SELECT ${select}, NULL::real AS score, NULL::int AS distance
          FROM cam CROSS JOIN LATERAL (
            SELECT d.id, d.detection_id, d.camera_id, d.detected_at, d.received_at, d.plate_text, d.plate, d.confidence,
                   d.direction, d.vehicle_type, d.vehicle_color, d.vehicle_make, d.lat, d.lon, d.duplicate_of, d.clock_offset_ms
              FROM detections d
             WHERE ${
        sql.and([
          sql`d.camera_id = cam.id`,
          sql`d.detected_at >= ${range.from}`,
          sql`d.detected_at < ${range.to}`,
          ...readFiltersOf(params),
          ...after
        ])
      }
             ORDER BY d.detected_at DESC, d.id DESC
             LIMIT ${params.limit + 1}) d
          JOIN cameras c ON c.id = d.camera_id
         ORDER BY d.detected_at DESC, d.id DESC
         LIMIT ${params.limit + 1}`
    }

    /** A browse's place and range, or a 400 saying what is missing. */
    const browseRange = (params: SearchParams) =>
      Effect.gen(function*() {
        if ((params.camera_id ?? []).length === 0 && (params.site ?? []).length === 0) {
          return yield* new BadRequest({
            message: "without a plate, name a camera (camera=ID, several comma-separated) or a site (site=NAME), " +
              `and a time range (from and to, at most ${BROWSE_MAX_DAYS} days apart)`
          })
        }
        const { from, to } = params
        if (from === undefined || to === undefined) {
          return yield* new BadRequest({
            message: `without a plate, from and to are required (ISO 8601, at most ${BROWSE_MAX_DAYS} days apart)`
          })
        }
        if (to.getTime() <= from.getTime()) return yield* new BadRequest({ message: "to must be after from" })
        if (to.getTime() - from.getTime() > BROWSE_MAX_DAYS * 86_400_000) {
          return yield* new BadRequest({
            message: `without a plate, a time range is at most ${BROWSE_MAX_DAYS} days (from ${from.toISOString()} to ` +
              `${to.toISOString()} is ${Math.ceil((to.getTime() - from.getTime()) / 86_400_000)}); narrow it or give a plate`
          })
        }
        return { from, to }
      })

    const filtersDetails = (params: SearchParams) => ({
      ...(params.from === undefined ? {} : { from: params.from.toISOString() }),
      ...(params.to === undefined ? {} : { to: params.to.toISOString() }),
      ...(params.camera_id === undefined ? {} : { camera_id: params.camera_id }),
      ...(params.site === undefined ? {} : { site: params.site }),
      ...(params.direction === undefined ? {} : { direction: params.direction }),
      ...(params.vehicle_type === undefined ? {} : { vehicle_type: params.vehicle_type }),
      ...(params.vehicle_color === undefined ? {} : { vehicle_color: params.vehicle_color }),
      ...(params.min_confidence === undefined ? {} : { min_confidence: params.min_confidence }),
      ...(params.tag === undefined ? {} : { tag: params.tag }),
      ...(params.known === undefined ? {} : { known: params.known })
    })

    /** The page of `rows` (one more than the limit when there is another), its cursor after the last. */
    const pageOf = (rows: ReadonlyArray<SearchRow>, params: SearchParams, fuzzy: string | undefined): SearchResult => {
      const page = rows.slice(0, params.limit)
      const last = page.at(-1)
      const more = rows.length > params.limit && last !== undefined
      return {
        items: page.map((row) => itemOf(row, fuzzy)),
        next_cursor: more
          ? encodeCursor({
            t: last.cursor_time,
            id: last.id,
            ...(fuzzy === undefined ? {} : { d: last.distance ?? 0, s: last.score ?? 0 })
          })
          : null
      }
    }

    /** Without a plate: a camera's or a site's reads over a range, audited with the place and range searched. */
    const browse = (params: SearchParams, user: Actor, request: RequestInfo) =>
      Effect.gen(function*() {
        const reason = yield* reasonOf(givenReason(params), "search")
        const range = yield* browseRange(params)
        const cursor = params.cursor === undefined ? undefined : yield* decodeCursor(params.cursor)
        const rows = yield* orBug(Effect.flatMap(byCameras(params, range, cursor), decodePage))
        const result = pageOf(rows, params, undefined)
        const cameras = params.camera_id ?? []
        yield* audit.record({
          actor: user,
          address: request.address,
          action: "search",
          target: cameras.length > 0
            ? `camera:${cameras[0]}${cameras.length > 1 ? ` +${cameras.length - 1}` : ""}`
            : `site:${(params.site ?? []).join(",")}`,
          reason: reason.text,
          details: {
            ...reasonDetails(reason),
            mode: "browse",
            filters: filtersDetails(params),
            page: params.cursor === undefined ? 1 : "next",
            results: result.items.length
          },
          outcome: "success"
        })
        return result
      })

    /** One read by its id, as a search shows it, unaudited: for the callers below, which audit. */
    const findRead = (id: number) =>
      // The primary key is (id, detected_at): one probe of each month's index.
      orBug(Effect.flatMap(
        sql`SELECT ${select}, NULL::real AS score, NULL::int AS distance
              FROM detections d JOIN cameras c ON c.id = d.camera_id
             WHERE d.id = ${id}`,
        decodePage
      ))

    /** One read by its id, as a search shows it; audited as a search is, found or not. */
    const read = (id: number, given: ReasonParams, user: Actor, request: RequestInfo) =>
      Effect.gen(function*() {
        const reason = yield* reasonOf(givenReason(given), "search")
        const rows = yield* findRead(id)
        yield* audit.record({
          actor: user,
          address: request.address,
          action: "search",
          target: `detection:${id}`,
          reason: reason.text,
          details: { ...reasonDetails(reason), mode: "read", detection: String(id), results: rows.length },
          outcome: "success"
        })
        const row = rows[0]
        if (row === undefined) return yield* new NotFound({ message: `there is no read ${id}` })
        return itemOf(row, undefined)
      })

    /** `camera` and `camera_id` name cameras alike. */
    const withCameras = <P extends SearchParams>(given: P): P => {
      const cameras = [...(given.camera_id ?? []), ...(given.camera ?? [])]
      return { ...given, camera_id: cameras.length === 0 ? undefined : [...new Set(cameras)] }
    }

    /**
     * What a plate search looks for, by its mode, checked (a 400 for a plate the mode cannot search):
     * exact and look-alike a read's key (and a correction's); partial and fuzzy a condition on the table of
     * distinct plates, the known-plate filters in it, so that they choose the candidates too.
     */
    const plateMatchOf = (params: SearchParams, plate: string) =>
      Effect.suspend((): Effect.Effect<PlateMatch, BadRequest> => {
        const normalized = normalizePlate(plate)
        const known = knownFiltersOf(sql`plate`, params)
        switch (params.mode) {
          case "exact":
          case "ocr": {
            if (normalized === "") return Effect.fail(new BadRequest({ message: "plate has no letters or digits" }))
            const key = ocrKey(plate)
            return Effect.succeed(
              params.mode === "exact"
                ? { _tag: "key" as const, reads: sql`d.plate = ${normalized}`, corrections: sql`c.plate = ${normalized}` }
                : { _tag: "key" as const, reads: sql`d.plate_ocr = ${key}`, corrections: sql`c.plate_ocr = ${key}` }
            )
          }
          case "partial": {
            const pattern = partialPattern(plate)
            if (pattern === undefined) {
              return Effect.fail(new BadRequest({ message: "a partial plate needs at least two letters or digits besides * and ?" }))
            }
            return Effect.succeed({
              _tag: "partial" as const,
              like: pattern.like,
              plates: sql.and([
                sql`plate LIKE ${pattern.like}`,
                ...(pattern.pairs.length === 0 ? [] : [sql`plate_pairs(plate) @> string_to_array(${pattern.pairs.join(" ")}, ' ')`]),
                ...known
              ])
            })
          }
          case "fuzzy": {
            if ([...normalized].length < 3) return Effect.fail(new BadRequest({ message: "a fuzzy search needs at least three letters or digits" }))
            return Effect.succeed({
              _tag: "fuzzy" as const,
              normalized,
              maxDistance: [...normalized].length >= 6 ? 2 : 1,
              plates: sql.and([sql`plate % ${normalized}`, ...known])
            })
          }
        }
      })

    /** A statement using pg_trgm's `%` at fuzzy search's threshold, set for its own transaction. */
    const atFuzzyThreshold = <A, E, R>(statement: Effect.Effect<A, E, R>) =>
      sql.withTransaction(Effect.zipRight(sql`SELECT set_config('pg_trgm.similarity_threshold', ${String(FUZZY_SIMILARITY)}, true)`, statement))

    /** The rows of a plate search's page after `cursor`, by its mode. */
    const plateRows = (params: SearchParams, match: PlateMatch, cursor: Cursor | undefined) => {
      const statement = match._tag === "key"
        ? byTime(match.reads, match.corrections, params, cursor)
        : match._tag === "partial"
        ? byPlates(sql`SELECT plate FROM plates WHERE ${match.plates}`, sql`c.plate LIKE ${match.like}`, params, cursor)
        : atFuzzyThreshold(byCloseness(match, params, cursor))
      return orBug(Effect.flatMap(statement, decodePage))
    }

    const search = (given: SearchParams, user: Actor, request: RequestInfo) =>
      Effect.gen(function*() {
        const params = withCameras(given)
        if (params.plate === undefined) return yield* browse(params, user, request)
        const reason = yield* reasonOf(givenReason(params), "search")
        const cursor = params.cursor === undefined ? undefined : yield* decodeCursor(params.cursor)
        const normalized = normalizePlate(params.plate)
        const rows = yield* plateRows(params, yield* plateMatchOf(params, params.plate), cursor)
        const result = pageOf(rows, params, params.mode === "fuzzy" ? normalized : undefined)
        yield* audit.record({
          actor: user,
          address: request.address,
          action: "search",
          target: `plate:${normalized}`,
          reason: reason.text,
          details: {
            ...reasonDetails(reason),
            mode: params.mode,
            plate: params.plate,
            filters: filtersDetails(params),
            page: params.cursor === undefined ? 1 : "next",
            results: result.items.length
          },
          outcome: "success"
        })
        return result
      })

    /** A read's page: the read, its run, corrections and alerts (ReadDetails.ts), audited once. */
    const details = yield* makeReadDetails((id) =>
      Effect.map(findRead(id), (rows) => (rows[0] === undefined ? undefined : itemOf(rows[0], undefined))).pipe(
        Effect.catchTag("SqlError", Effect.die)
      ))

    /** The months of `plate_months` (as `pm`) that the search's range touches. */
    const monthsIn = (params: SearchParams) => [
      ...(params.from === undefined ? [] : [sql`pm.month >= read_month(${params.from}::timestamptz)`]),
      ...(params.to === undefined ? [] : [sql`pm.month <= read_month(${params.to}::timestamptz)`])
    ]

    /**
     * Each of `plates`' reads at each camera after the filters: the months each plate was read in
     * (plate_months), each probed in its own partition, as partial and fuzzy search read them.
     */
    const perCameraByMonths = (plates: ReadonlyArray<string>, params: SearchParams) =>
      sql`
        SELECT r.plate, c.id AS camera_id, c.external_id AS camera_external_id, c.name AS camera_name, c.site AS camera_site,
               sum(r.n) AS reads, min(r.first_seen) AS first_seen, max(r.last_seen) AS last_seen
          FROM plate_months pm
          CROSS JOIN LATERAL (
            SELECT d.plate, d.camera_id, count(*) AS n, min(d.detected_at) AS first_seen, max(d.detected_at) AS last_seen
              FROM detections d
             WHERE ${
        sql.and([
          sql`d.plate = pm.plate`,
          sql`d.detected_at >= read_month_start(pm.month)`,
          sql`d.detected_at < read_month_end(pm.month)`,
          ...filtersOf(params)
        ])
      }
             GROUP BY d.plate, d.camera_id) r
          JOIN cameras c ON c.id = r.camera_id
         WHERE ${sql.and([sql`pm.plate IN ${sql.in(plates)}`, ...monthsIn(params)])}
         GROUP BY r.plate, c.id`

    /** The reads `match` selects (by the plate's or the OCR key's index), per plate and camera after the filters. */
    const perCameraWhere = (match: Statement.Fragment, params: SearchParams) =>
      sql`
        SELECT d.plate, c.id AS camera_id, c.external_id AS camera_external_id, c.name AS camera_name, c.site AS camera_site,
               count(*) AS reads, min(d.detected_at) AS first_seen, max(d.detected_at) AS last_seen
          FROM detections d JOIN cameras c ON c.id = d.camera_id
         WHERE ${sql.and([match, ...filtersOf(params)])}
         GROUP BY d.plate, c.id`

    /**
     * The distinct plates a plate search matches, with their reads, first and last seen and cameras
     * after the filters. Partial and fuzzy take their candidates from the plates (the known-plate filters
     * applied to them, so that 200 untagged plates do not crowd out the tagged ones; partial: those read
     * most recently in the range first; fuzzy: closest first), at most PLATE_GROUPS_MAX, then add up
     * each one's reads month by month. Reads matched only by a correction are not counted here (they
     * stay under the plate the camera read). Audited as a search, with the view named.
     */
    const plateGroups = (given: PlateGroupParams, user: Actor, request: RequestInfo) =>
      Effect.gen(function*() {
        const params: SearchParams = withCameras({ ...given, limit: PLATE_GROUPS_MAX })
        if (params.plate === undefined) {
          return yield* new BadRequest({ message: "plate is required: the plates view lists the plates a plate search matched" })
        }
        const reason = yield* reasonOf(givenReason(params), "search")
        const normalized = normalizePlate(params.plate)
        const match = yield* plateMatchOf(params, params.plate)
        const limit = sql.literal(String(PLATE_GROUPS_MAX + 1))
        const inRange = (plate: Statement.Fragment) => sql.and([sql`pm.plate = ${plate}`, ...monthsIn(params)])
        // With filters on the reads (a camera, a site, a direction…), a candidate needs a read they keep: else
        // the 200 newest plates matching the pattern, read elsewhere, would crowd out those read here.
        const narrowed = [params.camera_id, params.site, params.direction, params.vehicle_type, params.vehicle_color]
          .some((values) => values !== undefined && values.length > 0) || params.min_confidence !== undefined
        const withReads = (plate: Statement.Fragment) =>
          narrowed ? [sql`EXISTS (SELECT FROM detections d WHERE ${sql.and([sql`d.plate = ${plate}`, ...filtersOf(params)])})`] : []
        let rows: ReadonlyArray<PlateCameraRow> = []
        let ranked: ReadonlyArray<typeof Candidate.Type> | undefined
        if (match._tag === "key") {
          rows = yield* orBug(Effect.flatMap(perCameraWhere(match.reads, params), decodePlateCameras))
        } else if (match._tag === "partial") {
          ranked = yield* orBug(Effect.flatMap(
            sql`
              SELECT p.plate, NULL::real AS score, NULL::int AS distance FROM (
                SELECT plate, (SELECT max(pm.month) FROM plate_months pm WHERE ${inRange(sql`plates.plate`)}) AS newest
                  FROM plates WHERE ${match.plates}) p
               WHERE ${sql.and([sql`p.newest IS NOT NULL`, ...withReads(sql`p.plate`)])}
               ORDER BY p.newest DESC, p.plate
               LIMIT ${limit}`,
            decodeCandidates
          ))
        } else {
          ranked = yield* orBug(Effect.flatMap(
            atFuzzyThreshold(sql`
              SELECT k.plate, k.score, k.distance FROM (
                SELECT plate, similarity(plate, ${match.normalized}) AS score, levenshtein(plate, ${match.normalized}) AS distance
                  FROM plates WHERE ${match.plates}) k
               WHERE ${
              sql.and([
                sql`k.distance <= ${match.maxDistance}`,
                sql`EXISTS (SELECT FROM plate_months pm WHERE ${inRange(sql`k.plate`)})`,
                ...withReads(sql`k.plate`)
              ])
            }
               ORDER BY k.distance, k.score DESC, k.plate
               LIMIT ${limit}`),
            decodeCandidates
          ))
        }
        const candidates = ranked?.slice(0, PLATE_GROUPS_MAX)
        if (candidates !== undefined && candidates.length > 0) {
          rows = yield* orBug(Effect.flatMap(perCameraByMonths(candidates.map((c) => c.plate), params), decodePlateCameras))
        }
        const groups = groupsOf(rows)
        let plates: Array<PlateGroup>
        if (params.mode === "fuzzy" && candidates !== undefined) {
          const found = new Map(groups.map((g) => [g.plate, g]))
          plates = candidates.flatMap((c) => {
            const group = found.get(c.plate)
            return group === undefined ? [] : [{ ...group, distance: c.distance ?? 0, score: Math.round((c.score ?? 0) * 1000) / 1000 }]
          })
        } else {
          plates = groups.sort((a, b) => b.last_seen.localeCompare(a.last_seen) || a.plate.localeCompare(b.plate))
        }
        const truncated = (ranked?.length ?? plates.length) > PLATE_GROUPS_MAX
        const result: PlateGroupsResult = { plates: plates.slice(0, PLATE_GROUPS_MAX), truncated }
        yield* audit.record({
          actor: user,
          address: request.address,
          action: "search",
          target: `plate:${normalized}`,
          reason: reason.text,
          details: {
            ...reasonDetails(reason),
            mode: params.mode,
            view: "plates",
            plate: params.plate,
            filters: filtersDetails(params),
            results: result.plates.length,
            reads: result.plates.reduce((n, p) => n + p.reads, 0),
            ...(truncated ? { truncated: true } : {})
          },
          outcome: "success"
        })
        return result
      })

    /** What a search's audit row names: the plate, else the cameras or site browsed. */
    const targetOf = (params: SearchParams) => {
      if (params.plate !== undefined) return `plate:${normalizePlate(params.plate)}`
      const cameras = params.camera_id ?? []
      return cameras.length > 0
        ? `camera:${cameras[0]}${cameras.length > 1 ? ` +${cameras.length - 1}` : ""}`
        : `site:${(params.site ?? []).join(",")}`
    }

    /**
     * A search's reads as a file (CSV or PDF), in the search's order, at most EXPORT_MAX_READS (the
     * answer says when it was cut), gathered page by page as the search pages them. One audit row per
     * export, with the search, the reason, the format and how many reads left. Exports take their turn,
     * EXPORTS_AT_ONCE at a time on a server: each gathers up to 10,000 reads, and a PDF's drawing holds the
     * event loop for about a second.
     */
    const exports = yield* Effect.makeSemaphore(EXPORTS_AT_ONCE)
    const exportReads = (given: ExportParams, user: Actor, request: RequestInfo) =>
      Effect.gen(function*() {
        const { format, ...search } = given
        const params: SearchParams = withCameras({ ...search, limit: EXPORT_PAGE })
        const reason = yield* reasonOf(givenReason(params), "export")
        const range = params.plate === undefined ? yield* browseRange(params) : undefined
        const fuzzy = params.plate !== undefined && params.mode === "fuzzy" ? normalizePlate(params.plate) : undefined
        const match = params.plate === undefined ? undefined : yield* plateMatchOf(params, params.plate)
        const items: Array<DetectionItem> = []
        let cursor: Cursor | undefined
        let truncated = false
        for (;;) {
          const rows = match === undefined
            ? yield* orBug(Effect.flatMap(byCameras(params, range!, cursor), decodePage))
            : yield* plateRows(params, match, cursor)
          const page = pageOf(rows, params, fuzzy)
          items.push(...page.items)
          if (page.next_cursor === null) break
          if (items.length >= EXPORT_MAX_READS) {
            truncated = true
            break
          }
          cursor = yield* decodeCursor(page.next_cursor)
        }
        if (items.length > EXPORT_MAX_READS) {
          items.length = EXPORT_MAX_READS
          truncated = true
        }
        const exportedAt = new Date()
        const filters = Object.entries(filtersDetails(params)).map(([name, value]) =>
          `${name}: ${Array.isArray(value) ? value.join(", ") : String(value)}`)
        const searched = params.plate !== undefined
          ? `plate ${params.plate} (${params.mode})`
          : [
            ...(params.camera_id === undefined ? [] : [`camera ${params.camera_id.join(", ")}`]),
            ...(params.site === undefined ? [] : [`site ${params.site.join(", ")}`])
          ].join(", ")
        const body = format === "csv"
          ? new TextEncoder().encode(csvOf(items))
          : yield* pdfOf(items, {
            searched,
            filters,
            exportedBy: user.username,
            exportedAt: exportedAt.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z"),
            reason: [reason.code, reason.caseNumber === undefined ? undefined : `case ${reason.caseNumber}`, reason.text]
              .filter((part) => part !== undefined).join(" - ") || "none given",
            truncated,
            max: EXPORT_MAX_READS
          })
        yield* audit.record({
          actor: user,
          address: request.address,
          action: "search.export",
          target: targetOf(params),
          reason: reason.text,
          details: {
            ...reasonDetails(reason),
            format,
            mode: params.plate === undefined ? "browse" : params.mode,
            ...(params.plate === undefined ? {} : { plate: params.plate }),
            filters: filtersDetails(params),
            results: items.length,
            ...(truncated ? { truncated: true } : {})
          },
          outcome: "success"
        })
        const stamp = exportedAt.toISOString().slice(0, 16).replace(/[-:]/g, "").replace("T", "-")
        const subject = (params.plate === undefined ? targetOf(params).split(":")[1]! : normalizePlate(params.plate) || "plate")
          .replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 40)
        return {
          body,
          contentType: format === "csv" ? "text/csv; charset=utf-8" : "application/pdf",
          fileName: `reads-${subject}-${stamp}.${format}`,
          reads: items.length,
          truncated
        }
      }).pipe(exports.withPermits(1), Effect.withSpan("Search.export"))

    const suggestions = yield* makeSuggestions

    return { search, read, details, plates: plateGroups, exportReads, suggestions } as const

  })
}) {}
