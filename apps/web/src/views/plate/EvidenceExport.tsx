import { useEffect, useRef, useState } from "react"
import { withApi } from "../../client/api"
import type { SessionReason } from "../../client/reason"
import { useApiAction } from "../../client/useApi"
import { Button, Notice, ProblemNote, TextField } from "../../ui/controls"

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
        const result = await exportBundle(caseNumber.trim())
        if (result.state === "ready") {
          const bytes = result.value
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
    </section>
  )
}
