import type { ConvoyResult } from "@chaverim/domain/Investigation"
import { Link } from "../../router"
import { Badge } from "../../ui/controls"
import { formatDateTime } from "../../ui/format"

export const ConvoyPanel = ({ convoy }: { readonly convoy: ConvoyResult }) => {
  if (convoy.items.length === 0) {
    return (
      <p className="text-slate-700">
        No plate was read within {convoy.window_s} s of this one at {convoy.min_cameras} cameras or more
        ({convoy.target_passes} passes searched).
      </p>
    )
  }
  return (
    <div className="flex flex-col gap-3">
      <p className="text-sm text-slate-700">
        Plates read near this one at {convoy.min_cameras}+ cameras within {convoy.window_s} s, the least likely by chance
        first (score: how surprising, given how often each plate passes those cameras anyway).
      </p>
      <ol className="flex flex-col gap-3">
        {convoy.items.map((match) => (
          <li key={match.plate} className="rounded-lg bg-white p-3 ring-1 ring-slate-200">
            <p className="flex flex-wrap items-baseline gap-x-3">
              <Link to={`/plate/${encodeURIComponent(match.plate)}`} className="font-mono text-xl font-bold tracking-wider text-blue-800 underline">
                {match.plate}
              </Link>
              <span className="text-slate-800">score {match.score.toFixed(1)}</span>
              {match.possible_misread && <Badge tone="warn">maybe a misread of the same car</Badge>}
            </p>
            <p className="text-sm text-slate-700">
              Together {match.occasions} time{match.occasions === 1 ? "" : "s"} at {match.cameras} cameras; {match.expected.toFixed(2)} expected by chance.
            </p>
            <details className="mt-1 text-sm">
              <summary className="min-h-11 cursor-pointer py-2 font-medium text-blue-800">Sightings together</summary>
              <ul className="text-slate-800">
                {match.evidence.map((e) => (
                  <li key={`${e.target.id}-${e.sighting.id}`}>
                    {formatDateTime(e.target.detected_at)} at {e.camera.name ?? e.camera.id}: {e.offset_s > 0 ? `${e.offset_s} s after` : `${-e.offset_s} s before`}
                  </li>
                ))}
              </ul>
            </details>
          </li>
        ))}
      </ol>
    </div>
  )
}
