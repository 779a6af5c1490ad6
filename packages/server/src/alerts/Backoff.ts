import * as Duration from "effect/Duration"
import * as Schedule from "effect/Schedule"

/**
 * How long a failed alert work item waits before this server tries it again: 500 ms, doubling, at
 * most a minute, each delay jittered by ±25 % so that items failing together do not come back together.
 */
export const ALERT_RETRY_FIRST = Duration.millis(500)
export const ALERT_RETRY_MAX = Duration.minutes(1)
export const alertRetry = Schedule.exponential(ALERT_RETRY_FIRST).pipe(
  Schedule.modifyDelay((_, delay) => Duration.min(delay, ALERT_RETRY_MAX)),
  Schedule.jitteredWith({ min: 0.75, max: 1.25 })
)
