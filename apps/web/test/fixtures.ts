import type { Page } from "playwright-core"
import { latestRevision, matcherAt } from "../../server/test/alertHarness"
import { detection, type TestServer } from "../../server/test/harness"

/**
 * Real JPEGs for plate crops and scenes, drawn by the browser itself (a canvas), so that photos in
 * screenshots look like photos and the image path is exercised end to end.
 */
export const drawPhotos = async (page: Page, plate: string) => {
  const [crop, scene] = await page.evaluate((text) => {
    const draw = (width: number, height: number, paint: (g: CanvasRenderingContext2D) => void) => {
      const canvas = document.createElement("canvas")
      canvas.width = width
      canvas.height = height
      paint(canvas.getContext("2d")!)
      return canvas.toDataURL("image/jpeg", 0.85).split(",")[1]!
    }
    const plateImage = (g: CanvasRenderingContext2D, x: number, y: number, w: number, h: number) => {
      g.fillStyle = "#f5f5f0"
      g.fillRect(x, y, w, h)
      g.strokeStyle = "#1e3a8a"
      g.lineWidth = h / 16
      g.strokeRect(x, y, w, h)
      g.fillStyle = "#111"
      g.font = `bold ${Math.round(h * 0.62)}px monospace`
      g.textAlign = "center"
      g.textBaseline = "middle"
      g.fillText(text, x + w / 2, y + h / 2 + h * 0.04)
    }
    return [
      draw(240, 64, (g) => plateImage(g, 0, 0, 240, 64)),
      draw(640, 360, (g) => {
        g.fillStyle = "#3f4a56"
        g.fillRect(0, 0, 640, 360)
        g.fillStyle = "#2b6cb0"
        g.fillRect(150, 120, 340, 170)
        plateImage(g, 260, 240, 120, 32)
      })
    ]
  }, plate)
  const bytes = (base64: string) => new Uint8Array(Buffer.from(base64, "base64"))
  return { crop: bytes(crop!), scene: bytes(scene!) }
}

/** Reads uploaded by a claimed collector as multipart, with photos when given, through the real endpoint. */
export const ingest = async (
  server: TestServer,
  apiKey: string,
  events: ReadonlyArray<{ readonly detection_id: string; readonly [field: string]: unknown }>,
  photos?: { readonly crop: Uint8Array<ArrayBuffer>; readonly scene: Uint8Array<ArrayBuffer> }
) => {
  const form = new FormData()
  form.append("batch", JSON.stringify({ events }))
  for (const event of photos ? events : []) {
    form.append(`plate:${event.detection_id}`, new Blob([photos!.crop], { type: "image/jpeg" }), "plate.jpg")
    form.append(`scene:${event.detection_id}`, new Blob([photos!.scene], { type: "image/jpeg" }), "scene.jpg")
  }
  const response = await fetch(`${server.url}/api/v1/detections/batch`, {
    method: "POST",
    headers: { authorization: `Bearer ${apiKey}` },
    body: form
  })
  const result = (await response.json()) as { accepted: number; rejected: number; errors: ReadonlyArray<unknown> }
  if (response.status !== 200 || result.rejected > 0) throw new Error(`ingest failed: ${response.status} ${JSON.stringify(result)}`)
  return result
}

/** Cameras around a town, for maps with something on them. */
export const CAMERAS = [
  { id: "cam-main", mac: "AA:BB:CC:00:00:01", name: "Main St northbound", location: { lat: 41.1143, lon: -74.0435 } },
  { id: "cam-route59", mac: "AA:BB:CC:00:00:02", name: "Route 59 east", location: { lat: 41.1116, lon: -74.0201 } },
  { id: "cam-college", mac: "AA:BB:CC:00:00:03", name: "College Rd", location: { lat: 41.1290, lon: -74.0660 } }
] as const

/** One read of `plate` at a camera, `minutesAgo` minutes ago. */
export const readAt = (plate: string, camera: (typeof CAMERAS)[number], minutesAgo: number) =>
  detection({
    timestamp: new Date(Date.now() - minutesAgo * 60_000).toISOString(),
    camera: { id: camera.id, mac: camera.mac, name: camera.name },
    plate: { text: plate, confidence: 0.91 },
    location: camera.location
  })

/**
 * A shared list with its entries, as the watchlist service would store them; waits until the alert
 * engine's matcher has them. Its id.
 */
export const watchlist = async (
  server: TestServer,
  list: { readonly name: string; readonly category: string; readonly priority: number; readonly colour: string },
  entries: ReadonlyArray<{ readonly kind: string; readonly value: string; readonly note: string }>
) => {
  const { rows } = await server.db.query<{ id: string }>(
    "INSERT INTO watchlists (name, category, priority, colour) VALUES ($1, $2, $3, $4) RETURNING id",
    [list.name, list.category, list.priority, list.colour]
  )
  for (const entry of entries) {
    await server.db.query(
      "INSERT INTO watchlist_entries (watchlist_id, kind, value, note, reason, added_by_name) VALUES ($1, $2, $3, $4, 'e2e', 'test')",
      [rows[0]!.id, entry.kind, entry.value, entry.note]
    )
  }
  await matcherAt(server, await latestRevision(server.db))
  return rows[0]!.id
}

export { startTileServer } from "../../../test-support/TileServer"
