import type { MultiPlaceRequest } from "@chaverim/domain/Investigation"
import type { WallCamera } from "@chaverim/domain/rpc/Wall"
import * as ParseResult from "effect/ParseResult"
import { reasonParams, type SessionReason } from "../../client/reason"

/**
 * One incident as the operator describes it: a place (cameras picked by name, a site, or a point on
 * the map with a radius) and the time it happened. The API takes a place as camera ids, so a site or
 * a point is turned into the cameras there before the request is sent.
 */
export type PlaceBy = "cameras" | "site" | "point"

export interface Incident {
  readonly key: number
  readonly by: PlaceBy
  readonly cameraIds: ReadonlyArray<string>
  readonly site: string
  /** typed, or filled by a click on the map */
  readonly lat: string
  readonly lon: string
  readonly radiusM: string
  /** `datetime-local` values, in the browser's time zone */
  readonly from: string
  readonly to: string
}

export const newIncident = (key: number): Incident => ({
  key, by: "cameras", cameraIds: [], site: "", lat: "", lon: "", radiusM: "300", from: "", to: ""
})

export const PLACES_MIN = 2
export const PLACES_MAX = 10

const EARTH_M = 6_371_000
const rad = (deg: number) => (deg * Math.PI) / 180

/** Straight-line (haversine) distance in metres. */
export const distanceM = (a: { readonly lat: number; readonly lon: number }, b: { readonly lat: number; readonly lon: number }) => {
  const h = Math.sin(rad(b.lat - a.lat) / 2) ** 2 +
    Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(rad(b.lon - a.lon) / 2) ** 2
  return 2 * EARTH_M * Math.asin(Math.min(1, Math.sqrt(h)))
}

const numberOr = (text: string) => (text.trim() === "" ? Number.NaN : Number(text))

/** The point the incident names, when both coordinates are numbers. */
export const pointOf = (incident: Incident) => {
  const lat = numberOr(incident.lat)
  const lon = numberOr(incident.lon)
  return Number.isFinite(lat) && Number.isFinite(lon) ? { lat, lon } : undefined
}

/** The cameras an incident's place stands for, nearest first for a point. */
export const camerasOf = (incident: Incident, cameras: ReadonlyArray<WallCamera>): ReadonlyArray<WallCamera> => {
  switch (incident.by) {
    case "cameras":
      return cameras.filter((c) => incident.cameraIds.includes(c.camera_id))
    case "site":
      return incident.site === "" ? [] : cameras.filter((c) => c.site === incident.site)
    case "point": {
      const point = pointOf(incident)
      const radius = numberOr(incident.radiusM)
      if (point === undefined || !Number.isFinite(radius)) return []
      return cameras
        .map((c) => ({ c, d: distanceM(point, c) }))
        .filter(({ d }) => d <= radius)
        .sort((a, b) => a.d - b.d)
        .map(({ c }) => c)
    }
  }
}

/** The sites the cameras carry, in name order. */
export const sitesOf = (cameras: ReadonlyArray<WallCamera>) =>
  [...new Set(cameras.flatMap((c) => (c.site === null ? [] : [c.site])))].sort((a, b) => a.localeCompare(b))

/**
 * The request as the operator filled it in. Nothing is refused here: what the contract or the server
 * refuses (one incident, no camera, an empty or too long window) comes back with its reason.
 */
export const requestOf = (
  incidents: ReadonlyArray<Incident>,
  cameras: ReadonlyArray<WallCamera>,
  reason: SessionReason
): MultiPlaceRequest => ({
  places: incidents.map((incident) => ({
    camera_ids: camerasOf(incident, cameras).map((c) => c.camera_id),
    from: new Date(incident.from),
    to: new Date(incident.to)
  })),
  limit: 100,
  ...reasonParams(reason)
})

/** "Incident 2" for the API's `places[1]`. */
const incidentName = (index: number) => `Incident ${index + 1}`

/** The server's reason, with its `places[i]` named as the screen names them. */
export const refusalText = (message: string) =>
  message.replace(/places\[(\d+)\]/g, (_, index: string) => incidentName(Number(index)))

/** What the contract said of a request it would not send: each rule broken, named by incident. */
export const contractRefusal = (error: ParseResult.ParseError) =>
  ParseResult.ArrayFormatter.formatErrorSync(error)
    .map((issue) => {
      const [first, index] = issue.path
      return first === "places" && typeof index === "number" ? `${incidentName(index)}: ${issue.message}` : issue.message
    })
    .join("; ")
