import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from "node:crypto"
import * as Fs from "node:fs"
import * as Path from "node:path"

/**
 * Secrets of the collector (its API key, camera passwords), encrypted at rest with AES-256-GCM under a
 * key derived (scrypt) from the device's identity (`/etc/machine-id`) and a random salt kept beside the
 * file. The SD card alone, copied into another machine, does not give the secrets away: that machine
 * has another identity, and decryption fails its authentication tag.
 */

export class SecretsError extends Schema.TaggedError<SecretsError>()("SecretsError", {
  message: Schema.String
}) {}

export type Secrets = Readonly<Record<string, string>>

const MACHINE_ID_FILES = ["/etc/machine-id", "/var/lib/dbus/machine-id"]

/** The device identity: the first machine-id file that exists, unless a file is named. */
export const machineIdentity = (file?: string) =>
  Effect.try({
    try: () => {
      for (const candidate of file === undefined ? MACHINE_ID_FILES : [file]) {
        if (Fs.existsSync(candidate)) {
          const id = Fs.readFileSync(candidate, "utf8").trim()
          if (id.length > 0) return id
        }
      }
      throw new Error(`no device identity: none of ${(file === undefined ? MACHINE_ID_FILES : [file]).join(", ")} has one`)
    },
    catch: (cause) => new SecretsError({ message: cause instanceof Error ? cause.message : String(cause) })
  })

const Envelope = Schema.parseJson(Schema.Struct({
  v: Schema.Literal(1),
  iv: Schema.String,
  tag: Schema.String,
  data: Schema.String
}))

export interface SecretStore {
  readonly read: Effect.Effect<Secrets, SecretsError>
  readonly update: (change: (current: Secrets) => Secrets) => Effect.Effect<Secrets, SecretsError>
}

export const makeSecretStore = (dir: string, machineIdFile?: string): SecretStore => {
  const file = Path.join(dir, "secrets.enc")
  const saltFile = Path.join(dir, "secrets.salt")

  const key = Effect.gen(function*() {
    const identity = yield* machineIdentity(machineIdFile)
    return yield* Effect.try({
      try: () => {
        if (!Fs.existsSync(saltFile)) {
          Fs.mkdirSync(dir, { recursive: true })
          Fs.writeFileSync(saltFile, randomBytes(16), { mode: 0o600, flag: "wx" })
        }
        return scryptSync(identity, Fs.readFileSync(saltFile), 32)
      },
      catch: (cause) => new SecretsError({ message: `cannot derive the secrets key: ${String(cause)}` })
    })
  })

  const read = Effect.gen(function*() {
    if (!Fs.existsSync(file)) return {}
    const envelope = yield* Schema.decodeUnknown(Envelope)(Fs.readFileSync(file, "utf8")).pipe(
      Effect.mapError(() => new SecretsError({ message: `${file} is not a secrets file` }))
    )
    const k = yield* key
    return yield* Effect.try({
      try: () => {
        const decipher = createDecipheriv("aes-256-gcm", k, Buffer.from(envelope.iv, "base64"))
        decipher.setAuthTag(Buffer.from(envelope.tag, "base64"))
        const plain = Buffer.concat([decipher.update(Buffer.from(envelope.data, "base64")), decipher.final()])
        return JSON.parse(plain.toString("utf8")) as Secrets
      },
      catch: () =>
        new SecretsError({
          message: `cannot decrypt ${file}: it was written on another device, or it was altered; claim this collector again`
        })
    })
  })

  const write = (secrets: Secrets) =>
    Effect.gen(function*() {
      const k = yield* key
      yield* Effect.try({
        try: () => {
          const iv = randomBytes(12)
          const cipher = createCipheriv("aes-256-gcm", k, iv)
          const data = Buffer.concat([cipher.update(JSON.stringify(secrets), "utf8"), cipher.final()])
          const envelope = JSON.stringify({
            v: 1,
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

  const update = (change: (current: Secrets) => Secrets) =>
    Effect.flatMap(read, (current) => {
      const next = change(current)
      return Effect.as(write(next), next)
    })

  return { read, update }
}
