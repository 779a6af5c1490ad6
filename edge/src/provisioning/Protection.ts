import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { execFile } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Readline from "node:readline"
import { type Protection, PROTECTIONS, SecretsError } from "./Secrets"

/**
 * How this collector's secrets are protected, from its settings:
 *
 * - `EDGE_SECRET_KEY_FILE=PATH`: a key file kept off the SD card (removable, or a TPM-sealed systemd
 *   credential: `LoadCredentialEncrypted=edge-secret-key` and `EDGE_SECRET_KEY_FILE=%d/edge-secret-key`).
 * - `EDGE_SECRET_PASSPHRASE`, or a systemd credential named `edge-secret-passphrase`
 *   (`$CREDENTIALS_DIRECTORY`), or `EDGE_SECRET_PROTECTION=passphrase` alone: an operator's passphrase,
 *   asked for at start (through systemd-ask-password under systemd, else on the terminal) when neither
 *   gives it.
 * - nothing: the device identity, as before.
 *
 * `EDGE_SECRET_PROTECTION` (machine-id | passphrase | key-file) says which when more than one is given.
 */

export const PASSPHRASE_CREDENTIAL = "edge-secret-passphrase"

const settings = Config.all({
  protection: Config.option(Config.literal(...PROTECTIONS)("EDGE_SECRET_PROTECTION")),
  keyFile: Config.option(Config.nonEmptyString("EDGE_SECRET_KEY_FILE")),
  passphrase: Config.option(Config.redacted("EDGE_SECRET_PASSPHRASE")),
  credentialsDirectory: Config.option(Config.nonEmptyString("CREDENTIALS_DIRECTORY")),
  underSystemd: Config.option(Config.string("INVOCATION_ID")).pipe(Config.map(Option.isSome))
})

/** Lines asked for on the terminal (without echo) or read from standard input, one per question. */
export const askLines = (questions: ReadonlyArray<string>): Effect.Effect<ReadonlyArray<string>, SecretsError> =>
  questions.length === 0 ? Effect.succeed([]) : Effect.async<ReadonlyArray<string>, SecretsError>((resume) => {
    const terminal = process.stdin.isTTY === true
    let muted = false
    const rl = Readline.createInterface({ input: process.stdin, output: process.stderr, terminal })
    // A passphrase is not echoed: readline writes what is typed through this.
    ;(rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = (s) => {
      if (!muted) process.stderr.write(s)
    }
    const answers: Array<string> = []
    const ask = () => {
      if (terminal) process.stderr.write(`${questions[answers.length]} `)
      muted = true
    }
    rl.on("line", (line) => {
      muted = false
      if (terminal) process.stderr.write("\n")
      answers.push(line.replace(/\r$/, ""))
      if (answers.length === questions.length) {
        rl.close()
        resume(Effect.succeed(answers))
      } else {
        ask()
      }
    })
    rl.on("close", () => {
      if (answers.length < questions.length) {
        resume(Effect.fail(new SecretsError({ message: `no answer to "${questions[answers.length]}" on standard input` })))
      }
    })
    ask()
    return Effect.sync(() => rl.close())
  })

const systemdAskPassword = (question: string) =>
  Effect.async<string, SecretsError>((resume) => {
    execFile("systemd-ask-password", ["--id=chaverim-edge:secrets", "--timeout=0", question], (error, stdout) => {
      resume(
        error === null
          ? Effect.succeed(stdout.replace(/\r?\n$/, ""))
          : Effect.fail(new SecretsError({ message: `systemd-ask-password gave no passphrase: ${error.message}` }))
      )
    })
  })

const QUESTION = "Passphrase of the Chaverim ALPR collector's secrets:"

/** The configured passphrase, from wherever it is given; asked for when nowhere. */
const configuredPassphrase = (s: typeof settings extends Config.Config<infer A> ? A : never) =>
  Effect.gen(function*() {
    if (Option.isSome(s.passphrase)) return s.passphrase.value
    if (Option.isSome(s.credentialsDirectory)) {
      const file = Path.join(s.credentialsDirectory.value, PASSPHRASE_CREDENTIAL)
      if (Fs.existsSync(file)) {
        return Redacted.make(Fs.readFileSync(file, "utf8").replace(/\r?\n$/, ""))
      }
    }
    if (process.stdin.isTTY !== true && s.underSystemd) return Redacted.make(yield* systemdAskPassword(QUESTION))
    const [answer] = yield* askLines([QUESTION])
    return Redacted.make(answer!)
  })

/** Whether the settings give a passphrase, so none needs asking for. */
export const passphraseGiven = Effect.map(
  settings.pipe(Effect.mapError((e) => new SecretsError({ message: `secrets settings: ${String(e)}` }))),
  (s) =>
    Option.isSome(s.passphrase) ||
    (Option.isSome(s.credentialsDirectory) && Fs.existsSync(Path.join(s.credentialsDirectory.value, PASSPHRASE_CREDENTIAL)))
)

/**
 * The protection the settings ask for. A passphrase is asked for once per process, when first needed
 * (so `claim` and `run` of a passphrase-protected collector ask, `status` does not).
 */
export const configuredProtection = (machineIdFile?: string) =>
  Effect.gen(function*() {
    const s = yield* settings.pipe(Effect.mapError((e) => new SecretsError({ message: `secrets settings: ${String(e)}` })))
    const given = yield* passphraseGiven
    const mode = Option.getOrUndefined(s.protection) ??
      (Option.isSome(s.keyFile) && given
        ? yield* new SecretsError({
          message: "both EDGE_SECRET_KEY_FILE and a passphrase are set: say which protects the secrets with EDGE_SECRET_PROTECTION"
        })
        : Option.isSome(s.keyFile)
        ? "key-file"
        : given
        ? "passphrase"
        : "machine-id")
    switch (mode) {
      case "machine-id":
        return machineIdFile === undefined ? { mode } : { mode, machineIdFile } satisfies Protection
      case "key-file":
        if (Option.isNone(s.keyFile)) {
          return yield* new SecretsError({ message: "EDGE_SECRET_PROTECTION=key-file needs EDGE_SECRET_KEY_FILE, the key file's path" })
        }
        return { mode, file: s.keyFile.value } satisfies Protection
      case "passphrase":
        return { mode, passphrase: yield* Effect.cached(configuredPassphrase(s)) } satisfies Protection
    }
  })
