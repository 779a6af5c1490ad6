import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import { AppConfig } from "../Config"
import { Retention } from "./Retention"

/**
 * The retention job on its schedule (RETENTION_INTERVAL_MINUTES): every server tries, and the run's
 * advisory lock lets one at a time go ahead; the others find it taken and wait for their next turn.
 * The first turn comes an interval after start (at most five minutes), not while a server is starting.
 */
export const RetentionScheduleLayer = Layer.scopedDiscard(Effect.gen(function*() {
  const config = yield* AppConfig
  const retention = yield* Retention
  if (Option.isNone(config.retention.intervalMinutes)) return
  const every = Duration.millis(config.retention.intervalMinutes.value * 60_000)
  const turn = retention.run({ dryRun: false, trigger: "schedule" }).pipe(
    Effect.tap((report) =>
      Effect.logInfo("retention run").pipe(Effect.annotateLogs({
        scene_images_deleted: report.scene_images_deleted,
        plate_images_deleted: report.plate_images_deleted,
        detections_deleted: report.detections_deleted,
        held_skipped: report.held_skipped,
        seconds: report.seconds
      }))
    ),
    Effect.catchTag("RetentionBusy", () => Effect.logDebug("retention: another server is running it")),
    Effect.catchAllCause((cause) => Effect.logError("retention run failed; the next one finishes what it left", cause))
  )
  yield* Effect.sleep(Duration.min(every, Duration.minutes(5))).pipe(
    Effect.zipRight(Effect.repeat(turn, Schedule.spaced(every))),
    Effect.forkScoped
  )
}))
