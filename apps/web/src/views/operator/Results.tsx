import type { DetectionItem } from "@chaverim/domain/Search"
import { useEffect, useRef, useState } from "react"
import { withApi } from "../../client/api"
import { savedReason, type SessionReason } from "../../client/reason"
import { useApi, useApiAction } from "../../client/useApi"
import { usePages } from "../../client/usePages"
import { Button, Loading, ProblemNote } from "../../ui/controls"
import { DetectionCard } from "./DetectionCard"
import { type SearchQuery, searchParams } from "./query"

const search = (query: SearchQuery, reason: SessionReason | undefined, cursor?: string) =>
  withApi((api) => api.search.detections({ urlParams: searchParams(query, reason, cursor) }))

/** The first page, then "More" pages by keyset cursor: nothing skipped or repeated while reads arrive. */
export const Results = ({ query, focusWhenDone }: { readonly query: SearchQuery; readonly focusWhenDone: boolean }) => {
  // The reason the search was made with; its photos are looked at for the same reason.
  const [reason] = useState(savedReason)
  const [first] = useApi(() => search(query, reason), [])
  const [more, loadMore] = useApiAction((cursor: string) => search(query, reason, cursor))
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
      <ul className="flex flex-col gap-3">
        {items.map((item: DetectionItem) => <li key={item.id}><DetectionCard item={item} searched={query.plate} reason={reason} /></li>)}
      </ul>
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
