import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { loadConfig, merge, writeLayer } from "../src/config/EdgeConfig"
import { makeSecretStore } from "../src/provisioning/Secrets"

const tempDir = () => Fs.mkdtempSync(Path.join(Os.tmpdir(), "alpr-prov-"))
const identity = (dir: string, id: string) => {
  const file = Path.join(dir, `machine-id-${id}`)
  Fs.writeFileSync(file, `${id}\n`)
  return file
}

describe("secrets at rest", () => {
  it.effect("are encrypted, and readable on the same device only", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const device = identity(dir, "device-a")
      yield* makeSecretStore(dir, device).update(() => ({ api_key: "alpr_0123456789_supersecret", camera_gate: "hunter2" }))
      const raw = Fs.readFileSync(Path.join(dir, "secrets.enc"), "utf8")
      expect(raw).not.toContain("supersecret")
      expect(raw).not.toContain("hunter2")
      expect(yield* makeSecretStore(dir, device).read).toEqual({ api_key: "alpr_0123456789_supersecret", camera_gate: "hunter2" })

      // The same SD card in another machine: another identity, same files.
      const copied = tempDir()
      for (const f of ["secrets.enc", "secrets.salt"]) Fs.copyFileSync(Path.join(dir, f), Path.join(copied, f))
      const error = yield* Effect.flip(makeSecretStore(copied, identity(copied, "device-b")).read)
      expect(error.message).toMatch(/another device, or it was altered/)
    }))

  it.effect("refuses a tampered file", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const device = identity(dir, "device-c")
      yield* makeSecretStore(dir, device).update(() => ({ api_key: "k" }))
      const file = Path.join(dir, "secrets.enc")
      const envelope = JSON.parse(Fs.readFileSync(file, "utf8"))
      const data = Buffer.from(envelope.data, "base64")
      data[0] = data[0]! ^ 1
      Fs.writeFileSync(file, JSON.stringify({ ...envelope, data: data.toString("base64") }))
      expect((yield* Effect.flip(makeSecretStore(dir, device).read))._tag).toBe("SecretsError")
    }))
})

describe("layered configuration", () => {
  it("merges objects key by key and replaces lists and values", () => {
    expect(merge({ a: { b: 1, c: 2 }, l: [1, 2] }, { a: { c: 3 }, l: [9] })).toEqual({ a: { b: 1, c: 3 }, l: [9] })
  })

  it.effect("puts local overrides above central pushes above the base, with defaults for the rest", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      yield* writeLayer(dir, "config.yaml", { central_url: "https://central.example", upload: { window_seconds: 10 } })
      yield* writeLayer(dir, "central.yaml", { upload: { window_seconds: 20, max_events: 40 }, heartbeat_seconds: 30 })
      yield* writeLayer(dir, "local.yaml", { upload: { window_seconds: 5 } })
      const config = yield* loadConfig(dir)
      expect(config.upload).toMatchObject({ window_seconds: 5, max_events: 40, max_bytes: 5 * 1024 * 1024 })
      expect(config.heartbeat_seconds).toBe(30)
      expect(config.retention_days).toBe(7)
      expect(config.central_url).toBe("https://central.example")
    }))

  it.effect("says which file and field is wrong", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      Fs.writeFileSync(Path.join(dir, "local.yaml"), "upload: [oops")
      expect((yield* Effect.flip(loadConfig(dir))).message).toMatch(/local\.yaml/)
      Fs.writeFileSync(Path.join(dir, "local.yaml"), "upload:\n  max_events: 500\n")
      expect((yield* Effect.flip(loadConfig(dir))).message).toMatch(/max_events/)
    }))
})
