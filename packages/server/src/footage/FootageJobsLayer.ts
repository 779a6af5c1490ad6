import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { AppConfig } from "../Config"
import { Jobs } from "../jobs/Jobs"
import { footageJob } from "./Job"

/**
 * The server's job workers for footage (JOB_WORKERS of them; none at 0), woken by NOTIFY `jobs` and
 * polling for retries and runs-out leases. Needs the services, the database and PgListener.
 */
export const FootageJobsLayer = Layer.scopedDiscard(Effect.gen(function*() {
  const { footage } = yield* AppConfig
  if (footage.jobWorkers === 0) return
  const jobs = yield* Jobs
  yield* jobs.forkWorkers([footageJob], footage.jobWorkers, footage.jobLeaseSeconds)
}))
