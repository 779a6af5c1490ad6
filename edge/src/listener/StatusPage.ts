import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { randomBytes, scryptSync, timingSafeEqual } from "node:crypto"
import * as Yaml from "yaml"
import { loadConfig, lockedLocalKeys, writeLayer } from "../config/EdgeConfig"
import type { SecretStore } from "../provisioning/Secrets"
import { AddressBackoff } from "./AddressBackoff"

/**
 * The collector's local status page, for a volunteer on site with a phone: what the collector is
 * doing, readable by anyone on the site network (it shows no secrets), and one change, the local
 * configuration layer (`local.yaml`), which needs the PIN. The claim and the cameras are set up from
 * `/setup` (SetupPage.ts), behind the same PIN check (`requirePin`). The PIN (at least 8 characters) is kept as
 * a scrypt hash in the encrypted secrets (`npm run edge -- set-pin`). Wrong PINs are counted per
 * source address (see AddressBackoff): four are free, then that address waits 30 s, doubling up to
 * an hour, while every other address can still make changes. The local layer cannot change where
 * the collector uploads (`central_url`), so the PIN never gives the API key away.
 */

export const MIN_PIN_LENGTH = 8

/** The table of wrong PINs by address; one per collector process, so that reloads keep it. */
export const newPinGuesses = () => new AddressBackoff({ freeFailures: 4, baseMs: 30_000, maxMs: 60 * 60_000, maxAddresses: 1024 })

// PINs set before the 8-character rule were stored as `salt:hash`; their length is unknown.
const PIN_FORMAT = "pin8"

export const hashPin = (pin: string, salt = randomBytes(16)) =>
  `${PIN_FORMAT}:${salt.toString("hex")}:${scryptSync(pin, salt, 32).toString("hex")}`

/** A stored PIN that is not known to have the length now required: changes wait for a new one. */
export const isLegacyPin = (stored: string) => !stored.startsWith(`${PIN_FORMAT}:`)

export const checkPin = (pin: string, stored: string) => {
  const parts = stored.split(":")
  const [salt, hash] = parts.length === 3 ? parts.slice(1) : parts
  if (salt === undefined || hash === undefined) return false
  const candidate = scryptSync(pin, Buffer.from(salt, "hex"), 32)
  const expected = Buffer.from(hash, "hex")
  return candidate.length === expected.length && timingSafeEqual(candidate, expected)
}

export const escape = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" })[c]!)

const page = (status: Record<string, unknown>) => {
  const buffer = status["buffer"] as Record<string, unknown>
  const rows: Array<[string, unknown]> = [
    ["Reads waiting for upload", status["queue_depth"]],
    ["Uploader", (status["uploader"] as { _tag?: string } | undefined)?._tag],
    ["Central server", status["central_url"]],
    ["Disk used", `${Math.round(Number(buffer["usedBytes"]) / 1048576)} of ${Math.round(Number(buffer["quotaBytes"]) / 1048576)} MB${buffer["full"] ? " (FULL)" : ""}`],
    ["Uploaded reads kept", buffer["uploaded"]],
    ["Quarantined reads", buffer["quarantined"]],
    ["Version", `${status["edge_version"]} (configuration ${status["config_version"]})`],
    ["Up for", `${status["uptime_seconds"]} s`]
  ]
  const cameras = Object.entries((status["camera_activity"] ?? {}) as Record<string, Record<string, unknown>>)
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><meta http-equiv="refresh" content="10">
<title>Chaverim ALPR collector</title>
<style>body{font:16px system-ui,sans-serif;margin:1rem;max-width:40rem}th{text-align:left;padding-right:1rem}
td,th{padding:.3rem 0;border-bottom:1px solid #ddd}.full{color:#b00020;font-weight:bold}</style></head><body>
<h1>Collector status</h1>
<table>${rows.map(([k, v]) => `<tr><th scope="row">${escape(k)}</th><td>${escape(String(v ?? "-"))}</td></tr>`).join("")}</table>
<h2>Cameras</h2>
<table><tr><th>Camera</th><th>Last heard</th><th>Reads</th><th>Errors</th></tr>
${cameras.map(([id, c]) => `<tr><td>${escape(id)}</td><td>${escape(String(c["last_seen"]))}</td><td>${escape(String(c["reads"]))}</td><td>${escape(String(c["errors"]))}${c["lastError"] ? ` (${escape(String(c["lastError"]))})` : ""}</td></tr>`).join("")}
</table>
<p><a href="/setup">Cameras: add, change, test their connection</a> (needs the PIN)</p>
<p>Changing the local configuration needs the PIN: <code>PUT /local-config</code> with the YAML as the body and the PIN in the <code>X-PIN</code> header.</p>
</body></html>`
}

/**
 * The PIN check every change from the device page goes through: the PIN in `X-PIN`, wrong ones
 * counted in `pinGuesses` by source address. Undefined when the PIN is right; else the answer that
 * refuses the change (403 no PIN set or a PIN from before the 8-character rule, 429 waiting, 401 wrong).
 */
export const requirePin = (secrets: SecretStore, pinGuesses: AddressBackoff) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    // No proxy stands in front of the collector: the socket's peer is the client.
    const address = Option.getOrElse(request.remoteAddress, () => "unknown")
    const now = yield* Clock.currentTimeMillis
    const wait = pinGuesses.waitMs(address, now)
    if (wait > 0) {
      const seconds = Math.ceil(wait / 1000)
      return yield* HttpServerResponse.json(
        { error: `too many wrong PINs from this address; try again in ${seconds} s` },
        { status: 429, headers: { "retry-after": String(seconds) } }
      )
    }
    const stored = (yield* secrets.read)["status_pin_hash"]
    const pin = request.headers["x-pin"] ?? ""
    if (stored === undefined) {
      return yield* HttpServerResponse.json({ error: NO_PIN }, { status: 403 })
    }
    if (isLegacyPin(stored)) {
      return yield* HttpServerResponse.json({ error: LEGACY_PIN }, { status: 403 })
    }
    if (pin.length >= MIN_PIN_LENGTH && checkPin(pin, stored)) {
      pinGuesses.succeeded(address)
      return undefined
    }
    const earned = pinGuesses.failed(address, now)
    yield* Effect.logWarning("wrong status page PIN").pipe(Effect.annotateLogs({ address, wait_seconds: earned / 1000 }))
    return yield* HttpServerResponse.json({ error: "wrong PIN" }, { status: 401 })
  })

export const NO_PIN = "no PIN is set on this collector: set one on the collector with `npm run edge -- set-pin` " +
  "(at least 8 characters, on standard input; deploy/edge/install.sh asks for it)"

export const LEGACY_PIN = `the PIN on this collector was set before PINs needed ${MIN_PIN_LENGTH} characters; ` +
  "no change is accepted until a new one is set: npm run edge -- set-pin"

export const statusPageRoutes = (options: {
  readonly dir: string
  readonly secrets: SecretStore
  readonly status: Effect.Effect<Record<string, unknown>>
  /** applies a changed configuration */
  readonly reload: Effect.Effect<void>
  /** wrong PINs so far (a new table when not given) */
  readonly pinGuesses?: AddressBackoff
}) => {
  const backoff = options.pinGuesses ?? newPinGuesses()

  return HttpRouter.empty.pipe(
    HttpRouter.get("/", Effect.flatMap(options.status, (s) => HttpServerResponse.html(page(s)))),
    HttpRouter.put(
      "/local-config",
      Effect.gen(function*() {
        const refused = yield* requirePin(options.secrets, backoff)
        if (refused !== undefined) return refused
        const request = yield* HttpServerRequest.HttpServerRequest
        const text = yield* request.text
        const parsed = yield* Effect.try(() => Yaml.parse(text) as unknown).pipe(Effect.either)
        if (parsed._tag === "Left" || typeof parsed.right !== "object" || parsed.right === null || Array.isArray(parsed.right)) {
          return yield* HttpServerResponse.json({ error: "the body must be a YAML mapping" }, { status: 400 })
        }
        const layer = parsed.right as Record<string, unknown>
        const locked = lockedLocalKeys(layer)
        if (locked.length > 0) {
          return yield* HttpServerResponse.json({
            error: `${locked.join(", ")} cannot be changed on site: the central server is set by claiming the collector, ` +
              "and these settings only in config.yaml or by the central server"
          }, { status: 400 })
        }
        const checked = yield* Effect.either(loadConfig(options.dir, { "local.yaml": layer }))
        if (checked._tag === "Left") return yield* HttpServerResponse.json({ error: checked.left.message }, { status: 400 })
        yield* writeLayer(options.dir, "local.yaml", layer)
        yield* Effect.logInfo("local configuration changed from the status page")
        yield* options.reload
        return yield* HttpServerResponse.json({ status: "applied" })
      }).pipe(
        Effect.catchAll((e) => HttpServerResponse.json({ error: String((e as { message?: string }).message ?? e) }, { status: 500 }))
      )
    )
  )
}
