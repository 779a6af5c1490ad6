import type { Alert } from "@chaverim/domain/Alerts"
import { useState } from "react"
import { withApi } from "../../client/api"
import { useMe } from "../../client/session"
import { useApiAction } from "../../client/useApi"
import { Link } from "../../router"
import { Badge, Button, PlateText, ProblemNote } from "../../ui/controls"
import { formatDateTime, formatShort } from "../../ui/format"
import { PlatePhoto } from "../../ui/PlatePhoto"
import { PlateTags } from "../plates/PlateTags"
import { listOf, STATUS_TONE, whyOf } from "./describe"

const linkClass = "inline-flex min-h-11 items-center font-medium text-blue-800 underline underline-offset-2"

/** The read's position on a map, and directions to it (OpenStreetMap, which phones open in a browser or an app). */
const Whereabouts = ({ alert }: { readonly alert: Alert }) => {
  const at = alert.detection.location
  if (at === null) return <span className="ml-auto text-sm text-slate-700">No position for this camera yet.</span>
  const { lat, lon } = at
  return (
    <span className="ml-auto flex flex-wrap gap-x-4">
      <a className={linkClass} href={`https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}#map=17/${lat}/${lon}`}
        target="_blank" rel="noreferrer">
        Map
      </a>
      <a className={linkClass} href={`https://www.openstreetmap.org/directions?route=%3B${lat}%2C${lon}`} target="_blank" rel="noreferrer">
        Directions
      </a>
    </span>
  )
}

const placeOf = (alert: Alert) =>
  [alert.detection.camera.name ?? "unnamed camera", alert.detection.camera.site].filter(Boolean).join(" · ")

/** Who did what and when: acknowledged, on the way, resolved. */
const History = ({ alert }: { readonly alert: Alert }) => {
  const lines = [
    alert.acknowledged_by && alert.acknowledged_at && `Acknowledged by ${alert.acknowledged_by}, ${formatShort(alert.acknowledged_at)}`,
    alert.en_route_by && alert.en_route_at && `On the way: ${alert.en_route_by}, since ${formatShort(alert.en_route_at)}`,
    alert.resolved_by && alert.resolved_at &&
      `Resolved by ${alert.resolved_by}, ${formatShort(alert.resolved_at)}${alert.resolution_note ? `: “${alert.resolution_note}”` : ""}`
  ].filter(Boolean)
  if (lines.length === 0) return null
  return <ul className="mt-2 flex flex-col gap-0.5 text-sm text-slate-800">{lines.map((line) => <li key={line as string}>{line}</li>)}</ul>
}

const ResolveForm = ({ alert, onChanged, onCancel }: {
  readonly alert: Alert
  readonly onChanged: (alert: Alert) => void
  readonly onCancel: () => void
}) => {
  const [note, setNote] = useState("")
  const [resolved, resolve] = useApiAction((text: string) =>
    withApi((api) => api.alerts.resolve({ path: { id: alert.id }, payload: text === "" ? {} : { note: text } })))
  return (
    <form className="mt-3 flex flex-col gap-2 border-t border-slate-200 pt-3"
      onSubmit={async (event) => {
        event.preventDefault()
        const result = await resolve(note.trim())
        if (result.state === "ready") onChanged(result.value)
      }}>
      <label className="flex flex-col gap-1 text-sm font-medium text-slate-800">
        What happened (optional)
        <textarea value={note} onChange={(e) => setNote(e.target.value)} rows={3} maxLength={1000} autoFocus
          className="rounded-lg border border-slate-400 bg-white p-2 text-base text-slate-900 focus:outline-2 focus:outline-blue-600" />
      </label>
      {resolved.state === "failed" && <ProblemNote problem={resolved.problem} />}
      <div className="flex flex-wrap gap-2">
        <Button type="submit" disabled={resolved.state === "loading"}>Resolve alert</Button>
        <Button variant="secondary" onClick={onCancel}>Cancel</Button>
      </div>
    </form>
  )
}

/** One alert as an operator handles it on a phone: what, where, when, who is on it, and the two actions. */
export const AlertCard = ({ alert, canAct, onChanged }: {
  readonly alert: Alert
  readonly canAct: boolean
  readonly onChanged: (alert: Alert) => void
}) => {
  const [resolving, setResolving] = useState(false)
  const [acked, acknowledge] = useApiAction(() => withApi((api) => api.alerts.acknowledge({ path: { id: alert.id } })))
  const [going, goNow] = useApiAction(() => withApi((api) => api.alerts.enRoute({ path: { id: alert.id } })))
  const me = useMe()
  const { detection, watchlist } = alert
  return (
    <article aria-label={`Alert ${detection.plate_text}, ${alert.status}`}
      className="overflow-hidden rounded-xl bg-white shadow-sm ring-1 ring-slate-200">
      <div aria-hidden className="h-2" style={{ backgroundColor: watchlist.colour }} />
      <div className="p-3">
        <div className="flex flex-wrap items-center gap-x-3 gap-y-1">
          {me.role === "viewer"
            ? <PlatePhoto src={detection.images.plate} alt={`Plate crop of ${detection.plate_text}`} className="h-12 w-36 shrink-0" />
            : (
              // An operator opens the read's page from its photo (a volunteer may not: it is audited evidence).
              <Link to={`/read/${detection.id}`} className="shrink-0 rounded focus-visible:outline-3 focus-visible:outline-offset-2 focus-visible:outline-blue-600">
                <span className="sr-only">Open the read of {detection.plate_text}, {formatDateTime(detection.detected_at)}: </span>
                <PlatePhoto src={detection.images.plate} alt={`Plate crop of ${detection.plate_text}`} className="h-12 w-36" />
              </Link>
            )}
          <PlateText plate={detection.plate_text} className="text-2xl text-slate-900" />
          <Badge tone={STATUS_TONE[alert.status]}>{alert.status}</Badge>
          {alert.retro && <Badge>earlier read</Badge>}
        </div>
        {/* viewers may not look plates up */}
        {me.role !== "viewer" && <PlateTags plate={detection.plate} className="mt-2" />}
        <p className="mt-2 font-medium text-slate-900">
          {listOf(alert)}
        </p>
        {whyOf(alert) !== "" && <p className="text-sm text-slate-800">{whyOf(alert)}</p>}
        <p className="mt-1 text-sm text-slate-700">
          {placeOf(alert)} · <time dateTime={alert.last_seen_at}>{formatDateTime(alert.last_seen_at)}</time>
          {alert.sightings > 1 ? ` · ${alert.sightings} sightings since ${formatShort(alert.first_seen_at)}` : ""}
        </p>
        <History alert={alert} />
        <div className="mt-2 flex flex-wrap items-center gap-2">
          {canAct && alert.status === "new" && (
            <Button disabled={acked.state === "loading"} onClick={async () => {
              const result = await acknowledge()
              if (result.state === "ready") onChanged(result.value)
            }}>
              Acknowledge
            </Button>
          )}
          {/* Anyone who sees the alert may go; an operator's going also acknowledges it. */}
          {alert.status !== "resolved" && alert.en_route_by !== me.username && (
            <Button variant="secondary" disabled={going.state === "loading"} onClick={async () => {
              const result = await goNow()
              if (result.state === "ready") onChanged(result.value)
            }}>
              On my way
            </Button>
          )}
          {canAct && alert.status !== "resolved" && !resolving && (
            <Button variant="secondary" onClick={() => setResolving(true)}>Resolve…</Button>
          )}
          {me.role === "viewer"
            // A volunteer on the road: where it was, and the way there (the plate's pages are for operators).
            ? <Whereabouts alert={alert} />
            : (
              <Link to={`/plate/${encodeURIComponent(alert.plate)}`}
                className="ml-auto inline-flex min-h-11 items-center font-medium text-blue-800 underline underline-offset-2">
                Timeline and map
              </Link>
            )}
        </div>
        {acked.state === "failed" && <ProblemNote problem={acked.problem} />}
        {going.state === "failed" && <ProblemNote problem={going.problem} />}
        {resolving && alert.status !== "resolved" && (
          <ResolveForm alert={alert} onChanged={(a) => { setResolving(false); onChanged(a) }} onCancel={() => setResolving(false)} />
        )}
      </div>
    </article>
  )
}
