import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startServer, type TestServer } from "../../server/test/harness"

let server: TestServer

beforeAll(async () => {
  process.env.MAP_TILE_URL = "https://{s}.tiles.example.org/{z}/{x}/{y}.png"
  server = await startServer()
})

afterAll(async () => {
  await server?.close()
  delete process.env.MAP_TILE_URL
})

const get = (path: string, headers: Record<string, string> = {}) => fetch(`${server.url}${path}`, { headers })

describe("serving the web app", () => {
  it("answers the app's routes with index.html, never cached, with the tile settings in it", async () => {
    for (const path of ["/", "/wall", "/admin", "/admin/users", "/plate/ABC123"]) {
      const response = await get(path)
      expect(response.status, path).toBe(200)
      expect(response.headers.get("cache-control")).toBe("no-cache")
      const html = await response.text()
      expect(html).toContain('<div id="root">')
      expect(html).toContain('<meta name="alpr-map-tiles" content="https://{s}.tiles.example.org/{z}/{x}/{y}.png"')
    }
  })

  it("keeps hashed assets for a year, sends them gzipped when asked, and 404s a missing file", async () => {
    const html = await (await get("/")).text()
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)![1]!
    const plain = await get(script, { "accept-encoding": "identity" })
    expect(plain.status).toBe(200)
    expect(plain.headers.get("content-type")).toMatch(/^text\/javascript/)
    expect(plain.headers.get("cache-control")).toBe("public, max-age=31536000, immutable")
    expect(plain.headers.get("content-encoding")).toBeNull()
    const zipped = await get(script, { "accept-encoding": "gzip, br" })
    expect(zipped.headers.get("content-encoding")).toBe("gzip")
    expect(zipped.headers.get("content-type")).toMatch(/^text\/javascript/)
    expect(await zipped.text()).toBe(await plain.text()) // fetch undoes the gzip

    expect((await get("/assets/missing-abc123.js")).status).toBe(404)
    expect((await get("/sw.js")).headers.get("cache-control")).toBe("no-cache")
    expect((await get("/manifest.webmanifest")).headers.get("content-type")).toBe("application/manifest+json")
  })

  it("does not answer unknown API paths or escapes from the build folder with the page", async () => {
    const api = await get("/api/v1/nothing-here")
    expect(api.status).toBe(404)
    expect(await api.json()).toMatchObject({ _tag: "NotFound" })
    for (const path of ["/../package.json", "/%2e%2e/%2e%2e/package.json", "/assets/..%2f..%2fpackage.json"]) {
      const response = await get(path)
      expect(await response.text(), path).not.toContain('"name": "@chaverim/web"')
    }
  })

  it("allows map tiles from the configured origin, and WebSockets and images only from itself", async () => {
    const csp = (await get("/wall")).headers.get("content-security-policy")!
    expect(csp).toContain("img-src 'self' data: blob: https://*.tiles.example.org;")
    expect(csp).toContain("script-src 'self';")
    expect(csp).toContain("connect-src 'self';")
    expect(csp).not.toContain("unsafe-eval")
  })

  it("says how to build the app when it is not built", async () => {
    const empty = await Fs.mkdtemp(Path.join(Os.tmpdir(), "alpr-no-web-"))
    process.env.WEB_DIST_DIR = empty
    const bare = await startServer()
    try {
      const response = await fetch(`${bare.url}/wall`)
      expect(response.status).toBe(503)
      expect(await response.text()).toContain("npm run build -w apps/web")
      expect((await fetch(`${bare.url}/health`)).status).toBe(200)
    } finally {
      delete process.env.WEB_DIST_DIR
      await bare.close()
      await Fs.rm(empty, { recursive: true, force: true })
    }
  })
})
