import type { WallCamera } from "@chaverim/domain/rpc/Wall"
import { LazyMap } from "../map/LazyMap"
import type { MapPoint } from "../map/CameraMap"
import { Button, SelectField, TextField } from "../../ui/controls"
import { cameraLabel, localZone } from "../../ui/format"
import { camerasOf, type Incident, type PlaceBy, pointOf, sitesOf } from "./incident"

const BY: ReadonlyArray<{ readonly by: PlaceBy; readonly label: string }> = [
  { by: "cameras", label: "Cameras" },
  { by: "site", label: "Site" },
  { by: "point", label: "Map point" }
]

/** How the place is given: cameras by name, a site, or a point with a radius. */
const PlacePicker = ({ incident, name, set }: {
  readonly incident: Incident
  readonly name: string
  readonly set: (change: Partial<Incident>) => void
}) => (
  <fieldset>
    <legend className="mb-1 text-sm font-medium text-slate-800">Place by</legend>
    <div className="grid grid-cols-3 overflow-hidden rounded-lg border border-slate-400 bg-white">
      {BY.map((b) => (
        <label key={b.by}
          className={`flex min-h-11 cursor-pointer items-center justify-center px-1 text-sm font-medium has-[:focus-visible]:outline-3 has-[:focus-visible]:-outline-offset-3 has-[:focus-visible]:outline-blue-600 ${
            incident.by === b.by ? "bg-blue-700 text-white" : "text-slate-900 hover:bg-slate-100"}`}>
          <input type="radio" name={`${name}-by`} value={b.by} className="sr-only" checked={incident.by === b.by}
            onChange={() => set({ by: b.by })} />
          {b.label}
        </label>
      ))}
    </div>
  </fieldset>
)

const CameraChecklist = ({ incident, cameras, set }: {
  readonly incident: Incident
  readonly cameras: ReadonlyArray<WallCamera>
  readonly set: (change: Partial<Incident>) => void
}) => (
  <fieldset className="rounded-lg border border-slate-300 bg-white p-2">
    <legend className="px-1 text-sm font-medium text-slate-800">Cameras</legend>
    {cameras.length === 0 && <p className="px-1 text-sm text-slate-700">No camera has a position yet.</p>}
    <ul className="grid gap-x-3 sm:grid-cols-2">
      {cameras.map((camera) => (
        <li key={camera.camera_id}>
          <label className="flex min-h-11 cursor-pointer items-center gap-2 px-1 text-slate-900">
            <input type="checkbox" className="size-5 accent-blue-700" checked={incident.cameraIds.includes(camera.camera_id)}
              onChange={(e) => set({
                cameraIds: e.target.checked
                  ? [...incident.cameraIds, camera.camera_id]
                  : incident.cameraIds.filter((id) => id !== camera.camera_id)
              })} />
            <span>{cameraLabel(camera)}{camera.site ? <span className="text-slate-600"> · {camera.site}</span> : null}</span>
          </label>
        </li>
      ))}
    </ul>
  </fieldset>
)

const PointPicker = ({ incident, number, cameras, set }: {
  readonly incident: Incident
  readonly number: number
  readonly cameras: ReadonlyArray<WallCamera>
  readonly set: (change: Partial<Incident>) => void
}) => {
  const point = pointOf(incident)
  const inside = new Set(camerasOf(incident, cameras).map((c) => c.camera_id))
  const points: ReadonlyArray<MapPoint> = [
    ...cameras.map((c): MapPoint => ({
      id: c.camera_id, lat: c.lat, lon: c.lon, label: cameraLabel(c), tone: inside.has(c.camera_id) ? "seen" : "other"
    })),
    ...(point === undefined ? [] : [{ id: "incident", ...point, label: `Incident ${number}`, tone: "selected" as const }])
  ]
  return (
    <div className="flex flex-col gap-2">
      <LazyMap points={points} label={`Map: click where incident ${number} happened`} className="h-64"
        onPick={(lat, lon) => set({ lat: lat.toFixed(5), lon: lon.toFixed(5) })} />
      <div className="grid grid-cols-3 gap-2">
        <TextField label="Latitude" inputMode="decimal" value={incident.lat} onChange={(e) => set({ lat: e.target.value })} />
        <TextField label="Longitude" inputMode="decimal" value={incident.lon} onChange={(e) => set({ lon: e.target.value })} />
        <TextField label="Radius (m)" type="number" min={10} max={20000} step={10} inputMode="numeric"
          value={incident.radiusM} onChange={(e) => set({ radiusM: e.target.value })} />
      </div>
    </div>
  )
}

/** One incident: where (cameras, a site, or a point with a radius) and when. */
export const IncidentCard = ({ incident, number, cameras, onChange, onRemove }: {
  readonly incident: Incident
  readonly number: number
  readonly cameras: ReadonlyArray<WallCamera>
  readonly onChange: (incident: Incident) => void
  readonly onRemove: (() => void) | undefined
}) => {
  const set = (change: Partial<Incident>) => onChange({ ...incident, ...change })
  const chosen = camerasOf(incident, cameras)
  const sites = sitesOf(cameras)
  const title = `Incident ${number}`
  return (
    <section className="flex min-w-0 flex-col gap-3 rounded-lg bg-white p-3 ring-1 ring-slate-200" aria-label={title}>
      <div className="flex items-center justify-between gap-2">
        <h2 className="text-lg font-semibold text-slate-900">{title}</h2>
        {onRemove && <Button variant="secondary" onClick={onRemove} aria-label={`Remove incident ${number}`}>Remove</Button>}
      </div>
      <PlacePicker incident={incident} name={`incident-${incident.key}`} set={set} />
      {incident.by === "cameras" && <CameraChecklist incident={incident} cameras={cameras} set={set} />}
      {incident.by === "site" && (
        <SelectField label="Site" value={incident.site} onChange={(e) => set({ site: e.target.value })}
          hint={sites.length === 0 ? "No camera has a site yet: an admin sets it in Admin › Cameras." : "Every camera at the site."}>
          <option value="">Choose a site</option>
          {sites.map((s) => <option key={s} value={s}>{s}</option>)}
        </SelectField>
      )}
      {incident.by === "point" && <PointPicker incident={incident} number={number} cameras={cameras} set={set} />}
      <p className="text-sm text-slate-700" aria-live="polite">
        {chosen.length === 0
          ? "No camera chosen yet."
          : `${chosen.length} camera${chosen.length === 1 ? "" : "s"}: ${chosen.map(cameraLabel).join(", ")}`}
      </p>
      <div className="grid gap-3 sm:grid-cols-2">
        <TextField label="From" type="datetime-local" step={60} value={incident.from} required
          onChange={(e) => set({ from: e.target.value })} />
        <TextField label="To" type="datetime-local" step={60} value={incident.to} required
          onChange={(e) => set({ to: e.target.value })} />
      </div>
      <p className="-mt-2 text-sm text-slate-600">Times in {localZone()}; at most 24 hours.</p>
    </section>
  )
}
