import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import type * as Statement from "@effect/sql/Statement"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { KNOWN_ADDRESS_DAYS } from "../auth/Throttle"
import { Count, orBug } from "../db/Rows"

/**
 * The rows of derived tables past their lifetime (Policy.ts, DERIVED_LIFETIMES), by table. None is
 * evidence: the serving role deletes them itself. live_events (the live feed prunes it) and alert_work
 * (the engine empties it) are not here.
 */
const expired = (sql: SqlClient.SqlClient): ReadonlyArray<readonly [string, Statement.Fragment]> => [
  // Sign-in looks at 90 days of sessions to know an address; ended ones older than that serve nothing.
  ["sessions", sql`(expires_at < now() OR revoked_at IS NOT NULL) AND created_at < now() - make_interval(days => ${KNOWN_ADDRESS_DAYS})`],
  ["pending_logins", sql`expires_at < now() - interval '1 hour'`],
  // The longest window is an hour; a row a day old counts nothing, unless it still locks someone out.
  ["auth_throttle", sql`window_start < now() - interval '1 day' AND (locked_until IS NULL OR locked_until < now())`],
  ["telegram_link_codes", sql`(used_at IS NOT NULL OR expires_at < now()) AND created_at < now() - interval '1 day'`]
]

/** Deletes (or with `dryRun` only counts) what is past its lifetime, each table in a statement of its own. */
export const pruneDerived = (dryRun: boolean) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const counts: Record<string, number> = {}
    for (const [table, where] of expired(sql)) {
      const counted = yield* SqlSchema.single({
        Request: Schema.Void,
        Result: Schema.Struct({ n: Count }),
        execute: () =>
          dryRun
            ? sql`SELECT count(*) AS n FROM ${sql(table)} WHERE ${where}`
            : sql`WITH gone AS (DELETE FROM ${sql(table)} WHERE ${where} RETURNING 1) SELECT count(*) AS n FROM gone`
      })(undefined).pipe(orBug, Effect.catchTag("NoSuchElementException", Effect.die))
      counts[table] = counted.n
    }
    return counts
  })
