import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes, scryptSync } from "node:crypto"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { machineKey, readMachineIdentity } from "./DeviceKey"

/**
 * Secrets of the collector (its API key, camera passwords, the status page PIN's hash), encrypted at
 * rest with AES-256-GCM in `secrets.enc`, with a random salt beside it in `secrets.salt`. What the key
 * is derived from is the file's protection, recorded in the file:
 *
 * - `machine-id` (the default): the device identity (`/etc/machine-id`). That file is on the same SD
 *   card, so this only keeps `secrets.enc` copied on its own from being read; a copy of the whole card
 *   reads it. It is what an unattended install has.
 * - `passphrase`: an operator's passphrase given at start (scrypt). Nothing on the card opens it.
 * - `key-file`: a key kept off the card (a USB key, a TPM-sealed systemd credential). Nothing on the
 *   card opens it, and without the key file the collector does not start.
 *
 * The protection a file was written with is the one it is read with: settings that ask for another
 * are refused, never fallen back from, and `edge secrets rekey` moves a file from one to another.
 */

export class SecretsError extends Schema.TaggedError<SecretsError>()("SecretsError", {
  message: Schema.String
}) {}

export type Secrets = Readonly<Record<string, string>>

export const PROTECTIONS = ["machine-id", "passphrase", "key-file"] as const
export type ProtectionMode = typeof PROTECTIONS[number]

/** How the key of `secrets.enc` is had. */
export type Protection =
  | { readonly mode: "machine-id"; readonly machineIdFile?: string }
  /** asked for when first needed; the caller memoises it, so an operator types it once */
  | { readonly mode: "passphrase"; readonly passphrase: Effect.Effect<Redacted.Redacted<string>, SecretsError> }
  | { readonly mode: "key-file"; readonly file: string }

/** The device identity: the first machine-id file that exists, unless a file is named. */
export const machineIdentity = (file?: string) =>
  Effect.try({
    try: () => readMachineIdentity(file),
    catch: (cause) => new SecretsError({ message: cause instanceof Error ? cause.message : String(cause) })
  })

/** Bytes a key file must hold at least: a random 256-bit key (`edge secrets rekey` makes one). */
export const KEY_FILE_MIN_BYTES = 32

/** scrypt at 32 MiB: slow enough to make guessing a passphrase from a copied card expensive, fine on a Pi. */
const PASSPHRASE_SCRYPT = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 }

/** A key file for `key-file` protection: 32 random bytes, readable by its owner only; never overwrites one. */
export const createKeyFile = (file: string) =>
  Effect.try({
    try: () => {
      Fs.mkdirSync(Path.dirname(file), { recursive: true })
      Fs.writeFileSync(file, randomBytes(KEY_FILE_MIN_BYTES), { mode: 0o400, flag: "wx" })
    },
    catch: (cause) => new SecretsError({ message: `cannot create the key file ${file}: ${String(cause)}` })
  })

const describeProtection = (mode: ProtectionMode) =>
  ({
    "machine-id": "the device identity (the default)",
    passphrase: "a passphrase (EDGE_SECRET_PROTECTION=passphrase, or EDGE_SECRET_PASSPHRASE)",
    "key-file": "a key file (EDGE_SECRET_KEY_FILE)"
  })[mode]

const Envelope = Schema.parseJson(Schema.Struct({
  v: Schema.Literal(1),
  /** absent in files written before there was a choice: those are `machine-id` */
  protection: Schema.optional(Schema.Literal(...PROTECTIONS)),
  iv: Schema.String,
  tag: Schema.String,
  data: Schema.String
}))

export interface SecretStore {
  readonly read: Effect.Effect<Secrets, SecretsError>
  readonly update: (change: (current: Secrets) => Secrets) => Effect.Effect<Secrets, SecretsError>
  /** the protection `secrets.enc` was written with, or undefined when there is no file yet */
  readonly writtenWith: Effect.Effect<ProtectionMode | undefined, SecretsError>
}

const deriveKey = (protection: Protection, salt: Buffer) =>
  Effect.gen(function*() {
    switch (protection.mode) {
      case "machine-id": {
        const identity = yield* machineIdentity(protection.machineIdFile)
        return machineKey(identity, salt)
      }
      case "passphrase": {
        const passphrase = Redacted.value(yield* protection.passphrase)
        if (passphrase.length === 0) return yield* new SecretsError({ message: "the secrets passphrase is empty" })
        return scryptSync(passphrase, salt, 32, PASSPHRASE_SCRYPT)
      }
      case "key-file": {
        const file = protection.file
        if (!Fs.existsSync(file)) {
          return yield* new SecretsError({
            message: `the secrets key file ${file} (EDGE_SECRET_KEY_FILE) is missing: insert or unseal it. ` +
              "The collector does not start without it, and does not fall back to the device identity"
          })
        }
        const material = yield* Effect.try({
          try: () => Fs.readFileSync(file),
          catch: (cause) => new SecretsError({ message: `cannot read the secrets key file ${file}: ${String(cause)}` })
        })
        if (material.length < KEY_FILE_MIN_BYTES) {
          return yield* new SecretsError({
            message: `the secrets key file ${file} holds ${material.length} bytes; a key file needs at least ${KEY_FILE_MIN_BYTES}`
          })
        }
        return Buffer.from(hkdfSync("sha256", material, salt, "chaverim-edge secrets", 32))
      }
    }
  })

const undecryptable = (file: string, protection: Protection) => {
  switch (protection.mode) {
    case "machine-id":
      return `cannot decrypt ${file}: it was written on another device, or it was altered; claim this collector again`
    case "passphrase":
      return `cannot decrypt ${file}: wrong passphrase, or the file was altered`
    case "key-file":
      return `cannot decrypt ${file} with the key file ${protection.file}: another key, or the file was altered`
  }
}

/** The files of `dir`, read and written with `wanted` unless another protection is named. */
const openFiles = (dir: string, wanted: Protection) => {
  const file = Path.join(dir, "secrets.enc")
  const saltFile = Path.join(dir, "secrets.salt")

  const salt = Effect.try({
    try: () => {
      if (!Fs.existsSync(saltFile)) {
        Fs.mkdirSync(dir, { recursive: true })
        Fs.writeFileSync(saltFile, randomBytes(16), { mode: 0o600, flag: "wx" })
      }
      return Fs.readFileSync(saltFile)
    },
    catch: (cause) => new SecretsError({ message: `cannot read the secrets salt: ${String(cause)}` })
  })

  // Derived once per store: a passphrase's scrypt takes a noticeable moment on a Pi.
  let derived: Buffer | undefined
  const key = (with_: Protection) =>
    with_ === wanted && derived !== undefined
      ? Effect.succeed(derived)
      : Effect.flatMap(salt, (s) => deriveKey(with_, s)).pipe(
        Effect.tap((k) => {
          if (with_ === wanted) derived = k
        })
      )

  const envelope = Effect.gen(function*() {
    if (!Fs.existsSync(file)) return undefined
    return yield* Schema.decodeUnknown(Envelope)(Fs.readFileSync(file, "utf8")).pipe(
      Effect.mapError(() => new SecretsError({ message: `${file} is not a secrets file` }))
    )
  })

  const writtenWith = Effect.map(envelope, (e) => e === undefined ? undefined : e.protection ?? "machine-id")

  const readWith = (with_: Protection) =>
    Effect.gen(function*() {
      const found = yield* envelope
      if (found === undefined) return {}
      const written = found.protection ?? "machine-id"
      if (written !== with_.mode) {
        return yield* new SecretsError({
          message: `${file} is protected by ${describeProtection(written)}, but this collector is set up for ` +
            `${describeProtection(with_.mode)}: give the settings it was written with, or change its protection ` +
            "with `edge secrets rekey`"
        })
      }
      const k = yield* key(with_)
      return yield* Effect.try({
        try: () => {
          const decipher = createDecipheriv("aes-256-gcm", k, Buffer.from(found.iv, "base64"))
          decipher.setAuthTag(Buffer.from(found.tag, "base64"))
          const plain = Buffer.concat([decipher.update(Buffer.from(found.data, "base64")), decipher.final()])
          return JSON.parse(plain.toString("utf8")) as Secrets
        },
        catch: () => new SecretsError({ message: undecryptable(file, with_) })
      })
    })

  const writeWith = (with_: Protection, secrets: Secrets) =>
    Effect.gen(function*() {
      const k = yield* key(with_)
      yield* Effect.try({
        try: () => {
          const iv = randomBytes(12)
          const cipher = createCipheriv("aes-256-gcm", k, iv)
          const data = Buffer.concat([cipher.update(JSON.stringify(secrets), "utf8"), cipher.final()])
          const envelope = JSON.stringify({
            v: 1,
            protection: with_.mode,
            iv: iv.toString("base64"),
            tag: cipher.getAuthTag().toString("base64"),
            data: data.toString("base64")
          })
          const tmp = `${file}.tmp`
          const fd = Fs.openSync(tmp, "w", 0o600)
          try {
            Fs.writeSync(fd, envelope)
            Fs.fsyncSync(fd)
          } finally {
            Fs.closeSync(fd)
          }
          Fs.renameSync(tmp, file)
        },
        catch: (cause) => new SecretsError({ message: `cannot write ${file}: ${String(cause)}` })
      })
    })

  const read = readWith(wanted)

  const update = (change: (current: Secrets) => Secrets) =>
    Effect.flatMap(read, (current) => {
      const next = change(current)
      return Effect.as(writeWith(wanted, next), next)
    })

  return { read, update, writtenWith, readWith, writeWith }
}

/** The secrets of `dir`, protected by `protection`, else by the device identity (`machineIdFile`, else /etc/machine-id). */
export const makeSecretStore = (dir: string, machineIdFile?: string, protection?: Protection): SecretStore => {
  const files = openFiles(dir, protection ?? (machineIdFile === undefined ? { mode: "machine-id" } : { mode: "machine-id", machineIdFile }))
  return { read: files.read, update: files.update, writtenWith: files.writtenWith }
}

/**
 * Re-encrypts `secrets.enc` from the protection it was written with (`from`, whose mode must match
 * the file's) to `to`. The new file replaces the old one atomically: an interrupted rekey leaves the
 * old one readable.
 */
export const rekey = (dir: string, from: Protection, to: Protection) =>
  Effect.gen(function*() {
    const store = openFiles(dir, to)
    const written = yield* store.writtenWith
    if (written === undefined) return yield* new SecretsError({ message: `there is no ${Path.join(dir, "secrets.enc")} to rekey` })
    const secrets = yield* store.readWith(from)
    yield* store.writeWith(to, secrets)
    // The proof the new file opens: read back with the new protection before saying it is done.
    yield* makeSecretStore(dir, undefined, to).read
    return { from: written, to: to.mode, secrets: Object.keys(secrets).length }
  })
