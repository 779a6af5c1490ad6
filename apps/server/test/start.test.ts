import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { type ChildProcess, spawn } from "node:child_process"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import pg from "pg"
import { freePort } from "../../../test-support/Net"
import { METRICS_TOKEN } from "./harness"

/** The repository root, where `npm start` runs. */
const ROOT = fileURLToPath(new URL("../../../", import.meta.url))

const START_MS = 90_000
const STOP_MS = 30_000


const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

interface App {
  readonly child: ChildProcess
  readonly pgid: number
  readonly url: string
  readonly output: { stdout: string; stderr: string }
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
}

const running = new Set<App>()

const logs = (app: App) => `stdout:\n${app.output.stdout}\nstderr:\n${app.output.stderr}`

/** `npm start` with the embedded PostgreSQL under dataDir, in a process group of its own. */
const start = async (dataDir: string): Promise<App> => {
  const port = await freePort()
  const env: Record<string, string | undefined> = {
    ...process.env,
    DATA_DIR: dataDir,
    PORT: String(port),
    LOG_LEVEL: "Info",
    METRICS_TOKEN
  }
  delete env.DATABASE_URL
  const child = spawn("npm", ["start"], { cwd: ROOT, env, detached: true, stdio: ["ignore", "pipe", "pipe"] })
  const output = { stdout: "", stderr: "" }
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (output.stdout += chunk))
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (output.stderr += chunk))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("close", (code, signal) => resolve({ code, signal }))
  )
  const app: App = { child, pgid: child.pid!, url: `http://127.0.0.1:${port}`, output, exited }
  running.add(app)

  let gone = false
  void exited.then(() => (gone = true))
  const deadline = Date.now() + START_MS
  while (!output.stdout.split("\n").some((line) => line.startsWith("listening on http://"))) {
    if (gone) throw new Error(`npm start exited before listening\n${logs(app)}`)
    if (Date.now() > deadline) throw new Error(`npm start did not listen within ${START_MS} ms\n${logs(app)}`)
    await sleep(200)
  }
  return app
}

/** Live (not zombie) processes in a process group, from /proc. */
const groupMembers = async (pgid: number): Promise<Array<string>> => {
  const members: Array<string> = []
  for (const entry of await Fs.readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    const stat = await Fs.readFile(`/proc/${entry}/stat`, "utf8").catch(() => "")
    // pid (comm) state ppid pgrp ...; comm may hold spaces, so split after the last ')'
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    if (fields[0] !== "Z" && Number(fields[2]) === pgid) members.push(`${entry} ${stat.slice(0, stat.lastIndexOf(")") + 1)}`)
  }
  return members
}

/** Command lines of live processes that run a PostgreSQL server on the cluster under dataDir. */
/**
 * The postmasters running on the cluster. A backend just forked still shows its parent's command
 * line until it names itself, so processes whose parent is one of them are not counted.
 */
const postgresOf = async (dataDir: string): Promise<Array<string>> => {
  const found = new Map<string, { readonly parent: string; readonly cmdline: string }>()
  for (const entry of await Fs.readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    const cmdline = (await Fs.readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "")).split("\0").join(" ")
    if (!cmdline.includes("postgres") || !cmdline.includes(`-D ${dataDir}`)) continue
    // /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces, so read after the last ")".
    const stat = await Fs.readFile(`/proc/${entry}/stat`, "utf8").catch(() => "")
    found.set(entry, { parent: stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1] ?? "", cmdline })
  }
  return [...found].filter(([, p]) => !found.has(p.parent)).map(([pid, p]) => `${pid}: ${p.cmdline}`)
}

/** SIGTERM to the whole process group, as a terminal, systemd or docker stop would. */
const stop = async (app: App) => {
  process.kill(-app.pgid, "SIGTERM")
  const timeout = sleep(STOP_MS).then(() => "timeout" as const)
  const result = await Promise.race([app.exited, timeout])
  if (result === "timeout") {
    throw new Error(`npm start did not exit within ${STOP_MS} ms of SIGTERM\n${logs(app)}`)
  }
  // The rest of the group (tsx, node, postgres) must be gone too.
  const deadline = Date.now() + STOP_MS
  let left = await groupMembers(app.pgid)
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(200)
    left = await groupMembers(app.pgid)
  }
  running.delete(app)
  return { ...result, left }
}

/** Who the server's pool connects as, asked of the embedded cluster with its superuser's secret. */
const servingRoles = async (app: App): Promise<Array<string>> => {
  const port = /embedded PostgreSQL ready.*\bport=(\d+)/.exec(app.output.stderr)?.[1]
  if (port === undefined) throw new Error(`no port in the logs\n${logs(app)}`)
  const secret = (await Fs.readFile(Path.join(dataDir, "pg-superuser.secret"), "utf8")).trim()
  const client = new pg.Client({ connectionString: `postgres://postgres:${encodeURIComponent(secret)}@127.0.0.1:${port}/alpr` })
  await client.connect()
  try {
    const { rows } = await client.query<{ usename: string }>(
      "SELECT DISTINCT usename FROM pg_stat_activity WHERE datname = 'alpr' AND application_name IN ('chaverim-alpr', 'chaverim-alpr-listen')"
    )
    return rows.map((row) => row.usename)
  } finally {
    await client.end()
  }
}

const getJson = async (url: string, headers: Record<string, string> = {}) => {
  const response = await fetch(url, { headers })
  const body: any = await response.json()
  return { status: response.status, type: response.headers.get("content-type") ?? "", body }
}

let dataDir: string

beforeAll(async () => {
  dataDir = await Fs.mkdtemp(Path.join(Os.tmpdir(), "alpr-start-"))
  await Fs.chmod(dataDir, 0o755) // the embedded PostgreSQL runs as the postgres user and must reach it
})

afterAll(async () => {
  for (const app of running) {
    try {
      process.kill(-app.pgid, "SIGKILL")
    } catch {
      // already gone
    }
  }
  for (const line of dataDir ? await postgresOf(dataDir) : []) {
    try {
      process.kill(Number(line.split(":")[0]), "SIGKILL")
    } catch {
      // already gone
    }
  }
  if (dataDir) await Fs.rm(dataDir, { recursive: true, force: true })
})

/** The `alpr` CLI on `dir`'s embedded PostgreSQL, as a person runs it (logs at Info on stderr). */
const alpr = (dir: string, args: ReadonlyArray<string>) => {
  const env: Record<string, string | undefined> = { ...process.env, DATA_DIR: dir, LOG_LEVEL: "Info" }
  delete env.DATABASE_URL
  return new Promise<{ code: number | null; stdout: string; stderr: string; both: string }>((resolve, reject) => {
    const child = spawn("npx", ["tsx", "apps/server/src/main.ts", ...args], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    // both streams in the order they came, as a terminal shows them
    let both = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk
      both += chunk
    })
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk
      both += chunk
    })
    const timer = setTimeout(() => child.kill("SIGKILL"), 45_000)
    child.once("error", reject)
    child.once("close", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr, both })
    })
  })
}

describe("npm start with the embedded PostgreSQL", () => {
  it("runs the alpr CLI on its own cluster when no server runs, its JSON answer the last line a person sees", async () => {
    const own = await Fs.mkdtemp(Path.join(Os.tmpdir(), "alpr-cli-"))
    await Fs.chmod(own, 0o755)
    try {
      const cli = await alpr(own, ["collector", "create", "--name", "Alone"])
      expect(cli.code, cli.both).toBe(0)
      expect(cli.stderr).toContain("embedded PostgreSQL ready")
      const lines = cli.both.trim().split("\n")
      expect(JSON.parse(lines.at(-1)!)).toMatchObject({ collector_id: expect.any(String), claim_code: expect.any(String) })
      expect(await postgresOf(own)).toEqual([])
    } finally {
      await Fs.rm(own, { recursive: true, force: true })
    }
  }, 120_000)


  it("serves, and stops cleanly on SIGTERM", async () => {
    const app = await start(dataDir)
    expect(app.output.stdout).toMatch(/^listening on http:\/\/\S+:\d+/m)
    expect(app.output.stderr).toContain("initialising the embedded PostgreSQL cluster")
    await expect(Fs.access(Path.join(dataDir, "pg", "PG_VERSION"))).resolves.toBeUndefined()
    expect(await postgresOf(dataDir), "a postgres server runs on the cluster").toHaveLength(1)

    const health = await getJson(`${app.url}/health`)
    expect(health.status).toBe(200)
    expect(health.body).toEqual({ status: "ok" })

    const ready = await getJson(`${app.url}/ready`)
    expect(ready.status, JSON.stringify(ready.body)).toBe(200)
    expect(ready.body).toMatchObject({ status: "ready" })

    // The API's shape is for operators: a scraper's METRICS_TOKEN or an admin's session.
    expect((await fetch(`${app.url}/api/docs`)).status).toBe(401)
    const docs = await fetch(`${app.url}/api/docs`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
    expect(docs.status).toBe(200)
    expect(docs.headers.get("content-type")).toContain("text/html")
    expect(await docs.text()).toMatch(/<html/i)

    const openapi = await getJson(`${app.url}/api/openapi.json`, { authorization: `Bearer ${METRICS_TOKEN}` })
    expect(openapi.status).toBe(200)
    expect(Object.keys(openapi.body.paths)).toContain("/api/v1/detections/batch")
    expect(Object.keys(openapi.body.paths)).toContain("/api/v1/collectors/claim")

    // Request logs name the query's parameters, never their values (plates, reasons, codes).
    await fetch(`${app.url}/api/v1/detections?plate=QRYPLATE77&reason=qryreason-secret`)
    for (let i = 0; i < 50 && !app.output.stderr.includes("/api/v1/detections?plate&reason"); i++) await sleep(100)
    expect(app.output.stderr).toContain("/api/v1/detections?plate&reason")
    expect(app.output.stderr).not.toMatch(/QRYPLATE77|qryreason-secret/)

    const stopped = await stop(app)
    expect(stopped.code === 0 || stopped.signal !== null, `exit ${JSON.stringify(stopped)}\n${logs(app)}`).toBe(true)
    expect(stopped.left, `processes left in the group\n${logs(app)}`).toEqual([])
    expect(await postgresOf(dataDir)).toEqual([])
    await expect(fetch(`${app.url}/health`)).rejects.toThrow()
  }, 240_000)

  it("starts again on the same DATA_DIR, reusing the cluster", async () => {
    const app = await start(dataDir)
    expect(app.output.stderr, logs(app)).not.toContain("initialising the embedded PostgreSQL cluster")
    expect(app.output.stderr, logs(app)).toContain("embedded PostgreSQL ready")

    const health = await getJson(`${app.url}/health`)
    expect(health.status).toBe(200)
    expect(health.body).toEqual({ status: "ok" })
    expect((await getJson(`${app.url}/ready`)).status).toBe(200)
    // The embedded cluster's superuser only migrates: requests are served as the role it made.
    expect(await servingRoles(app)).toEqual(["alpr_serve_alpr"])

    const stopped = await stop(app)
    expect(stopped.code === 0 || stopped.signal !== null, `exit ${JSON.stringify(stopped)}\n${logs(app)}`).toBe(true)
    expect(stopped.left, `processes left in the group\n${logs(app)}`).toEqual([])
    expect(await postgresOf(dataDir)).toEqual([])
  }, 240_000)

  it("lets the alpr CLI work beside it on the same DATA_DIR, sharing its database without stopping it", async () => {
    const app = await start(dataDir)
    try {
      expect((await getJson(`${app.url}/ready`)).status).toBe(200)
      // An admin provisioning a collector on the same machine, as the README's commands suggest.
      const cli = await alpr(dataDir, ["collector", "create", "--name", "Beside"])
      // Whether the CLI may share the running cluster or must refuse, the server must keep working.
      const ready = await getJson(`${app.url}/ready`)
      expect(
        ready.status,
        `/ready after \`alpr collector create\` on the same DATA_DIR: ${JSON.stringify(ready.body)}\n` +
          `cli exit ${cli.code}\ncli stdout:\n${cli.stdout}\ncli stderr:\n${cli.stderr}`
      ).toBe(200)
      // It shares the running server's cluster (never stopping it): the command works, its last line
      // is the JSON the README promises, and the collector is there for the server.
      expect(cli.code, `cli stdout:\n${cli.stdout}\ncli stderr:\n${cli.stderr}`).toBe(0)
      expect(cli.stderr).toContain("sharing the embedded PostgreSQL of the running server")
      expect(cli.stderr).not.toContain("embedded PostgreSQL stopped")
      const last = JSON.parse(cli.stdout.trim().split("\n").at(-1)!) as { collector_id: string; claim_code: string; expires_at: string }
      expect(last).toMatchObject({ collector_id: expect.any(String), claim_code: expect.stringMatching(/^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/) })
      const claimed = await fetch(`${app.url}/api/v1/collectors/claim`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ claim_code: last.claim_code, hardware_id: "hw-beside" })
      })
      expect(claimed.status).toBe(201)
    } finally {
      const stopped = await stop(app)
      expect(stopped.left, `processes left in the group\n${logs(app)}`).toEqual([])
      expect(await postgresOf(dataDir)).toEqual([])
    }
  }, 240_000)
})
