import type { Hold, HoldRequest } from "@chaverim/domain/Holds"
import { useState } from "react"
import { withApi } from "../../client/api"
import { definedFields } from "../../client/fields"
import { useRpc, withRpc } from "../../client/rpc"
import { useMe } from "../../client/session"
import { useApi, useApiAction } from "../../client/useApi"
import { Link, useLocation } from "../../router"
import { Badge, Button, Loaded, Notice, PlateText, ProblemNote, SelectField, TextField } from "../../ui/controls"
import { formatDateTime } from "../../ui/format"

type Scope = "plate" | "detections" | "camera"
type Status = "active" | "released" | "all"

interface Draft {
  readonly scope: Scope
  readonly plate: string
  readonly detections: string
  readonly camera: string
  readonly from: string
  readonly to: string
  readonly caseNumber: string
  readonly reason: string
}

const requestOf = (draft: Draft): HoldRequest => ({
  case_number: draft.caseNumber,
  reason: draft.reason,
  ...definedFields({
    plate: draft.scope === "plate" ? draft.plate : undefined,
    detections: draft.scope === "detections"
      ? draft.detections.split(/[\s,]+/).map((id) => id.trim()).filter((id) => id !== "")
      : undefined,
    camera_id: draft.scope === "camera" ? draft.camera.trim() : undefined,
    from: draft.scope === "camera" && draft.from !== "" ? new Date(draft.from) : undefined,
    to: draft.scope === "camera" && draft.to !== "" ? new Date(draft.to) : undefined
  })
})

/** What a hold covers, in words. */
const scopeText = (hold: Hold) =>
  hold.scope === "plate"
    ? <>the reads of <PlateText plate={hold.plate ?? ""} /> (and reads corrected to it)</>
    : hold.scope === "detections"
    ? <>{hold.detection_ids?.length ?? 0} listed read{hold.detection_ids?.length === 1 ? "" : "s"}</>
    : <>camera {hold.camera_name ?? hold.camera_id} from {hold.from && formatDateTime(hold.from)} to {hold.to && formatDateTime(hold.to)}</>

const NewHold = ({ plate, onMade }: { readonly plate: string | undefined; readonly onMade: () => void }) => {
  const [draft, setDraft] = useState<Draft>({
    scope: "plate",
    plate: plate ?? "",
    detections: "",
    camera: "",
    from: "",
    to: "",
    caseNumber: "",
    reason: ""
  })
  const set = (change: Partial<Draft>) => setDraft({ ...draft, ...change })
  // The placed cameras, as the wall knows them (operators may not list every camera).
  const [cameras] = useRpc(() => withRpc((rpc) => rpc.wall.status({ since: new Date().toISOString() })), [])
  const placed = cameras.state === "ready" ? cameras.value.cameras : []
  const [made, make] = useApiAction((request: HoldRequest) => withApi((api) => api.holds.create({ payload: request })))
  return (
    <form aria-label="New legal hold" className="flex flex-col gap-3 rounded-lg bg-white p-3 ring-1 ring-slate-200"
      onSubmit={async (event) => {
        event.preventDefault()
        const result = await make(requestOf(draft))
        if (result.state === "ready") onMade()
      }}>
      <h2 className="text-lg font-semibold text-slate-900">New hold</h2>
      <SelectField label="What to hold" value={draft.scope} onChange={(e) => set({ scope: e.target.value as Scope })}>
        <option value="plate">A plate's reads</option>
        <option value="detections">Reads by their numbers</option>
        <option value="camera">A camera over a time range</option>
      </SelectField>
      {draft.scope === "plate" && (
        <TextField label="Plate" value={draft.plate} onChange={(e) => set({ plate: e.target.value })} autoCapitalize="characters"
          hint="Its reads now and to come, and the reads corrected to it." required />
      )}
      {draft.scope === "detections" && (
        <TextField label="Read numbers" value={draft.detections} onChange={(e) => set({ detections: e.target.value })}
          hint="Comma-separated, as search results show them." inputMode="numeric" required />
      )}
      {draft.scope === "camera" && (
        <div className="grid gap-3 sm:grid-cols-3">
          {placed.length > 0
            ? (
              <SelectField label="Camera" value={draft.camera} onChange={(e) => set({ camera: e.target.value })} required>
                <option value="">Choose a camera</option>
                {placed.map((c) => <option key={c.camera_id} value={c.camera_id}>{c.name ?? c.camera_id}{c.site ? ` (${c.site})` : ""}</option>)}
              </SelectField>
            )
            : <TextField label="Camera id" value={draft.camera} onChange={(e) => set({ camera: e.target.value })} required />}
          <TextField label="From" type="datetime-local" value={draft.from} onChange={(e) => set({ from: e.target.value })} required />
          <TextField label="To" type="datetime-local" value={draft.to} onChange={(e) => set({ to: e.target.value })} required />
        </div>
      )}
      <div className="grid gap-3 sm:grid-cols-2">
        <TextField label="Case number" value={draft.caseNumber} onChange={(e) => set({ caseNumber: e.target.value })} required maxLength={64} />
        <TextField label="Reason" value={draft.reason} onChange={(e) => set({ reason: e.target.value })} required maxLength={500}
          hint="Why these reads must be kept past the retention periods (audited)." />
      </div>
      {made.state === "failed" && <ProblemNote problem={made.problem} />}
      {made.state === "ready" && (
        <Notice tone="success">Hold made for case {made.value.case_number}: it covers {made.value.detections} read{made.value.detections === 1 ? "" : "s"} now.</Notice>
      )}
      <Button type="submit" className="self-start" disabled={made.state === "loading"}>Put on hold</Button>
    </form>
  )
}

const Release = ({ hold, onReleased }: { readonly hold: Hold; readonly onReleased: () => void }) => {
  const [note, setNote] = useState("")
  const [released, release] = useApiAction(() =>
    withApi((api) => api.holds.release({ path: { id: hold.id }, payload: definedFields({ note: note.trim() || undefined }) }))
  )
  return (
    <form className="mt-2 flex flex-wrap items-end gap-2" aria-label={`Release the hold of case ${hold.case_number}`}
      onSubmit={async (event) => {
        event.preventDefault()
        if (!window.confirm(`Release the hold of case ${hold.case_number}? Its reads fall under the retention periods again at the next run.`)) return
        const result = await release()
        if (result.state === "ready") onReleased()
      }}>
      <TextField label="Release note" value={note} onChange={(e) => setNote(e.target.value)} maxLength={500} className="min-w-60 flex-1" />
      <Button type="submit" variant="danger" disabled={released.state === "loading"}>Release</Button>
      {released.state === "failed" && <ProblemNote problem={released.problem} />}
    </form>
  )
}

/**
 * Legal holds: operators put a case's reads on hold (they then outlive the retention periods, photos
 * and audit rows too), admins release them. Everything here is audited by the server.
 */
const Holds = () => {
  const me = useMe()
  const { query } = useLocation()
  const [status, setStatus] = useState<Status>("active")
  const [holds, reload] = useApi(() => withApi((api) => api.holds.list({ urlParams: { status } })), [status])
  if (me.role === "viewer") {
    return <p className="py-6 text-slate-800">Legal holds are for operators and admins; you are signed in as a viewer.</p>
  }
  return (
    <div className="flex flex-col gap-4">
      <h1 className="text-xl font-bold text-slate-900" tabIndex={-1}>Legal holds</h1>
      <p className="text-slate-800">
        A held read is kept, with its photos and its audit rows, past the retention periods until an admin releases the hold.
        {me.role === "admin" && <> The periods are under <Link to="/admin/retention" className="text-blue-800 underline">Admin: Retention</Link>.</>}
      </p>
      <NewHold plate={query.get("plate") ?? undefined} onMade={reload} />
      <SelectField label="Show" value={status} className="max-w-60" onChange={(e) => setStatus(e.target.value as Status)}>
        <option value="active">Active holds</option>
        <option value="released">Released holds</option>
        <option value="all">All holds</option>
      </SelectField>
      <Loaded remote={holds}>
        {({ items }) => items.length === 0
          ? <p className="text-slate-700">No holds.</p>
          : (
            <ul aria-label="Holds" className="flex flex-col gap-2">
              {items.map((hold) => (
                <li key={hold.id} className="rounded-lg bg-white p-3 ring-1 ring-slate-200">
                  <div className="flex flex-wrap items-center gap-x-3 gap-y-1">
                    <span className="font-semibold text-slate-900">Case {hold.case_number}</span>
                    {hold.released_at === null ? <Badge tone="warn">active</Badge> : <Badge>released</Badge>}
                    <span className="text-sm text-slate-800">{hold.detections} read{hold.detections === 1 ? "" : "s"} held</span>
                  </div>
                  <p className="mt-1 text-slate-800">Holds {scopeText(hold)}.</p>
                  <p className="text-sm text-slate-700">“{hold.reason}”, by {hold.created_by}, {formatDateTime(hold.created_at)}</p>
                  {hold.released_at !== null && (
                    <p className="text-sm text-slate-700">
                      Released by {hold.released_by}, {formatDateTime(hold.released_at)}{hold.release_note ? `: “${hold.release_note}”` : ""}
                    </p>
                  )}
                  {hold.released_at === null && me.role === "admin" && <Release hold={hold} onReleased={reload} />}
                </li>
              ))}
            </ul>
          )}
      </Loaded>
    </div>
  )
}

export default Holds
