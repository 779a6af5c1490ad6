import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"

/** Woken at every commit that appended live events; the payload is never empty (see Listener). */
export const LIVE_EVENTS_CHANNEL = "live_events"

/** How long live events are kept (and so how far back a client may resume the feed). */
export const LIVE_EVENTS_KEPT_HOURS = 24

/**
 * Held from taking the event numbers to the commit, by every writer of live events (7415001 is the
 * migrator's, 7415009 the watchlist revisions'): so numbers become visible in the order they were
 * taken, and a reader that has seen event N misses nothing by reading `id > N` next. Taken by
 * `live_events_append` (sql/0041), which every append goes through.
 */
export const LIVE_EVENT_LOCK = 7_415_010

export interface LiveEventsToAppend {
  /** one `detection` event each, in this order */
  readonly detectionIds?: ReadonlyArray<string> | undefined
  /**
   * the reads' times (ISO), in the same order: they name the reads' months to the live feed's lookup
   * (reads are partitioned by month; sql/0021)
   */
  readonly detectionTimes?: ReadonlyArray<string> | undefined
  /** one `alert` event each (raised or changed), after the detections */
  readonly alertIds?: ReadonlyArray<string> | undefined
  /** one `health` event each (a health alert raised or cleared), last */
  readonly healthIds?: ReadonlyArray<string> | undefined
}

/**
 * Appends live events in the caller's transaction and wakes every server's live feed at its commit.
 *
 * Call it as the LAST statement before the commit: the lock it takes is held until then and every
 * other writer of live events (the alert engine's workers, acknowledgements) waits for it.
 */
export const appendLiveEvents = Effect.fn("LiveEvents.append")(function*(events: LiveEventsToAppend) {
  const sql = yield* SqlClient.SqlClient
  const detectionIds = events.detectionIds ?? []
  const alertIds = events.alertIds ?? []
  const healthIds = events.healthIds ?? []
  if (detectionIds.length === 0 && alertIds.length === 0 && healthIds.length === 0) return
  // One round trip: the NOTIFY (queued until the commit), the lock and the insert (sql/0041).
  yield* sql`SELECT live_events_append(${detectionIds.join(",")}, ${(events.detectionTimes ?? []).join(",")},
                                       ${alertIds.join(",")}, ${healthIds.join(",")})`
})
