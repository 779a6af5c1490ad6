import { type HealthAlert, HEALTH_KIND_TEXT } from "@chaverim/domain/Health"
import type { WallCollector, WallStatus } from "@chaverim/domain/rpc/Wall"
import { type Remote, valueOf } from "../../client/problem"
import { formatAgo, formatWhen } from "../../ui/format"

const Row = ({ collector }: { readonly collector: WallCollector }) => {
  const busy = (collector.queue_depth ?? 0) > 500
  return (
    <tr className="border-t border-slate-800">
      <td className="py-[0.3em] pr-[0.5em]">
        <span aria-hidden className={`mr-[0.5em] inline-block size-[0.8em] rounded-full ${collector.online ? "bg-emerald-400" : "bg-red-500"}`} />
        {collector.name}
        <span className="sr-only">{collector.online ? " online" : " offline"}</span>
        {collector.sites.length > 0 && <span className="text-slate-400"> · {collector.sites.join(", ")}</span>}
      </td>
      <td className={`pr-[0.5em] text-right tabular-nums ${busy ? "font-bold text-amber-300" : ""}`}>{collector.queue_depth ?? "–"}</td>
      <td className="pr-[0.5em] text-right tabular-nums">{collector.cameras_online ?? "–"}</td>
      <td className={`text-right ${collector.online ? "text-slate-300" : "font-bold text-red-300"}`}>
        {collector.disk_full ? "DISK FULL · " : ""}{collector.seen_by === "upload" ? "upload " : ""}{formatAgo(collector.last_seen_at)}
      </td>
    </tr>
  )
}

/** An open health alert: what, where, since when; red, as a collector offline is. */
const Problem = ({ health }: { readonly health: HealthAlert }) => (
  <li className="flex flex-wrap items-baseline gap-x-[0.5em] border-l-[0.3em] border-red-500 bg-red-950/60 px-[0.5em] py-[0.2em]">
    <span className="font-bold text-red-200">{HEALTH_KIND_TEXT[health.kind]}</span>
    <span className="min-w-0 text-slate-100">{health.message}</span>
    <span className="text-slate-300">since <time dateTime={health.raised_at}>{formatWhen(health.raised_at)}</time></span>
  </li>
)

/**
 * Every collector (with the sites of its cameras): online, queue depth, cameras, last heard; the silent
 * ones first. Above them, for an admin, the fleet's open health alerts.
 */
export const HealthBoard = ({ problems = [], status }: {
  readonly status: Remote<WallStatus>
  readonly problems?: ReadonlyArray<HealthAlert>
}) => {
  const collectors = valueOf(status)?.collectors
  const sorted = [...(collectors ?? [])].sort((a, b) => Number(a.online) - Number(b.online) || a.name.localeCompare(b.name))
  return (
    <section aria-labelledby="health-title" className="min-h-0 overflow-hidden rounded-lg bg-slate-900 p-[0.75em] ring-1 ring-slate-800">
      <h2 id="health-title" className="text-[1.3em] font-semibold text-slate-200">Collectors</h2>
      {problems.length > 0 && (
        <ul aria-label="Health alerts" className="mt-[0.25em] flex flex-col gap-[0.25em] text-[1.15em]">
          {problems.map((health) => <Problem key={health.id} health={health} />)}
        </ul>
      )}
      {status.state === "failed" && collectors === undefined && <p className="mt-[0.5em] text-amber-300">{status.problem.message}</p>}
      {collectors !== undefined && collectors.length === 0 && <p className="mt-[0.5em] text-slate-300">No collectors yet.</p>}
      {sorted.length > 0 && (
        <table className="mt-[0.25em] w-full text-left text-[1.2em]">
          <thead className="text-slate-400">
            <tr>
              <th scope="col" className="font-normal">Collector</th>
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
