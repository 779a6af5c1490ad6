import type { Sighting, TimelineResult } from "@chaverim/domain/Investigation"
import { Link } from "../../router"
import { cameraLabel, formatDateTime, formatDuration, formatShort } from "../../ui/format"
import { TimelineChart } from "./TimelineChart"

/** The listed read made at `at` (a camera's first or last), when the list holds it. */
const readAt = (sightings: ReadonlyArray<Sighting>, at: string) =>
  sightings.find((s) => new Date(s.detected_at).getTime() === new Date(at).getTime())

/** A time of a read, opening the read's page when it is listed. */
const ReadAt = ({ at, read }: { readonly at: string; readonly read: Sighting | undefined }) =>
  read === undefined
    ? <>{formatShort(at)}</>
    : <Link to={`/read/${read.id}`} className="font-medium text-blue-800 underline underline-offset-2">{formatShort(at)}</Link>

export const TimelinePanel = ({ timeline }: { readonly timeline: TimelineResult }) => (
  <div className="flex flex-col gap-5">
    <p className="text-slate-800">
      <strong>{timeline.total}</strong> read{timeline.total === 1 ? "" : "s"} at <strong>{timeline.cameras.length}</strong> camera{timeline.cameras.length === 1 ? "" : "s"}.
    </p>
    <TimelineChart counts={timeline.counts} bucket={timeline.bucket} from={timeline.from} to={timeline.to} />
    {timeline.cameras.length > 0 && (
      <div className="overflow-x-auto">
        <table className="w-full text-left text-sm">
          <caption className="pb-1 text-left font-semibold text-slate-900">Where</caption>
          <thead className="text-slate-700">
            <tr><th scope="col" className="py-1 pr-2">Camera</th><th scope="col" className="pr-2">Reads</th><th scope="col" className="pr-2">First</th><th scope="col">Last</th></tr>
          </thead>
          <tbody>
            {timeline.cameras.map((c) => (
              <tr key={c.camera.id} className="border-t border-slate-200">
                <td className="py-1.5 pr-2">{cameraLabel(c.camera)}{c.camera.site ? ` · ${c.camera.site}` : ""}</td>
                <td className="pr-2">{c.count}</td>
                <td className="pr-2"><ReadAt at={c.first_seen} read={readAt(c.sightings, c.first_seen)} /></td>
                <td><ReadAt at={c.last_seen} read={readAt(c.sightings, c.last_seen)} /></td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    )}
    {timeline.gaps.length > 0 && (
      <div>
        <h2 className="font-semibold text-slate-900">Longest gaps between reads</h2>
        <ul className="text-sm text-slate-800">
          {timeline.gaps.slice(0, 5).map((gap) => (
            <li key={gap.from}>{formatDuration(gap.seconds)}: {formatDateTime(gap.from)} → {formatDateTime(gap.to)}</li>
          ))}
        </ul>
      </div>
    )}
  </div>
)
