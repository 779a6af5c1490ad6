import type { PlateGroup } from "@chaverim/domain/Search"
import { useEffect, useRef } from "react"
import { useOperatorApi, withOperatorApi } from "../../client/operatorApi"
import type { SessionReason } from "../../client/reason"
import { Link } from "../../router"
import { Loading, ProblemNote } from "../../ui/controls"
import { cameraLabel, formatWhen } from "../../ui/format"
import type { SearchQuery } from "./query"
import { wholeSearchParams } from "./searchParams"
import { PlateTags } from "../plates/PlateTags"

const places = (group: PlateGroup) => {
  const shown = group.cameras.slice(0, 3).map((c) => `${cameraLabel(c)}${c.site ? ` (${c.site})` : ""}: ${c.reads}`)
  return group.cameras.length > 3 ? [...shown, `${group.cameras.length - 3} more`] : shown
}

/** The distinct plates a search matched, each with its reads, first and last seen and cameras. */
export const PlateGroups = ({ query, reason, focusWhenDone }: {
  readonly query: SearchQuery
  readonly reason: SessionReason | undefined
  readonly focusWhenDone: boolean
}) => {
  const [groups] = useOperatorApi(() => withOperatorApi((api) => api.search.plates({ urlParams: wholeSearchParams(query, reason) })), [])
  const summary = useRef<HTMLDivElement>(null)
  useEffect(() => {
    if (focusWhenDone && groups.state !== "loading" && groups.state !== "idle") summary.current?.focus()
  }, [focusWhenDone, groups.state])

  if (groups.state === "loading" || groups.state === "idle") return <Loading label="Finding the plates" />
  if (groups.state === "failed") return <div ref={summary} tabIndex={-1}><ProblemNote problem={groups.problem} /></div>
  const { plates, truncated } = groups.value
  const fuzzy = query.mode === "fuzzy"
  return (
    <div className="flex flex-col gap-3">
      <div role="status" ref={summary} tabIndex={-1} className="scroll-mt-2 font-medium text-slate-800 focus:outline-none">
        {plates.length === 0
          ? "No plates found."
          : `${plates.length}${truncated ? "+" : ""} plate${plates.length === 1 ? "" : "s"}, ${fuzzy ? "closest first" : "last seen first"}`}
        {truncated && <span className="block text-sm font-normal text-slate-700">More plates matched than are listed: narrow the search.</span>}
      </div>
      {plates.length > 0 && (
        <ul aria-label="Plates found" className="divide-y divide-slate-200 rounded-xl bg-white shadow-sm ring-1 ring-slate-200">
          {plates.map((group) => (
            <li key={group.plate} className="grid gap-x-4 gap-y-0.5 px-3 py-2 text-sm text-slate-800 sm:grid-cols-[10rem_6rem_minmax(0,1fr)]">
              <p className="flex items-baseline gap-2">
                <Link to={`/plate/${encodeURIComponent(group.plate)}`}
                  className="font-mono text-lg font-bold tracking-wider text-blue-800 underline underline-offset-2 hover:text-blue-950">
                  {group.plate}
                </Link>
                {group.distance !== undefined && <span className="text-xs text-slate-600">{group.distance} off</span>}
                <PlateTags plate={group.plate} />
              </p>
              <p className="self-center font-medium">{group.reads} read{group.reads === 1 ? "" : "s"}</p>
              <p className="self-center">
                <span className="text-slate-600">First </span><time dateTime={group.first_seen}>{formatWhen(group.first_seen)}</time>
                <span className="text-slate-600"> · last </span><time dateTime={group.last_seen}>{formatWhen(group.last_seen)}</time>
              </p>
              <p className="text-slate-700 sm:col-span-3">{places(group).join(" · ")}</p>
            </li>
          ))}
        </ul>
      )}
    </div>
  )
}
