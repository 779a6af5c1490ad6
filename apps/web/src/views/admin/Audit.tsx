import { AUDIT_EXPORT_MAX_ROWS, type AuditEntry } from "@chaverim/domain/rpc/Audit"
import * as Chunk from "effect/Chunk"
import * as Stream from "effect/Stream"
import { useState } from "react"
import { definedFields } from "../../client/fields"
import { useRpc, useRpcAction, withRpc } from "../../client/rpc"
import { usePages } from "../../client/usePages"
import { Badge, Button, Loading, MorePages, Notice, ProblemNote, SelectField, TextField } from "../../ui/controls"
import { formatDateTime } from "../../ui/format"
import { saveFile } from "../../ui/saveFile"

type Outcome = AuditEntry["outcome"]

interface Filter {
  readonly text: string
  readonly actor: string
  readonly action: string
  readonly outcome: "" | Outcome
  readonly target: string
  readonly from: string
  readonly to: string
}

const EMPTY: Filter = { text: "", actor: "", action: "", outcome: "", target: "", from: "", to: "" }
const PAGE = 100

const text = (value: string) => (value.trim() === "" ? undefined : value.trim())
const instant = (value: string) => (value === "" ? undefined : new Date(value).toISOString())

const filterOf = (filter: Filter) =>
  definedFields({
    text: text(filter.text),
    actor: text(filter.actor),
    action: text(filter.action),
    outcome: filter.outcome === "" ? undefined : filter.outcome,
    target: text(filter.target),
    from: instant(filter.from),
    to: instant(filter.to)
  })

const queryOf = (filter: Filter, before?: string) => ({ limit: PAGE, ...filterOf(filter), ...definedFields({ before }) })

const OUTCOME_TONE = { success: "good", failure: "warn", denied: "bad" } as const

const Entry = ({ entry }: { readonly entry: AuditEntry }) => (
  <li className="rounded-lg bg-white p-2 ring-1 ring-slate-200">
    <details>
      <summary className="flex min-h-11 cursor-pointer flex-wrap items-center gap-x-3 gap-y-1">
        <time dateTime={entry.at} className="text-sm text-slate-700">{formatDateTime(entry.at)}</time>
        <span className="font-medium text-slate-900">{entry.actor_username ?? "system"}</span>
        <code className="text-slate-900">{entry.action}</code>
        {entry.target && <span className="break-all text-sm text-slate-700">{entry.target}</span>}
        <Badge tone={OUTCOME_TONE[entry.outcome]}>{entry.outcome}</Badge>
        {typeof entry.details.reason_code === "string" && <Badge>{entry.details.reason_code}</Badge>}
        {typeof entry.details.case_number === "string" && <span className="text-sm text-slate-800">case {entry.details.case_number}</span>}
        {entry.reason && <span className="text-sm text-slate-800">“{entry.reason}”</span>}
      </summary>
      <dl className="mt-2 grid grid-cols-[auto_1fr] gap-x-3 text-sm text-slate-800">
        <dt className="font-medium">From</dt><dd>{entry.address ?? "unknown"}</dd>
        <dt className="font-medium">Row</dt><dd>{entry.id}</dd>
        <dt className="font-medium">Hash</dt><dd className="break-all font-mono text-xs">{entry.hash}</dd>
        <dt className="font-medium">Details</dt>
        <dd><pre className="overflow-x-auto whitespace-pre-wrap break-all font-mono text-xs">{JSON.stringify(entry.details, null, 2)}</pre></dd>
      </dl>
    </details>
  </li>
)

const FilterForm = ({ initial, onApply }: { readonly initial: Filter; readonly onApply: (filter: Filter) => void }) => {
  const [draft, setDraft] = useState(initial)
  const set = (change: Partial<Filter>) => setDraft({ ...draft, ...change })
  return (
    <form className="grid gap-3 rounded-lg bg-white p-3 ring-1 ring-slate-200 sm:grid-cols-3"
      onSubmit={(event) => {
        event.preventDefault()
        onApply(draft)
      }}>
      <TextField label="Search" type="search" value={draft.text} onChange={(e) => set({ text: e.target.value })} className="sm:col-span-3"
        hint="Words found anywhere in the action, who, the target, the reason or the details" autoCapitalize="none" />
      <TextField label="Who (username)" value={draft.actor} onChange={(e) => set({ actor: e.target.value })} autoCapitalize="none" />
      <TextField label="Action" value={draft.action} onChange={(e) => set({ action: e.target.value })} hint="A prefix: user. finds user.create, …" autoCapitalize="none" />
      <SelectField label="Outcome" value={draft.outcome} onChange={(e) => set({ outcome: e.target.value as Filter["outcome"] })}>
        <option value="">any</option>
        <option value="success">success</option>
        <option value="failure">failure</option>
        <option value="denied">denied</option>
      </SelectField>
      <TextField label="Target" value={draft.target} onChange={(e) => set({ target: e.target.value })} />
      <TextField label="From" type="datetime-local" value={draft.from} onChange={(e) => set({ from: e.target.value })} />
      <TextField label="Until" type="datetime-local" value={draft.to} onChange={(e) => set({ to: e.target.value })} />
      <div className="flex gap-2 sm:col-span-3">
        <Button type="submit">Show</Button>
        <Button variant="secondary" onClick={() => { setDraft(EMPTY); onApply(EMPTY) }}>Clear</Button>
      </div>
    </form>
  )
}

/** The rows the filter shows, as a file: CSV for a spreadsheet, JSON lines for tools. The export is audited. */
const Export = ({ filter }: { readonly filter: Filter }) => {
  const [exported, run] = useRpcAction((format: "csv" | "jsonl") =>
    withRpc((rpc) => Stream.runCollect(rpc.audit.export({ format, ...filterOf(filter) }))))
  const [rows, setRows] = useState<number>()
  const save = async (format: "csv" | "jsonl") => {
    const result = await run(format)
    if (result.state !== "ready") return
    const text = Chunk.join(result.value, "")
    const lines = text === "" ? 0 : text.split("\n").length - 1
    setRows(format === "csv" ? Math.max(0, lines - 1) : lines)
    const stamp = new Date().toISOString().slice(0, 19).replace(/:/g, "-")
    saveFile(text, `audit-${stamp}.${format}`, format === "csv" ? "text/csv;charset=utf-8" : "application/x-ndjson")
  }
  return (
    <div className="flex flex-wrap items-center gap-2">
      <Button variant="secondary" disabled={exported.state === "loading"} onClick={() => void save("csv")}>Export CSV</Button>
      <Button variant="secondary" disabled={exported.state === "loading"} onClick={() => void save("jsonl")}>Export JSON lines</Button>
      {exported.state === "loading" && <Loading label="Exporting" />}
      {exported.state === "failed" && <ProblemNote problem={exported.problem} />}
      {exported.state === "ready" && rows !== undefined && (
        <p role="status" className="text-sm text-slate-800">
          {rows >= AUDIT_EXPORT_MAX_ROWS
            ? `Exported the newest ${AUDIT_EXPORT_MAX_ROWS.toLocaleString()} rows, the most one export holds: narrow the filter for older ones.`
            : `Exported ${rows.toLocaleString()} row${rows === 1 ? "" : "s"}.`}
        </p>
      )}
    </div>
  )
}

/** Checks the whole hash chain on the server: seconds on a large log, so a spinner meanwhile. Audited. */
const Verify = () => {
  const [verified, run] = useRpcAction(() => withRpc((rpc) => rpc.audit.verify()))
  return (
    <div className="flex flex-col gap-2">
      <Button variant="secondary" className="self-start" disabled={verified.state === "loading"} onClick={() => void run()}>
        Verify chain
      </Button>
      {verified.state === "loading" && <Loading label="Checking every row of the chain" />}
      {verified.state === "failed" && <ProblemNote problem={verified.problem} />}
      {verified.state === "ready" && (verified.value.ok
        ? <Notice tone="success">Chain intact: {verified.value.rows.toLocaleString()} rows checked, up to row {verified.value.head.id}.</Notice>
        : (
          <div role="alert" className="rounded-lg border border-red-300 bg-red-50 px-3 py-2 text-red-950">
            Chain broken at row {verified.value.first_broken.id}: {verified.value.first_broken.reason}.
            {" "}{verified.value.rows.toLocaleString()} rows before it are intact.
          </div>
        ))}
    </div>
  )
}

/** Newest first, a page at a time; each row opens to its details and its place in the hash chain. */
export const Audit = () => {
  const [filter, setFilter] = useState(EMPTY)
  const [first] = useRpc(() => withRpc((rpc) => rpc.audit.list(queryOf(filter))), [filter])
  const [more, loadMore] = useRpcAction((before: string) => withRpc((rpc) => rpc.audit.list(queryOf(filter, before))))
  const { items: entries, next, add } = usePages(first)

  return (
    <section className="flex flex-col gap-4" aria-label="Audit log">
      <FilterForm initial={filter} onApply={setFilter} />
      <div className="flex flex-wrap items-start justify-between gap-3">
        <Export filter={filter} />
        <Verify />
      </div>
      {first.state === "failed" && <ProblemNote problem={first.problem} />}
      {first.state === "loading" && <Loading />}
      {first.state === "ready" && entries.length === 0 && <p className="text-slate-700">No entries match.</p>}
      <ol className="flex flex-col gap-1">{entries.map((entry) => <Entry key={entry.id} entry={entry} />)}</ol>
      <MorePages next={next} more={more} load={loadMore} label="Older entries" onPage={add} />
    </section>
  )
}
