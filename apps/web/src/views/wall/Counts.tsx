import type { WallCollector } from "@chaverim/domain/rpc/Wall"
import type { LiveState } from "../../client/live"
import { formatTime } from "../../ui/format"

const Figure = ({ value, label }: { readonly value: string; readonly label: string }) => (
  <div className="rounded-lg bg-slate-900 px-[1em] py-[0.5em] ring-1 ring-slate-800">
    <p className="text-[2.25em] font-bold leading-tight tabular-nums">{value}</p>
    <p className="text-[1.2em] text-slate-300">{label}</p>
  </div>
)

/**
 * Today's figures, large enough to read from across the room. Until the server has counted the day's
 * reads (or when it cannot), the reads the feed brought since the page opened.
 */
export const Counts = ({ readsToday, live, collectors }: {
  readonly readsToday: number | undefined
  readonly live: LiveState
  readonly collectors: ReadonlyArray<WallCollector> | undefined
}) => {
  const online = collectors?.filter((c) => c.online) ?? []
  const sum = (pick: (c: WallCollector) => number | null) => online.reduce((total, c) => total + (pick(c) ?? 0), 0)
  return (
    <section aria-label="Today" className="grid grid-cols-2 gap-[1em] md:grid-cols-4">
      {readsToday === undefined
        ? <Figure value={live.count.toLocaleString()} label={`reads since ${formatTime(live.since)}`} />
        : <Figure value={readsToday.toLocaleString()} label="reads today" />}
      <Figure value={collectors ? `${online.length} / ${collectors.length}` : "–"} label="collectors online" />
      <Figure value={collectors ? sum((c) => c.cameras_online).toLocaleString() : "–"} label="cameras online" />
      <Figure value={collectors ? sum((c) => c.queue_depth).toLocaleString() : "–"} label="reads waiting at collectors" />
    </section>
  )
}
