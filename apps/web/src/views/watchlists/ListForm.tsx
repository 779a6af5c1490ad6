import type { Watchlist } from "@chaverim/domain/rpc/Watchlists"
import type { WatchlistCategory } from "@chaverim/domain/Watchlist"
import { useState } from "react"
import { type Remote, valueOf } from "../../client/problem"
import { useRpc, withRpc } from "../../client/rpc"
import { useMe } from "../../client/session"
import { CATEGORY_LABEL } from "../../ui/colour"
import { Button, Notice, ProblemNote, SelectField, TextField } from "../../ui/controls"
import { cameraLabel } from "../../ui/format"

export interface ListDraft {
  readonly name: string
  readonly category: WatchlistCategory
  readonly priority: number
  readonly colour: string
  readonly shared: boolean
  readonly active: boolean
  /** alerts on reads waiting for review at once */
  readonly alertUnreviewed: boolean
  /** an allow list's gate */
  readonly cameraIds: ReadonlyArray<string>
}

export const NEW_LIST: ListDraft = {
  name: "", category: "stolen", priority: 3, colour: "#d32f2f", shared: true, active: true, alertUnreviewed: false, cameraIds: []
}

export const draftOf = (list: Watchlist): ListDraft => ({
  name: list.name, category: list.category, priority: list.priority, colour: list.colour, shared: list.shared, active: list.active,
  alertUnreviewed: list.alert_unreviewed, cameraIds: list.camera_ids
})

/** The gate's cameras as the contract wants them: only on an allow list. */
export const gateOf = (draft: ListDraft) => (draft.category === "allow" ? draft.cameraIds : [])

const sameSet = (a: ReadonlyArray<string>, b: ReadonlyArray<string>) =>
  a.length === b.length && a.every((id) => b.includes(id))

/** Only what changed, for `watchlists.update`. */
export const changesOf = (list: Watchlist, draft: ListDraft) => {
  const before = draftOf(list)
  const name = draft.name.trim()
  return {
    ...(name !== before.name ? { name } : {}),
    ...(draft.category !== before.category ? { category: draft.category } : {}),
    ...(draft.priority !== before.priority ? { priority: draft.priority } : {}),
    ...(draft.colour !== before.colour ? { colour: draft.colour } : {}),
    ...(draft.shared !== before.shared ? { shared: draft.shared } : {}),
    ...(draft.active !== before.active ? { active: draft.active } : {}),
    ...(draft.alertUnreviewed !== before.alertUnreviewed ? { alert_unreviewed: draft.alertUnreviewed } : {}),
    ...(!sameSet(gateOf(draft), before.cameraIds) ? { camera_ids: gateOf(draft) } : {})
  }
}

const CATEGORIES = Object.keys(CATEGORY_LABEL) as ReadonlyArray<WatchlistCategory>

const Check = ({ label, hint, checked, onChange }: {
  readonly label: string
  readonly hint: string
  readonly checked: boolean
  readonly onChange: (on: boolean) => void
}) => (
  <label className="flex min-h-11 items-start gap-3 text-slate-900">
    <input type="checkbox" className="mt-1 size-5 shrink-0" checked={checked} onChange={(e) => onChange(e.target.checked)} />
    <span>{label}<span className="block text-sm text-slate-600">{hint}</span></span>
  </label>
)

/** An allow list's cameras: admins choose them (the camera list is theirs); others are told who can. */
const GateCameras = ({ selected, onChange }: { readonly selected: ReadonlyArray<string>; readonly onChange: (ids: ReadonlyArray<string>) => void }) => {
  const admin = useMe().role === "admin"
  const [cameras] = useRpc(() => (admin ? withRpc((rpc) => rpc.cameras.list({})) : undefined), [admin])
  if (!admin) return <p className="text-sm text-slate-700">An admin chooses the cameras an allow list guards.</p>
  return (
    <fieldset className="flex flex-col">
      <legend className="mb-1 font-medium text-slate-900">Cameras it guards</legend>
      {cameras.state === "failed" && <ProblemNote problem={cameras.problem} />}
      {valueOf(cameras)?.map((camera) => (
        <label key={camera.camera_id} className="flex min-h-11 items-center gap-3 text-slate-900">
          <input type="checkbox" className="size-5" checked={selected.includes(camera.camera_id)}
            onChange={(e) => onChange(e.target.checked ? [...selected, camera.camera_id] : selected.filter((id) => id !== camera.camera_id))} />
          {cameraLabel(camera)}{camera.site ? ` · ${camera.site}` : ""}
        </label>
      ))}
    </fieldset>
  )
}

/** A list's settings, for a new list and for changing one. */
export const ListForm = ({ initial, submitLabel, result, onSubmit, editing = false }: {
  readonly initial: ListDraft
  readonly submitLabel: string
  readonly result: Remote<unknown>
  readonly onSubmit: (draft: ListDraft) => void
  readonly editing?: boolean
}) => {
  const [draft, setDraft] = useState(initial)
  const set = (change: Partial<ListDraft>) => setDraft({ ...draft, ...change })
  return (
    <form className="flex flex-col gap-3" onSubmit={(event) => {
      event.preventDefault()
      onSubmit(draft)
    }}>
      <div className="grid gap-3 sm:grid-cols-2">
        <TextField label="Name" value={draft.name} onChange={(e) => set({ name: e.target.value })} required maxLength={100} />
        <SelectField label="Category" value={draft.category} onChange={(e) => set({ category: e.target.value as WatchlistCategory })}
          hint={draft.category === "allow" ? "An allow list alerts on plates NOT on it, at the cameras an admin binds it to." : undefined}>
          {CATEGORIES.map((c) => <option key={c} value={c}>{CATEGORY_LABEL[c]}</option>)}
        </SelectField>
        <SelectField label="Priority" value={draft.priority} onChange={(e) => set({ priority: Number(e.target.value) })}>
          {[1, 2, 3, 4, 5].map((p) => <option key={p} value={p}>{p}{p === 1 ? " (most urgent)" : p === 5 ? " (least)" : ""}</option>)}
        </SelectField>
        <TextField label="Colour on the wall" type="color" value={draft.colour} onChange={(e) => set({ colour: e.target.value })}
          className="[&_input]:h-11 [&_input]:p-1" />
      </div>
      {draft.category === "allow" && <GateCameras selected={draft.cameraIds} onChange={(cameraIds) => set({ cameraIds })} />}
      <Check label="Shared" hint="Everybody signed in sees the list and its alerts; otherwise only you and admins."
        checked={draft.shared} onChange={(shared) => set({ shared })} />
      <Check label="Alert before review"
        hint="Reads from footage, and a camera's reads below its confidence threshold, alert this list at once instead of after a person reviews them."
        checked={draft.alertUnreviewed} onChange={(alertUnreviewed) => set({ alertUnreviewed })} />
      {editing && (
        <Check label="Active" hint="An inactive list raises no alerts." checked={draft.active} onChange={(active) => set({ active })} />
      )}
      {result.state === "failed" && <ProblemNote problem={result.problem} />}
      {result.state === "ready" && editing && <Notice tone="success">Saved.</Notice>}
      <Button type="submit" className="self-start" disabled={result.state === "loading"}>{submitLabel}</Button>
    </form>
  )
}
