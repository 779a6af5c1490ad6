import type { RouteResult, RouteStop } from "@chaverim/domain/Investigation"
import { Badge } from "../../ui/controls"
import { cameraLabel, formatDateTime, formatDistance, formatDuration } from "../../ui/format"

const Leg = ({ stop }: { readonly stop: RouteStop }) => {
  const leg = stop.from_previous
  if (leg === null) return null
  return (
    <span className="text-sm text-slate-700">
      {" "}after {formatDuration(leg.seconds)}
      {/* the same camera again: no distance, no speed to tell */}
      {leg.distance_m !== null && leg.distance_m > 0 ? `, ${formatDistance(leg.distance_m)}` : ""}
      {leg.speed_kmh !== null && leg.distance_m !== null && leg.distance_m > 0 ? `, ${Math.round(leg.speed_kmh)} km/h` : ""}
      {leg.implausible && <> <Badge tone="bad">too fast: misread, wrong clock or cloned plate</Badge></>}
    </span>
  )
}

export const RoutePanel = ({ route }: { readonly route: RouteResult }) => {
  if (route.trips.length === 0) return <p className="text-slate-700">No reads in this period.</p>
  return (
    <div className="flex flex-col gap-4">
      {route.implausible.length > 0 && (
        <p className="rounded-lg border border-red-300 bg-red-50 px-3 py-2 text-red-900">
          {route.implausible.length} leg{route.implausible.length === 1 ? " is" : "s are"} faster than {route.max_speed_kmh} km/h.
        </p>
      )}
      {route.capped && <p className="text-sm text-slate-700">Only the newest {route.cap} reads are used.</p>}
      {/* Newest trip first; numbered in time order. */}
      <ol reversed className="flex flex-col gap-4">
        {route.trips.map((trip, i) => ({ trip, number: i + 1 })).reverse().map(({ trip, number }) => (
          <li key={trip.start} className="rounded-lg bg-white p-3 ring-1 ring-slate-200">
            <h2 className="font-semibold text-slate-900">
              Trip {number}: {formatDateTime(trip.start)}
              {trip.seconds > 0 ? ` · ${formatDuration(trip.seconds)}` : ""}
              {trip.distance_m > 0 ? ` · ${formatDistance(trip.distance_m)}` : ""}
            </h2>
            <ol className="mt-2 flex flex-col gap-1 border-l-2 border-blue-300 pl-3">
              {trip.stops.map((stop, at) => (
                <li key={stop.detection.id} className="text-slate-900">
                  <time dateTime={stop.first_seen}>{formatDateTime(stop.first_seen)}</time>: {cameraLabel(stop.camera)}
                  {stop.reads > 1 ? ` (${stop.reads} reads)` : ""}
                  {/* a trip's first stop comes after the previous trip: the gap is the trip's, not a leg */}
                  {at > 0 && <Leg stop={stop} />}
                </li>
              ))}
            </ol>
          </li>
        ))}
      </ol>
    </div>
  )
}
