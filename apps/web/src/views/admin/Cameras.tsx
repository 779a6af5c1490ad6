import { type Camera, Zone } from "@chaverim/domain/rpc/Cameras"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { useState } from "react"
import { valueOf } from "../../client/problem"
import { useRpc, useRpcAction, withRpc } from "../../client/rpc"
import { Button, Loading, Notice, ProblemNote, TextField } from "../../ui/controls"
import { cameraLabel } from "../../ui/format"
import type { MapPoint } from "../map/CameraMap"
import { LazyMap } from "../map/LazyMap"
import { CollectorCameras, type ConnectionDraft, connectionDraftOf, ConnectionFields, connectionOf, NewCamera, OnTheDevice } from "./CameraConnection"

interface Draft {
  readonly name: string
  readonly site: string
  readonly lat: string
  readonly lon: string
  readonly bearing: string
  readonly travel: string
  readonly expected: string
  readonly minConfidence: string
  /** the zone as GeoJSON text */
  readonly zone: string
  readonly connection: ConnectionDraft
}

const draftOf = (camera: Camera): Draft => ({
  name: camera.name ?? "",
  site: camera.site ?? "",
  lat: camera.lat?.toFixed(6) ?? "",
  lon: camera.lon?.toFixed(6) ?? "",
  bearing: camera.bearing === null ? "" : String(camera.bearing),
  travel: camera.travel_direction ?? "",
  expected: camera.expected_per_hour === null ? "" : String(camera.expected_per_hour),
  minConfidence: camera.min_confidence === null ? "" : String(Math.round(camera.min_confidence * 100) / 100),
  zone: camera.zone === null ? "" : JSON.stringify(camera.zone),
  connection: connectionDraftOf(camera.connection)
})

const decodeZone = Schema.decodeUnknownEither(Zone)

/** The zone's text as a zone, or why it is not one (the contract's own rule, said before anything is sent). */
const zoneOf = (text: string): { readonly zone: Zone | null } | { readonly problem: string } => {
  if (text.trim() === "") return { zone: null }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return { problem: "The zone is not JSON: paste a GeoJSON Polygon, {\"type\": \"Polygon\", \"coordinates\": [[[lon, lat], …]]}." }
  }
  const zone = decodeZone(json)
  if (Either.isRight(zone)) return { zone: zone.right }
  const [first] = ParseResult.ArrayFormatter.formatErrorSync(zone.left)
  return { problem: `The zone is not a GeoJSON Polygon we can use: ${first?.message ?? "check its shape"}.` }
}

/** Only what changed is sent; an emptied field clears it. The server checks every value. */
const changesOf = (camera: Camera, draft: Draft) => {
  const text = (value: string) => (value.trim() === "" ? null : value.trim())
  const number = (value: string) => (value.trim() === "" ? null : Number(value))
  const lat = number(draft.lat)
  const lon = number(draft.lon)
  const zone = zoneOf(draft.zone)
  const connection = connectionOf(draft.connection, camera.connection)
  return {
    camera_id: camera.camera_id,
    ...("connection" in connection && JSON.stringify(connection.connection) !== JSON.stringify(camera.connection)
      ? { connection: connection.connection }
      : {}),
    ...(text(draft.name) !== camera.name ? { name: text(draft.name) } : {}),
    ...(text(draft.site) !== camera.site ? { site: text(draft.site) } : {}),
    ...(lat !== camera.lat || lon !== camera.lon ? { lat, lon } : {}),
    ...(number(draft.bearing) !== camera.bearing ? { bearing: number(draft.bearing) } : {}),
    ...(text(draft.travel) !== camera.travel_direction ? { travel_direction: text(draft.travel) } : {}),
    ...(number(draft.expected) !== camera.expected_per_hour ? { expected_per_hour: number(draft.expected) } : {}),
    ...(number(draft.minConfidence) !== (camera.min_confidence === null ? null : Math.round(camera.min_confidence * 100) / 100)
      ? { min_confidence: number(draft.minConfidence) }
      : {}),
    ...("zone" in zone && JSON.stringify(zone.zone) !== JSON.stringify(camera.zone) ? { zone: zone.zone } : {})
  }
}

const CameraEditor = ({ camera, draft, setDraft, onSaved }: {
  readonly camera: Camera
  readonly draft: Draft
  readonly setDraft: (draft: Draft) => void
  readonly onSaved: () => void
}) => {
  const [saved, save] = useRpcAction(() => withRpc((rpc) => rpc.cameras.update(changesOf(camera, draft))))
  const [retiring, retire] = useRpcAction(() => withRpc((rpc) => rpc.cameras.update({ camera_id: camera.camera_id, retired: camera.retired_at === null })))
  const set = (change: Partial<Draft>) => setDraft({ ...draft, ...change })
  const zone = zoneOf(draft.zone)
  const connection = connectionOf(draft.connection, camera.connection)
  const problem = "problem" in zone || "problem" in connection
  return (
    <form className="flex flex-col gap-3 rounded-lg bg-white p-3 ring-1 ring-slate-200"
      onSubmit={async (event) => {
        event.preventDefault()
        if (problem) return
        if ((await save()).state === "ready") onSaved()
      }}>
      <h2 className="font-semibold text-slate-900">
        {cameraLabel(camera)} <span className="font-normal text-slate-700">({camera.external_id} · {camera.mac} · {camera.collector_name})</span>
      </h2>
      <div className="grid gap-3 sm:grid-cols-2">
        <TextField label="Name" value={draft.name} onChange={(e) => set({ name: e.target.value })} maxLength={200} />
        <TextField label="Site" value={draft.site} onChange={(e) => set({ site: e.target.value })} maxLength={200}
          hint="The place it watches; cameras at one place share it (search by site, multi-place)." />
        <TextField label="Latitude" inputMode="decimal" value={draft.lat} onChange={(e) => set({ lat: e.target.value })}
          pattern="-?[0-9]+(\.[0-9]+)?" hint="Or click the map to place the camera." />
        <TextField label="Longitude" inputMode="decimal" value={draft.lon} onChange={(e) => set({ lon: e.target.value })}
          pattern="-?[0-9]+(\.[0-9]+)?" />
        <TextField label="Bearing (degrees from north)" inputMode="numeric" value={draft.bearing} onChange={(e) => set({ bearing: e.target.value })}
          pattern="[0-9]{1,3}" hint="Where it looks: 0 north, 90 east, 0 to 359." />
        <TextField label="Direction of travel" value={draft.travel} onChange={(e) => set({ travel: e.target.value })} maxLength={100}
          hint="What it reads, in words: northbound, into the car park." />
        <TextField label="Usual reads an hour" inputMode="numeric" value={draft.expected} onChange={(e) => set({ expected: e.target.value })}
          pattern="[0-9]+" hint="Empty: learnt from its own reads. Far fewer raises a health alert." />
        <TextField label="Lowest trusted confidence" inputMode="decimal" value={draft.minConfidence}
          onChange={(e) => set({ minConfidence: e.target.value })} pattern="(0(\.[0-9]+)?|1(\.0+)?)" hint="0 to 1; reads below it are not to be trusted." />
      </div>
      <label className="flex flex-col gap-1 text-slate-900">
        <span className="font-medium">Zone (GeoJSON Polygon)</span>
        <textarea value={draft.zone} onChange={(e) => set({ zone: e.target.value })} rows={3} spellCheck={false}
          className="rounded-md border border-slate-400 px-3 py-2 font-mono text-sm" aria-describedby={`zone-hint-${camera.camera_id}`} />
        <span id={`zone-hint-${camera.camera_id}`} className="text-sm text-slate-700">
          The area it covers: {"{"}"type": "Polygon", "coordinates": [[[lon, lat], …, the first again]]{"}"}. Empty: none.
        </span>
      </label>
      {"problem" in zone && <p role="alert" className="text-red-800">{zone.problem}</p>}
      <ConnectionFields draft={draft.connection} set={(change) => set({ connection: { ...draft.connection, ...change } })} />
      {"problem" in connection && <p role="alert" className="text-red-800">{connection.problem}</p>}
      <OnTheDevice camera={camera} />
      {saved.state === "failed" && <ProblemNote problem={saved.problem} />}
      {saved.state === "ready" && <Notice tone="success">Saved.</Notice>}
      {retiring.state === "failed" && <ProblemNote problem={retiring.problem} />}
      <div className="flex flex-wrap gap-2">
        <Button type="submit" disabled={saved.state === "loading" || problem}>Save camera</Button>
        <Button variant="secondary" disabled={retiring.state === "loading"} onClick={async () => {
          if ((await retire()).state === "ready") onSaved()
        }}>{camera.retired_at === null ? "Retire camera" : "Bring it back"}</Button>
      </div>
      {camera.retired_at !== null && <p className="text-sm text-slate-700">Retired: kept with its reads, no longer watched for health.</p>}
    </form>
  )
}

const pointsOf = (cameras: ReadonlyArray<Camera>, selected: Camera | undefined, draft: Draft | undefined): ReadonlyArray<MapPoint> =>
  cameras.flatMap((camera): ReadonlyArray<MapPoint> => {
    if (camera.camera_id === selected?.camera_id && draft !== undefined) {
      const lat = Number(draft.lat)
      const lon = Number(draft.lon)
      return draft.lat === "" || Number.isNaN(lat) || Number.isNaN(lon) ? [] : [{ id: camera.camera_id, lat, lon, label: cameraLabel(camera), tone: "selected" }]
    }
    return camera.lat === null || camera.lon === null ? [] : [{ id: camera.camera_id, lat: camera.lat, lon: camera.lon, label: cameraLabel(camera), tone: "other" }]
  })

export const Cameras = () => {
  const [cameras, reload] = useRpc(() => withRpc((rpc) => rpc.cameras.list({})), [])
  const [selectedId, setSelectedId] = useState<string>()
  const [draft, setDraft] = useState<Draft>()
  const [adding, setAdding] = useState(false)
  const list = valueOf(cameras) ?? []
  const selected = list.find((c) => c.camera_id === selectedId)
  const select = (camera: Camera) => {
    setSelectedId(camera.camera_id)
    setDraft(draftOf(camera))
  }
  return (
    <section className="grid gap-4 lg:grid-cols-[1fr_1fr]" aria-label="Cameras">
      <div className="flex flex-col gap-3">
        {cameras.state === "failed" && <ProblemNote problem={cameras.problem} />}
        {cameras.state === "loading" && list.length === 0 && <Loading />}
        {cameras.state === "ready" && list.length === 0 && (
          <p className="text-slate-700">No cameras yet: they appear when a collector first uploads their reads, or add one here.</p>
        )}
        <Button variant="secondary" className="self-start" aria-expanded={adding} onClick={() => setAdding(!adding)}>
          {adding ? "Close the new camera" : "Add a camera"}
        </Button>
        {adding && (
          <NewCamera onCreated={(camera) => {
            setAdding(false)
            reload()
            select(camera)
          }} />
        )}
        <ul className="flex flex-col gap-1">
          {list.map((camera) => (
            <li key={camera.camera_id}>
              <button type="button" aria-pressed={camera.camera_id === selectedId} onClick={() => select(camera)}
                className={`flex min-h-11 w-full flex-wrap items-center justify-between gap-2 rounded-lg px-3 py-2 text-left ring-1 ${
                  camera.camera_id === selectedId ? "bg-blue-50 ring-blue-600" : "bg-white ring-slate-200 hover:bg-slate-50"}`}>
                <span className="font-medium text-slate-900">{cameraLabel(camera)}{camera.site ? ` · ${camera.site}` : ""}</span>
                <span className="text-sm text-slate-700">
                  {camera.retired_at !== null ? "retired · " : ""}{camera.lat === null ? "not placed" : `${camera.lat.toFixed(4)}, ${camera.lon?.toFixed(4)}`}
                </span>
              </button>
            </li>
          ))}
        </ul>
        {selected && draft && (
          <CameraEditor key={selected.camera_id} camera={selected} draft={draft} setDraft={setDraft} onSaved={reload} />
        )}
        {selected && <CollectorCameras key={selected.collector_id} collectorId={selected.collector_id} collectorName={selected.collector_name} onPushed={reload} />}
      </div>
      <LazyMap points={pointsOf(list, selected, draft)} label="Map of the cameras; click to place the selected camera"
        className="h-[60vh] min-h-72 lg:sticky lg:top-4"
        {...(selected && draft ? { onPick: (lat: number, lon: number) => setDraft({ ...draft, lat: lat.toFixed(6), lon: lon.toFixed(6) }) } : {})} />
    </section>
  )
}
