/**
 * Real processes for the collector's fault tests: the central server (`alpr serve`) on a database of
 * its own, and the collector (`edge run`) in a directory of its own, each its own process group so a
 * test can stop it gently (SIGTERM) or not at all (SIGKILL).
 */
import * as Effect from "effect/Effect"
import { type ChildProcess, execFile, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as Fs from "node:fs/promises"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { freePort } from "../../test-support/Net"
import { pushSecretKey } from "../src/listener/PushAuth"
import { makeSecretStore } from "../src/provisioning/Secrets"

export const ROOT = fileURLToPath(new URL("../../", import.meta.url))
const run = promisify(execFile)

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))


/**
 * A free port for a collector, outside the kernel's ephemeral range (32768 and up), where every
 * `freePort` and outgoing connection lands: a collector's port must stay its own across restarts
 * while other test files start servers.
 */
export const collectorPort = async (): Promise<number> => {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 10_000)
    const free = await new Promise<boolean>((resolve) => {
      const server = Net.createServer()
      server.once("error", () => resolve(false))
      server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)))
    })
    if (free) return port
  }
}

export const waitFor = async <A>(what: string, probe: () => Promise<A | undefined>, timeoutMs = 60_000): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe().catch(() => undefined)
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(200)
  }
}

export interface Proc {
  readonly child: ChildProcess
  readonly output: { text: string }
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  readonly kill: (signal: NodeJS.Signals) => Promise<void>
}

const running = new Set<Proc>()

export const launch = (
  script: string,
  args: ReadonlyArray<string>,
  env: Record<string, string>,
  /** node's options: tsx by default, to run TypeScript */
  nodeOptions: ReadonlyArray<string> = ["--import", "tsx"]
): Proc => {
  const child = spawn(process.execPath, [...nodeOptions, script, ...args], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: "Info", ...env },
    detached: true,
    stdio: ["ignore", "pipe", "pipe"]
  })
  const output = { text: "" }
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (output.text += chunk))
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (output.text += chunk))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("close", (code, signal) => resolve({ code, signal }))
  )
  const proc: Proc = {
    child,
    output,
    exited,
    kill: async (signal) => {
      try {
        process.kill(-child.pid!, signal)
      } catch {
        // already gone
      }
      await exited
      running.delete(proc)
    }
  }
  running.add(proc)
  void exited.then(() => running.delete(proc))
  return proc
}

/** Kills whatever a test left running. */
export const killAll = async () => {
  await Promise.all([...running].map((p) => p.kill("SIGKILL")))
}

export interface Central {
  readonly url: string
  readonly port: number
  proc: Proc
  readonly stop: (signal?: NodeJS.Signals) => Promise<void>
  readonly start: () => Promise<void>
}

/** The central server on `databaseUrl`, on a port that stays the same across restarts. */
export const startCentral = async (databaseUrl: string): Promise<Central> => {
  const port = await freePort()
  const dataDir = await Fs.mkdtemp(Path.join(Os.tmpdir(), "alpr-central-"))
  const url = `http://127.0.0.1:${port}`
  const boot = async () => {
    const proc = launch("apps/server/src/main.ts", ["serve"], {
      DATABASE_URL: databaseUrl,
      PORT: String(port),
      HOST: "127.0.0.1",
      DATA_DIR: dataDir
    })
    await waitFor("the central server", async () => {
      if (proc.child.exitCode !== null) throw new Error(`central exited:\n${proc.output.text}`)
      return (await fetch(`${url}/health`)).ok ? true : undefined
    }, 90_000)
    return proc
  }
  const central: Central = {
    url,
    port,
    proc: await boot(),
    stop: (signal = "SIGTERM") => central.proc.kill(signal),
    start: async () => {
      central.proc = await boot()
    }
  }
  return central
}

/** `alpr collector create`: the collector id and claim code. */
export const createCollector = async (databaseUrl: string, name: string) => {
  const { stdout } = await run(process.execPath, ["--import", "tsx", "apps/server/src/main.ts", "collector", "create", "--name", name], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: "Warning" }
  })
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as { collector_id: string; claim_code: string }
}

export interface Collector {
  readonly id: string
  readonly dir: string
  readonly port: number
  readonly env: Record<string, string>
  proc: Proc | undefined
  readonly start: () => Promise<void>
  /** Pushes as the collector's push camera of `vendor` (see PUSH_CAMERAS), with its push URL. */
  readonly push: (vendor: string, body: string | Uint8Array, contentType?: string) => Promise<Response>
  /** The URL with the push secret of a camera, as `edge camera-push` shows it; undefined until the collector has made it. */
  readonly pushUrl: (cameraId: string) => Promise<string | undefined>
  readonly status: () => Promise<Record<string, any>>
}

/** The push cameras every test collector has, one per vendor the tests push as. */
export const PUSH_CAMERAS = [
  { id: "gate", vendor: "generic", name: "Gate" },
  { id: "hik-push", vendor: "hikvision" },
  { id: "unifi-push", vendor: "unifi" }
] as const

/** A collector directory with a device identity of its own, claimed and configured for fast tests. */
export const claimedCollector = async (central: Central, databaseUrl: string, config: Record<string, unknown> = {}): Promise<Collector> => {
  const dir = await Fs.mkdtemp(Path.join(Os.tmpdir(), "alpr-edge-"))
  await Fs.writeFile(Path.join(dir, "machine-id"), randomBytes(16).toString("hex"))
  // The test central server is plain http on loopback: marked as a trusted local network.
  const env = { EDGE_DIR: dir, EDGE_MACHINE_ID_FILE: Path.join(dir, "machine-id"), EDGE_ALLOW_HTTP_CENTRAL: "1" }
  const port = await collectorPort()
  await Fs.writeFile(Path.join(dir, "config.yaml"), JSON.stringify({
    listen: { host: "127.0.0.1", port },
    upload: { window_seconds: 0.5, max_backoff_seconds: 2 },
    heartbeat_seconds: 2,
    ...config,
    cameras: [...PUSH_CAMERAS, ...(config["cameras"] as ReadonlyArray<unknown> | undefined ?? [])]
  }))
  const { claim_code, collector_id } = await createCollector(databaseUrl, `edge test ${port}`)
  await run(process.execPath, ["--import", "tsx", "edge/src/main.ts", "claim", claim_code, "--central", central.url], {
    cwd: ROOT,
    env: { ...process.env, ...env }
  })
  const pushUrls = new Map<string, string>()
  const collector: Collector = {
    id: collector_id,
    dir,
    port,
    env,
    proc: undefined,
    start: async () => {
      const proc = launch("edge/src/main.ts", ["run"], env)
      collector.proc = proc
      await waitFor("the collector", async () => {
        if (proc.child.exitCode !== null) throw new Error(`collector exited:\n${proc.output.text}`)
        // The status of this very collector, not just anything answering on the port.
        const status = await (await fetch(`http://127.0.0.1:${port}/status`)).json() as Record<string, unknown>
        return status["central_url"] === central.url && status["edge_version"] !== undefined ? true : undefined
      })
    },
    push: async (vendor, body, contentType = "application/json") => {
      const camera = PUSH_CAMERAS.find((c) => c.vendor === vendor)
      if (camera === undefined) throw new Error(`no test push camera of vendor ${vendor}`)
      const url = await collector.pushUrl(camera.id)
      if (url === undefined) throw new Error(`camera ${camera.id} has no push secret yet`)
      return fetch(url, { method: "POST", headers: { "content-type": contentType }, body })
    },
    // Read from the collector's secrets here rather than with `edge camera-push` (cli.test.ts runs
    // that): a process start per look costs seconds on a loaded 2-core machine.
    pushUrl: async (cameraId) => {
      if (!pushUrls.has(cameraId)) {
        const secret = (await Effect.runPromise(makeSecretStore(dir, env.EDGE_MACHINE_ID_FILE).read))[pushSecretKey(cameraId)]
        if (secret !== undefined) pushUrls.set(cameraId, `http://127.0.0.1:${port}/push/${secret}`)
      }
      return pushUrls.get(cameraId)
    },
    status: async () => (await fetch(`http://127.0.0.1:${port}/status`)).json() as Promise<Record<string, any>>
  }
  return collector
}

let counter = 0
/** `alpr collector command`: queues a command for the collector's next heartbeat. */
export const sendCommand = async (databaseUrl: string, collectorId: string, cmd: string, payload?: unknown) => {
  const args = ["--import", "tsx", "apps/server/src/main.ts", "collector", "command", "--id", collectorId, "--cmd", cmd]
  if (payload !== undefined) args.push("--payload", JSON.stringify(payload))
  const { stdout } = await run(process.execPath, args, { cwd: ROOT, env: { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: "Warning" } })
  return (JSON.parse(stdout.trim().split("\n").at(-1)!) as { command_id: string }).command_id
}

/** An `edge` subcommand that reads its secret from standard input (a PIN, a camera password). */
const edgeWithInput = (collector: Collector, args: ReadonlyArray<string>, input: string) =>
  new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "edge/src/main.ts", ...args], {
      cwd: ROOT,
      env: { ...process.env, ...collector.env },
      stdio: ["pipe", "ignore", "pipe"]
    })
    let stderr = ""
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    child.once("close", (code) => (code === 0 ? resolve() : reject(new Error(`edge ${args[0]} failed: ${stderr}`))))
    child.stdin!.end(`${input}\n`)
  })

export const setPin = (collector: Collector, pin: string) => edgeWithInput(collector, ["set-pin"], pin)

export const setCameraPassword = (collector: Collector, camera: string, password: string) =>
  edgeWithInput(collector, ["camera-password", "--camera", camera], password)

/** A plate read as the generic webhook takes it. */
export const read = (prefix: string, overrides: Record<string, unknown> = {}) => {
  counter++
  return {
    detection_id: `${prefix}-${counter}-${randomBytes(4).toString("hex")}`,
    timestamp: new Date(Date.now() - 60_000 + counter).toISOString(),
    camera: { id: "gate", mac: "AA:BB:CC:DD:EE:01", name: "Gate" },
    plate: { text: `T${String(counter).padStart(5, "0")}`, confidence: 0.9 },
    ...overrides
  }
}
