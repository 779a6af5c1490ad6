import type { EmailSettings } from "@chaverim/domain/rpc/Email"
import { useState } from "react"
import { useRpc, useRpcAction, withRpc } from "../../client/rpc"
import { Badge, Button, Loaded, Notice, ProblemNote, TextField } from "../../ui/controls"
import { formatDateTime } from "../../ui/format"

const SOURCE_TEXT: Record<EmailSettings["sources"]["smtp_url"], string> = {
  environment: "set in the server's environment (overrides this panel)",
  admin: "set here",
  default: "the default",
  unset: "not set"
}

const Source = ({ source }: { readonly source: EmailSettings["sources"]["smtp_url"] }) => (
  <span className="text-sm text-slate-700">{SOURCE_TEXT[source]}</span>
)

/**
 * The form, made afresh from each version of the settings (its fields start from what is saved); the
 * parent keeps "saved", which would otherwise go with the form it replaces.
 */
const SettingsForm = ({ justSaved, onSaved, onSaving, settings }: {
  readonly settings: EmailSettings
  readonly justSaved: boolean
  readonly onSaving: () => void
  readonly onSaved: () => void
}) => {
  const [url, setUrl] = useState(settings.sources.smtp_url === "admin" ? settings.smtp_url ?? "" : "")
  const [username, setUsername] = useState(settings.sources.smtp_username === "admin" ? settings.smtp_username ?? "" : "")
  const [password, setPassword] = useState("")
  const [from, setFrom] = useState(settings.sources.from === "admin" ? settings.from ?? "" : "")
  const [batch, setBatch] = useState(settings.sources.batch_seconds === "admin" ? String(settings.batch_seconds) : "")
  const [saved, save] = useRpcAction(() =>
    withRpc((rpc) =>
      rpc.email.updateSettings({
        smtp_url: url.trim() === "" ? null : url.trim(),
        smtp_username: username === "" ? null : username,
        // empty: the password stays as it is
        ...(password === "" ? {} : { smtp_password: password }),
        from: from.trim() === "" ? null : from.trim(),
        batch_seconds: batch.trim() === "" ? null : Number(batch)
      })
    )
  )
  const [cleared, clearPassword] = useRpcAction(() => withRpc((rpc) => rpc.email.updateSettings({ smtp_password: null })))
  return (
    <form className="flex flex-col gap-3 rounded-lg bg-white p-3 ring-1 ring-slate-200" aria-label="SMTP settings"
      onSubmit={async (event) => {
        event.preventDefault()
        onSaving()
        if ((await save()).state === "ready") {
          setPassword("")
          onSaved()
        }
      }}>
      <h2 className="font-semibold text-slate-900">Change the settings</h2>
      <p className="text-sm text-slate-700">
        A setting given in the server's environment (SMTP_URL, SMTP_USERNAME, SMTP_PASSWORD, SMTP_FROM,
        EMAIL_BATCH_SECONDS) overrides what is saved here. Every change is audited; the password never is.
      </p>
      <div className="grid gap-3 sm:grid-cols-2">
        <TextField label="SMTP server" value={url} onChange={(e) => setUrl(e.target.value)} maxLength={500}
          placeholder="smtps://mail.example.org:465" spellCheck={false} autoComplete="off"
          hint="smtp://host:port (STARTTLS when offered) or smtps://host:port; empty turns e-mail off." />
        <TextField label="Sender (From)" value={from} onChange={(e) => setFrom(e.target.value)} maxLength={300}
          placeholder="Chaverim ALPR <alerts@example.org>" spellCheck={false} autoComplete="off" />
        <TextField label="User name" value={username} onChange={(e) => setUsername(e.target.value)} maxLength={200}
          spellCheck={false} autoComplete="off" />
        <TextField label="Password" type="password" value={password} onChange={(e) => setPassword(e.target.value)} maxLength={500}
          autoComplete="new-password"
          hint={`Currently ${settings.smtp_password}. Leave empty to keep it.`} />
        <TextField label="Batch window (seconds)" type="number" min={0} max={3600} value={batch}
          onChange={(e) => setBatch(e.target.value)}
          hint={`A person's alerts within this window go in one e-mail. Empty: ${settings.sources.batch_seconds === "admin" ? "the default (30)" : `${settings.batch_seconds}`}.`} />
      </div>
      {saved.state === "failed" && <ProblemNote problem={saved.problem} />}
      {justSaved && saved.state !== "failed" && <Notice tone="success">Saved.</Notice>}
      {cleared.state === "failed" && <ProblemNote problem={cleared.problem} />}
      <div className="flex flex-wrap gap-2">
        <Button type="submit" disabled={saved.state === "loading"}>Save settings</Button>
        {settings.sources.smtp_password === "admin" && (
          <Button variant="danger" disabled={cleared.state === "loading"} onClick={async () => {
            if (window.confirm("Remove the saved SMTP password?")) {
              if ((await clearPassword()).state === "ready") onSaved()
            }
          }}>Remove the password</Button>
        )}
      </div>
    </form>
  )
}

const TestMessage = () => {
  const [to, setTo] = useState("")
  const [result, send] = useRpcAction(() => withRpc((rpc) => rpc.email.test({ to: to.trim() })))
  return (
    <form className="flex flex-col gap-3 rounded-lg bg-white p-3 ring-1 ring-slate-200" aria-label="Test message"
      onSubmit={async (event) => {
        event.preventDefault()
        await send()
      }}>
      <h2 className="font-semibold text-slate-900">Send a test message</h2>
      <div className="flex flex-wrap items-end gap-2">
        <TextField label="To" type="email" value={to} onChange={(e) => setTo(e.target.value)} required maxLength={254}
          className="min-w-64 flex-1" autoComplete="off" />
        <Button type="submit" variant="secondary" disabled={result.state === "loading"}>Send test</Button>
      </div>
      {result.state === "failed" && <ProblemNote problem={result.problem} />}
      {result.state === "ready" && (
        <Notice tone={result.value.ok ? "success" : "warning"}>
          {result.value.ok ? "Accepted" : "Not sent"} after {result.value.elapsed_ms} ms. The server said:{" "}
          <code className="break-all">{result.value.message}</code>
        </Notice>
      )}
    </form>
  )
}

/**
 * Admin › E-mail: the SMTP server alerts go out through, where each setting comes from, and a test
 * message. People set their own address and subscriptions; failed e-mails are listed with every
 * channel's deliveries.
 */
export const Email = () => {
  const [settings, reload] = useRpc(() => withRpc((rpc) => rpc.email.settings()), [])
  const [justSaved, setJustSaved] = useState(false)
  return (
    <section className="flex flex-col gap-4" aria-label="E-mail">
      <Loaded remote={settings}>
        {(s) => (
          <div className="flex flex-col gap-4">
            <div className="rounded-lg bg-white p-3 ring-1 ring-slate-200">
              <p className="flex flex-wrap items-center gap-2 text-slate-900">
                E-mail is <Badge tone={s.enabled ? "good" : "warn"}>{s.enabled ? "on" : "off"}</Badge>
                {!s.enabled && <span className="text-sm text-slate-700">(owed e-mails wait until an SMTP server and a sender are set)</span>}
              </p>
              <dl className="mt-2 grid gap-x-4 gap-y-1 text-sm sm:grid-cols-[auto_1fr]">
                <dt className="text-slate-700">SMTP server</dt>
                <dd><code className="break-all">{s.smtp_url ?? "none"}</code> <Source source={s.sources.smtp_url} /></dd>
                <dt className="text-slate-700">User name</dt>
                <dd>{s.smtp_username ?? "none"} <Source source={s.sources.smtp_username} /></dd>
                <dt className="text-slate-700">Password</dt>
                <dd>{s.smtp_password} <Source source={s.sources.smtp_password} /></dd>
                <dt className="text-slate-700">Sender</dt>
                <dd>{s.from ?? "none"} <Source source={s.sources.from} /></dd>
                <dt className="text-slate-700">Batch window</dt>
                <dd>{s.batch_seconds} s <Source source={s.sources.batch_seconds} /></dd>
                <dt className="text-slate-700">Last changed here</dt>
                <dd>{formatDateTime(s.updated_at)}</dd>
              </dl>
            </div>
            <SettingsForm key={s.updated_at} settings={s} justSaved={justSaved} onSaving={() => setJustSaved(false)}
              onSaved={() => {
                setJustSaved(true)
                reload()
              }} />
          </div>
        )}
      </Loaded>
      <TestMessage />
    </section>
  )
}
