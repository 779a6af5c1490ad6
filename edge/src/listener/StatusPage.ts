import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { randomBytes, scryptSync, timingSafeEqual } from "node:crypto"
import * as Yaml from "yaml"
import { loadConfig, writeLayer } from "../config/EdgeConfig"
import type { SecretStore } from "../provisioning/Secrets"

/**
 * The collector's local status page, for a volunteer on site with a phone: what the collector is
 * doing, readable by anyone on the site network (it shows no secrets), and one change, the local
 * configuration layer (`local.yaml`), which needs the PIN. The PIN is kept as a scrypt hash in the
 * encrypted secrets (`npm run edge -- set-pin`); five wrong PINs lock changes for five minutes.
 */

const MAX_FAILURES = 5
const LOCK_MS = 5 * 60_000

export const hashPin = (pin: string, salt = randomBytes(16)) =>
  `${salt.toString("hex")}:${scryptSync(pin, salt, 32).toString("hex")}`

export const checkPin = (pin: string, stored: string) => {
  const [salt, hash] = stored.split(":")
  if (salt === undefined || hash === undefined) return false
  const candidate = scryptSync(pin, Buffer.from(salt, "hex"), 32)
  const expected = Buffer.from(hash, "hex")
  return candidate.length === expected.length && timingSafeEqual(candidate, expected)
}

const escape = (text: string) =>
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
<p>Changing the local configuration needs the PIN: <code>PUT /local-config</code> with the YAML as the body and the PIN in the <code>X-PIN</code> header.</p>
</body></html>`
}

export const statusPageRoutes = (options: {
  readonly dir: string
  readonly secrets: SecretStore
  readonly status: Effect.Effect<Record<string, unknown>>
  /** applies a changed configuration */
  readonly reload: Effect.Effect<void>
}) => {
  let failures = 0
  let lockedUntil = 0

  const authorised = Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const now = yield* Clock.currentTimeMillis
    if (now < lockedUntil) return "locked" as const
    const stored = (yield* options.secrets.read)["status_pin_hash"]
    const pin = request.headers["x-pin"] ?? ""
    if (stored === undefined) return "no-pin" as const
    if (pin !== "" && checkPin(pin, stored)) {
      failures = 0
      return "ok" as const
    }
    failures++
    if (failures >= MAX_FAILURES) {
      failures = 0
      lockedUntil = now + LOCK_MS
    }
    return "wrong" as const
  })

  return HttpRouter.empty.pipe(
    HttpRouter.get("/", Effect.flatMap(options.status, (s) => HttpServerResponse.html(page(s)))),
    HttpRouter.put(
      "/local-config",
      Effect.gen(function*() {
        const verdict = yield* authorised
        if (verdict === "no-pin") {
          return yield* HttpServerResponse.json({ error: "no PIN is set on this collector: npm run edge -- set-pin" }, { status: 403 })
        }
        if (verdict === "locked") {
          const seconds = Math.ceil((lockedUntil - (yield* Clock.currentTimeMillis)) / 1000)
          return yield* HttpServerResponse.json(
            { error: `too many wrong PINs; try again in ${seconds} s` },
            { status: 429, headers: { "retry-after": String(seconds) } }
          )
        }
        if (verdict === "wrong") return yield* HttpServerResponse.json({ error: "wrong PIN" }, { status: 401 })
        const request = yield* HttpServerRequest.HttpServerRequest
        const text = yield* request.text
        const parsed = yield* Effect.try(() => Yaml.parse(text) as unknown).pipe(Effect.either)
        if (parsed._tag === "Left" || typeof parsed.right !== "object" || parsed.right === null || Array.isArray(parsed.right)) {
          return yield* HttpServerResponse.json({ error: "the body must be a YAML mapping" }, { status: 400 })
        }
        const layer = parsed.right as Record<string, unknown>
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
