import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { CameraConfig } from "../../config/EdgeConfig"
import { normalizeMac } from "../reads"
import { cameraHttpClientLayer } from "../Sources"
import { DigestSession } from "./digest"
import { boundedBody } from "./photoBody"

/**
 * "Test connection": one real login against a camera as it is configured, answered in words a
 * volunteer can act on. Used by the device page's camera wizard and when the central server pushes
 * cameras (`update_cameras`).
 *
 * - Hikvision (`pull`): `GET /ISAPI/System/deviceInfo` with Digest authentication, as the pull adapter
 *   logs in; the answer names the model and firmware.
 * - UniFi Protect (`poll`): the console's login (`POST /api/auth/login`) with the camera's username,
 *   then `GET /proxy/protect/api/bootstrap` with the session (or the API key as `X-API-KEY` when no
 *   username is configured, as the poller does); the camera's MAC, when configured, must be among
 *   Protect's cameras.
 * - A camera that pushes to the collector (`push`, any vendor) has no login to try: it answers ok, saying there is nothing to test (its first push shows on the
 *   status page). Frigate (`mqtt`) is not tested either: its broker login is tried when the
 *   collector runs it, and its state shows on the status page.
 *
 * The failures told apart: unreachable (refused, no route, no answer, a name that does not resolve),
 * TLS (an https URL to a plain-http port, a handshake that fails), not the expected device (no
 * ISAPI, no UniFi OS login, an answer that is not Hikvision's DeviceInfo), and a wrong username or
 * password. Certificates are not verified, as the collector does not verify them when it runs (see
 * `cameraHttpClientLayer`). The whole test takes at most TEST_TIMEOUT.
 */

export interface ConnectionResult {
  readonly ok: boolean
  readonly message: string
}

export const TEST_TIMEOUT = "10 seconds"

/** A test that stopped: the message says why. */
class Failed extends Schema.TaggedError<Failed>()("Failed", { message: Schema.String }) {}

/** The largest answer read: a DeviceInfo is a few hundred bytes, a Protect bootstrap some hundreds of KiB. */
const MAX_ANSWER_BYTES = 8 * 1024 * 1024

const DEVICE_INFO = "/ISAPI/System/deviceInfo"

const TLS_CODE = /^(EPROTO|ERR_SSL|ERR_TLS|CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_|ECONNRESET_TLS)/

/** The codes and messages of an error and its causes, innermost last. */
const chain = (cause: unknown): ReadonlyArray<{ readonly code: string; readonly message: string }> => {
  const out: Array<{ code: string; message: string }> = []
  let current: unknown = cause
  for (let depth = 0; depth < 5 && current !== undefined && current !== null; depth++) {
    const e = current as { code?: unknown; message?: unknown; reason?: unknown; cause?: unknown }
    // OpenSSL's errors carry their words in `reason`, or in their message among codes and a source position.
    const text = typeof e.message === "string" ? e.message.split("\n")[0]! : String(current)
    const message = typeof e.reason === "string" ? e.reason : /error:[0-9A-F]+:[^:]*:[^:]*:([^:]+)/.exec(text)?.[1] ?? text
    out.push({ code: typeof e.code === "string" ? e.code : "", message })
    current = e.cause
  }
  return out
}

/** What a request that got no HTTP answer means to the one who typed the URL. */
const transportFailure = (url: URL, error: HttpClientError.HttpClientError): Failed => {
  const where = `${url.hostname}:${url.port || (url.protocol === "https:" ? "443" : "80")}`
  if (error._tag === "RequestError" && error.reason === "InvalidUrl") {
    return new Failed({ message: `the URL ${url.href} is not valid` })
  }
  const causes = chain(error._tag === "RequestError" ? error.cause : error)
  const codes = causes.map((c) => c.code)
  const text = causes.map((c) => c.message).join(": ")
  const has = (...wanted: ReadonlyArray<string>) => codes.some((c) => wanted.includes(c))
  if (has("ECONNREFUSED")) return new Failed({ message: `unreachable: nothing answers at ${where} (connection refused): check the address and port` })
  if (has("ENOTFOUND", "EAI_AGAIN")) return new Failed({ message: `unreachable: the name ${url.hostname} does not resolve: use the camera's IP address` })
  if (has("EHOSTUNREACH", "ENETUNREACH", "EHOSTDOWN")) return new Failed({ message: `unreachable: no route to ${url.hostname}: is it on this network?` })
  if (has("ETIMEDOUT", "ECONNRESET") && !codes.some((c) => TLS_CODE.test(c))) {
    return new Failed({ message: `unreachable: ${where} did not answer (${codes.find((c) => c !== "") ?? "timeout"})` })
  }
  if (codes.some((c) => TLS_CODE.test(c)) || /SSL|TLS|certificate/i.test(text)) {
    return new Failed({
      message: url.protocol === "https:"
        ? `TLS failed with ${where} (${text}): is this port https? Try the URL with http://`
        : `TLS failed with ${where} (${text})`
    })
  }
  if (codes.some((c) => c.startsWith("HPE_")) || /parse error/i.test(text)) {
    return new Failed({ message: `${where} did not answer in HTTP (${text}): an https port? Try the URL with https://` })
  }
  return new Failed({ message: `unreachable: ${where}: ${text}` })
}

const baseUrl = (camera: CameraConfig) =>
  Effect.gen(function*() {
    if (camera.url === undefined || camera.url.trim() === "") return yield* new Failed({ message: "the camera has no URL to test" })
    const parsed = Either.try(() => new URL(camera.url!.trim()))
    if (Either.isLeft(parsed) || (parsed.right.protocol !== "http:" && parsed.right.protocol !== "https:")) {
      return yield* new Failed({ message: `the URL ${camera.url} is not an http:// or https:// URL` })
    }
    return parsed.right
  })

const pathOf = (url: URL) => `${url.pathname}${url.search}`

/** An answer's text, at most MAX_ANSWER_BYTES of it. */
const textOf = (response: HttpClientResponse.HttpClientResponse) =>
  boundedBody(response, MAX_ANSWER_BYTES).pipe(
    Effect.map((bytes) => new TextDecoder().decode(bytes)),
    Effect.mapError((e) => new Failed({ message: `the answer could not be read: ${e.message}` }))
  )

const discard = (response: HttpClientResponse.HttpClientResponse) => textOf(response).pipe(Effect.ignore)

const send = (url: URL, request: HttpClientRequest.HttpClientRequest) =>
  Effect.flatMap(HttpClient.HttpClient, (client) => client.execute(request)).pipe(
    Effect.mapError((e) => transportFailure(url, e))
  )

/** A plain-http request to an https port gets a 400 saying so from most web servers. */
const plainToHttps = (status: number, body: string) => status === 400 && /https/i.test(body)

const element = (xml: string, name: string) => new RegExp(`<(?:\\w+:)?${name}>\\s*([^<]*?)\\s*</`).exec(xml)?.[1]

/** What a DeviceInfo says of the camera, or undefined when the answer is not one. */
const deviceInfo = (xml: string) => {
  if (!/<(?:\w+:)?DeviceInfo[\s>]/.test(xml)) return undefined
  const model = element(xml, "model")
  const name = element(xml, "deviceName")
  const firmware = element(xml, "firmwareVersion")
  return [
    `Hikvision ${model ?? "camera"}`,
    ...(name === undefined || name === "" ? [] : [`"${name}"`]),
    ...(firmware === undefined ? [] : [`firmware ${firmware}`])
  ].join(", ")
}

const hikvision = (camera: CameraConfig, password: string | undefined) =>
  Effect.gen(function*() {
    const base = yield* baseUrl(camera)
    const username = camera.username ?? "admin"
    const url = new URL(`${base.href.replace(/\/+$/, "")}${DEVICE_INFO}`)
    const notHikvision = (status: number) =>
      new Failed({ message: `not a Hikvision camera: ${DEVICE_INFO} answered HTTP ${status} (is ISAPI on, and the URL the camera's?)` })
    const identified = (response: HttpClientResponse.HttpClientResponse, note: string) =>
      Effect.gen(function*() {
        const info = deviceInfo(yield* textOf(response))
        if (info === undefined) return yield* new Failed({ message: `not a Hikvision camera: ${DEVICE_INFO} did not answer with a DeviceInfo` })
        return { ok: true, message: `connected to ${info}${note}` }
      })

    const first = yield* send(url, HttpClientRequest.get(url.href))
    if (first.status === 200) {
      return yield* identified(first, ": the camera asked for no password, so the password was not checked")
    }
    if (first.status !== 401) {
      const body = yield* textOf(first).pipe(Effect.orElseSucceed(() => ""))
      if (plainToHttps(first.status, body)) return yield* new Failed({ message: `this port speaks https: use https://${url.host}` })
      return yield* notHikvision(first.status)
    }
    yield* discard(first)
    const header = first.headers["www-authenticate"]
    if (header === undefined) return yield* new Failed({ message: `not a Hikvision camera: ${DEVICE_INFO} answered HTTP 401 without asking for a Digest login` })
    if (password === undefined || password === "") return yield* new Failed({ message: `the camera wants a password for user "${username}", and none is given` })
    const session = new DigestSession(username, password)
    const challenged = session.challenged(header)
    if (Either.isLeft(challenged)) {
      return yield* new Failed({ message: `${challenged.left.message}: set the camera's web authentication to digest (or digest/basic)` })
    }
    const second = yield* send(
      url,
      HttpClientRequest.get(url.href).pipe(HttpClientRequest.setHeader("authorization", session.authorization("GET", pathOf(url))!))
    )
    if (second.status === 401) {
      yield* discard(second)
      return yield* new Failed({
        message: `wrong username or password: the camera refused user "${username}" (after several wrong passwords it also locks the account for a while)`
      })
    }
    if (second.status === 403) {
      yield* discard(second)
      return yield* new Failed({ message: `the camera took the login, but user "${username}" may not read ${DEVICE_INFO} (HTTP 403): give the user more rights` })
    }
    if (second.status !== 200) {
      yield* discard(second)
      return yield* notHikvision(second.status)
    }
    return yield* identified(second, "")
  })

const ProtectBootstrap = Schema.Struct({
  cameras: Schema.Array(Schema.Struct({ mac: Schema.String, name: Schema.optional(Schema.NullOr(Schema.String)) }))
})

const protect = (camera: CameraConfig, secret: string | undefined) =>
  Effect.gen(function*() {
    const base = yield* baseUrl(camera)
    const root = base.href.replace(/\/+$/, "")
    if (secret === undefined || secret === "") {
      return yield* new Failed({
        message: camera.username === undefined ? "no API key is given (without a username, the password field holds the API key)" : `no password is given for user "${camera.username}"`
      })
    }
    const headers: Record<string, string> = {}
    const username = camera.username
    if (username === undefined) {
      headers["x-api-key"] = secret
    } else {
      const loginUrl = new URL(`${root}/api/auth/login`)
      const login = yield* send(
        loginUrl,
        HttpClientRequest.post(loginUrl.href).pipe(HttpClientRequest.bodyUnsafeJson({ username, password: secret, rememberMe: false }))
      )
      const body = yield* textOf(login).pipe(Effect.orElseSucceed(() => ""))
      // UniFi OS refuses a login in its JSON; a challenge is a camera's or another device's web server.
      if (login.status === 401 && login.headers["www-authenticate"] !== undefined) {
        return yield* new Failed({ message: "not a UniFi OS console: /api/auth/login asks for HTTP authentication (a camera's own address?)" })
      }
      if (login.status === 401 || login.status === 403) {
        return yield* new Failed({ message: `wrong username or password: the console refused user "${username}" (HTTP ${login.status})` })
      }
      if (login.status === 429) return yield* new Failed({ message: "the console is refusing logins for a while (HTTP 429, too many attempts): wait a few minutes" })
      if (plainToHttps(login.status, body)) return yield* new Failed({ message: `this port speaks https: use https://${loginUrl.host}` })
      if (login.status !== 200) {
        return yield* new Failed({ message: `not a UniFi OS console: /api/auth/login answered HTTP ${login.status} (the URL should be the console's, e.g. https://192.168.1.1)` })
      }
      const token = login.cookies.cookies["TOKEN"] ?? login.cookies.cookies["UOS_TOKEN"]
      if (token === undefined) return yield* new Failed({ message: "not a UniFi OS console: its login answer set no TOKEN cookie" })
      headers["cookie"] = `${token.name}=${token.valueEncoded}`
      const csrf = login.headers["x-csrf-token"]
      if (csrf !== undefined) headers["x-csrf-token"] = csrf
    }
    const bootstrapUrl = new URL(`${root}/proxy/protect/api/bootstrap`)
    const answer = yield* send(bootstrapUrl, HttpClientRequest.get(bootstrapUrl.href).pipe(HttpClientRequest.setHeaders(headers)))
    const text = yield* textOf(answer)
    if (answer.status === 401 || answer.status === 403) {
      return yield* new Failed({
        message: username === undefined
          ? `the console refused the API key (HTTP ${answer.status}); a console may take API keys only on its Integration API: configure a local account (username)`
          : `the console let user "${username}" in, but Protect refused it (HTTP ${answer.status}): give the account access to Protect`
      })
    }
    if (answer.status !== 200) return yield* new Failed({ message: `the console has no UniFi Protect: its bootstrap answered HTTP ${answer.status}` })
    const bootstrap = Schema.decodeUnknownEither(Schema.parseJson(ProtectBootstrap))(text)
    if (Either.isLeft(bootstrap)) return yield* new Failed({ message: "the console's Protect bootstrap does not list cameras: not UniFi Protect?" })
    const cameras = bootstrap.right.cameras
    const who = username === undefined ? "with the API key" : `as "${username}"`
    const mac = normalizeMac(camera.mac)
    if (mac === undefined) {
      return { ok: true, message: `logged in to UniFi Protect ${who}: ${cameras.length} cameras; with no MAC configured, every LPR camera of the console reads as this one` }
    }
    const found = cameras.find((c) => normalizeMac(c.mac) === mac)
    return found === undefined
      ? { ok: false, message: `logged in to UniFi Protect ${who}, but none of its ${cameras.length} cameras has the MAC ${mac}` }
      : { ok: true, message: `logged in to UniFi Protect ${who}: camera ${found.name ?? mac} found` }
  })

const nothingToTest = (camera: CameraConfig) => ({
  ok: true,
  message: camera.mode === "mqtt"
    ? "nothing tested here: the collector logs in to Frigate's MQTT broker when it runs the camera, and the status page shows how that went"
    : "nothing to test: this camera pushes its reads to the collector (give it the URL `edge camera-push` shows); its first push shows on the status page"
})

/**
 * Tries the camera's login with `password` (its password, or a Protect API key). Never fails: every
 * outcome is an answer, `ok` or the reason it is not.
 */
export const testCameraConnection = (
  camera: CameraConfig,
  password: string | undefined
): Effect.Effect<ConnectionResult> => {
  const test: Effect.Effect<ConnectionResult, Failed, HttpClient.HttpClient> =
    camera.vendor === "hikvision" && camera.mode === "pull"
      ? hikvision(camera, password)
      : camera.vendor === "unifi" && camera.mode === "poll"
      ? protect(camera, password)
      : camera.mode === "push" || (camera.vendor === "frigate" && camera.mode === "mqtt")
      ? Effect.succeed(nothingToTest(camera))
      : Effect.succeed({
        ok: false,
        message: `mode ${camera.mode} is not supported for ${camera.vendor} cameras (pull: hikvision; poll: unifi; mqtt: frigate)`
      })
  return test.pipe(
    Effect.scoped,
    Effect.timeoutFail({ duration: TEST_TIMEOUT, onTimeout: () => new Failed({ message: `unreachable: no answer from ${camera.url} within ${TEST_TIMEOUT}` }) }),
    Effect.catchAll((e) => Effect.succeed({ ok: false, message: e.message })),
    Effect.catchAllDefect((defect) => Effect.succeed({ ok: false, message: `the test failed: ${defect instanceof Error ? defect.message : String(defect)}` })),
    Effect.provide(cameraHttpClientLayer),
    Effect.withSpan("ConnectionTest", { attributes: { camera: camera.id, vendor: camera.vendor, mode: camera.mode } })
  )
}
