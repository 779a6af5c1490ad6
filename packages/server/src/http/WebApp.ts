import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

/**
 * The React control room (apps/web), built by Vite into apps/web/dist, served at `/` by the same
 * server as the API: hashed assets cached for good, index.html revalidated every time, and every
 * other path without a file (`/wall`, `/admin/users`, `/plate/ABC123`) answered with index.html so
 * the app's own router takes it from there.
 */

const DEFAULT_DIST = fileURLToPath(new URL("../../../../apps/web/dist", import.meta.url))

/** OpenStreetMap's standard tiles; their usage policy asks for the attribution below. */
export const OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"

// Read here rather than in AppConfig: the security middleware needs the tile origin on every answer.
export const webAppConfig = Config.all({
  dist: Config.string("WEB_DIST_DIR").pipe(Config.withDefault(DEFAULT_DIST), Config.map((dir) => Path.resolve(dir))),
  /** a Leaflet tile URL template; `none` (or empty) draws cameras and tracks on a plain background */
  tileUrl: Config.string("MAP_TILE_URL").pipe(Config.withDefault(OSM_TILES)),
  tileAttribution: Config.string("MAP_TILE_ATTRIBUTION").pipe(Config.withDefault("© OpenStreetMap contributors"))
})

const tilesOff = (tileUrl: string) => tileUrl.trim() === "" || tileUrl.trim() === "none"

/** The CSP source map tiles load from (`https://*.tile.example.org` for a `{s}` template), if any. */
export const tileSource = (tileUrl: string): string | undefined => {
  if (tilesOff(tileUrl)) return undefined
  const origin = /^(https?:\/\/[^/?#]+)/i.exec(tileUrl.trim())?.[1]
  return origin?.replace("{s}", "*")
}

/** The tile source of the current configuration, for the Content-Security-Policy. */
export const mapTileSource = Effect.map(Effect.orDie(webAppConfig), (settings) => tileSource(settings.tileUrl))

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".webmanifest": "application/manifest+json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8"
}

/** Vite puts content-hashed files under /assets/: they never change, so browsers keep them for a year. */
const cacheControl = (path: string) =>
  path.startsWith("/assets/")
    ? "public, max-age=31536000, immutable"
    : path.endsWith(".html") || path === "/sw.js" || path.endsWith(".webmanifest")
    ? "no-cache"
    : "public, max-age=3600"

const escapeAttribute = (value: string) =>
  value.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;")

/** The page's settings travel in meta tags, so index.html needs no inline script (the CSP forbids one). */
const withSettings = (html: string, settings: { readonly tileUrl: string; readonly tileAttribution: string }) =>
  html
    .replace(/(<meta name="alpr-map-tiles" content=")[^"]*(")/, `$1${escapeAttribute(tilesOff(settings.tileUrl) ? "none" : settings.tileUrl)}$2`)
    .replace(/(<meta name="alpr-map-attribution" content=")[^"]*(")/, `$1${escapeAttribute(settings.tileAttribution)}$2`)

const htmlPage = (body: string, options: { readonly status?: number; readonly headers?: Record<string, string> }) =>
  HttpServerResponse.text(body, { contentType: "text/html; charset=utf-8", ...options })

const notBuilt = (dist: string) =>
  htmlPage(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Chaverim ALPR</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; line-height: 1.5">
<h1>The web app is not built yet</h1>
<p>The server is running (the API is at <a href="/api/docs">/api/docs</a>), but there is no <code>${escapeAttribute(dist)}/index.html</code>.</p>
<p>Build it with <code>npm run build -w apps/web</code> and reload this page. <code>npm start</code> builds it when it is missing.</p>
</body></html>`, { status: 503 })

const notFound = (message: string) => HttpServerResponse.unsafeJson({ _tag: "NotFound", message }, { status: 404 })

/** A decoded path inside `dist`, or none for one that tries to leave it. */
const fileUnder = (dist: string, urlPath: string): Option.Option<string> => {
  let decoded: string
  try {
    decoded = decodeURIComponent(urlPath)
  } catch {
    return Option.none()
  }
  if (decoded.includes("\0")) return Option.none()
  const resolved = Path.resolve(dist, "." + Path.posix.normalize(decoded))
  return resolved === dist || resolved.startsWith(dist + Path.sep) ? Option.some(resolved) : Option.none()
}

const makeHandler = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const settings = yield* webAppConfig
  const indexPath = Path.join(settings.dist, "index.html")

  const isFile = (path: string) =>
    fs.stat(path).pipe(Effect.map((info) => info.type === "File"), Effect.orElseSucceed(() => false))

  // index.html is small and changes only with a build: kept with the time it was read.
  let index: { readonly mtime: number; readonly html: string } | undefined
  const indexHtml = Effect.gen(function*() {
    const info = yield* fs.stat(indexPath)
    const mtime = Option.getOrElse(Option.map(info.mtime, (d) => d.getTime()), () => 0)
    if (index === undefined || index.mtime !== mtime) {
      index = { mtime, html: withSettings(yield* fs.readFileString(indexPath), settings) }
    }
    return index.html
  })

  const page = indexHtml.pipe(
    Effect.map((html) => htmlPage(html, { headers: { "cache-control": "no-cache" } })),
    Effect.orElseSucceed(() => notBuilt(settings.dist))
  )

  return Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const urlPath = request.url.split("?")[0]!
    if (urlPath.startsWith("/api/") || urlPath === "/rpc") return notFound(`no such endpoint: ${urlPath}`)
    if (urlPath === "/" || urlPath === "/index.html") return yield* page

    const file = fileUnder(settings.dist, urlPath)
    if (Option.isSome(file) && (yield* isFile(file.value))) {
      // In the headers: the platform would take the type of the .gz from its name.
      const headers = {
        "content-type": CONTENT_TYPES[Path.extname(file.value)] ?? "application/octet-stream",
        "cache-control": cacheControl(urlPath),
        vary: "accept-encoding"
      }
      // The build writes a .gz beside every text file: sent as it is instead of compressing per request.
      const gzipped = `${file.value}.gz`
      if (/\bgzip\b/.test(request.headers["accept-encoding"] ?? "") && (yield* isFile(gzipped))) {
        return yield* HttpServerResponse.file(gzipped, { headers: { ...headers, "content-encoding": "gzip" } })
      }
      return yield* HttpServerResponse.file(file.value, { headers })
    }
    // A client route has no file extension; a missing asset is a plain 404, never the page.
    if (Path.posix.extname(urlPath) !== "") return notFound(`no such file: ${urlPath}`)
    return yield* page
  }).pipe(Effect.orElseSucceed(() => notFound("no such file")))
})

/**
 * Registers the web app on the HttpApi's router as a catch-all GET: the API's own routes are more
 * specific and win. Provide it to `HttpApiBuilder.serve` like the API groups.
 */
export const WebAppLayer = Layer.effectDiscard(Effect.gen(function*() {
  const router = yield* HttpApiBuilder.Router
  const handler = yield* makeHandler
  yield* router.get("*", handler)
})).pipe(Layer.provide(HttpApiBuilder.Router.Live))
