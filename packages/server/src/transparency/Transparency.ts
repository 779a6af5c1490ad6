import { NotFound } from "@chaverim/domain/Errors"
import { ReasonCount, TRANSPARENCY_PERIOD_DAYS, type TransparencyReport } from "@chaverim/domain/Transparency"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { AppConfig } from "../Config"
import { Count, iso, orBug } from "../db/Rows"

/** How long a report is served before it is computed again: the counts are of 30 days, not of the minute. */
export const TRANSPARENCY_TTL = Duration.minutes(5)

/** Audit actions that are a person looking up reads: plate searches and the investigations. */
const LOOKUPS = ["search", "investigate.%"] as const

/** Said on the page as it is; each line is true of the code (see the README's security section). */
export const DOES_NOT: ReadonlyArray<string> = [
  "It does not sell, share or publish reads; they leave only as exports (evidence bundles and search results), each recorded with who made it and why, and as alerts to the organisation's own people and systems.",
  "It does not let anyone search without signing in with a password and a one-time code, and every search is recorded with its reason.",
  "It does not recognise faces, people or anything but number plates.",
  "It does not keep reads longer than the retention periods on this page, unless a legal hold for a case covers them.",
  "It does not put plates, places, names or case numbers on this page: only counts."
]

const Counts = Schema.Struct({
  cameras: Count,
  sites: Count,
  reads: Count,
  lookups: Count,
  photo_views: Count,
  evidence_exports: Count,
  holds_created: Count,
  holds_active: Count,
  alerts_raised: Count
})

const ByReason = Schema.Struct({ ...ReasonCount.fields, count: Count })

/**
 * The public transparency report (TRANSPARENCY_PAGE): counts over the last 30 days from the tables
 * themselves (the audit log for lookups, photo views and exports), computed at most every
 * TRANSPARENCY_TTL so that a public endpoint costs the database nothing per request.
 */
export class Transparency extends Effect.Service<Transparency>()("@chaverim/server/Transparency", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const config = yield* AppConfig
    const days = TRANSPARENCY_PERIOD_DAYS

    const counts = SqlSchema.single({
      Request: Schema.Void,
      Result: Counts,
      execute: () =>
        sql`
          WITH since AS (SELECT now() - make_interval(days => ${days}) AS t)
          SELECT (SELECT count(*) FROM cameras) AS cameras,
                 (SELECT count(DISTINCT site) FROM cameras WHERE site IS NOT NULL) AS sites,
                 (SELECT count(*) FROM detections, since WHERE received_at >= since.t) AS reads,
                 (SELECT count(*) FROM audit_log, since
                   WHERE at >= since.t AND outcome = 'success'
                     AND (action = ${LOOKUPS[0]} OR action LIKE ${LOOKUPS[1]})) AS lookups,
                 -- Scene photos seen, by read: a row of one photo counts one; a page's view row
                 -- (audit/PhotoViews.ts) counts the reads it names.
                 (SELECT coalesce(sum(CASE WHEN jsonb_typeof(details->'reads') = 'array'
                                           THEN jsonb_array_length(details->'reads') ELSE 1 END), 0)::bigint
                    FROM audit_log, since
                   WHERE at >= since.t AND outcome = 'success' AND action = 'image.view'
                     AND (target LIKE '%/scene' OR details->>'kind' = 'scene')) AS photo_views,
                 (SELECT count(*) FROM evidence_exports, since WHERE created_at >= since.t) AS evidence_exports,
                 (SELECT count(*) FROM legal_holds, since WHERE created_at >= since.t) AS holds_created,
                 (SELECT count(*) FROM legal_holds WHERE released_at IS NULL) AS holds_active,
                 (SELECT count(*) FROM alerts, since WHERE created_at >= since.t) AS alerts_raised`
    })

    const byReason = SqlSchema.findAll({
      Request: Schema.Void,
      Result: ByReason,
      execute: () =>
        sql`
          SELECT l.details->>'reason_code' AS reason_code, r.label, count(*) AS count
            FROM audit_log l
            LEFT JOIN reason_codes r ON r.code = l.details->>'reason_code'
           WHERE l.at >= now() - make_interval(days => ${days}) AND l.outcome = 'success'
             AND (l.action = ${LOOKUPS[0]} OR l.action LIKE ${LOOKUPS[1]})
           GROUP BY 1, 2
           ORDER BY count(*) DESC, 1 NULLS LAST`
    })

    const compute = Effect.gen(function*() {
      const numbers = yield* orBug(counts(undefined)).pipe(
        Effect.catchTag("NoSuchElementException", () => Effect.dieMessage("the transparency counts returned no row"))
      )
      const reasons = yield* orBug(byReason(undefined))
      const retention = config.retention
      return {
        generated_at: iso(Date.now()),
        period_days: days,
        ...numbers,
        lookups_by_reason: reasons,
        retention: {
          scene_image_days: retention.sceneImageDays,
          plate_image_days: retention.plateImageDays,
          detection_days: retention.detectionDays,
          nonhit_minutes: Option.getOrNull(retention.nonhitMinutes)
        },
        does_not: DOES_NOT
      } satisfies TransparencyReport
    }).pipe(Effect.withSpan("Transparency.compute"))

    const [cached] = yield* Effect.cachedInvalidateWithTTL(compute, TRANSPARENCY_TTL)

    /** The report, or NotFound when the installation does not publish it. */
    const report = config.transparencyPage
      ? cached.pipe(Effect.catchTag("SqlError", Effect.die))
      : Effect.fail(new NotFound({ message: "this installation does not publish a transparency report (TRANSPARENCY_PAGE=off)" }))

    return { report } as const
  })
}) {}
