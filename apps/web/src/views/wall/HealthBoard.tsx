import type { CollectorSummary } from "@chaverim/domain/Rpc"
import { type Remote, valueOf } from "../../client/problem"
import { formatAgo } from "../../ui/format"
import { onlineOf } from "./health"

const Row = ({ collector }: { readonly collector: CollectorSummary }) => {
  const online = onlineOf(collector)
  const busy = (collector.queue_depth ?? 0) > 500
  return (
    <tr className="border-t border-slate-800">
      <td className="py-[0.3em] pr-[0.5em]">
        <span aria-hidden className={`mr-[0.5em] inline-block size-[0.8em] rounded-full ${online ? "bg-emerald-400" : "bg-red-500"}`} />
        {collector.name}
        <span className="sr-only">{online ? " online" : " offline"}</span>
      </td>
      <td className={`pr-[0.5em] text-right tabular-nums ${busy ? "font-bold text-amber-300" : ""}`}>{collector.queue_depth ?? "–"}</td>
      <td className="pr-[0.5em] text-right tabular-nums">{collector.cameras_online ?? "–"}</td>
      <td className={`text-right ${online ? "text-slate-300" : "font-bold text-red-300"}`}>
        {collector.disk_full ? "DISK FULL · " : ""}{formatAgo(collector.last_seen_at)}
      </td>
    </tr>
  )
}

/** Every collector: online, queue depth, cameras, last heard; the silent ones first. */
export const HealthBoard = ({ collectors, admin }: {
  readonly collectors: Remote<ReadonlyArray<CollectorSummary>>
  readonly admin: boolean
}) => {
  const list = valueOf(collectors)
  const sorted = [...(list ?? [])].sort((a, b) => Number(onlineOf(a)) - Number(onlineOf(b)) || a.name.localeCompare(b.name))
  return (
    <section aria-labelledby="health-title" className="min-h-0 overflow-hidden rounded-lg bg-slate-900 p-[0.75em] ring-1 ring-slate-800">
      <h2 id="health-title" className="text-[1.2em] font-semibold text-slate-200">Sites</h2>
      {!admin && <p className="mt-[0.5em] text-amber-300">Site health needs an admin session on this screen.</p>}
      {collectors.state === "failed" && list === undefined && <p className="mt-[0.5em] text-amber-300">{collectors.problem.message}</p>}
      {list !== undefined && list.length === 0 && <p className="mt-[0.5em] text-slate-300">No collectors yet.</p>}
      {sorted.length > 0 && (
        <table className="mt-[0.25em] w-full text-left">
          <thead className="text-[0.85em] text-slate-400">
            <tr>
              <th scope="col" className="font-normal">Site</th>
              <th scope="col" className="pr-[0.5em] text-right font-normal">Queue</th>
              <th scope="col" className="pr-[0.5em] text-right font-normal">Cams</th>
              <th scope="col" className="text-right font-normal">Last heard</th>
            </tr>
          </thead>
          <tbody>{sorted.map((c) => <Row key={c.collector_id} collector={c} />)}</tbody>
        </table>
      )}
    </section>
  )
}
