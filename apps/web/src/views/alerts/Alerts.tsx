import type { Alert, AlertStatusFilter } from "@chaverim/domain/Alerts"
import { useCallback, useMemo, useState } from "react"
import { withApi } from "../../client/api"
import { useLiveAlerts } from "../../client/live"
import { useMe } from "../../client/session"
import { useApi, useApiAction } from "../../client/useApi"
import { usePages } from "../../client/usePages"
import { Button, Loading, ProblemNote, SelectField } from "../../ui/controls"
import { AlertCard } from "./AlertCard"
import { type Board, latest, withAlert } from "./board"

type Filter = AlertStatusFilter | "all"

const FILTERS: ReadonlyArray<{ readonly key: Filter; readonly label: string }> = [
  { key: "open", label: "Open (new and acknowledged)" },
  { key: "new", label: "New" },
  { key: "acknowledged", label: "Acknowledged" },
  { key: "resolved", label: "Resolved" },
  { key: "all", label: "All" }
]

const PAGE = 25

const load = (filter: Filter, cursor?: string) =>
  withApi((api) => api.alerts.list({
    urlParams: { limit: PAGE, ...(filter === "all" ? {} : { status: filter }), ...(cursor === undefined ? {} : { cursor }) }
  }))

const matches = (filter: Filter, alert: Alert) =>
  filter === "all" || (filter === "open" ? alert.status !== "resolved" : alert.status === filter)

/**
 * One filter's alerts: the first page, "More" pages by keyset cursor, and the live feed on top (new
 * alerts appear first, changes by anyone show at once). An alert that leaves the filter stays until
 * the list is loaded again, so nothing jumps away while someone reads it.
 */
const AlertList = ({ filter }: { readonly filter: Filter }) => {
  const canAct = useMe().role !== "viewer"
  const [first, reload] = useApi(() => load(filter), [filter])
  const [more, loadMore] = useApiAction((cursor: string) => load(filter, cursor))
  const { items: loaded, next, add } = usePages(first)
  const [changes, setChanges] = useState<Board>(new Map())

  const changed = useCallback((alert: Alert) => setChanges((c) => withAlert(c, alert, () => true)), [])
  useLiveAlerts({ onAlert: changed, onResync: reload })

  const items = useMemo(() => {
    const ids = new Set(loaded.map((a) => a.id))
    const arrived = [...changes.values()]
      .filter((a) => !ids.has(a.id) && matches(filter, a))
      .sort((a, b) => b.created_at.localeCompare(a.created_at))
    return [...arrived, ...loaded.map((a) => latest(a, changes.get(a.id)))]
  }, [loaded, changes, filter])

  if (first.state === "loading" || first.state === "idle") return <Loading label="Loading alerts" />
  if (first.state === "failed") return <ProblemNote problem={first.problem} />
  return (
    <div className="flex flex-col gap-3">
      <p role="status" className="font-medium text-slate-800">
        {items.length === 0 ? "No alerts here." : `${items.length}${next ? "+" : ""} alert${items.length === 1 ? "" : "s"}, newest first`}
      </p>
      <ul className="flex flex-col gap-3">
        {items.map((alert) => <li key={alert.id}><AlertCard alert={alert} canAct={canAct} onChanged={changed} /></li>)}
      </ul>
      {more.state === "failed" && <ProblemNote problem={more.problem} />}
      {next !== null && (
        <Button variant="secondary" disabled={more.state === "loading"}
          onClick={async () => {
            const page = await loadMore(next)
            if (page.state === "ready") add(page.value.items, page.value.next_cursor)
          }}>
          {more.state === "loading" ? "Loading…" : "More"}
        </Button>
      )}
    </div>
  )
}

/** The operator's alerts: what the lists caught, acknowledged and resolved from the phone. */
const Alerts = () => {
  const [filter, setFilter] = useState<Filter>("open")
  return (
    <div className="mx-auto flex max-w-3xl flex-col gap-4">
      <div className="flex flex-wrap items-end justify-between gap-3">
        <h1 className="text-xl font-bold text-slate-900" tabIndex={-1}>Alerts</h1>
        <SelectField label="Show" value={filter} onChange={(e) => setFilter(e.target.value as Filter)} className="min-w-56">
          {FILTERS.map((f) => <option key={f.key} value={f.key}>{f.label}</option>)}
        </SelectField>
      </div>
      <AlertList key={filter} filter={filter} />
    </div>
  )
}

export default Alerts
