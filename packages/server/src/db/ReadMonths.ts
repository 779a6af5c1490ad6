import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"

/** The month (UTC) a read's time falls in, as "YYYY-MM". */
const monthOf = (at: Date) => at.toISOString().slice(0, 7)

/** The month (UTC) `months` after the one `at` falls in (before it, if negative), as "YYYY-MM". */
const monthFrom = (at: Date, months: number) =>
  monthOf(new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + months, 1)))

/**
 * The monthly partitions of the reads (sql/0019): before reads are stored, their months get a
 * partition of their own if they have none yet, through the owner's `detections_ensure_months` (a
 * read of a month without one would land in the default partition and keep that month from ever
 * getting one). The function makes a partition in its own short transaction, never inside a batch's.
 *
 * Only the months a live collector can still be sending get one: from two months back to next month
 * (sql/0022, whose `detections_months_window` the database enforces; this mirrors it to spare the
 * call). Reads of other months are stored in the default partition, so that no batch, however its
 * times are spread, adds more than a few tables for every query of the reads to plan against.
 *
 * This month and later ones are asked about once per process. An earlier month is asked about each
 * time: retention may have dropped its partition since (a month goes only once it has ended).
 */
export const makeReadMonths = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const known = new Set<string>()

  const ensure = (times: ReadonlyArray<Date>) =>
    Effect.gen(function*() {
      const now = new Date()
      const first = monthFrom(now, -2)
      const last = monthFrom(now, 1)
      const missing = [...new Set(times.map(monthOf))].filter((month) =>
        month >= first && month <= last && !known.has(month)
      )
      if (missing.length === 0) return
      yield* sql`SELECT detections_ensure_months(${`{${missing.map((month) => `${month}-01T00:00:00Z`).join(",")}}`}::timestamptz[])`
      const current = monthOf(now)
      for (const month of missing) if (month >= current) known.add(month)
    })

  return { ensure } as const
})
