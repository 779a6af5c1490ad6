import type { CollectorSummary } from "@chaverim/domain/rpc/Collectors"
import { useState } from "react"
import { useRpc, useRpcAction, withRpc } from "../../client/rpc"
import { usePolling } from "../../client/usePolling"
import { Badge, Button, Loaded, Notice, ProblemNote, SelectField, TextField } from "../../ui/controls"
import { formatAgo } from "../../ui/format"
import { ClaimCode } from "./ClaimCode"

const NewCollector = ({ onCreated }: { readonly onCreated: () => void }) => {
  const [name, setName] = useState("")
  const [created, create] = useRpcAction((n: string) => withRpc((rpc) => rpc.collectors.createClaimCode({ name: n })))
  const [madeFor, setMadeFor] = useState("")
  return (
    <form className="flex flex-col gap-3 rounded-lg bg-white p-3 ring-1 ring-slate-200"
      onSubmit={async (event) => {
        event.preventDefault()
        const result = await create(name.trim())
        if (result.state === "ready") {
          setMadeFor(name.trim())
          setName("")
          onCreated()
        }
      }}>
      <h2 className="font-semibold text-slate-900">New collector</h2>
      <div className="flex flex-wrap items-end gap-3">
        <TextField label="Collector name" value={name} onChange={(e) => setName(e.target.value)} required maxLength={200}
          className="min-w-48 flex-1" hint="The device's name, one people recognise, e.g. Main St & 5th box. A site is a camera's place, set in Cameras." />
        <Button type="submit" disabled={created.state === "loading"}>Create claim code</Button>
      </div>
      {created.state === "failed" && <ProblemNote problem={created.problem} />}
      {created.state === "ready" && <ClaimCode name={madeFor} code={created.value.claim_code} expiresAt={created.value.expires_at} />}
    </form>
  )
}

type Command = "reboot" | "update_cameras" | "config_update"

const CommandForm = ({ collector }: { readonly collector: CollectorSummary }) => {
  const [cmd, setCmd] = useState<Command>("reboot")
  const [payload, setPayload] = useState("")
  const [invalid, setInvalid] = useState<string>()
  const [sent, send] = useRpcAction((p: { cmd: Command; payload?: Record<string, unknown> }) =>
    withRpc((rpc) => rpc.collectors.sendCommand({ collector_id: collector.collector_id, ...p })))
  return (
    <form className="flex flex-col gap-2"
      onSubmit={(event) => {
        event.preventDefault()
        let parsed: Record<string, unknown> | undefined
        try {
          parsed = payload.trim() === "" ? undefined : JSON.parse(payload)
        } catch {
          setInvalid("The payload is not valid JSON.")
          return
        }
        setInvalid(undefined)
        void send({ cmd, ...(parsed ? { payload: parsed } : {}) })
      }}>
      <div className="flex flex-wrap items-end gap-2">
        <SelectField label="Command" value={cmd} onChange={(e) => setCmd(e.target.value as Command)}>
          <option value="reboot">Restart the collector</option>
          <option value="update_cameras">Replace its camera list</option>
          <option value="config_update">Push configuration</option>
        </SelectField>
        <Button type="submit" variant="secondary" disabled={sent.state === "loading"}>Send</Button>
      </div>
      {cmd !== "reboot" && (
        <label className="flex flex-col gap-1 text-sm font-medium text-slate-800">
          Payload (JSON{cmd === "update_cameras" ? `, {"cameras": [...]}` : ""})
          <textarea value={payload} onChange={(e) => setPayload(e.target.value)} rows={4}
            className="rounded-lg border border-slate-400 bg-white p-2 font-mono text-sm" />
        </label>
      )}
      {invalid && <p role="alert" className="text-sm text-red-800">{invalid}</p>}
      {sent.state === "failed" && <ProblemNote problem={sent.problem} />}
      {sent.state === "ready" && <Notice tone="success">Queued: the collector gets it at its next heartbeat.</Notice>}
    </form>
  )
}

const health = (c: CollectorSummary) =>
  c.status !== "active" ? { tone: "neutral" as const, text: c.status }
    : c.last_seen_at === null ? { tone: "warn" as const, text: "never seen" }
    : Date.now() - new Date(c.last_seen_at).getTime() > 5 * 60_000 ? { tone: "bad" as const, text: "silent" }
    : { tone: "good" as const, text: "online" }

const CollectorRow = ({ collector, onChanged }: { readonly collector: CollectorSummary; readonly onChanged: () => void }) => {
  const ref = { collector_id: collector.collector_id }
  const [code, newCode] = useRpcAction(() => withRpc((rpc) => rpc.collectors.createClaimCode(ref)))
  const [rotated, rotate] = useRpcAction(() => withRpc((rpc) => rpc.collectors.rotateKey(ref)))
  const [revoked, revoke] = useRpcAction(() => withRpc((rpc) => rpc.collectors.revokeKeys(ref)))
  const [open, setOpen] = useState(false)
  const state = health(collector)
  return (
    <li className="flex flex-col gap-2 rounded-lg bg-white p-3 ring-1 ring-slate-200">
      <div className="flex flex-wrap items-center gap-2">
        <span className="font-semibold text-slate-900">{collector.name}</span>
        <Badge tone={state.tone}>{state.text}</Badge>
        {collector.disk_full && <Badge tone="bad">disk full</Badge>}
        <span className="text-sm text-slate-700">
          last seen {formatAgo(collector.last_seen_at)}
          {collector.last_seen_at !== null &&
            ` (heartbeat ${formatAgo(collector.last_heartbeat_at)}, upload ${formatAgo(collector.last_upload_at)})`}
          {collector.queue_depth !== null ? ` · ${collector.queue_depth} queued` : ""}
          {collector.cameras_online !== null ? ` · ${collector.cameras_online} cameras online` : ""}
          {collector.edge_version ? ` · v${collector.edge_version}` : ""}
          {` · ${collector.active_keys} key${collector.active_keys === 1 ? "" : "s"}`}
        </span>
      </div>
      <div className="flex flex-wrap gap-2">
        <Button variant="secondary" onClick={() => void newCode()}>New claim code</Button>
        <Button variant="secondary" onClick={() => void rotate()}>Rotate key</Button>
        <Button variant="danger" onClick={() => {
          if (window.confirm(`Revoke every key of ${collector.name}? It stops uploading until it is claimed again.`)) void revoke().then(onChanged)
        }}>Revoke keys</Button>
        <Button variant="secondary" aria-expanded={open} onClick={() => setOpen(!open)}>Commands</Button>
      </div>
      {code.state === "failed" && <ProblemNote problem={code.problem} />}
      {code.state === "ready" && <ClaimCode name={collector.name} code={code.value.claim_code} expiresAt={code.value.expires_at} />}
      {rotated.state === "failed" && <ProblemNote problem={rotated.problem} />}
      {rotated.state === "ready" && <Notice tone="success">Key rotation queued: the collector fetches a new key at its next heartbeat.</Notice>}
      {revoked.state === "failed" && <ProblemNote problem={revoked.problem} />}
      {revoked.state === "ready" && <Notice tone="success">{revoked.value.revoked_keys} key(s) revoked.</Notice>}
      {open && <CommandForm collector={collector} />}
    </li>
  )
}

export const Collectors = () => {
  const [collectors, reload] = useRpc(() => withRpc((rpc) => rpc.collectors.list()), [])
  usePolling(reload, 15)
  return (
    <section className="flex flex-col gap-4" aria-label="Collectors">
      <NewCollector onCreated={reload} />
      <Loaded remote={collectors}>
        {(list) => list.length === 0
          ? <p className="text-slate-700">No collectors yet.</p>
          : <ul className="flex flex-col gap-2">{list.map((c) => <CollectorRow key={c.collector_id} collector={c} onChanged={reload} />)}</ul>}
      </Loaded>
    </section>
  )
}
