import type { Delivery, DeliveryStatus } from "@chaverim/domain/Telegram"
import { useState } from "react"
import { withApi } from "../../client/api"
import { useApi, useApiAction } from "../../client/useApi"
import { usePages } from "../../client/usePages"
import { Loading, MorePages, ProblemNote, SelectField } from "../../ui/controls"
import { formatShort } from "../../ui/format"

const PAGE = 100

const load = (status: DeliveryStatus, cursor?: string) =>
  withApi((api) => api.telegram.deliveries({ urlParams: { status, limit: PAGE, ...(cursor === undefined ? {} : { cursor }) } }))

const Row = ({ delivery }: { readonly delivery: Delivery }) => (
  <li className="flex flex-col gap-1 rounded-lg bg-white p-3 ring-1 ring-slate-200">
    <p className="flex flex-wrap items-baseline gap-x-3">
      <span className="font-mono font-bold text-slate-900">{delivery.plate ?? `health alert ${delivery.health_alert_id}`}</span>
      <span className="text-slate-900">to {delivery.username}</span>
      <span className="text-sm text-slate-700">
        {delivery.alert_id === null ? `fleet health, ${delivery.health_event}` : `alert ${delivery.alert_id}`} · {delivery.attempts} attempt{delivery.attempts === 1 ? "" : "s"}
      </span>
    </p>
    {delivery.last_error && <p className="break-words text-sm text-red-900">{delivery.last_error}</p>}
    <p className="text-sm text-slate-700">
      made {formatShort(delivery.created_at)}
      {delivery.sent_at ? ` · sent ${formatShort(delivery.sent_at)}` : delivery.status === "pending" ? ` · next try ${formatShort(delivery.next_attempt_at)}` : ""}
    </p>
  </li>
)

/** Telegram messages by status, failed first: who did not get which alert, and why. */
export const Deliveries = () => {
  const [status, setStatus] = useState<DeliveryStatus>("failed")
  const [first] = useApi(() => load(status), [status])
  const [more, loadMore] = useApiAction((after: string) => load(status, after))
  const { items, next, add } = usePages(first)
  return (
    <section aria-label="Telegram deliveries" className="flex flex-col gap-3">
      <SelectField label="Messages" value={status} className="max-w-xs" onChange={(e) => setStatus(e.target.value as DeliveryStatus)}>
        <option value="failed">failed (given up)</option>
        <option value="pending">waiting to be sent</option>
        <option value="sent">sent</option>
      </SelectField>
      {first.state === "failed" && <ProblemNote problem={first.problem} />}
      {first.state === "loading" && <Loading />}
      {first.state === "ready" && items.length === 0 && <p className="text-slate-700">None.</p>}
      <ul className="flex flex-col gap-2">{items.map((d) => <Row key={d.id} delivery={d} />)}</ul>
      <MorePages next={next} more={more} load={loadMore} label="Older messages" onPage={add} />
    </section>
  )
}
