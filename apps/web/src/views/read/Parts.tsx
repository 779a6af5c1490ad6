import type { Alert } from "@chaverim/domain/Alerts"
import type { Correction } from "@chaverim/domain/Corrections"
import type { ReadDetails, ReadRun } from "@chaverim/domain/ReadDetails"
import type { ReactNode } from "react"
import { Link } from "../../router"
import { CATEGORY_LABEL } from "../../ui/colour"
import { Badge } from "../../ui/controls"
import { cameraLabel, formatDateTime, formatPercent, formatShort, formatTime, localZone } from "../../ui/format"
import { LazyMap } from "../map/LazyMap"
import { STATUS_TONE, whyOf } from "../alerts/describe"

const linkClass = "font-medium text-blue-800 underline underline-offset-2"

/** A titled part of the page. */
export const Section = ({ title, children, className = "" }: { readonly title: string; readonly children: ReactNode; readonly className?: string }) => (
  <section aria-label={title} className={`rounded-xl bg-white p-3 shadow-sm ring-1 ring-slate-200 ${className}`}>
    <h2 className="mb-2 font-semibold text-slate-900">{title}</h2>
    {children}
  </section>
)

const Field = ({ label, children }: { readonly label: string; readonly children: ReactNode }) => (
  <div className="grid grid-cols-[8.5rem_minmax(0,1fr)] gap-x-3 border-t border-slate-100 py-1.5 first:border-t-0">
    <dt className="text-sm text-slate-700">{label}</dt>
    <dd className="break-words text-slate-900">{children}</dd>
  </div>
)

const orNone = (value: string | null | undefined) => (value === null || value === undefined || value === "" ? <span className="text-slate-600">not given</span> : value)

/** Every field of the read, its times in the screen's zone with the year and the zone's name. */
export const Fields = ({ details }: { readonly details: ReadDetails }) => {
  const { read, collector, photos } = details
  return (
    <dl>
      <Field label="Plate read">
        <span className="font-mono font-bold tracking-wider">{read.plate_text}</span>
        {read.plate !== read.plate_text && <span className="text-sm text-slate-700"> (searched as {read.plate})</span>}
      </Field>
      <Field label="Confidence">{formatPercent(read.confidence)}</Field>
      <Field label="Read at">
        <time dateTime={read.detected_at}>{formatDateTime(read.detected_at)}</time>
        <span className="block text-sm text-slate-700">{localZone()} · UTC {read.detected_at}</span>
      </Field>
      <Field label="Received at"><time dateTime={read.received_at}>{formatDateTime(read.received_at)}</time></Field>
      {read.clock_offset_s !== undefined && (
        <Field label="Clock">
          {Math.abs(read.clock_offset_s) < 0.05
            ? "on time when it arrived"
            : `${Math.abs(read.clock_offset_s).toFixed(1)} s ${read.clock_offset_s > 0 ? "ahead" : "behind"} when it arrived`}
          <span className="block text-sm text-slate-700">the time above is as the camera gave it</span>
        </Field>
      )}
      <Field label="Camera">{cameraLabel(read.camera)}<span className="block text-sm text-slate-700">id {read.camera.external_id}</span></Field>
      <Field label="Site">{orNone(read.camera.site)}</Field>
      <Field label="Collector">{collector.name}</Field>
      <Field label="Direction">{orNone(read.direction)}</Field>
      <Field label="Vehicle type">{orNone(read.vehicle_type)}</Field>
      <Field label="Make">{orNone(read.vehicle_make)}</Field>
      <Field label="Colour">{orNone(read.vehicle_color)}</Field>
      <Field label="Position">
        {read.location === null ? orNone(null) : `${read.location.lat.toFixed(5)}, ${read.location.lon.toFixed(5)}`}
      </Field>
      {photos.map((photo) => (
        <Field key={photo.kind} label={photo.kind === "plate" ? "Plate crop" : "Scene photo"}>
          <span className="block text-sm">{photo.content_type}, {Math.round(photo.size_bytes / 102.4) / 10} KiB</span>
          <code className="block break-all text-xs text-slate-800">SHA-256 {photo.sha256}</code>
        </Field>
      ))}
      <Field label="Read id">{read.id}</Field>
      <Field label="Camera's event id"><code className="break-all text-sm">{read.detection_id}</code></Field>
      {details.source !== null && (
        <Field label="Source">
          <details>
            <summary className="cursor-pointer text-sm font-medium text-blue-800">What the camera sent besides</summary>
            <pre className="mt-1 max-h-60 overflow-auto rounded bg-slate-100 p-2 text-xs text-slate-900">{JSON.stringify(details.source, null, 2)}</pre>
          </details>
        </Field>
      )}
    </dl>
  )
}

/** The camera on a small map, or why it is not on one. */
export const Place = ({ details }: { readonly details: ReadDetails }) => {
  const { read } = details
  if (read.location === null) return <p className="text-slate-700">No position for this camera yet.</p>
  return (
    <LazyMap label={`Map of ${cameraLabel(read.camera)}`} className="h-56 lg:h-64"
      points={[{ id: read.camera.id, lat: read.location.lat, lon: read.location.lon, label: cameraLabel(read.camera), tone: "seen" }]} />
  )
}

const ACTION_LABEL = { confirm: "confirmed: the read is right", correct: "corrected to", reject: "rejected: not a plate" } as const

export const Corrections = ({ corrections }: { readonly corrections: ReadonlyArray<Correction> }) =>
  corrections.length === 0
    ? <p className="text-slate-700">Nobody has checked this read yet.</p>
    : (
      <ul className="flex flex-col gap-1 text-sm text-slate-800">
        {corrections.map((c, i) => (
          <li key={c.id}>
            {i === 0 && corrections.length > 1 && <Badge tone="good">in force</Badge>}{" "}
            <time dateTime={c.at}>{formatShort(c.at)}</time>: {c.by} {ACTION_LABEL[c.action]}
            {c.action === "correct" && <strong className="font-mono"> {c.plate_text ?? c.plate}</strong>}
            {c.note ? ` (“${c.note}”)` : ""}
          </li>
        ))}
      </ul>
    )

/** The run's reads, this one marked, the others linking to their pages. */
export const Run = ({ run, readId }: { readonly run: ReadRun; readonly readId: string }) => {
  if (run.total === 1) return <p className="text-slate-700">The only read of this plate at this camera within 30 seconds.</p>
  return (
    <div className="flex flex-col gap-2">
      <p className="text-sm text-slate-700">
        {run.total} reads of this plate at this camera, each within 30 seconds of the one before
        {run.reads.length < run.total ? `; the ${run.reads.length} nearest this one:` : ":"}
      </p>
      <ol className="flex flex-col">
        {run.reads.map((r) => {
          const label = `${formatTime(r.detected_at)} · ${formatPercent(r.confidence)}${r.direction ? ` · ${r.direction}` : ""}`
          return (
            <li key={r.id} className="flex min-h-11 items-center gap-2 border-t border-slate-100 first:border-t-0">
              {r.id === readId
                ? <span aria-current="page" className="font-semibold text-slate-900">{label} · this read</span>
                : <Link to={`/read/${r.id}`} className={`${linkClass} inline-flex min-h-11 items-center`}>{label}</Link>}
              {r.id === run.first_id && <Badge>first</Badge>}
            </li>
          )
        })}
      </ol>
    </div>
  )
}

/** The alerts the read raised, each with its list's colour and state. */
export const Alerts = ({ alerts }: { readonly alerts: ReadonlyArray<Alert> }) =>
  alerts.length === 0
    ? <p className="text-slate-700">This read raised no alert on the lists you see.</p>
    : (
      <ul className="flex flex-col gap-2">
        {alerts.map((alert) => (
          <li key={alert.id} className="flex gap-2 rounded-lg ring-1 ring-slate-200">
            <span aria-hidden className="w-2 shrink-0 rounded-l-lg" style={{ backgroundColor: alert.watchlist.colour }} />
            <div className="min-w-0 py-2 pr-2">
              <p className="flex flex-wrap items-center gap-2 font-medium text-slate-900">
                {alert.watchlist.name}
                <span className="text-sm font-normal text-slate-700">{CATEGORY_LABEL[alert.watchlist.category]} · priority {alert.watchlist.priority}</span>
                <Badge tone={STATUS_TONE[alert.status]}>{alert.status}</Badge>
                {alert.retro && <Badge>earlier read</Badge>}
              </p>
              {whyOf(alert) !== "" && <p className="text-sm text-slate-800">{whyOf(alert)}</p>}
              <p className="text-sm text-slate-700">
                Raised <time dateTime={alert.created_at}>{formatShort(alert.created_at)}</time>
                {alert.sightings > 1 ? ` · ${alert.sightings} sightings` : ""}
                {" · "}<Link to="/alerts" className={linkClass}>Open the alerts</Link>
              </p>
            </div>
          </li>
        ))}
      </ul>
    )
