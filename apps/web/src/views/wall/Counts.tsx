import type { CollectorSummary } from "@chaverim/domain/Rpc"
import type { LiveState } from "../../client/live"
import { onlineOf } from "./health"

const Figure = ({ value, label }: { readonly value: string; readonly label: string }) => (
  <div className="rounded-lg bg-slate-900 px-[1em] py-[0.5em] ring-1 ring-slate-800">
    <p className="text-[2.25em] font-bold leading-tight tabular-nums">{value}</p>
    <p className="text-[0.95em] text-slate-300">{label}</p>
  </div>
)

const isToday = (date: Date) => date.toDateString() === new Date().toDateString()

/** Today's figures, large enough to read from across the room. */
export const Counts = ({ live, collectors }: { readonly live: LiveState; readonly collectors: ReadonlyArray<CollectorSummary> | undefined }) => {
  const sinceMidnight = live.since.getHours() === 0 && live.since.getMinutes() === 0 && isToday(live.since)
  const online = collectors?.filter(onlineOf) ?? []
  const sum = (pick: (c: CollectorSummary) => number | null) => online.reduce((total, c) => total + (pick(c) ?? 0), 0)
  return (
    <section aria-label="Today" className="grid grid-cols-2 gap-[1em] md:grid-cols-4">
      <Figure value={live.count.toLocaleString()}
        label={sinceMidnight ? "reads today" : `reads since ${live.since.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}`} />
      <Figure value={collectors ? `${online.length} / ${collectors.length}` : "–"} label="sites online" />
      <Figure value={collectors ? sum((c) => c.cameras_online).toLocaleString() : "–"} label="cameras online" />
      <Figure value={collectors ? sum((c) => c.queue_depth).toLocaleString() : "–"} label="reads waiting at sites" />
    </section>
  )
}
