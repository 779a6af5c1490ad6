import type { AuditEntry } from "@chaverim/domain/rpc/Audit"
import { useState } from "react"
import { definedFields } from "../../client/fields"
import { useRpc, useRpcAction, withRpc } from "../../client/rpc"
import { usePages } from "../../client/usePages"
import { Badge, Button, Loading, MorePages, ProblemNote, SelectField, TextField } from "../../ui/controls"
import { formatDateTime } from "../../ui/format"

type Outcome = AuditEntry["outcome"]

interface Filter {
  readonly actor: string
  readonly action: string
  readonly outcome: "" | Outcome
  readonly target: string
  readonly from: string
  readonly to: string
}

const EMPTY: Filter = { actor: "", action: "", outcome: "", target: "", from: "", to: "" }
const PAGE = 100

const text = (value: string) => (value.trim() === "" ? undefined : value.trim())
const instant = (value: string) => (value === "" ? undefined : new Date(value).toISOString())

const queryOf = (filter: Filter, before?: string) => ({
  limit: PAGE,
  ...definedFields({
    actor: text(filter.actor),
    action: text(filter.action),
    outcome: filter.outcome === "" ? undefined : filter.outcome,
    target: text(filter.target),
    from: instant(filter.from),
    to: instant(filter.to),
    before
  })
})

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

/** Newest first, a page at a time; each row opens to its details and its place in the hash chain. */
export const Audit = () => {
  const [filter, setFilter] = useState(EMPTY)
  const [first] = useRpc(() => withRpc((rpc) => rpc.audit.list(queryOf(filter))), [filter])
  const [more, loadMore] = useRpcAction((before: string) => withRpc((rpc) => rpc.audit.list(queryOf(filter, before))))
  const { items: entries, next, add } = usePages(first)

  return (
    <section className="flex flex-col gap-4" aria-label="Audit log">
      <FilterForm initial={filter} onApply={setFilter} />
      {first.state === "failed" && <ProblemNote problem={first.problem} />}
      {first.state === "loading" && <Loading />}
      {first.state === "ready" && entries.length === 0 && <p className="text-slate-700">No entries match.</p>}
      <ol className="flex flex-col gap-1">{entries.map((entry) => <Entry key={entry.id} entry={entry} />)}</ol>
      <MorePages next={next} more={more} load={loadMore} label="Older entries" onPage={add} />
    </section>
  )
}
