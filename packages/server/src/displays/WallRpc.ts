import { CurrentUser } from "@chaverim/domain/Auth"
import { COLLECTOR_SILENT_SECONDS, onWall, WALL_ALERTS_MAX, WallRpcs, type WallCollector } from "@chaverim/domain/rpc/Wall"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { Alerts } from "../alerts/Alerts"
import { Cameras } from "../collectors/Cameras"
import { Collectors } from "../collectors/Collectors"
import { orBug } from "../db/Rows"
import { Displays } from "./Displays"

/**
 * The wall's status for any signed-in role: collector health, placed cameras and the count of reads since
 * the screen's midnight. Only what a room screen shows: no keys, hosts, versions or MAC addresses.
 * Each call marks the session as seen (for a wall display: its "last seen" in the admin's list). And
 * the alerts it opens with: the new ones, so a display needs no access to the alert list's history.
 */
export const WallRpcsLayer = WallRpcs.toLayer(Effect.gen(function*() {
  const collectors = yield* Collectors
  const cameras = yield* Cameras
  const displays = yield* Displays
  const alerts = yield* Alerts
  const sql = yield* SqlClient.SqlClient

  // The BRIN index on detected_at keeps this to the blocks of the day.
  const countReads = SqlSchema.single({
    Request: Schema.DateFromSelf,
    Result: Schema.Struct({ n: Schema.Number }),
    execute: (since) => sql`SELECT count(*)::int AS n FROM detections WHERE detected_at >= ${since}`
  })
  const readsSince = (since: Date) => Effect.map(orBug(countReads(since)), ({ n }) => n)

  const status = Effect.fn("Wall.status")(function*(since: Date) {
    const [all, known, reads, now] = yield* Effect.all(
      [collectors.list(), cameras.list(), readsSince(since), Clock.currentTimeMillis],
      { concurrency: 3 }
    )
    const sitesOf = (collectorId: string) =>
      [...new Set(known.flatMap((c) => c.collector_id === collectorId && c.site !== null ? [c.site] : []))].sort()
    const collectorsNow = all.map((c): WallCollector => ({
      collector_id: c.id,
      name: c.name,
      sites: sitesOf(c.id),
      online: c.status === "active" && c.last_seen_at !== null &&
        now - new Date(c.last_seen_at).getTime() < COLLECTOR_SILENT_SECONDS * 1000,
      queue_depth: c.queue_depth,
      cameras_online: c.cameras_online,
      disk_full: c.disk_full,
      last_seen_at: c.last_seen_at,
      seen_by: c.last_seen_at === null
        ? null
        : c.last_upload_at !== null && (c.last_heartbeat_at === null || c.last_upload_at > c.last_heartbeat_at)
        ? "upload"
        : "heartbeat"
    }))
    return {
      collectors: collectorsNow,
      // Placed cameras still in service: a retired one keeps its reads but is off the wall's map.
      cameras: known.flatMap((c) =>
        c.lat === null || c.lon === null || c.retired_at !== null
          ? []
          : [{ camera_id: c.camera_id, name: c.name, site: c.site, lat: c.lat, lon: c.lon }]),
      reads_since: reads,
      as_of: new Date(now).toISOString()
    }
  })

  return WallRpcs.of({
    // Only the database can fail here: logged, and a defect for the client (the wall shows it stale).
    // The screen asking is what "last seen" of a wall display means.
    "wall.status": ({ since }) =>
      Effect.flatMap(CurrentUser, (user) => Effect.zipRight(displays.seen(user.sessionHash), status(new Date(since)))).pipe(
        Effect.tapError((e) => Effect.logError("wall.status failed", e)),
        Effect.orDie
      ),
    "wall.alerts": () =>
      Effect.flatMap(CurrentUser, (user) => alerts.list({ status: "open", limit: WALL_ALERTS_MAX }, user)).pipe(
        Effect.flatMap((page) => Effect.map(Clock.currentTimeMillis, (now) => page.items.filter((alert) => onWall(alert, now)))),
        Effect.orDie
      )
  })
}))
