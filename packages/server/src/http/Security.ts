import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpApp from "@effect/platform/HttpApp"
import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { AppConfig } from "../Config"
import { mapTileSource } from "./WebApp"

/**
 * JSON bodies of people's requests are small; only a collector's batch, ALPR-Database's ingest
 * with its base64 photo, and a footage upload's chunks are large (and check their own limits).
 */
export const MAX_REQUEST_BYTES = 64 * 1024
const OWN_LIMIT = ["/api/v1/detections/batch", "/api/plate-reads"]
/** A footage upload's chunks (PATCH), at most 8 MiB each: the route reads its own body. */
const UPLOAD_CHUNK = /^\/api\/v1\/footage\/uploads\/[0-9a-fA-F-]{36}$/

/**
 * Same origin only (WebSockets to the server itself included); no framing; images from the server
 * itself and map tiles from the configured tile origin (MAP_TILE_URL). The OpenAPI page inlines its
 * script and styles and gets a policy of its own.
 */
const csp = (tiles: string | undefined) => [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  `img-src 'self' data: blob:${tiles === undefined ? "" : ` ${tiles}`}`,
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'"
].join("; ")
const DOCS_CSP = "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; " +
  "img-src 'self' data:; object-src 'none'; frame-ancestors 'none'"

const tooLarge = HttpServerResponse.unsafeJson(
  { _tag: "PayloadTooLarge", message: `a request body may be at most ${MAX_REQUEST_BYTES / 1024} KiB` },
  { status: 413 }
)

/**
 * Security headers on every answer (errors included), request bodies capped, and no caching of
 * anything under /api/ (answers carry personal data and evidence).
 */
/** The headers every answer carries: for the API, and for the rest (the web app, the docs apart). */
const headersOf = (tiles: string | undefined, tls: boolean) => {
  const common = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(self), payment=()",
    ...(tls ? { "strict-transport-security": "max-age=31536000; includeSubDomains" } : {})
  }
  return {
    api: { "content-security-policy": csp(tiles), ...common, "cache-control": "no-store" },
    docs: { "content-security-policy": DOCS_CSP, ...common, "cache-control": "no-store" },
    page: { "content-security-policy": csp(tiles), ...common }
  }
}

export const securityMiddleware = HttpMiddleware.make((app) => {
  // Worked out at the first request and kept: reading the configuration on every request cost about
  // 0.4 ms of CPU each (bench ingest --scenario single), a third of a request's fixed cost.
  let headers: ReturnType<typeof headersOf> | undefined
  return Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    headers ??= headersOf(yield* mapTileSource, Option.exists((yield* AppConfig).publicUrl, (url) => url.startsWith("https:")))
    const path = request.url.split("?")[0]!
    const these = path.startsWith("/api/docs") ? headers.docs : path.startsWith("/api/") ? headers.api : headers.page
    yield* HttpApp.appendPreResponseHandler((_request, response) => Effect.succeed(HttpServerResponse.setHeaders(response, these)))
    if (OWN_LIMIT.includes(path) || (request.method === "PATCH" && UPLOAD_CHUNK.test(path))) return yield* app
    const declared = Number(request.headers["content-length"] ?? 0)
    if (declared > MAX_REQUEST_BYTES) return tooLarge
    return yield* Effect.provideService(app, HttpIncomingMessage.MaxBodySize, Option.some(FileSystem.Size(MAX_REQUEST_BYTES)))
  })
})
