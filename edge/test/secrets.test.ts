import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { randomBytes } from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { makeSecretStore, type Protection } from "../src/provisioning/Secrets"
import { edge } from "./edgeCli"

/**
 * How the collector's secrets are protected at rest, as an operator meets it: the files of a
 * collector directory, and `edge run` / `edge secrets rekey` as processes of their own.
 */

const API_KEY = `alpr_${randomBytes(5).toString("hex")}_${randomBytes(16).toString("hex")}`

const tempDir = (what: string) => Fs.mkdtempSync(Path.join(Os.tmpdir(), `alpr-secrets-${what}-`))

/** A collector directory ("the SD card"): its device identity, a base configuration. */
const card = () => {
  const dir = tempDir("card")
  Fs.writeFileSync(Path.join(dir, "machine-id"), randomBytes(16).toString("hex"))
  Fs.writeFileSync(Path.join(dir, "config.yaml"), "central_url: https://central.invalid\nlisten:\n  host: 127.0.0.1\n  port: 0\n")
  return { dir, machineId: Path.join(dir, "machine-id") }
}

/** Everything on the card, copied to another place, as a thief would with the SD card. */
const copyCard = (dir: string) => {
  const copy = tempDir("copy")
  for (const name of Fs.readdirSync(dir)) Fs.copyFileSync(Path.join(dir, name), Path.join(copy, name))
  return { dir: copy, machineId: Path.join(copy, "machine-id") }
}

const passphrase = (text: string): Protection => ({ mode: "passphrase", passphrase: Effect.succeed(Redacted.make(text)) })

describe("secrets protected by a key file off the card", () => {
  it.effect("cannot be read from a copy of the card: the collector refuses to start and the API key stays sealed", () =>
    Effect.gen(function*() {
      const site = card()
      const usb = tempDir("usb")
      const keyFile = Path.join(usb, "edge.key")
      Fs.writeFileSync(keyFile, randomBytes(32), { mode: 0o400 })
      const withKey: Protection = { mode: "key-file", file: keyFile }
      yield* makeSecretStore(site.dir, site.machineId, withKey).update(() => ({ api_key: API_KEY, collector_id: "c-1" }))
      expect(yield* makeSecretStore(site.dir, site.machineId, withKey).read).toEqual({ api_key: API_KEY, collector_id: "c-1" })

      const stolen = copyCard(site.dir)
      const raw = Fs.readFileSync(Path.join(stolen.dir, "secrets.enc"), "utf8")
      expect(raw).not.toContain(API_KEY)

      // Started on the copy, the key file's place named but the key not there.
      const missing = yield* Effect.promise(() =>
        edge(["run"], { EDGE_DIR: stolen.dir, EDGE_MACHINE_ID_FILE: stolen.machineId, EDGE_SECRET_KEY_FILE: keyFile + ".absent" })
      )
      expect(missing.code).not.toBe(0)
      expect(missing.stderr).toContain(`the secrets key file ${keyFile}.absent (EDGE_SECRET_KEY_FILE) is missing`)
      expect(missing.stderr).toMatch(/does not fall back to the device identity/)
      // Started with no settings at all: refused, not read with the device identity.
      const unset = yield* Effect.promise(() => edge(["run"], { EDGE_DIR: stolen.dir, EDGE_MACHINE_ID_FILE: stolen.machineId }))
      expect(unset.code).not.toBe(0)
      expect(unset.stderr).toMatch(/is protected by a key file \(EDGE_SECRET_KEY_FILE\), but this collector is set up for the device identity/)
      for (const run of [missing, unset]) expect(run.stdout + run.stderr).not.toContain(API_KEY)

      // Even told the file is protected by the device identity, the card's identity does not open it.
      const envelope = JSON.parse(raw) as Record<string, unknown>
      delete envelope["protection"]
      Fs.writeFileSync(Path.join(stolen.dir, "secrets.enc"), JSON.stringify(envelope))
      const forced = yield* Effect.flip(makeSecretStore(stolen.dir, stolen.machineId).read)
      expect(forced.message).toMatch(/cannot decrypt .*secrets\.enc/)

      // Another key in the key file's place does not open it either.
      const forged = Path.join(usb, "forged.key")
      Fs.writeFileSync(forged, randomBytes(32))
      const wrongKey = yield* Effect.flip(makeSecretStore(site.dir, site.machineId, { mode: "key-file", file: forged }).read)
      expect(wrongKey.message).toMatch(/cannot decrypt .* with the key file .*forged\.key: another key, or the file was altered/)
    }), 120_000)
})

describe("secrets protected by a passphrase", () => {
  it.effect("round-trip with the passphrase; a wrong one is refused with a message that says so", () =>
    Effect.gen(function*() {
      const site = card()
      yield* makeSecretStore(site.dir, site.machineId, passphrase("correct horse battery")).update(() => ({ api_key: API_KEY }))
      expect(Fs.readFileSync(Path.join(site.dir, "secrets.enc"), "utf8")).not.toContain(API_KEY)
      expect(yield* makeSecretStore(site.dir, site.machineId, passphrase("correct horse battery")).read).toEqual({ api_key: API_KEY })

      const wrong = yield* Effect.flip(makeSecretStore(site.dir, site.machineId, passphrase("correct horse battery!")).read)
      expect(wrong.message).toMatch(/cannot decrypt .*secrets\.enc: wrong passphrase, or the file was altered/)
      const withIdentity = yield* Effect.flip(makeSecretStore(site.dir, site.machineId).read)
      expect(withIdentity.message).toMatch(/is protected by a passphrase .* but this collector is set up for the device identity/)
    }))
})

describe("secrets protected by the device identity (the default)", () => {
  it.effect("round-trip, including files written before the protection was recorded in them; a whole card's copy reads them", () =>
    Effect.gen(function*() {
      const site = card()
      yield* makeSecretStore(site.dir, site.machineId).update(() => ({ api_key: API_KEY }))
      const file = Path.join(site.dir, "secrets.enc")
      const envelope = JSON.parse(Fs.readFileSync(file, "utf8")) as Record<string, unknown>
      expect(envelope["protection"]).toBe("machine-id")
      delete envelope["protection"]
      Fs.writeFileSync(file, JSON.stringify(envelope))
      expect(yield* makeSecretStore(site.dir, site.machineId).read).toEqual({ api_key: API_KEY })
      expect(yield* makeSecretStore(site.dir, site.machineId).update((s) => ({ ...s, camera_password: "x" }))).toEqual({
        api_key: API_KEY,
        camera_password: "x"
      })
      // What the README says: the device identity is on the card, so a copy of the whole card reads the secrets.
      const stolen = copyCard(site.dir)
      expect((yield* makeSecretStore(stolen.dir, stolen.machineId).read)["api_key"]).toBe(API_KEY)
    }))
})

describe("edge secrets rekey", () => {
  it.effect("moves the secrets from the device identity to a new key file, and from there to a passphrase", () =>
    Effect.gen(function*() {
      const site = card()
      yield* makeSecretStore(site.dir, site.machineId).update(() => ({ api_key: API_KEY }))
      const keyFile = Path.join(tempDir("usb"), "edge.key")
      const env = { EDGE_DIR: site.dir, EDGE_MACHINE_ID_FILE: site.machineId }

      const toKeyFile = yield* Effect.promise(() => edge(["secrets", "rekey"], { ...env, EDGE_SECRET_KEY_FILE: keyFile }))
      expect(toKeyFile.code, toKeyFile.stderr).toBe(0)
      expect(JSON.parse(toKeyFile.stdout)).toEqual({ from: "machine-id", to: "key-file", secrets: 1 })
      expect(Fs.statSync(keyFile).size).toBe(32)
      expect(yield* makeSecretStore(site.dir, site.machineId, { mode: "key-file", file: keyFile }).read).toEqual({ api_key: API_KEY })
      expect((yield* Effect.flip(makeSecretStore(site.dir, site.machineId).read)).message).toMatch(/protected by a key file/)

      const toPassphrase = yield* Effect.promise(() =>
        edge(["secrets", "rekey", "--from-key-file", keyFile], { ...env, EDGE_SECRET_PASSPHRASE: "long walk to the gate" })
      )
      expect(toPassphrase.code, toPassphrase.stderr).toBe(0)
      expect(JSON.parse(toPassphrase.stdout)).toEqual({ from: "key-file", to: "passphrase", secrets: 1 })
      expect(yield* makeSecretStore(site.dir, site.machineId, passphrase("long walk to the gate")).read).toEqual({ api_key: API_KEY })
    }), 120_000)
})
