import type { CsvImportChunk, CsvImportResult } from "@chaverim/domain/rpc/Watchlists"
import { type ImportChunk, importChunks, MAX_REPORTED_ERRORS } from "@chaverim/domain/WatchlistCsv"
import { useState } from "react"
import type { Problem } from "../../client/problem"
import { useRpcAction, withRpc } from "../../client/rpc"
import { Button, Notice, ProblemNote, TextField } from "../../ui/controls"

interface Totals {
  readonly imported: number
  readonly updated: number
  readonly unchanged: number
  readonly rejected: number
  readonly errors: CsvImportResult["errors"]
}

const NONE: Totals = { imported: 0, updated: 0, unchanged: 0, rejected: 0, errors: [] }

const add = (totals: Totals, result: CsvImportResult): Totals => ({
  imported: totals.imported + result.imported,
  updated: totals.updated + result.updated,
  unchanged: totals.unchanged + result.unchanged,
  rejected: totals.rejected + result.rejected,
  errors: [...totals.errors, ...result.errors].slice(0, MAX_REPORTED_ERRORS)
})

// crypto.randomUUID exists only on HTTPS or localhost; a server reached over plain HTTP on a LAN is neither.
const uuid = () => {
  const b = crypto.getRandomValues(new Uint8Array(16))
  b[6] = (b[6]! & 0x0f) | 0x40
  b[8] = (b[8]! & 0x3f) | 0x80
  const hex = [...b].map((x) => x.toString(16).padStart(2, "0")).join("")
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

type Progress =
  | { readonly state: "idle" }
  | { readonly state: "running" | "done"; readonly line: number; readonly lines: number; readonly totals: Totals }
  | { readonly state: "failed"; readonly line: number; readonly lines: number; readonly totals: Totals; readonly problem: Problem }

const Report = ({ totals }: { readonly totals: Totals }) => (
  <div className="flex flex-col gap-2">
    <p className="text-slate-900">
      {totals.imported} new, {totals.updated} updated, {totals.unchanged} unchanged, {totals.rejected} bad line{totals.rejected === 1 ? "" : "s"}
    </p>
    {totals.errors.length > 0 && (
      <div>
        <h3 className="font-semibold text-slate-900">Bad lines (not imported)</h3>
        <ul className="max-h-64 overflow-y-auto rounded border border-red-200 bg-red-50 p-2 text-sm text-red-950" aria-label="Bad lines">
          {totals.errors.map((e) => <li key={e.line}>line {e.line}: {e.message}</li>)}
        </ul>
        {totals.rejected > totals.errors.length && <p className="text-sm text-slate-700">The first {totals.errors.length} are listed.</p>}
      </div>
    )}
  </div>
)

/**
 * A CSV file into the list, in chunks that fit an RPC message, with a progress bar. Each chunk stands
 * alone and importing is idempotent, so after a failure the same file can simply be imported again.
 */
export const CsvImport = ({ watchlistId, onImported }: { readonly watchlistId: string; readonly onImported: () => void }) => {
  const [file, setFile] = useState<File>()
  const [reason, setReason] = useState("")
  const [progress, setProgress] = useState<Progress>({ state: "idle" })
  const [, send] = useRpcAction((chunk: CsvImportChunk) => withRpc((rpc) => rpc.watchlists.importCsv(chunk)))

  const run = async (chunks: ReadonlyArray<ImportChunk>) => {
    const lines = chunks[chunks.length - 1]?.last_line ?? 0
    const importId = uuid()
    let totals = NONE
    setProgress({ state: "running", line: 1, lines, totals })
    for (const chunk of chunks) {
      const result = await send({
        watchlist_id: watchlistId,
        csv: chunk.csv,
        first_line: chunk.first_line,
        ...(reason.trim() === "" ? {} : { reason: reason.trim() }),
        import_id: importId
      })
      if (result.state !== "ready") {
        const problem = result.state === "failed" ? result.problem : { kind: "failed" as const, message: "The import stopped." }
        setProgress({ state: "failed", line: chunk.first_line - 1, lines, totals, problem })
        onImported()
        return
      }
      totals = add(totals, result.value)
      setProgress({ state: "running", line: result.value.last_line, lines, totals })
    }
    setProgress({ state: "done", line: lines, lines, totals })
    onImported()
  }

  const running = progress.state === "running"
  return (
    <form className="flex flex-col gap-3" onSubmit={async (event) => {
      event.preventDefault()
      if (file === undefined) return
      void run(importChunks(await file.text()))
    }}>
      <p className="text-sm text-slate-700">
        A header row with <code>plate</code>; optional <code>kind</code>, <code>note</code>, <code>reason</code>, <code>expires_at</code>.
        A plate already on the list is updated, not repeated. A line without a reason takes the default reason;
        without one, it is reported as a bad line.
      </p>
      <div className="grid gap-3 sm:grid-cols-2">
        <div>
          <label htmlFor="csv-file" className="mb-1 block text-sm font-medium text-slate-800">CSV file</label>
          <input id="csv-file" type="file" accept=".csv,text/csv" required disabled={running}
            onChange={(e) => setFile(e.target.files?.[0])}
            className="block w-full text-slate-900 file:mr-3 file:min-h-11 file:rounded-lg file:border-0 file:bg-slate-200 file:px-3 file:font-medium" />
        </div>
        <TextField label="Reason for lines without one (optional)" value={reason} onChange={(e) => setReason(e.target.value)} maxLength={500}
          disabled={running} hint="e.g. the daily hot sheet's number; without it, such a line is a bad line" />
      </div>
      <Button type="submit" className="self-start" disabled={running || file === undefined}>Import</Button>
      {progress.state !== "idle" && (
        <div className="flex flex-col gap-2">
          <label htmlFor="csv-progress" className="text-sm font-medium text-slate-800">
            {progress.state === "done" ? "Imported" : progress.state === "failed" ? "Stopped at" : "Importing"}: line {progress.line} of {progress.lines}
          </label>
          <progress id="csv-progress" max={Math.max(1, progress.lines)} value={progress.line} className="h-3 w-full" />
          {progress.state === "failed" && <ProblemNote problem={progress.problem} />}
          {progress.state === "done" && <Notice tone={progress.totals.rejected > 0 ? "warning" : "success"}>Import finished.</Notice>}
          <Report totals={progress.totals} />
        </div>
      )}
    </form>
  )
}
