import type { MqttSettingName, MqttSettingsUpdate, MqttSettingsView } from "@chaverim/domain/rpc/Mqtt"
import { useState } from "react"
import { useRpc, useRpcAction, withRpc } from "../../client/rpc"
import { Badge, Button, Loaded, Notice, ProblemNote, TextField } from "../../ui/controls"
import { formatDateTime } from "../../ui/format"

const ENV_NAMES: Record<MqttSettingName, string> = {
  url: "MQTT_URL",
  username: "MQTT_USERNAME",
  password: "MQTT_PASSWORD",
  topic_prefix: "MQTT_TOPIC_PREFIX",
  publish_reads: "MQTT_PUBLISH_READS",
  discovery: "MQTT_DISCOVERY",
  discovery_prefix: "MQTT_DISCOVERY_PREFIX"
}

const Checkbox = ({ label, checked, disabled, onChange }: {
  readonly label: string
  readonly checked: boolean
  readonly disabled: boolean
  readonly onChange: (on: boolean) => void
}) => (
  <label className="flex min-h-11 items-center gap-3 text-slate-900">
    <input type="checkbox" className="size-5" checked={checked} disabled={disabled} onChange={(e) => onChange(e.target.checked)} />
    {label}
  </label>
)

/**
 * The form, made afresh from each version of the settings (its fields start from what is saved); the
 * parent keeps "saved", which would otherwise go with the form it replaces.
 */
const SettingsForm = ({ justSaved, onSaved, onSaving, settings }: {
  readonly settings: MqttSettingsView
  readonly justSaved: boolean
  readonly onSaving: () => void
  readonly onSaved: () => void
}) => {
  const fixed = (name: MqttSettingName) => settings.from_environment.includes(name)
  const envHint = (name: MqttSettingName) => (fixed(name) ? `Set by the server's ${ENV_NAMES[name]}, which overrides this panel.` : undefined)
  const [url, setUrl] = useState(settings.url ?? "")
  const [username, setUsername] = useState(settings.username ?? "")
  const [password, setPassword] = useState("")
  const [removePassword, setRemovePassword] = useState(false)
  const [topicPrefix, setTopicPrefix] = useState(settings.topic_prefix)
  const [publishReads, setPublishReads] = useState(settings.publish_reads)
  const [discovery, setDiscovery] = useState(settings.discovery)
  const [discoveryPrefix, setDiscoveryPrefix] = useState(settings.discovery_prefix)

  const change = (): MqttSettingsUpdate => ({
    ...(fixed("url") ? {} : { url: url.trim() === "" ? null : url.trim() }),
    ...(fixed("username") ? {} : { username: username.trim() === "" ? null : username.trim() }),
    ...(fixed("password") ? {} : removePassword ? { password: null } : password === "" ? {} : { password }),
    ...(fixed("topic_prefix") ? {} : { topic_prefix: topicPrefix.trim() }),
    ...(fixed("publish_reads") ? {} : { publish_reads: publishReads }),
    ...(fixed("discovery") ? {} : { discovery }),
    ...(fixed("discovery_prefix") ? {} : { discovery_prefix: discoveryPrefix.trim() })
  })
  const [saved, save] = useRpcAction(() => withRpc((rpc) => rpc.mqtt.update(change())))

  return (
    <form className="flex flex-col gap-3 rounded-lg bg-white p-3 ring-1 ring-slate-200" aria-label="MQTT settings"
      onSubmit={async (event) => {
        event.preventDefault()
        onSaving()
        if ((await save()).state === "ready") {
          setPassword("")
          setRemovePassword(false)
          onSaved()
        }
      }}>
      <h2 className="font-semibold text-slate-900">Broker</h2>
      <div className="grid gap-3 sm:grid-cols-2">
        <TextField label="Broker URL" value={url} onChange={(e) => setUrl(e.target.value)} disabled={fixed("url")}
          maxLength={500} placeholder="mqtt://broker.local:1883" autoComplete="off" spellCheck={false}
          hint={envHint("url") ?? "mqtt:// or mqtts:// with host and port. Empty: MQTT off."} />
        <TextField label="User name" value={username} onChange={(e) => setUsername(e.target.value)} disabled={fixed("username")}
          maxLength={200} autoComplete="off" hint={envHint("username")} />
        <TextField label="Password" type="password" value={password} onChange={(e) => setPassword(e.target.value)}
          disabled={fixed("password") || removePassword} maxLength={500} autoComplete="new-password"
          hint={envHint("password") ?? `The password is ${settings.password}. Leave empty to keep it.`} />
        <TextField label="Topic prefix" value={topicPrefix} onChange={(e) => setTopicPrefix(e.target.value)}
          disabled={fixed("topic_prefix")} required maxLength={100} pattern="[A-Za-z0-9_\-]+(/[A-Za-z0-9_\-]+)*"
          hint={envHint("topic_prefix") ?? "Topics start with this, e.g. alpr/alert."} />
      </div>
      {settings.password === "set" && !fixed("password") && (
        <Checkbox label="Remove the password" checked={removePassword} disabled={false} onChange={setRemovePassword} />
      )}
      <Checkbox label="Publish every read (plate, camera, time; no photos) on <prefix>/read/<camera>" checked={publishReads}
        disabled={fixed("publish_reads")} onChange={setPublishReads} />
      <Checkbox label="Home Assistant discovery (cameras and shared lists appear by themselves)" checked={discovery}
        disabled={fixed("discovery")} onChange={setDiscovery} />
      <TextField label="Discovery prefix" value={discoveryPrefix} onChange={(e) => setDiscoveryPrefix(e.target.value)}
        disabled={fixed("discovery_prefix")} required maxLength={100} pattern="[A-Za-z0-9_\-]+(/[A-Za-z0-9_\-]+)*"
        hint={envHint("discovery_prefix") ?? "Home Assistant's, homeassistant unless it was changed there."} />
      {saved.state === "failed" && <ProblemNote problem={saved.problem} />}
      {justSaved && saved.state !== "failed" && <Notice tone="success">Saved; the servers reconnect with these settings.</Notice>}
      <Button type="submit" disabled={saved.state === "loading"} className="self-start">Save</Button>
    </form>
  )
}

const TestButton = () => {
  const [tested, test] = useRpcAction(() => withRpc((rpc) => rpc.mqtt.test()))
  return (
    <div className="flex flex-col gap-2">
      <Button variant="secondary" className="self-start" disabled={tested.state === "loading"} onClick={() => void test()}>
        {tested.state === "loading" ? "Testing…" : "Test: connect and publish"}
      </Button>
      {tested.state === "failed" && <ProblemNote problem={tested.problem} />}
      {tested.state === "ready" && (
        <Notice tone={tested.value.ok ? "success" : "warning"}>{tested.value.message} ({tested.value.elapsed_ms} ms)</Notice>
      )}
    </div>
  )
}

/** Admin › MQTT: the broker alerts, reads, health and Home Assistant discovery are published to. */
export const Mqtt = () => {
  const [settings, reload] = useRpc(() => withRpc((rpc) => rpc.mqtt.get()), [])
  const [justSaved, setJustSaved] = useState(false)
  return (
    <section className="flex flex-col gap-4" aria-label="MQTT">
      <p className="text-slate-800">
        Alerts on shared lists go to <code>&lt;prefix&gt;/alert</code> (QoS 1, retried until the broker acknowledges);
        collectors' and cameras' health and Home Assistant's discovery are kept retained. A private list is never published.
        Settings the server's environment sets (MQTT_*) override this panel and cannot be changed here.
      </p>
      <Loaded remote={settings}>
        {(s) => (
          <div className="flex flex-col gap-4">
            <div className="flex flex-wrap items-center gap-2">
              <Badge tone={s.url === null ? "neutral" : s.connected ? "good" : "bad"}>
                {s.url === null ? "off" : s.connected ? "connected" : "not connected"}
              </Badge>
              {s.url !== null && <code className="text-sm text-slate-800">{s.url}</code>}
              {s.last_error !== null && <span className="text-sm text-red-800">{s.last_error}</span>}
              {s.updated_at !== null && <span className="text-sm text-slate-700">changed {formatDateTime(s.updated_at)}</span>}
            </div>
            <SettingsForm key={s.updated_at ?? "never"} settings={s} justSaved={justSaved} onSaving={() => setJustSaved(false)}
              onSaved={() => {
                setJustSaved(true)
                reload()
              }} />
            <TestButton />
          </div>
        )}
      </Loaded>
    </section>
  )
}
