import { Args, Command, Options } from "@effect/cli"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Fs from "node:fs"
import * as Os from "node:os"
import { makeBuffer } from "../buffer/Buffer"
import { loadConfig } from "../config/EdgeConfig"
import { newPushSecret, pushCameras, pushSecretKey } from "../listener/PushAuth"
import { hashPin, MIN_PIN_LENGTH } from "../listener/StatusPage"
import { claim } from "../provisioning/Claim"
import { askLines, configuredProtection, passphraseGiven } from "../provisioning/Protection"
import { createKeyFile, makeSecretStore, type Protection, rekey, SecretsError } from "../provisioning/Secrets"
import { collectorDir, machineIdFile, runCollectorIn, withMachineId } from "./run"

/**
 * The collector's own commands: `claim`, `run`, `status`. The collector's directory (configuration
 * layers, encrypted secrets, buffer) is `--dir`, else `EDGE_DIR`, else `./edge-data`; the device
 * identity is `/etc/machine-id` unless `EDGE_MACHINE_ID_FILE` names another file; how the secrets
 * are protected comes from the settings read in `provisioning/Protection.ts`.
 */

const dirOption = Options.directory("dir").pipe(
  Options.withDescription("the collector's directory (default: $EDGE_DIR or ./edge-data)"),
  Options.optional
)
const resolveDir = (dir: Option.Option<string>) => collectorDir(Option.getOrUndefined(dir))

const secretStore = (dir: string) =>
  Effect.map(configuredProtection(machineIdFile()), (protection) => makeSecretStore(dir, machineIdFile(), protection))

export const claimCommand = Command.make(
  "claim",
  {
    code: Args.text({ name: "CODE" }).pipe(Args.withDescription("the claim code an admin made for this collector")),
    central: Options.text("central").pipe(Options.withDescription("the central server's URL, e.g. https://alpr.example.org")),
    dir: dirOption
  },
  ({ central, code, dir }) =>
    configuredProtection(machineIdFile()).pipe(
      Effect.flatMap((protection) => claim(withMachineId({ dir: resolveDir(dir), code, centralUrl: central, protection }))),
      Effect.flatMap((result) => Console.log(JSON.stringify(result)))
    )
).pipe(Command.withDescription("Claim this collector with a code from the central server's admin"))

// `run` alone, as systemd gives it, does not come here: main.ts starts the collector without the parser.
export const runCommand = Command.make("run", { dir: dirOption }, ({ dir }) => runCollectorIn(resolveDir(dir))).pipe(
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

/** A PIN typed on the terminal, twice and not echoed; else the first line of standard input. */
const newPin = Effect.gen(function*() {
  if (process.stdin.isTTY !== true) return yield* firstLineOfStdin
  const [pin, again] = yield* askLines([`PIN of the device page (at least ${MIN_PIN_LENGTH} characters):`, "The PIN again:"])
  if (pin !== again) return yield* Effect.fail(new Error("the two PINs differ; nothing changed"))
  return pin!.trim()
})

export const setPinCommand = Command.make(
  "set-pin",
  {
    dir: dirOption,
    ifUnset: Options.boolean("if-unset").pipe(Options.withDescription("keep the PIN when one is set already (for install scripts)"))
  },
  ({ dir, ifUnset }) =>
    Effect.gen(function*() {
      const store = yield* secretStore(resolveDir(dir))
      if (ifUnset && (yield* store.read)["status_pin_hash"] !== undefined) {
        yield* Console.log(JSON.stringify({ pin: "kept" }))
        return
      }
      const pin = yield* newPin
      if (pin.length < MIN_PIN_LENGTH) {
        return yield* Effect.fail(new Error(`the PIN (first line of standard input) must have at least ${MIN_PIN_LENGTH} characters`))
      }
      yield* store.update((s) => ({ ...s, status_pin_hash: hashPin(pin) }))
      yield* Console.log(JSON.stringify({ pin: "set" }))
    })
).pipe(
  Command.withDescription(
    "Set the PIN the device page asks for before a change or a claim (typed twice on a terminal, else the first line of standard input)"
  )
)

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
      const store = yield* secretStore(resolveDir(dir))
      yield* store.update((s) => ({ ...s, [`camera_password:${camera}`]: password }))
      yield* Console.log(JSON.stringify({ camera, password: "stored" }))
    })
).pipe(Command.withDescription("Store a pull camera's password, a Protect console account's password or API key, encrypted (read from standard input)"))

/**
 * Moves `secrets.enc` from the protection it has to the one the settings ask for: the settings are
 * those the service will run with (a key file that does not exist yet is made, 32 random bytes). The
 * old key comes from where it was: the device identity, `--from-key-file`, or a passphrase asked for.
 */
export const rekeyCommand = Command.make(
  "rekey",
  {
    fromKeyFile: Options.file("from-key-file").pipe(
      Options.withDescription("the key file the secrets are protected by now, when it is not EDGE_SECRET_KEY_FILE"),
      Options.optional
    ),
    dir: dirOption
  },
  ({ dir, fromKeyFile }) =>
    Effect.gen(function*() {
      const directory = resolveDir(dir)
      const configured = yield* configuredProtection(machineIdFile())
      const written = yield* makeSecretStore(directory, machineIdFile(), configured).writtenWith
      if (written === undefined) {
        return yield* new SecretsError({ message: `${directory} has no secrets yet: claim the collector with these settings instead` })
      }
      // Asked together, so piped answers come in order: the current passphrase first, then the new one.
      const askNew = configured.mode === "passphrase" && !(yield* passphraseGiven)
      const answers = yield* askLines([
        ...(written === "passphrase" ? ["Current passphrase:"] : []),
        ...(askNew ? ["New passphrase:", ...(process.stdin.isTTY === true ? ["New passphrase again:"] : [])] : [])
      ])
      const oldPassphrase = written === "passphrase" ? answers[0]! : undefined
      const newPassphrase = askNew ? answers[written === "passphrase" ? 1 : 0]! : undefined
      if (askNew && answers.length === (written === "passphrase" ? 3 : 2) && answers.at(-1) !== newPassphrase) {
        return yield* new SecretsError({ message: "the two new passphrases differ; nothing changed" })
      }
      const to: Protection = newPassphrase === undefined
        ? configured
        : { mode: "passphrase", passphrase: Effect.succeed(Redacted.make(newPassphrase)) }
      const from: Protection = yield* Effect.gen(function*() {
        switch (written) {
          case "machine-id":
            return withMachineId({ mode: "machine-id" as const })
          case "passphrase":
            return { mode: "passphrase" as const, passphrase: Effect.succeed(Redacted.make(oldPassphrase!)) }
          case "key-file": {
            const file = Option.getOrUndefined(fromKeyFile) ?? (configured.mode === "key-file" ? configured.file : undefined)
            if (file === undefined) {
              return yield* new SecretsError({ message: "the secrets are protected by a key file: name it with --from-key-file PATH" })
            }
            return { mode: "key-file" as const, file }
          }
        }
      })
      if (to.mode === "key-file" && !Fs.existsSync(to.file)) yield* createKeyFile(to.file)
      const result = yield* rekey(directory, from, to)
      yield* Console.log(JSON.stringify(result))
    })
).pipe(Command.withDescription("Re-encrypt the stored secrets under the protection the settings ask for"))

export const secretsCommand = Command.make("secrets").pipe(
  Command.withSubcommands([rekeyCommand]),
  Command.withDescription("The collector's encrypted secrets")
)

/** An address the cameras can reach this collector at, for the URLs `camera-push` prints. */
const listenerAddress = (host: string) => {
  if (host !== "0.0.0.0" && host !== "::") return host.includes(":") ? `[${host}]` : host
  const lan = Object.values(Os.networkInterfaces()).flat().find((i) => i !== undefined && i.family === "IPv4" && !i.internal)
  return lan?.address ?? "COLLECTOR-ADDRESS"
}

export const cameraPushCommand = Command.make(
  "camera-push",
  {
    camera: Options.text("camera").pipe(Options.withDescription("only this camera (by default every push camera)"), Options.optional),
    rotate: Options.boolean("rotate").pipe(
      Options.withDescription("replace the camera's push secret (with --camera); the collector takes it at its next start")
    ),
    dir: dirOption
  },
  ({ camera, dir, rotate }) =>
    Effect.gen(function*() {
      const directory = resolveDir(dir)
      const config = yield* loadConfig(directory)
      const wanted = pushCameras(config.cameras).filter((c) => Option.isNone(camera) || c.id === camera.value)
      if (Option.isSome(camera) && wanted.length === 0) {
        return yield* Effect.fail(new Error(`no push camera ${camera.value} is configured`))
      }
      const store = yield* secretStore(directory)
      if (rotate) {
        if (Option.isNone(camera)) return yield* Effect.fail(new Error("--rotate needs --camera"))
        yield* store.update((s) => ({ ...s, [pushSecretKey(camera.value)]: newPushSecret() }))
      }
      const secrets = yield* store.read
      const base = `http://${listenerAddress(config.listen.host)}:${config.listen.port}`
      yield* Console.log(JSON.stringify({
        cameras: wanted.map((c) => {
          const secret = secrets[pushSecretKey(c.id)]
          if (secret === undefined) return { id: c.id, vendor: c.vendor, secret: null, note: "the collector creates it when it starts" }
          return {
            id: c.id,
            vendor: c.vendor,
            push_url: `${base}/push/${secret}`,
            basic_or_digest: { url: `${base}/cameras/${encodeURIComponent(c.id)}`, username: c.id, password: secret },
            push_from: c.push_from ?? null
          }
        }),
        ...(rotate ? { note: "restart the collector to apply the new secret, then give the camera its new URL or password" } : {})
      }, null, 2))
    })
).pipe(Command.withDescription("Show each push camera the URL, or the Basic/Digest user and password, to push its reads with"))
