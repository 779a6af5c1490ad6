import * as Schema from "effect/Schema"

/**
 * Health alerts (issue 19): what the health monitor raises to admins when a collector or a camera goes
 * quiet, a collector's buffer fills or a clock is off, and clears when it has passed.
 */

/** A clock further off than this (in either direction) is an alert. */
export const CLOCK_SKEW_LIMIT_S = 2

/** Heartbeats a collector may miss before it is silent (its interval is the one its heartbeats give). */
export const MISSED_HEARTBEATS = 3

export const HealthKind = Schema.Literal(
  "collector_silent",
  "collector_clock",
  "buffer_filling",
  "camera_silent",
  "camera_low_rate",
  "camera_clock"
)
export type HealthKind = typeof HealthKind.Type

/** What each kind means, in a sentence an admin reads. */
export const HEALTH_KIND_TEXT: Record<HealthKind, string> = {
  collector_silent: "Collector silent",
  collector_clock: "Collector clock off",
  buffer_filling: "Collector buffer filling",
  camera_silent: "Camera silent",
  camera_low_rate: "Camera reads far below usual",
  camera_clock: "Camera clock off"
}

export const HealthAlert = Schema.Struct({
  id: Schema.String,
  kind: HealthKind,
  collector: Schema.Struct({ id: Schema.String, name: Schema.String }),
  /** for the camera kinds */
  camera: Schema.NullOr(Schema.Struct({ id: Schema.String, name: Schema.String, site: Schema.NullOr(Schema.String) })),
  /** what is wrong, with its figures, as it was when raised */
  message: Schema.String,
  /** the figures when raised (e.g. `clock_skew_s`, `expected_per_hour`, `observed_last_hour`) */
  details: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  raised_at: Schema.String,
  /** null while it lasts */
  cleared_at: Schema.NullOr(Schema.String),
  /** how long it lasted (to now while open), in seconds */
  duration_s: Schema.Number
})
export type HealthAlert = typeof HealthAlert.Type

export const HealthListRequest = Schema.Struct({
  /** only the alerts still open */
  open: Schema.optional(Schema.Boolean),
  /** newest first; at most 500 (100 when not given) */
  limit: Schema.optional(Schema.Int.pipe(Schema.between(1, 500)))
})
export type HealthListRequest = typeof HealthListRequest.Type
