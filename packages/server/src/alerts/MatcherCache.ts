import { EntryKind, WatchlistCategory } from "@chaverim/domain/Watchlist"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import type * as Statement from "@effect/sql/Statement"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import { isFor, PgListener } from "../db/Listener"
import { Int8Text, orBug } from "../db/Rows"
import { Matcher } from "./Matcher"

export const WATCHLIST_CHANNEL = "watchlist_changed"

/** A missed notification (or a bug) is made good this often at the latest. */
const SAFETY_SYNC = "1 minute"

/** A watchlist as the matcher holds it, with what the delta needs: retired or not, its revision. */
const ListRow = Schema.Struct({
  id: Schema.String,
  category: WatchlistCategory,
  cameraIds: Schema.Array(Schema.String),
  active: Schema.Boolean,
  deleted: Schema.Boolean,
  revision: Int8Text
})

/** An entry as the matcher holds it; `gone` when it was removed or its list retired. */
const EntryRow = Schema.Struct({
  id: Int8Text,
  watchlistId: Schema.String,
  kind: EntryKind,
  value: Schema.String,
  expiresAt: Schema.NullOr(Schema.DateFromSelf),
  gone: Schema.Boolean,
  revision: Int8Text
})

const Revision = Schema.Struct({ revision: Int8Text })

/**
 * Every live watchlist entry, held in memory by a Matcher and kept current: loaded at start, then
 * updated by the rows whose revision is above the last applied one, on every `watchlist_changed`
 * notification, after the LISTEN connection comes back, and once a minute in case.
 *
 * Revisions become visible in commit order (sql/0009), and lists and entries are read in one
 * snapshot, so reading `revision > applied` never skips a change.
 */
export class MatcherCache extends Effect.Service<MatcherCache>()("@chaverim/server/MatcherCache", {
  scoped: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const listener = yield* PgListener
    // Subscribed before the first load, so that no change committed after it goes unnoticed.
    const signals = yield* listener.subscribe(WATCHLIST_CHANNEL)
    const applied = yield* SubscriptionRef.make(0)
    const lock = yield* Effect.makeSemaphore(1)
    let matcher = Matcher.build([], [])

    // A value stored under older rules (a lookahead, say) that RE2 cannot run never alerts: say so.
    const warnUnusable = (ids: Iterable<string>) => {
      const problems = [...ids].flatMap((id) => {
        const why = matcher.invalid.get(id)
        return why === undefined ? [] : [`entry ${id}: ${why}`]
      })
      return problems.length === 0 ? Effect.void : Effect.logWarning("watchlist entries that cannot be matched never alert").pipe(
        Effect.annotateLogs({ entries: problems.slice(0, 20), count: problems.length })
      )
    }

    const snapshot = <A, E, R>(read: Effect.Effect<A, E, R>) =>
      sql.withTransaction(Effect.zipRight(sql`SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY`, read))

    const rowsOf = <A, I>(Result: Schema.Schema<A, I>, query: Statement.Statement<unknown>) =>
      orBug(SqlSchema.findAll({ Request: Schema.Void, Result, execute: () => query })(undefined))

    const load = Effect.gen(function*() {
      const { entries, lists, revision } = yield* snapshot(Effect.all({
        lists: rowsOf(ListRow, sql`
          SELECT id, category, camera_ids AS "cameraIds", active, false AS deleted, revision
            FROM watchlists WHERE deleted_at IS NULL`),
        entries: rowsOf(EntryRow, sql`
          SELECT e.id, e.watchlist_id AS "watchlistId", e.kind, e.value, e.expires_at AS "expiresAt", false AS gone, e.revision
            FROM watchlist_entries e JOIN watchlists w ON w.id = e.watchlist_id
           WHERE e.removed_at IS NULL AND w.deleted_at IS NULL`),
        // over every row, retired ones included: the point the next delta reads from
        revision: rowsOf(Revision, sql`
          SELECT greatest((SELECT max(revision) FROM watchlists), (SELECT max(revision) FROM watchlist_entries), 0) AS revision`)
      }))
      const upTo = revision[0]?.revision ?? "0"
      matcher = Matcher.build(lists, entries)
      yield* warnUnusable(matcher.invalid.keys())
      yield* SubscriptionRef.set(applied, Number(upTo))
      yield* Effect.logDebug("watchlists loaded").pipe(
        Effect.annotateLogs({ lists: lists.length, entries: entries.length, revision: upTo })
      )
    })

    const delta = Effect.gen(function*() {
      const from = yield* SubscriptionRef.get(applied)
      const { entries, lists } = yield* snapshot(Effect.all({
        lists: rowsOf(ListRow, sql`
          SELECT id, category, camera_ids AS "cameraIds", active, deleted_at IS NOT NULL AS deleted, revision
            FROM watchlists WHERE revision > ${from} ORDER BY watchlists.revision`),
        entries: rowsOf(EntryRow, sql`
          SELECT e.id, e.watchlist_id AS "watchlistId", e.kind, e.value, e.expires_at AS "expiresAt",
                 (e.removed_at IS NOT NULL OR w.deleted_at IS NOT NULL) AS gone, e.revision
            FROM watchlist_entries e JOIN watchlists w ON w.id = e.watchlist_id
           WHERE e.revision > ${from} ORDER BY e.revision`)
      }))
      if (lists.length === 0 && entries.length === 0) return
      // Lists first: removing a retired list removes its entries, and an entry's list must be known.
      for (const row of lists) {
        if (row.deleted) matcher.removeList(row.id)
        else matcher.putList(row)
      }
      for (const row of entries) {
        if (row.gone) matcher.removeEntry(row.id)
        else matcher.putEntry(row)
      }
      yield* warnUnusable(entries.filter((row) => !row.gone).map((row) => row.id))
      const last = Math.max(from, ...lists.map((r) => Number(r.revision)), ...entries.map((r) => Number(r.revision)))
      yield* SubscriptionRef.set(applied, last)
    })

    /** Applies every change committed so far; one at a time. */
    const sync = lock.withPermits(1)(delta)

    yield* load

    yield* Stream.fromQueue(signals).pipe(
      Stream.filter(isFor(WATCHLIST_CHANNEL)),
      Stream.merge(Stream.fromSchedule(Schedule.spaced(SAFETY_SYNC))),
      Stream.runForEach(() =>
        sync.pipe(
          Effect.tapError((error) => Effect.logWarning("watchlist sync failed; retrying", error)),
          Effect.retry(Schedule.exponential("200 millis").pipe(Schedule.jittered, Schedule.union(Schedule.spaced("10 seconds")))),
          Effect.orDie
        )
      ),
      Effect.forkScoped
    )

    return {
      /** The matcher with every change applied so far; changes are applied to it in place. */
      current: Effect.sync(() => matcher),
      /** The last revision applied. */
      revision: SubscriptionRef.get(applied),
      /** Waits until the changes up to `revision` (as a watchlist or entry row carries it) are applied. */
      awaitRevision: (revision: number) =>
        applied.changes.pipe(Stream.filter((r) => r >= revision), Stream.take(1), Stream.runDrain),
      /** Applies what is committed now, without waiting for the notification. */
      sync
    } as const
  })
}) {}
