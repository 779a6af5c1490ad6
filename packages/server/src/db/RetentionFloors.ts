import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { RetentionSettings } from "../Config"

/**
 * Writes the retention periods of the settings into `retention_policy` (sql/0017), which only the
 * owner writes and where the purge reads the floors it enforces: whatever cut-off the serving role
 * passes to `retention_purge`, nothing younger than these goes. Run as the owner when it migrates (at
 * every start, and `alpr migrate`); the database audits a change (`retention.policy`, before and after).
 */
export const setRetentionFloors = Effect.fn("Retention.setFloors")(function*(settings: RetentionSettings) {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    SELECT retention_set_policy(${settings.sceneImageDays}::int, ${settings.plateImageDays}::int,
                                ${settings.detectionDays}::int, ${Option.getOrNull(settings.nonhitMinutes)}::int)`
})
