import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import { AppConfig } from "../Config"
import { Jobs } from "../jobs/Jobs"
import { footageJob } from "./Job"
import { FootageUploads } from "./Uploads"

/**
 * The server's job workers for footage (JOB_WORKERS of them; none at 0), woken by NOTIFY `jobs` and
 * polling for retries and run-out leases, and the hourly sweep of unfinished uploads. Needs the
 * services, the database and PgListener.
 */
export const FootageJobsLayer = Layer.scopedDiscard(Effect.gen(function*() {
  const { footage } = yield* AppConfig
  // Unfinished uploads past their 24 hours give their chunks' space back, hourly, on every server.
  const uploads = yield* FootageUploads
  yield* uploads.sweep().pipe(
    Effect.tap((swept) => (swept > 0 ? Effect.logInfo(`removed ${swept} footage uploads left unfinished`) : Effect.void)),
    Effect.catchAllCause((cause) => Effect.logWarning("sweeping unfinished footage uploads failed", cause)),
    Effect.repeat(Schedule.spaced("1 hour")),
    Effect.forkScoped
  )
  if (footage.jobWorkers === 0) return
  const jobs = yield* Jobs
  yield* jobs.forkWorkers([footageJob], footage.jobWorkers, footage.jobLeaseSeconds)
}))
