import { Args, Command, Options } from "@effect/cli"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Path from "node:path"
import { makeBuffer } from "../buffer/Buffer"
import { runCollector } from "../Collector"
import { loadConfig } from "../config/EdgeConfig"
import { hashPin } from "../listener/StatusPage"
import { claim } from "../provisioning/Claim"
import { makeSecretStore } from "../provisioning/Secrets"

/**
 * The collector's own commands: `claim`, `run`, `status`. The collector's directory (configuration
 * layers, encrypted secrets, buffer) is `--dir`, else `EDGE_DIR`, else `./edge-data`; the device
 * identity is `/etc/machine-id` unless `EDGE_MACHINE_ID_FILE` names another file.
 */

const dirOption = Options.directory("dir").pipe(
  Options.withDescription("the collector's directory (default: $EDGE_DIR or ./edge-data)"),
  Options.optional
)
const resolveDir = (dir: Option.Option<string>) =>
  Path.resolve(Option.getOrElse(dir, () => process.env["EDGE_DIR"] ?? "./edge-data"))
const machineIdFile = () => process.env["EDGE_MACHINE_ID_FILE"]

const withMachineId = <A extends object>(value: A): A & { machineIdFile?: string } => {
  const file = machineIdFile()
  return file === undefined ? value : { ...value, machineIdFile: file }
}

export const claimCommand = Command.make(
  "claim",
  {
    code: Args.text({ name: "CODE" }).pipe(Args.withDescription("the claim code an admin made for this collector")),
    central: Options.text("central").pipe(Options.withDescription("the central server's URL, e.g. https://alpr.example.org")),
    dir: dirOption
  },
  ({ central, code, dir }) =>
    claim(withMachineId({ dir: resolveDir(dir), code, centralUrl: central })).pipe(
      Effect.flatMap((result) => Console.log(JSON.stringify(result)))
    )
).pipe(Command.withDescription("Claim this collector with a code from the central server's admin"))

export const runCommand = Command.make("run", { dir: dirOption }, ({ dir }) =>
  runCollector(withMachineId({ dir: resolveDir(dir) }))).pipe(
    Command.withDescription("Run the collector: camera listener, buffer, uploader and heartbeat")
  )

/**
 * Status: from the running collector's own status endpoint when it answers, else from the buffer on
 * disk (the collector is not running then, which the output says).
 */
export const statusCommand = Command.make("status", { dir: dirOption }, ({ dir }) =>
  Effect.gen(function*() {
    const directory = resolveDir(dir)
    const config = yield* loadConfig(directory)
    const live = yield* Effect.tryPromise(async () => {
      const host = config.listen.host === "0.0.0.0" ? "127.0.0.1" : config.listen.host
      const response = await fetch(`http://${host}:${config.listen.port}/status`, { signal: AbortSignal.timeout(3000) })
      return response.ok ? await response.json() as Record<string, unknown> : undefined
    }).pipe(Effect.orElseSucceed(() => undefined))
    if (live !== undefined) {
      yield* Console.log(JSON.stringify({ running: true, ...live }, null, 2))
      return
    }
    const stats = yield* makeBuffer({
      dir: directory,
      retentionDays: config.retention_days,
      quotaBytes: config.quota_mb * 1024 * 1024
    }).pipe(Effect.flatMap((b) => b.stats), Effect.scoped)
    yield* Console.log(JSON.stringify({
      running: false,
      central_url: config.central_url ?? null,
      queue_depth: stats.pending,
      buffer: stats,
      cameras: config.cameras.map((c) => ({ id: c.id, vendor: c.vendor, mode: c.mode }))
    }, null, 2))
  })).pipe(Command.withDescription("Show queue depth, cameras and connectivity"))

/** Reads the first line of standard input (a PIN is not given on the command line, where history keeps it). */
const firstLineOfStdin = Effect.async<string>((resume) => {
  let data = ""
  process.stdin.setEncoding("utf8")
  process.stdin.on("data", (chunk: string) => (data += chunk))
  process.stdin.on("end", () => resume(Effect.succeed(data.split("\n")[0]!.trim())))
})

export const setPinCommand = Command.make("set-pin", { dir: dirOption }, ({ dir }) =>
  Effect.gen(function*() {
    const pin = yield* firstLineOfStdin
    if (pin.length < 4) return yield* Effect.fail(new Error("the PIN (first line of standard input) must have at least 4 characters"))
    const directory = resolveDir(dir)
    yield* makeSecretStore(directory, machineIdFile()).update((s) => ({ ...s, status_pin_hash: hashPin(pin) }))
    yield* Console.log(JSON.stringify({ pin: "set" }))
  })).pipe(Command.withDescription("Set the PIN the status page asks for before a change (read from standard input)"))

export const cameraPasswordCommand = Command.make(
  "camera-password",
  {
    camera: Options.text("camera").pipe(Options.withDescription("the camera's id in the configuration")),
    dir: dirOption
  },
  ({ camera, dir }) =>
    Effect.gen(function*() {
      const password = yield* firstLineOfStdin
      if (password.length === 0) return yield* Effect.fail(new Error("the password (first line of standard input) is empty"))
      yield* makeSecretStore(resolveDir(dir), machineIdFile()).update((s) => ({ ...s, [`camera_password:${camera}`]: password }))
      yield* Console.log(JSON.stringify({ camera, password: "stored" }))
    })
).pipe(Command.withDescription("Store a pull camera's password or a Protect API key, encrypted (read from standard input)"))
