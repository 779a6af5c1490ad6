import { CAMERA_MODES, CAMERA_VENDORS, CameraConnection, type DeviceCamera } from "@chaverim/domain/CameraConnection"
import type { Camera } from "@chaverim/domain/rpc/Cameras"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { useState } from "react"
import { valueOf } from "../../client/problem"
import { useRpc, useRpcAction, withRpc } from "../../client/rpc"
import { Badge, Button, Notice, ProblemNote, SelectField, TextField } from "../../ui/controls"
import { formatDate } from "../../ui/format"

/**
 * A camera's connection as admins set it (vendor, mode, URL, account; the password stays on the
 * device), the camera as its collector runs it and where the two differ, and the push to the collector.
 */

export interface ConnectionDraft {
  /** false: the device's own configuration rules this camera */
  readonly managed: boolean
  readonly vendor: string
  readonly mode: string
  readonly url: string
  readonly username: string
  readonly mqttUrl: string
  readonly timeZone: string
  readonly pushFrom: string
  readonly mac: string
}

export const connectionDraftOf = (connection: CameraConnection | null): ConnectionDraft => ({
  managed: connection !== null,
  vendor: connection?.vendor ?? "hikvision",
  mode: connection?.mode ?? "pull",
  url: connection?.url ?? "",
  username: connection?.username ?? "",
  mqttUrl: connection?.mqtt_url ?? "",
  timeZone: connection?.time_zone ?? "",
  pushFrom: connection?.push_from ?? "",
  mac: connection?.mac ?? ""
})

const decodeConnection = Schema.decodeUnknownEither(CameraConnection)

/** The draft as a connection (null when not managed), or why it is not one: the contract's own rule, before anything is sent. */
export const connectionOf = (
  draft: ConnectionDraft,
  kept?: CameraConnection | null
): { readonly connection: CameraConnection | null } | { readonly problem: string } => {
  if (!draft.managed) return { connection: null }
  const text = (value: string) => (value.trim() === "" ? undefined : value.trim())
  const fields = {
    // what this form does not show (channel, Frigate's topic, ...) is kept as it was
    ...kept,
    vendor: draft.vendor,
    mode: draft.mode,
    url: text(draft.url),
    username: text(draft.username),
    mqtt_url: text(draft.mqttUrl),
    time_zone: text(draft.timeZone),
    push_from: text(draft.pushFrom),
    mac: text(draft.mac)
  }
  const decoded = decodeConnection(Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)))
  if (Either.isRight(decoded)) return { connection: decoded.right }
  const [first] = ParseResult.ArrayFormatter.formatErrorSync(decoded.left)
  return { problem: `The connection cannot be used: ${first?.message ?? "check its fields"}.` }
}

export const ConnectionFields = ({ draft, optional = true, set }: {
  readonly draft: ConnectionDraft
  readonly set: (change: Partial<ConnectionDraft>) => void
  /** whether setting it here may be turned off (a camera made here always has one) */
  readonly optional?: boolean
}) => (
  <fieldset className="flex flex-col gap-3 rounded-lg border border-slate-300 p-3">
    <legend className="px-1 font-medium text-slate-900">Connection</legend>
    {optional && (
      <label className="flex items-center gap-2 text-slate-900">
        <input type="checkbox" checked={draft.managed} onChange={(e) => set({ managed: e.target.checked })} />
        Set how its collector reaches it here, and push it
      </label>
    )}
    {draft.managed && (
      <div className="grid gap-3 sm:grid-cols-2">
        <SelectField label="Vendor" value={draft.vendor} onChange={(e) => set({ vendor: e.target.value })}>
          {CAMERA_VENDORS.map((v) => <option key={v} value={v}>{v}</option>)}
        </SelectField>
        <SelectField label="Mode" value={draft.mode} onChange={(e) => set({ mode: e.target.value })}
          hint="push: it posts to the collector; pull: Hikvision events; poll: a UniFi Protect console; mqtt: Frigate.">
          {CAMERA_MODES.map((m) => <option key={m} value={m}>{m}</option>)}
        </SelectField>
        <TextField label="Camera URL" type="url" value={draft.url} onChange={(e) => set({ url: e.target.value })} maxLength={500}
          placeholder="http://192.168.1.20" hint="The camera's, the console's or Frigate's address, without a password." />
        <TextField label="Username" value={draft.username} onChange={(e) => set({ username: e.target.value })} maxLength={100}
          autoComplete="off" hint="The password is set on the device: its page, or edge camera-password." />
        {draft.mode === "mqtt" && (
          <TextField label="MQTT broker URL" value={draft.mqttUrl} onChange={(e) => set({ mqttUrl: e.target.value })} maxLength={500}
            placeholder="mqtt://192.168.1.30:1883" />
        )}
        {draft.mode === "poll" && (
          <TextField label="Camera MAC" value={draft.mac} onChange={(e) => set({ mac: e.target.value })} maxLength={17}
            placeholder="AA:BB:CC:DD:EE:FF" hint="Which camera of the Protect console; empty: every camera the console has." />
        )}
        {draft.mode === "push" && (
          <TextField label="Pushes only from" value={draft.pushFrom} onChange={(e) => set({ pushFrom: e.target.value })} maxLength={45}
            placeholder="192.168.1.0/24" hint="An address or range; empty: from anywhere with the camera's push URL." />
        )}
        <TextField label="Camera clock's time zone" value={draft.timeZone} onChange={(e) => set({ timeZone: e.target.value })} maxLength={64}
          placeholder="America/New_York" hint="For times that carry no offset." />
      </div>
    )}
  </fieldset>
)

const DeviceRow = ({ device }: { readonly device: DeviceCamera }) => (
  <span>
    {device.vendor} {device.mode}{device.url ? ` · ${device.url}` : ""}{device.username ? ` · ${device.username}` : ""}
    {" · "}{device.password_set ? "password held" : "no password"}
    {device.connection && ` · ${device.connection.state}${device.connection.message ? `: ${device.connection.message}` : ""}`}
  </span>
)

/** The camera as its collector runs it, and what differs from what is set here. */
export const OnTheDevice = ({ camera }: { readonly camera: Camera }) => {
  if (camera.connection === null && camera.device === null) return null
  return (
    <section aria-label="On the device" className="flex flex-col gap-2 rounded-lg bg-slate-50 p-3 ring-1 ring-slate-200">
      <h3 className="font-medium text-slate-900">On the device</h3>
      {camera.device === null
        ? <p className="text-slate-700">Its collector reports no camera {camera.external_id}.</p>
        : <p className="text-sm text-slate-800"><DeviceRow device={camera.device} /></p>}
      {camera.connection !== null && (camera.drift.length === 0
        ? <Notice tone="success">The device runs it as set here.</Notice>
        : (
          <div role="status" className="rounded-lg border border-amber-300 bg-amber-50 px-3 py-2 text-amber-950">
            <p className="font-medium">Differs from what is set here:</p>
            <ul className="list-disc pl-5">{camera.drift.map((d) => <li key={d}>{d}</li>)}</ul>
          </div>
        ))}
    </section>
  )
}

/** A collector's side: push its cameras, how the last push went, and the cameras it runs that are not set here. */
export const CollectorCameras = ({ collectorId, collectorName, onPushed }: {
  readonly collectorId: string
  readonly collectorName: string
  readonly onPushed: () => void
}) => {
  const [side, reload] = useRpc(() => withRpc((rpc) => rpc.cameras.collector({ collector_id: collectorId })), [collectorId])
  const [pushed, push] = useRpcAction(() => withRpc((rpc) => rpc.cameras.push({ collector_id: collectorId })))
  const value = valueOf(side)
  const last = value?.last_push ?? null
  return (
    <section aria-label={`Collector ${collectorName}`} className="flex flex-col gap-2 rounded-lg bg-white p-3 ring-1 ring-slate-200">
      <h3 className="font-medium text-slate-900">Collector {collectorName}</h3>
      <div className="flex flex-wrap items-center gap-2">
        <Button variant="secondary" disabled={pushed.state === "loading"} onClick={async () => {
          if ((await push()).state === "ready") {
            reload()
            onPushed()
          }
        }}>Push cameras to {collectorName}</Button>
        <Button variant="secondary" onClick={() => {
          reload()
          onPushed()
        }}>Refresh</Button>
      </div>
      {pushed.state === "ready" && (
        <Notice>
          Sent {pushed.value.cameras.length} camera{pushed.value.cameras.length === 1 ? "" : "s"}: the collector checks them at its next
          heartbeat, tries each login, and applies them.
        </Notice>
      )}
      {pushed.state === "failed" && <ProblemNote problem={pushed.problem} />}
      {last !== null && (
        <p className="text-sm text-slate-800">
          Last push {formatDate(last.created_at)}:{" "}
          <Badge tone={last.status === "done" ? "good" : last.status === "failed" ? "bad" : "neutral"}>{last.status}</Badge>
          {last.message !== null && <span className="block break-words">{last.message}</span>}
        </p>
      )}
      {value !== undefined && value.device_only.length > 0 && (
        <div>
          <p className="text-sm font-medium text-slate-800">Running on the device, set only there:</p>
          <ul className="list-disc pl-5 text-sm text-slate-800">
            {value.device_only.map((d) => <li key={d.id}>{d.id}: <DeviceRow device={d} /></li>)}
          </ul>
        </div>
      )}
      {value !== undefined && value.reported_at === null && <p className="text-sm text-slate-700">No camera report from it yet.</p>}
      {side.state === "failed" && <ProblemNote problem={side.problem} />}
    </section>
  )
}

/** A camera made here before it sends a read: its collector, its id there and its connection. */
export const NewCamera = ({ onCreated }: { readonly onCreated: (camera: Camera) => void }) => {
  const [collectors] = useRpc(() => withRpc((rpc) => rpc.collectors.list()), [])
  const [collectorId, setCollectorId] = useState("")
  const [externalId, setExternalId] = useState("")
  const [name, setName] = useState("")
  const [draft, setDraft] = useState<ConnectionDraft>({ ...connectionDraftOf(null), managed: true })
  const connection = connectionOf(draft)
  const chosen = collectorId || valueOf(collectors)?.[0]?.collector_id || ""
  const [created, create] = useRpcAction(() =>
    withRpc((rpc) =>
      rpc.cameras.create({
        collector_id: chosen,
        external_id: externalId.trim(),
        ...(name.trim() === "" ? {} : { name: name.trim() }),
        connection: "connection" in connection && connection.connection !== null ? connection.connection : { vendor: "generic", mode: "push" }
      })
    ))
  return (
    <form aria-label="Add a camera" className="flex flex-col gap-3 rounded-lg bg-white p-3 ring-1 ring-slate-200"
      onSubmit={async (event) => {
        event.preventDefault()
        if ("problem" in connection) return
        const result = await create()
        if (result.state === "ready") onCreated(result.value)
      }}>
      <h2 className="font-semibold text-slate-900">Add a camera</h2>
      <div className="grid gap-3 sm:grid-cols-2">
        <SelectField label="Collector" value={chosen} onChange={(e) => setCollectorId(e.target.value)} required>
          {(valueOf(collectors) ?? []).map((c) => <option key={c.collector_id} value={c.collector_id}>{c.name}</option>)}
        </SelectField>
        <TextField label="Camera id on the collector" value={externalId} onChange={(e) => setExternalId(e.target.value)} required
          maxLength={200} pattern="[A-Za-z0-9][A-Za-z0-9._:\-]*" hint="What its reads carry as camera.id, e.g. hik-gate." />
        <TextField label="Camera name" value={name} onChange={(e) => setName(e.target.value)} maxLength={200} />
      </div>
      <ConnectionFields draft={draft} optional={false} set={(change) => setDraft({ ...draft, ...change })} />
      {"problem" in connection && <p role="alert" className="text-red-800">{connection.problem}</p>}
      {created.state === "failed" && <ProblemNote problem={created.problem} />}
      <Button type="submit" className="self-start" disabled={created.state === "loading" || "problem" in connection || chosen === ""}>
        Add camera
      </Button>
    </form>
  )
}
