import { randomBytes } from "node:crypto"
import pg from "pg"
import { servingRoleName } from "@chaverim/server/db/ServingRole"
import { progress } from "./report"

/**
 * The PostgreSQL server benchmarks run against, as an admin URL: BENCH_DATABASE_URL, else
 * TEST_DATABASE_URL, else the machine's own server (trust auth).
 */
export const adminUrl = (): string =>
  process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"

export interface BenchDatabase {
  readonly name: string
  readonly url: string
  readonly drop: () => Promise<void>
}

const withClient = async <A>(url: string, f: (client: pg.Client) => Promise<A>): Promise<A> => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await f(client)
  } finally {
    await client.end()
  }
}

/** A database of its own (`alpr_bench_<random>`), dropped with `drop` (forcibly: WITH (FORCE)). */
export const freshDatabase = async (admin: string = adminUrl()): Promise<BenchDatabase> => {
  const name = `alpr_bench_${randomBytes(6).toString("hex")}`
  await withClient(admin, (client) => client.query(`CREATE DATABASE ${name}`))
  const url = new URL(admin)
  url.pathname = `/${name}`
  let dropped = false
  return {
    name,
    url: url.toString(),
    drop: async () => {
      if (dropped) return
      dropped = true
      await withClient(admin, async (client) => {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
        // The role a server made to serve it: roles belong to the cluster and outlive the database.
        await client.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(servingRoleName(name))}`)
      })
    }
  }
}

/** A plain client for counting rows. */
export const connect = async (url: string): Promise<pg.Client> => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  return client
}

/**
 * Gives every month from `from` to `to` (UTC) its partition of the reads, as the owner: with
 * detections_make_months (sql/0022), or on a server from before it with detections_ensure_months
 * (sql/0019, then unbounded). A server from before the partitions has neither, and its one table
 * takes the reads: said on stderr, not an error, so that a run can compare with it.
 */
export const makeReadMonths = async (db: pg.Client, from: Date, to: Date): Promise<void> => {
  const months = "ARRAY(SELECT generate_series($1::timestamptz, $2::timestamptz, interval '1 day'))"
  const args = [from.toISOString(), to.toISOString()]
  for (const fn of ["detections_make_months", "detections_ensure_months"]) {
    const made = await db.query(`SELECT ${fn}(${months})`, args).then(() => true, () => false)
    if (made) return
  }
  progress("no monthly partitions: the server keeps its reads in one table")
}
