import type { Camera } from "@chaverim/domain/rpc/Cameras"
import { useState } from "react"
import { valueOf } from "../../client/problem"
import { useRpc, useRpcAction, withRpc } from "../../client/rpc"
import { Button, Loading, Notice, ProblemNote, TextField } from "../../ui/controls"
import { cameraLabel } from "../../ui/format"
import type { MapPoint } from "../map/CameraMap"
import { LazyMap } from "../map/LazyMap"

interface Draft {
  readonly name: string
  readonly site: string
  readonly lat: string
  readonly lon: string
}

const draftOf = (camera: Camera): Draft => ({
  name: camera.name ?? "",
  site: camera.site ?? "",
  lat: camera.lat?.toFixed(6) ?? "",
  lon: camera.lon?.toFixed(6) ?? ""
})

/** Only what changed is sent; an emptied field clears it. */
const changesOf = (camera: Camera, draft: Draft) => {
  const text = (value: string) => (value.trim() === "" ? null : value.trim())
  const lat = draft.lat.trim() === "" ? null : Number(draft.lat)
  const lon = draft.lon.trim() === "" ? null : Number(draft.lon)
  return {
    camera_id: camera.camera_id,
    ...(text(draft.name) !== camera.name ? { name: text(draft.name) } : {}),
    ...(text(draft.site) !== camera.site ? { site: text(draft.site) } : {}),
    ...(lat !== camera.lat || lon !== camera.lon ? { lat, lon } : {})
  }
}

const CameraEditor = ({ camera, draft, setDraft, onSaved }: {
  readonly camera: Camera
  readonly draft: Draft
  readonly setDraft: (draft: Draft) => void
  readonly onSaved: () => void
}) => {
  const [saved, save] = useRpcAction(() => withRpc((rpc) => rpc.cameras.update(changesOf(camera, draft))))
  const set = (change: Partial<Draft>) => setDraft({ ...draft, ...change })
  return (
    <form className="flex flex-col gap-3 rounded-lg bg-white p-3 ring-1 ring-slate-200"
      onSubmit={async (event) => {
        event.preventDefault()
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
      </div>
      {saved.state === "failed" && <ProblemNote problem={saved.problem} />}
      {saved.state === "ready" && <Notice tone="success">Saved.</Notice>}
      <Button type="submit" disabled={saved.state === "loading"} className="self-start">Save camera</Button>
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
        {cameras.state === "ready" && list.length === 0 && <p className="text-slate-700">No cameras yet: they appear when a collector first uploads their reads.</p>}
        <ul className="flex flex-col gap-1">
          {list.map((camera) => (
            <li key={camera.camera_id}>
              <button type="button" aria-pressed={camera.camera_id === selectedId} onClick={() => select(camera)}
                className={`flex min-h-11 w-full flex-wrap items-center justify-between gap-2 rounded-lg px-3 py-2 text-left ring-1 ${
                  camera.camera_id === selectedId ? "bg-blue-50 ring-blue-600" : "bg-white ring-slate-200 hover:bg-slate-50"}`}>
                <span className="font-medium text-slate-900">{cameraLabel(camera)}{camera.site ? ` · ${camera.site}` : ""}</span>
                <span className="text-sm text-slate-700">{camera.lat === null ? "not placed" : `${camera.lat.toFixed(4)}, ${camera.lon?.toFixed(4)}`}</span>
              </button>
            </li>
          ))}
        </ul>
        {selected && draft && (
          <CameraEditor key={selected.camera_id} camera={selected} draft={draft} setDraft={setDraft} onSaved={reload} />
        )}
      </div>
      <LazyMap points={pointsOf(list, selected, draft)} label="Map of the cameras; click to place the selected camera"
        className="h-[60vh] min-h-72 lg:sticky lg:top-4"
        {...(selected && draft ? { onPick: (lat: number, lon: number) => setDraft({ ...draft, lat: lat.toFixed(6), lon: lon.toFixed(6) }) } : {})} />
    </section>
  )
}
