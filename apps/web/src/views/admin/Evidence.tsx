import type { ExportRecord, ExportRequestRecord } from "@chaverim/domain/Evidence"
import { useState } from "react"
import { withApi } from "../../client/api"
import { useSession } from "../../client/session"
import { useApi, useApiAction } from "../../client/useApi"
import { usePages } from "../../client/usePages"
import { Button, Loaded, Loading, MorePages, Notice, ProblemNote, TextField } from "../../ui/controls"
import { formatShort } from "../../ui/format"

const PAGE = 50

const load = (cursor?: string) =>
  withApi((api) => api.evidence.list({ urlParams: { limit: PAGE, ...(cursor === undefined ? {} : { cursor }) } }))

const selection = (s: ExportRecord["selection"]) =>
  s.kind === "plate"
    ? `plate ${s.plate}${s.with_corrections ? " with its corrections" : ""}`
    : s.kind === "detections"
    ? `${s.detection_ids?.length ?? 0} reads by id`
    : `camera ${s.camera_id} from ${s.from ? formatShort(s.from) : "?"} to ${s.to ? formatShort(s.to) : "?"}`

const Row = ({ record }: { readonly record: ExportRecord }) => (
  <li className="flex flex-col gap-1 rounded-lg bg-white p-3 ring-1 ring-slate-200">
    <p className="flex flex-wrap items-baseline gap-x-3">
      <span className="font-bold text-slate-900">Case {record.case_number}</span>
      <span className="text-slate-900">{record.reason_code}{record.reason ? `: ${record.reason}` : ""}</span>
    </p>
    <p className="text-sm text-slate-800">
      {selection(record.selection)} · {record.detections} reads, {record.images} photos
      {record.images_not_matching > 0 ? ` (${record.images_not_matching} not as recorded at ingest)` : ""}
    </p>
    <p className="text-sm text-slate-700">
      by {record.exported_by ?? "the command line"} · {formatShort(record.created_at)}
    </p>
    <p className="break-all font-mono text-xs text-slate-700">SHA-256 {record.sha256}</p>
  </li>
)

/** One export awaiting approval: approved, or refused with a note saying why (by an admin who did not ask for it). */
const PendingRow = ({ request, onDecided }: { readonly request: ExportRequestRecord; readonly onDecided: () => void }) => {
  const [note, setNote] = useState("")
  const [decided, decide] = useApiAction((decision: "approve" | "refuse") =>
    withApi((api) =>
      decision === "approve"
        ? api.evidence.approve({ path: { id: request.id }, payload: note.trim() === "" ? {} : { note: note.trim() } })
        : api.evidence.refuse({ path: { id: request.id }, payload: { note: note.trim() } })
    )
  )
  const act = async (decision: "approve" | "refuse") => {
    if ((await decide(decision)).state === "ready") onDecided()
  }
  const { session } = useSession()
  // The server refuses a requester deciding their own export; say so instead of offering the buttons.
  const mine = session.state === "signed-in" && request.requested_by === session.me.username
  return (
    <li className="flex flex-col gap-2 rounded-lg bg-white p-3 ring-1 ring-slate-200" data-request={request.id}>
      <p className="flex flex-wrap items-baseline gap-x-3">
        <span className="font-bold text-slate-900">Case {request.case_number}</span>
        <span className="text-slate-900">{request.reason_code}{request.reason ? `: ${request.reason}` : ""}</span>
      </p>
      <p className="text-sm text-slate-800">
        {selection(request.selection)} · {request.detections} reads, {request.images} photos
      </p>
      <p className="text-sm text-slate-700">
        asked by {request.requested_by ?? "the command line"} · {formatShort(request.created_at)}
      </p>
      {mine
        ? <p className="text-sm text-slate-800">You asked for this export: another admin approves or refuses it.</p>
        : (
          <>
            <TextField label="Note (required to refuse)" maxLength={500} value={note} autoComplete="off"
              onChange={(e) => setNote(e.target.value)} />
            <div className="flex flex-wrap gap-2">
              <Button disabled={decided.state === "loading"} onClick={() => void act("approve")}>Approve</Button>
              <Button variant="secondary" disabled={decided.state === "loading" || note.trim() === ""}
                onClick={() => void act("refuse")}>
                Refuse
              </Button>
            </div>
          </>
        )}
      {decided.state === "failed" && <ProblemNote problem={decided.problem} />}
    </li>
  )
}

/** Exports awaiting a second person's approval (EXPORT_APPROVAL=required), oldest asked first. */
const Pending = () => {
  const [pending, reload] = useApi(() => withApi((api) => api.evidence.requests({ urlParams: { state: "pending", limit: 200 } })), [])
  const [last, setLast] = useState<string>()
  return (
    <section aria-label="Exports awaiting approval" className="flex flex-col gap-3">
      <h2 className="text-lg font-bold text-slate-900">Awaiting approval</h2>
      {last !== undefined && <Notice tone="success">{last}</Notice>}
      <Loaded remote={pending}>
        {(page) =>
          page.items.length === 0
            ? <p className="text-slate-700">No export awaits approval.</p>
            : (
              <ul className="flex flex-col gap-2">
                {[...page.items].reverse().map((r) => (
                  <PendingRow key={r.id} request={r} onDecided={() => {
                    setLast(`Case ${r.case_number}: decided.`)
                    reload()
                  }} />
                ))}
              </ul>
            )}
      </Loaded>
    </section>
  )
}

/** The evidence key agencies pin, exports awaiting approval, and every export made, newest first. */
export const Evidence = () => {
  const [key] = useApi(() => withApi((api) => api.evidence.key()), [])
  const [first] = useApi(() => load(), [])
  const [more, loadMore] = useApiAction((after: string) => load(after))
  const { items, next, add } = usePages(first)
  return (
    <div className="flex flex-col gap-6">
      <section aria-label="Evidence key" className="flex flex-col gap-2">
        <h2 className="text-lg font-bold text-slate-900">Evidence key</h2>
        <Loaded remote={key}>
          {(k) => (
            <>
              <p className="text-slate-800">
                Every export is signed with this Ed25519 key. Give its fingerprint to the agencies that receive exports,
                ahead of time and not with a bundle; it is also public at /api/v1/evidence/key.
              </p>
              <p className="text-sm text-slate-800">Fingerprint (SHA-256 of the public key):</p>
              <code className="select-all break-all rounded bg-white px-2 py-1 font-mono text-slate-900 ring-1 ring-slate-200">{k.fingerprint}</code>
              <p className="text-sm text-slate-800">Short form, for reading aloud: <span className="font-mono">{k.fingerprint_short}</span></p>
              <details>
                <summary className="min-h-11 cursor-pointer py-2 text-blue-800">Public key (PEM)</summary>
                <pre className="whitespace-pre-wrap break-all rounded bg-white p-2 text-xs ring-1 ring-slate-200">{k.public_key_pem}</pre>
              </details>
            </>
          )}
        </Loaded>
      </section>
      <Pending />
      <section aria-label="Evidence exports" className="flex flex-col gap-3">
        <h2 className="text-lg font-bold text-slate-900">Exports</h2>
        {first.state === "failed" && <ProblemNote problem={first.problem} />}
        {first.state === "loading" && <Loading />}
        {first.state === "ready" && items.length === 0 && <p className="text-slate-700">No exports yet.</p>}
        <ul className="flex flex-col gap-2">{items.map((r) => <Row key={r.id} record={r} />)}</ul>
        <MorePages next={next} more={more} load={loadMore} label="Older exports" onPage={add} />
      </section>
    </div>
  )
}
