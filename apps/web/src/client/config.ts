const meta = (name: string) => document.querySelector<HTMLMetaElement>(`meta[name="${name}"]`)?.content ?? ""

const OSM = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"

export interface TileSettings {
  readonly url: string
  readonly attribution: string
}

/**
 * Map tiles as the server is set up (MAP_TILE_URL, written into the page): undefined for `none`,
 * and OpenStreetMap when the page did not come from the server (`vite dev`).
 */
export const mapTiles = (): TileSettings | undefined => {
  const url = meta("alpr-map-tiles")
  if (url === "none") return undefined
  return { url: url || OSM, attribution: meta("alpr-map-attribution") || "© OpenStreetMap contributors" }
}
