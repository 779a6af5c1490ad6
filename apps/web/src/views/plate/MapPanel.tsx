import type { MapResult, RouteResult } from "@chaverim/domain/Investigation"
import type { LatLngTuple } from "leaflet"
import { cameraLabel } from "../../ui/format"
import type { MapLine, MapPoint } from "../map/CameraMap"
import { LazyMap } from "../map/LazyMap"

const pointsOf = (map: MapResult): ReadonlyArray<MapPoint> => {
  const max = Math.max(1, ...map.cameras.map((c) => c.count))
  return map.cameras.flatMap((c) =>
    c.location === null ? [] : [{
      id: c.camera.id,
      lat: c.location.lat,
      lon: c.location.lon,
      label: c.count > 0 ? `${cameraLabel(c.camera)}: ${c.count} read${c.count === 1 ? "" : "s"}` : cameraLabel(c.camera),
      tone: c.count > 0 ? "seen" as const : "other" as const,
      weight: c.count / max
    }])
}

/** Each trip as a line through its stops; each implausible leg again, red and dashed. */
const linesOf = (route: RouteResult | undefined): ReadonlyArray<MapLine> => {
  if (route === undefined) return []
  return route.trips.flatMap((trip, t) => {
    const located = trip.stops.filter((s) => s.location !== null)
    const line: MapLine = { id: `trip-${t}`, points: located.map((s) => [s.location!.lat, s.location!.lon] as LatLngTuple) }
    const jumps = located.flatMap((stop, i) =>
      i > 0 && stop.from_previous?.implausible
        ? [{ id: `jump-${t}-${i}`, implausible: true, points: [[located[i - 1]!.location!.lat, located[i - 1]!.location!.lon], [stop.location!.lat, stop.location!.lon]] as ReadonlyArray<LatLngTuple> }]
        : [])
    return [line, ...jumps]
  }).filter((line) => line.points.length > 1)
}

export const MapPanel = ({ map, route }: { readonly map: MapResult; readonly route: RouteResult | undefined }) => {
  const points = pointsOf(map)
  const seen = map.cameras.filter((c) => c.count > 0)
  return (
    <div className="flex flex-col gap-3">
      <LazyMap points={points} lines={linesOf(route)} labels={points.length <= 8 && window.innerWidth >= 640} label={`Map of the cameras that read ${map.plate}`} className="h-[60vh] min-h-72" />
      <p className="text-sm text-slate-700">
        Blue: read here (larger, more often). Grey: other cameras. Lines: the route by trip; red dashes: a jump too fast to be real.
      </p>
      {seen.some((c) => c.location === null) && (
        <p className="text-sm text-slate-700">
          Not on the map (no position yet): {seen.filter((c) => c.location === null).map((c) => cameraLabel(c.camera)).join(", ")}.
        </p>
      )}
    </div>
  )
}
