import { execFile } from "node:child_process"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { promisify } from "node:util"
import pg from "pg"
import { freePort } from "./Net"

const run = promisify(execFile)

/**
 * A primary and a hot standby kept in sync by streaming replication: two clusters of their own in a
 * temporary folder, on free ports, made with the machine's PostgreSQL programs (Debian's postgresql
 * package: initdb, pg_ctl, pg_basebackup). Both trust local connections and stop with `stop`.
 */
export interface ReplicatedPair {
  /** a database's URL on the primary, as its superuser */
  readonly primaryUrl: (database: string) => string
  /** the same database's URL on the standby, as the same superuser */
  readonly standbyUrl: (database: string) => string
  /** waits until the standby has replayed everything the primary has written so far */
  readonly caughtUp: (timeoutMs?: number) => Promise<void>
  readonly stop: () => Promise<void>
}

/** The newest PostgreSQL installed under /usr/lib/postgresql that has the programs a standby needs. */
const binDir = async (): Promise<string> => {
  const versions = await Fs.readdir("/usr/lib/postgresql").catch(() => [] as Array<string>)
  for (const version of versions.sort((a, b) => Number(b) - Number(a))) {
    const dir = Path.join("/usr/lib/postgresql", version, "bin")
    const has = await Promise.all(["initdb", "pg_ctl", "pg_basebackup"].map((p) =>
      Fs.access(Path.join(dir, p)).then(() => true, () => false)))
    if (has.every(Boolean)) return dir
  }
  throw new Error("no PostgreSQL programs (initdb, pg_ctl, pg_basebackup) under /usr/lib/postgresql: apt-get install postgresql")
}

export const startReplicatedPair = async (): Promise<ReplicatedPair> => {
  const bin = await binDir()
  // PostgreSQL refuses to run as root: as root, run its programs as the postgres user.
  const asRoot = process.getuid?.() === 0
  const owner = asRoot
    ? { uid: Number((await run("id", ["-u", "postgres"])).stdout.trim()), gid: Number((await run("id", ["-g", "postgres"])).stdout.trim()) }
    : undefined
  const pgRun = (program: string, args: ReadonlyArray<string>) =>
    asRoot
      ? run("runuser", ["-u", "postgres", "--", Path.join(bin, program), ...args])
      : run(Path.join(bin, program), [...args])

  const root = await Fs.mkdtemp(Path.join(Os.tmpdir(), "alpr-replica-"))
  if (owner) await Fs.chown(root, owner.uid, owner.gid)
  await Fs.chmod(root, 0o755)
  const primaryDir = Path.join(root, "primary")
  const standbyDir = Path.join(root, "standby")
  const [primaryPort, standbyPort] = [await freePort(), await freePort()]
  const started: Array<string> = []
  const options = (dir: string, port: number) =>
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60 -c shared_buffers=32MB`

  const stop = async () => {
    for (const dir of started.reverse()) await pgRun("pg_ctl", ["-D", dir, "-m", "immediate", "-w", "stop"]).catch(() => undefined)
    await Fs.rm(root, { recursive: true, force: true })
  }
  try {
    await pgRun("initdb", ["-D", primaryDir, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C"])
    await pgRun("pg_ctl", ["-D", primaryDir, "-l", Path.join(root, "primary.log"), "-w", "-o", options(primaryDir, primaryPort), "start"])
    started.push(primaryDir)
    await pgRun("pg_basebackup", ["-h", "127.0.0.1", "-p", String(primaryPort), "-U", "postgres", "-D", standbyDir, "-R", "-X", "stream", "--no-sync"])
    await pgRun("pg_ctl", ["-D", standbyDir, "-l", Path.join(root, "standby.log"), "-w", "-o", options(standbyDir, standbyPort), "start"])
    started.push(standbyDir)
  } catch (error) {
    await stop()
    throw error
  }

  const url = (port: number) => (database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`
  const caughtUp = async (timeoutMs = 10_000) => {
    const primary = new pg.Client({ connectionString: url(primaryPort)("postgres") })
    const standby = new pg.Client({ connectionString: url(standbyPort)("postgres") })
    await primary.connect()
    await standby.connect()
    try {
      const { rows: [{ lsn }] } = await primary.query<{ lsn: string }>("SELECT pg_current_wal_lsn()::text AS lsn")
      const until = Date.now() + timeoutMs
      for (;;) {
        const { rows: [{ behind }] } = await standby.query<{ behind: boolean }>(
          "SELECT coalesce(pg_last_wal_replay_lsn() < $1::pg_lsn, true) AS behind",
          [lsn]
        )
        if (!behind) return
        if (Date.now() > until) throw new Error(`the standby did not replay up to ${lsn} within ${timeoutMs} ms`)
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    } finally {
      await primary.end()
      await standby.end()
    }
  }
  return { primaryUrl: url(primaryPort), standbyUrl: url(standbyPort), caughtUp, stop }
}
