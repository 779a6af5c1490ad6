import type { DeliveryEvent, OutputDelivery, Webhook, WebhookWithSecret } from "@chaverim/domain/Outputs"
import { useState } from "react"
import { useRpc, useRpcAction, withRpc } from "../../client/rpc"
import { Badge, Button, Loaded, Notice, OnceValue, ProblemNote, SelectField, TextField } from "../../ui/controls"
import { formatDate } from "../../ui/format"

const EVENTS: ReadonlyArray<{ readonly event: DeliveryEvent; readonly label: string }> = [
  { event: "alert_raised", label: "Raised" },
  { event: "alert_updated", label: "Seen again" },
  { event: "alert_acknowledged", label: "Acknowledged" },
  { event: "alert_en_route", label: "On the way" },
  { event: "alert_resolved", label: "Resolved" },
  { event: "health_raised", label: "Fleet health: raised" },
  { event: "health_cleared", label: "Fleet health: cleared" }
]
const CATEGORIES = ["stolen", "bolo", "missing_person", "of_interest", "allow"] as const

const scopeOf = (hook: Webhook, lists: ReadonlyArray<{ readonly watchlist_id: string; readonly name: string }>) =>
  hook.watchlist_id !== null
    ? `list ${lists.find((l) => l.watchlist_id === hook.watchlist_id)?.name ?? hook.watchlist_id}`
    : hook.category !== null
    ? `shared ${hook.category} lists`
    : "every shared list"

const NewWebhook = ({ lists, onCreated }: {
  readonly lists: ReadonlyArray<{ readonly watchlist_id: string; readonly name: string }>
  readonly onCreated: (made: WebhookWithSecret) => void
}) => {
  const [name, setName] = useState("")
  const [url, setUrl] = useState("")
  const [format, setFormat] = useState<"json" | "ntfy">("json")
  const [scope, setScope] = useState("all")
  const [events, setEvents] = useState<ReadonlyArray<DeliveryEvent>>(["alert_raised"])
  const [created, create] = useRpcAction(() =>
    withRpc((rpc) =>
      rpc.webhooks.create({
        name: name.trim(),
        url: url.trim(),
        format,
        watchlist_id: scope.startsWith("list:") ? scope.slice(5) : null,
        category: scope.startsWith("category:") ? (scope.slice(9) as (typeof CATEGORIES)[number]) : null,
        events
      })
    )
  )
  return (
    <form className="flex flex-col gap-3 rounded-lg bg-white p-3 ring-1 ring-slate-200" aria-label="New webhook"
      onSubmit={async (event) => {
        event.preventDefault()
        const result = await create()
        if (result.state === "ready") {
          setName("")
          setUrl("")
          onCreated(result.value)
        }
      }}>
      <h2 className="font-semibold text-slate-900">New webhook</h2>
      <div className="grid gap-3 sm:grid-cols-2">
        <TextField label="Name" value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} />
        <TextField label="URL" value={url} onChange={(e) => setUrl(e.target.value)} required maxLength={2000} type="url"
          placeholder="https://example.org/alpr" hint="https:// only; redirects are not followed." />
        <SelectField label="Format" value={format} onChange={(e) => setFormat(e.target.value as "json" | "ntfy")}
          hint="JSON: the versioned, signed body. ntfy: a text message for an ntfy topic URL (https://ntfy.sh/your-topic).">
          <option value="json">JSON (signed)</option>
          <option value="ntfy">ntfy</option>
        </SelectField>
        <SelectField label="Which alerts" value={scope} onChange={(e) => setScope(e.target.value)}
          hint="A private list reaches a webhook only when the webhook names it.">
          <option value="all">Every shared list</option>
          {CATEGORIES.map((c) => <option key={c} value={`category:${c}`}>Shared {c} lists</option>)}
          {lists.map((l) => <option key={l.watchlist_id} value={`list:${l.watchlist_id}`}>List: {l.name}</option>)}
        </SelectField>
      </div>
      <fieldset className="flex flex-wrap gap-3">
        <legend className="text-sm font-medium text-slate-800">Events</legend>
        {EVENTS.map(({ event, label }) => (
          <label key={event} className="flex items-center gap-1 text-slate-800">
            <input type="checkbox" checked={events.includes(event)}
              onChange={(e) => setEvents(e.target.checked ? [...events, event] : events.filter((x) => x !== event))} />
            {label}
          </label>
        ))}
      </fieldset>
      {created.state === "failed" && <ProblemNote problem={created.problem} />}
      <Button type="submit" disabled={created.state === "loading" || events.length === 0} className="self-start">Add webhook</Button>
    </form>
  )
}

const WebhookRow = ({ hook, scope, onChanged, onSecret }: {
  readonly hook: Webhook
  readonly scope: string
  readonly onChanged: () => void
  readonly onSecret: (made: WebhookWithSecret) => void
}) => {
  const [tested, test] = useRpcAction(() => withRpc((rpc) => rpc.webhooks.test({ id: hook.id })))
  const [toggled, toggle] = useRpcAction(() => withRpc((rpc) => rpc.webhooks.update({ id: hook.id, enabled: !hook.enabled })))
  const [rotated, rotate] = useRpcAction(() => withRpc((rpc) => rpc.webhooks.rotateSecret({ id: hook.id })))
  const [removed, remove] = useRpcAction(() => withRpc((rpc) => rpc.webhooks.remove({ id: hook.id })))
  return (
    <li className="flex flex-col gap-2 rounded-lg bg-white p-3 ring-1 ring-slate-200" aria-label={`Webhook ${hook.name}`}>
      <div className="flex flex-wrap items-center gap-2">
        <span className="font-semibold text-slate-900">{hook.name}</span>
        <Badge tone={hook.enabled ? "good" : "neutral"}>{hook.enabled ? "on" : "off"}</Badge>
        {hook.last_status === "failed" && <Badge tone="bad">last delivery failed</Badge>}
        {hook.failed > 0 && <Badge tone="warn">{hook.failed} failed</Badge>}
        <span className="text-sm text-slate-700">{hook.format}, {scope}, {hook.events.join(", ")}</span>
      </div>
      <code className="break-all text-sm text-slate-800">{hook.url}</code>
      {hook.last_error !== null && <p className="text-sm text-red-800">Last error: {hook.last_error}</p>}
      <div className="flex flex-wrap gap-2">
        <Button variant="secondary" disabled={tested.state === "loading"} onClick={() => void test()}>Send a test</Button>
        <Button variant="secondary" disabled={toggled.state === "loading"} onClick={async () => {
          if ((await toggle()).state === "ready") onChanged()
        }}>{hook.enabled ? "Turn off" : "Turn on"}</Button>
        <Button variant="secondary" disabled={rotated.state === "loading"} onClick={async () => {
          if (!window.confirm(`Draw a new secret for ${hook.name}? The old one stops signing at once.`)) return
          const result = await rotate()
          if (result.state === "ready") onSecret(result.value)
        }}>New secret</Button>
        <Button variant="danger" disabled={removed.state === "loading"} onClick={async () => {
          if (window.confirm(`Remove ${hook.name}? What it is still owed is dropped.`) && (await remove()).state === "ready") onChanged()
        }}>Remove</Button>
      </div>
      {tested.state === "ready" && (
        <Notice tone={tested.value.ok ? "success" : "warning"}>
          {tested.value.ok ? "Delivered" : "Not delivered"}: {tested.value.message} ({tested.value.elapsed_ms} ms)
        </Notice>
      )}
      {[tested, toggled, rotated, removed].map((r, i) => r.state === "failed" ? <ProblemNote key={i} problem={r.problem} /> : null)}
    </li>
  )
}

const FailedDelivery = ({ delivery, onRetried }: { readonly delivery: OutputDelivery; readonly onRetried: () => void }) => {
  const [retried, retry] = useRpcAction(() => withRpc((rpc) => rpc.outputs.retry({ id: delivery.id })))
  return (
    <li className="flex flex-wrap items-center gap-2 rounded bg-white p-2 ring-1 ring-slate-200" aria-label={`Failed delivery ${delivery.id}`}>
      <Badge tone="bad">{delivery.channel}</Badge>
      <span className="font-mono font-bold">{delivery.plate ?? `health alert ${delivery.health_alert_id}`}</span>
      <span className="text-sm text-slate-700">{delivery.event}, {delivery.attempts} attempts, {formatDate(delivery.created_at)}</span>
      <span className="text-sm text-red-800">{delivery.last_error}</span>
      <Button variant="secondary" disabled={retried.state === "loading"} onClick={async () => {
        if ((await retry()).state === "ready") onRetried()
      }}>Send again</Button>
      {retried.state === "failed" && <ProblemNote problem={retried.problem} />}
    </li>
  )
}

/** Admin › Webhooks: endpoints that get signed notices of alerts, and every channel's failed deliveries. */
export const Webhooks = () => {
  const [hooks, reload] = useRpc(() => withRpc((rpc) => rpc.webhooks.list()), [])
  const [lists] = useRpc(() => withRpc((rpc) => rpc.watchlists.list({})), [])
  const [failed, reloadFailed] = useRpc(() => withRpc((rpc) => rpc.outputs.deliveries({ status: "failed", limit: 50 })), [])
  const [secret, setSecret] = useState<WebhookWithSecret | undefined>(undefined)
  const known = lists.state === "ready" ? lists.value.map((l) => ({ watchlist_id: l.watchlist_id, name: l.name })) : []
  return (
    <section className="flex flex-col gap-4" aria-label="Webhooks">
      <p className="text-slate-800">
        Each webhook gets an HTTPS POST for every alert in its scope, signed with its secret (header X-Chaverim-Signature,
        HMAC-SHA256 over the timestamp and the body; see the README). Failed deliveries are retried for about two and a
        half hours, then listed below.
      </p>
      {secret !== undefined && (
        <OnceValue label={`The secret of ${secret.webhook.name}: shown this once. Put it in the receiver's settings.`} value={secret.secret} />
      )}
      <NewWebhook lists={known} onCreated={(made) => {
        setSecret(made)
        reload()
      }} />
      <Loaded remote={hooks}>
        {(all) =>
          all.length === 0 ? <p className="text-slate-700">No webhooks yet.</p> : (
            <ul className="flex flex-col gap-2" aria-label="Webhooks">
              {all.map((h) => (
                <WebhookRow key={`${h.id}|${h.enabled}|${h.updated_at}`} hook={h} scope={scopeOf(h, known)} onChanged={reload} onSecret={(made) => {
                  setSecret(made)
                  reload()
                }} />
              ))}
            </ul>
          )}
      </Loaded>
      <h2 className="font-semibold text-slate-900">Failed deliveries (webhooks, MQTT, e-mail)</h2>
      <Loaded remote={failed}>
        {(page) =>
          page.items.length === 0 ? <p className="text-slate-700">None.</p> : (
            <ul className="flex flex-col gap-2" aria-label="Failed deliveries">
              {page.items.map((d) => <FailedDelivery key={d.id} delivery={d} onRetried={() => {
                reloadFailed()
                reload()
              }} />)}
            </ul>
          )}
      </Loaded>
    </section>
  )
}
