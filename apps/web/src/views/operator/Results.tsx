import { EXPORT_MAX_READS, type DetectionItem } from "@chaverim/domain/Search"
import { useEffect, useRef, useState } from "react"
import { useOperatorApi, useOperatorApiAction, withOperatorApi } from "../../client/operatorApi"
import { savedReason, type SessionReason } from "../../client/reason"
import { usePages } from "../../client/usePages"
import { Button, Loading, ProblemNote } from "../../ui/controls"
import { DetectionCard } from "./DetectionCard"
import { PlateGroups } from "./PlateGroups"
import type { SearchQuery } from "./query"
import { exportUrl, searchParams } from "./searchParams"
import { ResultsTable } from "./ResultsTable"

const search = (query: SearchQuery, reason: SessionReason | undefined, cursor?: string) =>
  withOperatorApi((api) => api.search.detections({ urlParams: searchParams(query, reason, cursor) }))

type Layout = "table" | "cards"
type Grouping = "reads" | "plates"

// The operator's choice of table or cards is kept in the browser; until one is made, wide screens get the table.
const LAYOUT_KEY = "alpr.results.layout"
const initialLayout = (): Layout => {
  const stored = window.localStorage.getItem(LAYOUT_KEY)
  if (stored === "table" || stored === "cards") return stored
  return window.matchMedia("(min-width: 1280px)").matches ? "table" : "cards"
}

/** Two or more buttons of which one is chosen (aria-pressed), as one control. */
const Choice = <V extends string,>({ label, value, options, onChange }: {
  readonly label: string
  readonly value: V
  readonly options: ReadonlyArray<{ readonly value: V; readonly label: string }>
  readonly onChange: (value: V) => void
}) => (
  <div role="group" aria-label={label} className="inline-flex overflow-hidden rounded-lg border border-slate-400 bg-white">
    {options.map((o) => (
      <button key={o.value} type="button" aria-pressed={value === o.value} onClick={() => onChange(o.value)}
        className={`min-h-11 px-3 text-sm font-medium focus-visible:outline-3 focus-visible:-outline-offset-3 focus-visible:outline-blue-600 ${
          value === o.value ? "bg-blue-700 text-white" : "text-slate-900 hover:bg-slate-100"}`}>
        {o.label}
      </button>
    ))}
  </div>
)

const EXPORT_LINK = "inline-flex min-h-11 items-center rounded-lg bg-white px-3 text-sm font-medium text-slate-900 ring-1 ring-slate-300 " +
  "hover:bg-slate-100 focus-visible:outline-3 focus-visible:outline-offset-2 focus-visible:outline-blue-600"

/**
 * A search's results: its reads (a table on wide screens, cards on phones, as the operator last chose)
 * or the distinct plates it matched (first for partial and fuzzy searches), and its export. Nothing is
 * searched before a reason is given in this tab: the form asks for it.
 */
export const Results = ({ query, focusWhenDone }: { readonly query: SearchQuery; readonly focusWhenDone: boolean }) => {
  // The reason the search was made with; its photos are looked at for the same reason.
  const [reason] = useState(savedReason)
  const [grouping, setGrouping] = useState<Grouping>(query.mode === "partial" || query.mode === "fuzzy" ? "plates" : "reads")
  const [layout, setLayout] = useState(initialLayout)
  if (reason === undefined) return null
  return (
    <div className="flex flex-col gap-3">
      <div className="flex flex-wrap items-center gap-2">
        <Choice label="Show" value={grouping} onChange={setGrouping}
          options={[{ value: "reads", label: "Reads" }, { value: "plates", label: "Plates" }]} />
        {grouping === "reads" && (
          <Choice label="Layout" value={layout} onChange={(next) => {
            window.localStorage.setItem(LAYOUT_KEY, next)
            setLayout(next)
          }} options={[{ value: "table", label: "Table" }, { value: "cards", label: "Cards" }]} />
        )}
        <div className="flex flex-wrap items-center gap-2 sm:ml-auto">
          <a className={EXPORT_LINK} href={exportUrl(query, reason, "csv")} download
            title={`The reads as a spreadsheet (at most ${EXPORT_MAX_READS.toLocaleString()}); recorded in the audit log`}>
            Export CSV
          </a>
          <a className={EXPORT_LINK} href={exportUrl(query, reason, "pdf")} download
            title={`The reads as a PDF report (at most ${EXPORT_MAX_READS.toLocaleString()}); recorded in the audit log`}>
            Export PDF
          </a>
        </div>
      </div>
      {grouping === "plates"
        ? <PlateGroups query={query} reason={reason} focusWhenDone={focusWhenDone} />
        : <Reads query={query} reason={reason} layout={layout} focusWhenDone={focusWhenDone} />}
    </div>
  )
}

/** The first page, then "More" pages by keyset cursor: nothing skipped or repeated while reads arrive. */
const Reads = ({ query, reason, layout, focusWhenDone }: {
  readonly query: SearchQuery
  readonly reason: SessionReason
  readonly layout: Layout
  readonly focusWhenDone: boolean
}) => {
  const [first] = useOperatorApi(() => search(query, reason), [])
  const [more, loadMore] = useOperatorApiAction((cursor: string) => search(query, reason, cursor))
  const { items, next, add } = usePages(first)
  // After a search the summary takes the focus: on a phone that scrolls the results into view below
  // the form, and a screen reader reads how many were found.
  const summary = useRef<HTMLDivElement>(null)
  useEffect(() => {
    if (focusWhenDone && first.state !== "loading" && first.state !== "idle") summary.current?.focus()
  }, [focusWhenDone, first.state])

  if (first.state === "loading" || first.state === "idle") return <Loading label="Searching" />
  if (first.state === "failed") return <div ref={summary} tabIndex={-1}><ProblemNote problem={first.problem} /></div>

  return (
    <div className="flex flex-col gap-3">
      <div role="status" ref={summary} tabIndex={-1} className="scroll-mt-2 font-medium text-slate-800 focus:outline-none">
        {items.length === 0 ? "No reads found." : `${items.length}${next ? "+" : ""} read${items.length === 1 ? "" : "s"}`}
        {query.mode === "fuzzy" && items.length > 0 ? ", closest first" : items.length > 0 ? ", newest first" : ""}
      </div>
      {items.length > 0 && (layout === "table"
        ? <ResultsTable items={items} reason={reason} />
        : (
          <ul className="flex flex-col gap-3">
            {items.map((item: DetectionItem) => <li key={item.id}><DetectionCard item={item} searched={query.plate} reason={reason} /></li>)}
          </ul>
        ))}
      {more.state === "failed" && <ProblemNote problem={more.problem} />}
      {next !== null && (
        <Button variant="secondary" disabled={more.state === "loading"}
          onClick={async () => {
            const result = await loadMore(next)
            if (result.state === "ready") add(result.value.items, result.value.next_cursor)
          }}>
          {more.state === "loading" ? "Loading…" : "More"}
        </Button>
      )}
    </div>
  )
}
