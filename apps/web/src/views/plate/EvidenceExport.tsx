import type { ExportRequestRecord } from "@chaverim/domain/Evidence"
import { useEffect, useRef, useState } from "react"
import { withApi } from "../../client/api"
import type { SessionReason } from "../../client/reason"
import { useApi, useApiAction } from "../../client/useApi"
import { Badge, Button, Notice, ProblemNote, TextField } from "../../ui/controls"
import { formatShort } from "../../ui/format"

/** A name any file system takes, from the plate and the case number. */
const fileName = (plate: string, caseNumber: string) =>
  `evidence-${plate}-${caseNumber.replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 40)}.zip`

/**
 * Exports the plate's reads for a case as a signed bundle (zip) the recipient verifies offline: the
 * case number is required, the reason is the one given for looking into the plate. Recorded and
 * audited by the server before the bundle is sent.
 */
export const EvidenceExport = ({ plate, reason }: { readonly plate: string; readonly reason: SessionReason }) => {
  const [caseNumber, setCaseNumber] = useState(reason.caseNumber)
  const [withCorrections, setWithCorrections] = useState(true)
  const [download, setDownload] = useState<{ readonly url: string; readonly name: string; readonly bytes: number }>()
  const [pending, setPending] = useState<ExportRequestRecord>()
  const link = useRef<HTMLAnchorElement>(null)
  const [made, exportBundle] = useApiAction((number: string) =>
    withApi((api) =>
      api.evidence.export({
        payload: {
          plate,
          with_corrections: withCorrections,
          case_number: number,
          reason_code: reason.code,
          ...(reason.text.trim() === "" ? {} : { reason: reason.text.trim() })
        }
      })
    )
  )
  // The bundle is handed to the browser as a download as soon as it arrives.
  useEffect(() => {
    if (download !== undefined) link.current?.click()
    return () => {
      if (download !== undefined) URL.revokeObjectURL(download.url)
    }
  }, [download])

  return (
    <section aria-label="Export evidence" className="flex max-w-xl flex-col gap-3">
      <p className="text-slate-800">
        Every read of <strong className="font-mono">{plate}</strong>, with its photos, corrections, chain of custody and
        audit rows, in a zip signed with this installation's evidence key, for the reason given above. The recipient
        checks it offline with tools/verify-evidence.mjs from the Chaverim ALPR repository.
      </p>
      <form className="flex flex-col gap-3" onSubmit={async (event) => {
        event.preventDefault()
        setDownload(undefined)
        setPending(undefined)
        const result = await exportBundle(caseNumber.trim())
        if (result.state !== "ready") return
        const bytes = result.value
        if (!(bytes instanceof Uint8Array)) {
          // EXPORT_APPROVAL=required: recorded as asked for; an admin approves it before any bundle leaves.
          setPending(bytes)
        } else {
          const blob = new Blob([bytes as Uint8Array<ArrayBuffer>], { type: "application/zip" })
          setDownload({ url: URL.createObjectURL(blob), name: fileName(plate, caseNumber.trim()), bytes: bytes.byteLength })
        }
      }}>
        <TextField label="Case number" required maxLength={64} value={caseNumber} autoComplete="off"
          onChange={(e) => setCaseNumber(e.target.value)} />
        <label className="flex min-h-11 items-center gap-2 text-slate-900">
          <input type="checkbox" className="size-5" checked={withCorrections} onChange={(e) => setWithCorrections(e.target.checked)} />
          Also the reads an operator corrected to this plate
        </label>
        <Button type="submit" className="self-start" disabled={made.state === "loading" || reason.code === ""}>
          {made.state === "loading" ? "Making the bundle…" : "Export evidence (zip)"}
        </Button>
      </form>
      {reason.code === "" && <p className="text-sm text-slate-800">An export needs a reason code: change the reason above.</p>}
      {made.state === "failed" && <ProblemNote problem={made.problem} />}
      {download !== undefined && (
        <Notice tone="success">
          Bundle made and recorded: <a ref={link} href={download.url} download={download.name}
            className="font-medium text-blue-800 underline underline-offset-2">{download.name}</a> ({Math.ceil(download.bytes / 1024)} KiB).
        </Notice>
      )}
      {pending !== undefined && (
        <Notice tone="info">
          Export asked for and recorded ({pending.detections} reads, {pending.images} photos). This installation requires a
          second person's approval: an admin other than you approves it, then you download the bundle below.
        </Notice>
      )}
      <Requests plate={plate} version={pending?.id ?? ""} />
    </section>
  )
}

const STATE: Record<ExportRequestRecord["state"], { readonly label: string; readonly tone: "warn" | "good" | "bad" }> = {
  pending: { label: "Awaiting approval", tone: "warn" },
  approved: { label: "Approved", tone: "good" },
  refused: { label: "Refused", tone: "bad" }
}

/** The exports of this plate one asked for while approval is required, with their state and, once approved, the bundle. */
const Requests = ({ plate, version }: { readonly plate: string; readonly version: string }) => {
  const [requests, reload] = useApi(() => withApi((api) => api.evidence.requests({ urlParams: { limit: 50 } })), [version])
  const mine = requests.state === "ready" ? requests.value.items.filter((r) => r.selection.kind === "plate" && r.selection.plate === plate) : []
  if (mine.length === 0) return null
  return (
    <section aria-label="Exports asked for" className="flex flex-col gap-2">
      <div className="flex items-center gap-3">
        <h3 className="font-bold text-slate-900">Exports of this plate asked for</h3>
        <Button variant="secondary" onClick={reload}>Refresh</Button>
      </div>
      <ul className="flex flex-col gap-2">{mine.map((r) => <RequestRow key={r.id} request={r} plate={plate} />)}</ul>
    </section>
  )
}

const RequestRow = ({ request, plate }: { readonly request: ExportRequestRecord; readonly plate: string }) => {
  const [download, setDownload] = useState<{ readonly url: string; readonly name: string }>()
  const link = useRef<HTMLAnchorElement>(null)
  const [fetched, fetchBundle] = useApiAction(() => withApi((api) => api.evidence.release({ path: { id: request.id } })))
  useEffect(() => {
    if (download !== undefined) link.current?.click()
    return () => {
      if (download !== undefined) URL.revokeObjectURL(download.url)
    }
  }, [download])
  const state = STATE[request.state]
  return (
    <li className="flex flex-col gap-1 rounded-lg bg-white p-3 ring-1 ring-slate-200" data-request={request.id}>
      <p className="flex flex-wrap items-baseline gap-x-3">
        <span className="font-bold text-slate-900">Case {request.case_number}</span>
        <Badge tone={state.tone}>{state.label}</Badge>
        <span className="text-sm text-slate-700">asked {formatShort(request.created_at)} · {request.detections} reads</span>
      </p>
      {request.state !== "pending" && (
        <p className="text-sm text-slate-800">
          {request.state === "approved" ? "Approved" : "Refused"} by {request.decided_by}
          {request.decided_at ? ` · ${formatShort(request.decided_at)}` : ""}{request.decision_note ? `: ${request.decision_note}` : ""}
        </p>
      )}
      {request.state === "approved" && (
        <Button className="self-start" disabled={fetched.state === "loading"} onClick={async () => {
          const result = await fetchBundle()
          if (result.state === "ready") {
            const blob = new Blob([result.value as Uint8Array<ArrayBuffer>], { type: "application/zip" })
            setDownload({ url: URL.createObjectURL(blob), name: fileName(plate, request.case_number) })
          }
        }}>
          {fetched.state === "loading" ? "Making the bundle…" : "Download the bundle (zip)"}
        </Button>
      )}
      {fetched.state === "failed" && <ProblemNote problem={fetched.problem} />}
      {download !== undefined && (
        <Notice tone="success">
          Bundle made and recorded: <a ref={link} href={download.url} download={download.name}
            className="font-medium text-blue-800 underline underline-offset-2">{download.name}</a>
        </Notice>
      )}
    </li>
  )
}
