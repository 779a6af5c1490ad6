import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { VENDORS } from "../adapters/CameraRead"
import { testCameraConnection } from "../adapters/pull/ConnectionTest"
import { cameraSecretKey } from "../adapters/Sources"
import { CameraConfig, type EdgeConfig, loadConfig, readLayer, writeLayer } from "../config/EdgeConfig"
import { claim } from "../provisioning/Claim"
import type { Protection, SecretStore } from "../provisioning/Secrets"
import type { AddressBackoff } from "./AddressBackoff"
import { SETUP_SCRIPT } from "./SetupScript"
import { escape, isLegacyPin, LEGACY_PIN, requirePin } from "./StatusPage"

/**
 * The device page's setup, at `/setup` (and at `/` while the collector is not claimed), for a
 * volunteer with a phone on the site network, over plain http:
 *
 * - claiming the collector: the central server's URL and the claim code, typed or read from the QR
 *   code the admin panel shows (a photo taken through the page's file input, decoded in the browser);
 *   `POST /setup/claim` calls `claim` (Claim.ts), which checks the URL and keeps the key encrypted,
 *   then the collector starts its services. A claimed collector refuses another claim from the page
 *   (409): claiming again is done on the device, with `edge claim`.
 * - the cameras: add or change one (`POST /setup/cameras`: the camera goes into `local.yaml`, which
 *   merges cameras by id over those the central server pushes, its password into the encrypted
 *   secrets; then the collector reloads), after trying its login (`POST /setup/cameras/test`, see
 *   ConnectionTest.ts).
 *
 * Every POST needs the PIN (`X-PIN`, checked first, wrong ones backed off per address as for
 * `PUT /local-config`); with no PIN set, nothing is accepted, so a fresh collector cannot be claimed
 * by whoever finds it on the network first. The bodies are JSON, which with the `X-PIN` header no
 * other site's page can make a browser send here. A password is never logged, written to the YAML, or
 * sent back; a test with no password given uses the stored one only for the camera as stored (same
 * vendor, URL and username), so that the PIN cannot send a stored password to another address.
 */

export interface SetupOptions {
  readonly dir: string
  readonly secrets: SecretStore
  readonly pinGuesses: AddressBackoff
  readonly machineIdFile?: string
  readonly protection?: Protection
  /** applies a change (a claim, a camera): the collector restarts its services, after the answer has gone out */
  readonly reload: Effect.Effect<void>
}

/** A claim waits this long for the central server before it tells the volunteer it did not answer. */
const CLAIM_TIMEOUT = "30 seconds"

const MODES = ["push", "pull", "poll", "mqtt"] as const

const ClaimBody = Schema.Struct({ central_url: Schema.String, code: Schema.String })

const CameraBody = Schema.Struct({
  camera: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  password: Schema.optional(Schema.String)
})

const badRequest = (error: string) => HttpServerResponse.json({ error }, { status: 400 })

/** The JSON body of a setup request, or the 4xx that says what is wrong with it. */
const jsonBody = <A, I>(schema: Schema.Schema<A, I>, what: string) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    if (!(request.headers["content-type"] ?? "").startsWith("application/json")) {
      return Either.left(yield* HttpServerResponse.json({ error: "the body must be JSON (Content-Type: application/json)" }, { status: 415 }))
    }
    const text = yield* request.text.pipe(Effect.orElseSucceed(() => ""))
    const decoded = Schema.decodeUnknownEither(Schema.parseJson(schema))(text)
    return Either.isLeft(decoded)
      ? Either.left(yield* badRequest(`the body must be JSON ${what}`))
      : Either.right(decoded.right)
  })

/** A typed URL without a scheme is the central server's https address. */
const withScheme = (url: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? url : `https://${url}`

/** What a failed claim means to the volunteer holding the phone. */
const claimProblem = (centralUrl: string, error: { readonly _tag?: string; readonly message?: string }) => {
  switch (error._tag) {
    case "ClaimRefused":
      return error.message ?? "the central URL was refused"
    case "ClaimCodeUnknown":
      return "the central server does not know this claim code: check it, or make a new one in the admin panel (Admin › Collectors)"
    case "ClaimCodeUsed":
      return "this claim code has been used already: make a new one in the admin panel (Admin › Collectors)"
    case "ClaimCodeExpired":
      return "this claim code has expired: make a new one in the admin panel (Admin › Collectors)"
    case "RequestError":
      return `cannot reach the central server at ${centralUrl}: ${
        String((error as { cause?: { message?: string } }).cause?.message ?? error.message)
      }`
    case "ResponseError":
      return `the server at ${centralUrl} answered HTTP ${
        (error as { response?: { status?: number } }).response?.status ?? "?"
      }: is it the Chaverim ALPR central server?`
    case "TimeoutException":
      return `no answer from the central server at ${centralUrl} within ${CLAIM_TIMEOUT}`
    default:
      return `the server at ${centralUrl} did not answer as the Chaverim ALPR central server (${error.message ?? error._tag})`
  }
}

/** Failures of the collector itself (its secrets, its files), not of what was asked. */
const isOwnFault = (error: { readonly _tag?: string }) => error._tag === "SecretsError" || error._tag === "ConfigError"

/** A camera as the form sends it: empty fields are not set. */
const formCamera = (fields: Readonly<Record<string, unknown>>) =>
  Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== "" && value !== null && value !== undefined))

const decodeCamera = (fields: Readonly<Record<string, unknown>>) =>
  Schema.decodeUnknownEither(CameraConfig)(formCamera(fields)).pipe(
    Either.mapLeft((e) => `the camera is not valid: ${ParseResult.TreeFormatter.formatErrorSync(e)}`)
  )

// ---------------------------------------------------------------------------------------------
// The page

interface PageFacts {
  readonly claimed: { readonly centralUrl: string | undefined; readonly collectorId: string | undefined } | undefined
  readonly pin: "set" | "none" | "legacy"
  readonly cameras: ReadonlyArray<CameraConfig>
  readonly configProblem: string | undefined
}

const option = (value: string, selected: string) =>
  `<option value="${escape(value)}"${value === selected ? " selected" : ""}>${escape(value)}</option>`

const field = (id: string, label: string, attributes: string, hint = "") =>
  `<label for="${id}">${escape(label)}</label><input id="${id}" ${attributes}>${hint === "" ? "" : `<small>${escape(hint)}</small>`}`

const cameraRow = (camera: CameraConfig) => {
  const editable = Object.fromEntries(
    (["id", "name", "vendor", "mode", "url", "username", "mac"] as const)
      .filter((key) => camera[key] !== undefined)
      .map((key) => [key, camera[key]])
  )
  return `<tr><td>${escape(camera.id)}${camera.name === undefined ? "" : `<br><small>${escape(camera.name)}</small>`}</td>` +
    `<td>${escape(camera.vendor)} / ${escape(camera.mode)}</td><td class="url">${escape(camera.url ?? "")}</td>` +
    `<td><button type="button" data-camera="${escape(JSON.stringify(editable))}" aria-label="Edit camera ${escape(camera.id)}">Edit</button></td></tr>`
}

const setupPage = (facts: PageFacts) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">
<title>Set up the Chaverim ALPR collector</title>
<style>body{font:16px system-ui,sans-serif;margin:1rem;max-width:40rem}label{display:block;margin-top:.8rem;font-weight:600}
input,select{box-sizing:border-box;width:100%;font:inherit;padding:.5rem;margin-top:.2rem}button{font:inherit;padding:.6rem 1rem;margin:.8rem .5rem 0 0}
small{display:block;color:#555}.warn{background:#fff3cd;border:1px solid #c90;padding:.6rem}.ok{color:#0a6b2d;font-weight:600}
.bad{color:#b00020;font-weight:600}table{border-collapse:collapse;width:100%}td,th{padding:.3rem;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
.url{word-break:break-all}section{margin-top:1.5rem}</style></head><body>
<h1>Set up this collector</h1>
${facts.claimed === undefined ? "" : `<p><a href="/">Status</a></p>`}
${
    facts.pin === "none"
      ? `<p class="warn" id="pin-missing"><strong>No PIN is set on this collector</strong>, so nothing can be changed from this page yet. ` +
        `On the collector, run <code>npm run edge -- set-pin</code> and type a PIN of at least 8 characters ` +
        `(<code>deploy/edge/install.sh</code> asks for one when it installs the collector), then reload this page.</p>`
      : facts.pin === "legacy"
      ? `<p class="warn" id="pin-missing">${escape(LEGACY_PIN)}</p>`
      : ""
  }
${field("pin", "PIN of this collector", `type="password" autocomplete="off" required minlength="8"`, "Every change here needs it.")}
<section id="claim"><h2>Claim</h2>
${
    facts.claimed !== undefined
      ? `<p class="ok">Claimed${facts.claimed.collectorId === undefined ? "" : ` as collector ${escape(facts.claimed.collectorId)}`}: ` +
        `it uploads to ${escape(facts.claimed.centralUrl ?? "(no central URL)")}.</p>`
      : `<form id="claim-form" novalidate>
<p>An admin makes a claim code in the admin panel (Admin › Collectors). Scan the QR code shown there, or type the server's address and the code.</p>
<label for="qr-file">Scan the QR code (opens the camera)</label><input id="qr-file" type="file" accept="image/*" capture="environment">
<p id="qr-result" role="status" aria-live="polite"></p>
${field("central_url", "Central server URL", `name="central_url" type="url" inputmode="url" autocomplete="off" placeholder="https://alpr.example.org"`)}
${field("code", "Claim code", `name="code" autocomplete="off" autocapitalize="characters" spellcheck="false" placeholder="7KQ2-M9XD-4TPA"`)}
<button type="submit">Claim</button>
<p id="claim-result" role="status" aria-live="polite"></p>
</form>`
  }
</section>
<section id="cameras"><h2>Cameras</h2>
${facts.configProblem === undefined ? "" : `<p class="bad">${escape(facts.configProblem)}</p>`}
${
    facts.cameras.length === 0
      ? "<p>No cameras yet.</p>"
      : `<table><tr><th>Camera</th><th>Vendor / mode</th><th>URL</th><th></th></tr>${facts.cameras.map(cameraRow).join("")}</table>`
  }
<form id="camera-form" novalidate><h3>Add or change a camera</h3>
${field("camera-id", "Id", `required autocomplete="off" spellcheck="false"`, "Unique on this collector, e.g. gate-1; the id of an existing camera changes it.")}
${field("camera-name", "Name", `autocomplete="off"`)}
<label for="camera-vendor">Vendor</label><select id="camera-vendor">${VENDORS.map((v) => option(v, "hikvision")).join("")}</select>
<label for="camera-mode">Mode</label><select id="camera-mode">${MODES.map((m) => option(m, "pull")).join("")}</select>
<small>pull: the collector reads a Hikvision camera; poll: a UniFi Protect console; push: the camera sends to the collector; mqtt: Frigate.</small>
${field("camera-url", "URL", `type="url" inputmode="url" autocomplete="off" placeholder="http://192.168.1.64"`, "The camera's address (for UniFi, the console's: https://192.168.1.1).")}
${field("camera-username", "Username", `autocomplete="off" autocapitalize="none" spellcheck="false"`, "UniFi: a local account of the console; empty to use an API key as the password.")}
${field("camera-password", "Password", `type="password" autocomplete="new-password"`, "Kept encrypted on the collector; leave empty to keep the stored one.")}
${field("camera-mac", "MAC (UniFi: which camera of the console)", `autocomplete="off" autocapitalize="characters" spellcheck="false"`)}
<button type="button" id="camera-test">Test connection</button><button type="submit">Save</button>
<p id="camera-result" role="status" aria-live="polite"></p>
</form></section>
<noscript><p class="bad">This page needs JavaScript.</p></noscript>
<script src="/setup/setup.js"></script>
</body></html>`

// ---------------------------------------------------------------------------------------------
// The routes

/** The setup routes; with `atRoot`, the page is also the collector's `/` (a collector not claimed yet). */
export const setupRoutes = (options: SetupOptions, atRoot: boolean) => {
  // One claim at a time: a second one waits, then finds the collector claimed.
  const claiming = Effect.unsafeMakeSemaphore(1)

  const facts = Effect.gen(function*() {
    const stored = yield* options.secrets.read
    const pinHash = stored["status_pin_hash"]
    const config = yield* Effect.either(loadConfig(options.dir))
    const centralUrl = Either.isRight(config) ? config.right.central_url : undefined
    return {
      claimed: stored["api_key"] === undefined ? undefined : { centralUrl, collectorId: stored["collector_id"] },
      pin: pinHash === undefined ? "none" : isLegacyPin(pinHash) ? "legacy" : "set",
      cameras: Either.isRight(config) ? config.right.cameras : [],
      configProblem: Either.isLeft(config) ? config.left.message : undefined
    } satisfies PageFacts
  })

  const page = Effect.flatMap(facts, (f) => HttpServerResponse.html(setupPage(f))).pipe(
    Effect.catchAll((e) => HttpServerResponse.text(`the collector cannot read its settings: ${e.message}`, { status: 500 }))
  )

  /** The handler behind the PIN; the collector's own failures are a 500 with their message, never a stack. */
  const guarded = <E>(handler: Effect.Effect<HttpServerResponse.HttpServerResponse, E, HttpServerRequest.HttpServerRequest>) =>
    Effect.gen(function*() {
      const refused = yield* requirePin(options.secrets, options.pinGuesses)
      return refused ?? (yield* handler)
    }).pipe(
      Effect.catchAll((e) => HttpServerResponse.json({ error: String((e as { message?: string }).message ?? e) }, { status: 500 }))
    )

  const claimRoute = guarded(claiming.withPermits(1)(Effect.gen(function*() {
    const stored = yield* options.secrets.read
    if (stored["api_key"] !== undefined) {
      return yield* HttpServerResponse.json({
        error: "this collector is claimed already; to claim it again (another server, a new code), run `npm run edge -- claim CODE --central URL` on it"
      }, { status: 409 })
    }
    const body = yield* jsonBody(ClaimBody, "{central_url, code}")
    if (Either.isLeft(body)) return body.left
    const centralUrl = withScheme(body.right.central_url.trim())
    const code = body.right.code.trim()
    if (body.right.central_url.trim() === "" || code === "") return yield* badRequest("give the central server's URL and the claim code")
    const claimed = yield* claim({
      dir: options.dir,
      code,
      centralUrl,
      ...(options.machineIdFile === undefined ? {} : { machineIdFile: options.machineIdFile }),
      ...(options.protection === undefined ? {} : { protection: options.protection })
    }).pipe(Effect.timeout(CLAIM_TIMEOUT), Effect.either)
    if (Either.isLeft(claimed)) {
      const error = claimed.left as { readonly _tag?: string; readonly message?: string }
      if (isOwnFault(error)) return yield* Effect.fail(error)
      const reason = claimProblem(centralUrl, error)
      yield* Effect.logWarning("claim from the device page failed").pipe(Effect.annotateLogs({ central_url: centralUrl, reason }))
      return yield* badRequest(reason)
    }
    yield* Effect.logInfo("claimed from the device page").pipe(
      Effect.annotateLogs({ collector_id: claimed.right.collector_id, central_url: claimed.right.central_url })
    )
    yield* options.reload
    return yield* HttpServerResponse.json({ status: "claimed", ...claimed.right })
  })))

  /** The password to test with: the one given, else the stored one if the camera is the one stored. */
  const passwordFor = (camera: CameraConfig, given: string | undefined, config: EdgeConfig | undefined) =>
    Effect.gen(function*() {
      if (given !== undefined && given !== "") return given
      const stored = config?.cameras.find((c) => c.id === camera.id)
      const same = stored !== undefined && stored.vendor === camera.vendor && stored.url === camera.url && stored.username === camera.username
      return same ? (yield* options.secrets.read)[cameraSecretKey(camera.id)] : undefined
    })

  const testRoute = guarded(Effect.gen(function*() {
    const body = yield* jsonBody(CameraBody, "{camera, password}")
    if (Either.isLeft(body)) return body.left
    const camera = decodeCamera(body.right.camera)
    if (Either.isLeft(camera)) return yield* badRequest(camera.left)
    const config = Either.getOrUndefined(yield* Effect.either(loadConfig(options.dir)))
    const password = yield* passwordFor(camera.right, body.right.password, config)
    const result = yield* testCameraConnection(camera.right, password)
    yield* Effect.logInfo("camera connection tested from the device page").pipe(
      Effect.annotateLogs({ camera: camera.right.id, ok: result.ok, result: result.message })
    )
    return yield* HttpServerResponse.json(result)
  }))

  const saveRoute = guarded(Effect.gen(function*() {
    const body = yield* jsonBody(CameraBody, "{camera, password}")
    if (Either.isLeft(body)) return body.left
    const camera = decodeCamera(body.right.camera)
    if (Either.isLeft(camera)) return yield* badRequest(camera.left)
    const entry = Schema.encodeSync(CameraConfig)(camera.right)
    const local = yield* readLayer(options.dir, "local.yaml")
    const cameras = Array.isArray(local["cameras"]) ? local["cameras"] as ReadonlyArray<unknown> : []
    const known = cameras.some((c) => (c as { id?: unknown } | null)?.id === entry.id)
    const layer = {
      ...local,
      cameras: known ? cameras.map((c) => (c as { id?: unknown } | null)?.id === entry.id ? entry : c) : [...cameras, entry]
    }
    // Checked as merged with the other layers before anything is written: a bad camera changes nothing.
    const checked = yield* Effect.either(loadConfig(options.dir, { "local.yaml": layer }))
    if (Either.isLeft(checked)) return yield* badRequest(checked.left.message)
    const password = body.right.password ?? ""
    if (password !== "") yield* options.secrets.update((s) => ({ ...s, [cameraSecretKey(entry.id)]: password }))
    yield* writeLayer(options.dir, "local.yaml", layer)
    yield* Effect.logInfo("camera saved from the device page").pipe(
      Effect.annotateLogs({ camera: entry.id, vendor: entry.vendor, mode: entry.mode, password: password === "" ? "kept" : "stored" })
    )
    yield* options.reload
    return yield* HttpServerResponse.json({
      status: "saved",
      message: `camera ${entry.id} saved${password === "" ? "" : " with its password"}; the collector restarts its cameras`
    })
  }))

  const routes = HttpRouter.empty.pipe(
    HttpRouter.get("/setup", page),
    HttpRouter.get(
      "/setup/setup.js",
      HttpServerResponse.text(SETUP_SCRIPT, { contentType: "text/javascript; charset=utf-8", headers: { "cache-control": "no-cache" } })
    ),
    HttpRouter.get(
      "/setup/jsQR.js",
      // Loaded when the page first asks for it: some 130 kB a collector holds only once set up from a phone.
      Effect.flatMap(Effect.promise(() => import("./QrDecoder")), ({ qrDecoderScript }) =>
        HttpServerResponse.text(qrDecoderScript(), {
          contentType: "text/javascript; charset=utf-8",
          headers: { "cache-control": "public, max-age=86400" }
        }))
    ),
    HttpRouter.post("/setup/claim", claimRoute),
    HttpRouter.post("/setup/cameras/test", testRoute),
    HttpRouter.post("/setup/cameras", saveRoute)
  )
  return atRoot ? HttpRouter.get(routes, "/", page) : routes
}
