import type { SearchSuggestions } from "@chaverim/domain/Search"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { orBug } from "../db/Rows"

/** How long the reads' values are served before they are looked up again: they change with new cameras, not by the minute. */
export const SUGGESTIONS_TTL = Duration.minutes(5)

/** The reads the values come from: at most this many of the last WINDOW_DAYS, never a scan of every read. */
const SAMPLE_READS = 20_000
const WINDOW_DAYS = 30
/** Values offered per filter, most common first. */
const MAX_VALUES = 40

const KINDS = ["direction", "vehicle_type", "vehicle_color"] as const

const ValueRow = Schema.Struct({ kind: Schema.Literal(...KINDS), value: Schema.String })

/**
 * The values the search's filters are offered: every camera's site (the cameras table is small), and
 * the directions, vehicle types and colours of a bounded sample of recent reads, kept for
 * SUGGESTIONS_TTL. Lower-cased, as those filters compare.
 */
export const makeSuggestions = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const sites = SqlSchema.findAll({
    Request: Schema.Void,
    Result: Schema.Struct({ site: Schema.String }),
    execute: () => sql`SELECT DISTINCT site FROM cameras WHERE site IS NOT NULL AND btrim(site) <> '' ORDER BY site LIMIT 500`
  })
  const readValues = SqlSchema.findAll({
    Request: Schema.Void,
    Result: ValueRow,
    // No order in the sample (sorting the window would read all of it): the scan stops after SAMPLE_READS
    // rows of the window, in the partitions' order.
    execute: () =>
      sql`
        WITH recent AS MATERIALIZED (
          SELECT d.direction, d.vehicle_type, d.vehicle_color FROM detections d
           WHERE d.detected_at >= now() - make_interval(days => ${WINDOW_DAYS}) AND d.detected_at < now() + interval '1 day'
           LIMIT ${SAMPLE_READS})
        SELECT kind, value FROM (
          SELECT 'direction' AS kind, lower(direction) AS value, count(*) AS n FROM recent WHERE btrim(direction) <> '' GROUP BY 2
          UNION ALL
          SELECT 'vehicle_type', lower(vehicle_type), count(*) FROM recent WHERE btrim(vehicle_type) <> '' GROUP BY 2
          UNION ALL
          SELECT 'vehicle_color', lower(vehicle_color), count(*) FROM recent WHERE btrim(vehicle_color) <> '' GROUP BY 2) v
         ORDER BY kind, n DESC, value`
  })
  // A failed look-up is not kept: the next request asks again (cachedWithTTL would serve the failure for the TTL).
  const [kept, forget] = yield* Effect.cachedInvalidateWithTTL(orBug(readValues()).pipe(Effect.orDie), SUGGESTIONS_TTL)
  const cached = kept.pipe(Effect.onError(() => forget))

  return Effect.gen(function*() {
    const [siteRows, values] = yield* Effect.all([orBug(sites()).pipe(Effect.orDie), cached])
    const of = (kind: typeof KINDS[number]) => values.filter((row) => row.kind === kind).slice(0, MAX_VALUES).map((row) => row.value)
    return {
      sites: siteRows.map((row) => row.site),
      directions: of("direction"),
      vehicle_types: of("vehicle_type"),
      vehicle_colors: of("vehicle_color")
    } satisfies SearchSuggestions
  }).pipe(Effect.withSpan("Search.suggestions"))
})
