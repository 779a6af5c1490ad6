import * as Http from "node:http"

export interface TileServer {
  /** a Leaflet URL template, for MAP_TILE_URL */
  readonly url: string
  readonly requests: () => number
  readonly close: () => Promise<void>
}

/**
 * A stand-in map tile server on this machine (tests and benchmarks have no internet): every tile a
 * light SVG with its grid line and its z/x/y, so that pages draw tiles as with real ones and the
 * CSP's img-src for the configured tile origin is exercised. `cacheSeconds` 0: no-store.
 */
export const startTileServer = (options: { readonly cacheSeconds?: number } = {}) =>
  new Promise<TileServer>((resolve, reject) => {
    let count = 0
    const cache = options.cacheSeconds ? `public, max-age=${options.cacheSeconds}` : "no-store"
    const server = Http.createServer((request, response) => {
      count++
      const label = (request.url ?? "").replace(/[^0-9/]/g, "")
      response.writeHead(200, { "content-type": "image/svg+xml", "cache-control": cache })
      response.end(`<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256"><rect width="256" height="256" fill="#eef2e6"/>` +
        `<path d="M0 0H256V256" fill="none" stroke="#cbd5c0"/><text x="8" y="20" font-size="11" fill="#94a38a">${label}</text></svg>`)
    })
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number }
      resolve({
        url: `http://127.0.0.1:${port}/{z}/{x}/{y}.svg`,
        requests: () => count,
        close: () =>
          new Promise((done) => {
            server.closeAllConnections()
            server.close(() => done())
          })
      })
    })
  })
