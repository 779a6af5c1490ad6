// Chaverim ALPR service worker: keeps the app's shell (the page, its scripts and styles) so that the
// app opens without the server and says that the server is unreachable. API answers, photos and the
// WebSockets are never cached: they are evidence and personal data, and must be current.
const SHELL = "alpr-shell-v1"
const PAGE = "/"

const assetsOf = (html) => [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((match) => match[1])

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(SHELL)
    const page = await fetch(PAGE, { cache: "no-cache" })
    if (page.ok) {
      await cache.addAll(["/manifest.webmanifest", "/icon.svg", ...assetsOf(await page.clone().text())])
      await cache.put(PAGE, page)
    }
    await self.skipWaiting()
  })())
})

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) if (key !== SHELL) await caches.delete(key)
    await self.clients.claim()
  })())
})

/** A new deployment: its page names other scripts, so the old hashed files can go. */
const keepPage = async (response) => {
  const cache = await caches.open(SHELL)
  const before = await cache.match(PAGE)
  const fresh = new Set(assetsOf(await response.clone().text()))
  await cache.put(PAGE, response)
  if (before === undefined) return
  const old = assetsOf(await before.text())
  if (old.every((asset) => fresh.has(asset))) return
  for (const request of await cache.keys()) {
    const path = new URL(request.url).pathname
    if (path.startsWith("/assets/") && !fresh.has(path)) await cache.delete(request)
  }
}

// Every client route is the same page: network first (a deployment shows at once), else the copy.
const navigation = async (request) => {
  try {
    const response = await fetch(request)
    if (response.ok && response.headers.get("content-type")?.startsWith("text/html")) await keepPage(response.clone())
    return response
  } catch (error) {
    const cached = await caches.match(PAGE)
    if (cached) return cached
    throw error
  }
}

// Hashed files never change: the cached copy if there is one, else fetched and kept (lazy chunks).
const asset = async (request) => {
  const cached = await caches.match(request)
  if (cached) return cached
  const response = await fetch(request)
  if (response.ok) await (await caches.open(SHELL)).put(request, response.clone())
  return response
}

self.addEventListener("fetch", (event) => {
  const request = event.request
  const url = new URL(request.url)
  if (request.method !== "GET" || url.origin !== self.location.origin) return
  if (request.mode === "navigate" && !url.pathname.startsWith("/api/")) event.respondWith(navigation(request))
  else if (url.pathname.startsWith("/assets/")) event.respondWith(asset(request))
})
