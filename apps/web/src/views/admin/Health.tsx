import { type HealthAlert, HEALTH_KIND_TEXT } from "@chaverim/domain/Health"
import { useState } from "react"
import { useRpc, withRpc } from "../../client/rpc"
import { Badge, Loaded, SelectField } from "../../ui/controls"
import { formatDuration, formatWhen } from "../../ui/format"

const Row = ({ health }: { readonly health: HealthAlert }) => (
  <li aria-label={`${HEALTH_KIND_TEXT[health.kind]}: ${health.message}`}
    className="flex flex-col gap-1 rounded-lg bg-white p-3 ring-1 ring-slate-200">
    <p className="flex flex-wrap items-baseline gap-x-3">
      <Badge tone={health.cleared_at === null ? "bad" : "good"}>{health.cleared_at === null ? "open" : "cleared"}</Badge>
      <span className="font-semibold text-slate-900">{HEALTH_KIND_TEXT[health.kind]}</span>
      <span className="text-sm text-slate-700">
        {health.collector.name}{health.camera === null ? "" : ` · ${health.camera.name}${health.camera.site ? ` (${health.camera.site})` : ""}`}
      </span>
    </p>
    <p className="break-words text-slate-900">{health.message}</p>
    <p className="text-sm text-slate-700">
      raised <time dateTime={health.raised_at}>{formatWhen(health.raised_at)}</time>
      {health.cleared_at === null
        ? ` · open for ${formatDuration(health.duration_s)}`
        : <> · cleared <time dateTime={health.cleared_at}>{formatWhen(health.cleared_at)}</time>, after {formatDuration(health.duration_s)}</>}
    </p>
  </li>
)

/**
 * Admin › Health: what the health monitor raised (a silent collector or camera, a buffer filling, a
 * clock off), open ones or the latest 100, with how long each lasted.
 */
export const Health = () => {
  const [which, setWhich] = useState<"open" | "all">("open")
  const [alerts] = useRpc(() => withRpc((rpc) => rpc.health.list(which === "open" ? { open: true } : { limit: 100 })), [which])
  return (
    <section aria-label="Health alerts" className="flex flex-col gap-3">
      <p className="text-slate-800">
        The server looks at every collector and camera every 30 seconds: a collector that misses three heartbeats,
        a camera that stops reading or reads far below its usual rate for the hour of the week, a buffer at 80 %,
        or a clock more than 2 s off raises an alert here, on admins' walls and live feeds; it clears by itself.
      </p>
      <SelectField label="Show" value={which} className="max-w-xs" onChange={(e) => setWhich(e.target.value as "open" | "all")}>
        <option value="open">open alerts</option>
        <option value="all">the latest 100, cleared too</option>
      </SelectField>
      <Loaded remote={alerts}>
        {(list) =>
          list.length === 0
            ? <p className="text-slate-700">{which === "open" ? "Nothing is wrong with the fleet." : "No health alerts yet."}</p>
            : <ul className="flex flex-col gap-2">{list.map((h) => <Row key={h.id} health={h} />)}</ul>}
      </Loaded>
    </section>
  )
}
