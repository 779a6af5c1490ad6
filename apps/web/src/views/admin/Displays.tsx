import { DISPLAY_NAME_MAX, type DisplayCode, type DisplaySummary } from "@chaverim/domain/rpc/Displays"
import { useState } from "react"
import { valueOf } from "../../client/problem"
import { useRpc, useRpcAction, withRpc } from "../../client/rpc"
import { usePolling } from "../../client/usePolling"
import { Badge, Button, Loaded, Notice, ProblemNote, TextField } from "../../ui/controls"
import { formatAgo, formatDate, formatDateTime } from "../../ui/format"

/** How long a screen may go without asking for the wall's status (it does every 15 s) and still count as showing it. */
const SILENT_MS = 2 * 60_000
/** A pairing code lasts 15 minutes from when it is made (DISPLAY_CODE_MINUTES on the server). */
const CODE_MS = 15 * 60_000

/**
 * What became of a code shown here, by the list's latest word: still open, used (the display paired
 * after it was made), replaced by a newer one, or run out.
 */
const codeState = (code: DisplayCode, current: DisplaySummary | undefined, now = Date.now()) => {
  if (current?.revoked_at) return "revoked" as const
  if (current?.code_expires_at === code.expires_at) return now < Date.parse(code.expires_at) ? "open" as const : "expired" as const
  if (current?.paired_at && Date.parse(current.paired_at) >= Date.parse(code.expires_at) - CODE_MS - 5_000) return "used" as const
  if (current?.code_expires_at && Date.parse(current.code_expires_at) > Date.parse(code.expires_at)) return "replaced" as const
  return now < Date.parse(code.expires_at) ? "open" as const : "expired" as const
}

/** A pairing code as it is typed on the wall screen at /pair: large, with where to type it and until when. */
const PairingCode = ({ code, current }: { readonly code: DisplayCode; readonly current: DisplaySummary | undefined }) => {
  const origin = window.location.origin
  const state = codeState(code, current)
  if (state === "used") {
    return <Notice tone="success">{code.name} is paired (its code is used up): the screen shows the wall.</Notice>
  }
  if (state === "replaced") return <Notice>This code was replaced by a newer one.</Notice>
  if (state === "expired") return <Notice tone="warning">The code for {code.name} has run out: make a new one.</Notice>
  if (state === "revoked") return null
  return (
    <figure className="flex flex-col gap-2 rounded-lg border-2 border-amber-400 bg-amber-50 p-4 text-slate-900" data-testid="pairing-code">
      <figcaption className="text-sm">Pairing code for <strong>{code.name}</strong> (single use)</figcaption>
      <code className="select-all break-all font-mono text-4xl font-bold tracking-widest sm:text-5xl">{code.code}</code>
      <span className="text-sm text-slate-800">Valid until {formatDateTime(code.expires_at)}</span>
      <p>
        On the wall screen, open <strong className="break-words">{origin}/pair</strong> and type this code. The screen then shows
        the wall, signed in as this display, until its session ends or you revoke it.
      </p>
      <p className="text-sm text-slate-800">
        Or open this address on the screen, which fills the code in:{" "}
        <code className="select-all break-words">{`${origin}/pair?code=${encodeURIComponent(code.code)}`}</code>
      </p>
    </figure>
  )
}

const NewDisplay = ({ onCreated, list }: { readonly onCreated: () => void; readonly list: ReadonlyArray<DisplaySummary> | undefined }) => {
  const [name, setName] = useState("")
  const [created, create] = useRpcAction((n: string) => withRpc((rpc) => rpc.displays.create({ name: n })))
  return (
    <form className="flex flex-col gap-3 rounded-lg bg-white p-3 ring-1 ring-slate-200"
      onSubmit={async (event) => {
        event.preventDefault()
        const result = await create(name.trim())
        if (result.state === "ready") {
          setName("")
          onCreated()
        }
      }}>
      <h2 className="font-semibold text-slate-900">New display</h2>
      <p className="text-sm text-slate-700">
        A wall screen that shows the wall with nobody signing in: name it here, then type its pairing code on the
        screen. It is signed in as a viewer that can show the wall and nothing else.
      </p>
      <div className="flex flex-wrap items-end gap-3">
        <TextField label="Display name" value={name} onChange={(e) => setName(e.target.value)} required maxLength={DISPLAY_NAME_MAX}
          className="min-w-48 flex-1" hint="Where the screen is, e.g. Control room left" />
        <Button type="submit" disabled={created.state === "loading"}>Create pairing code</Button>
      </div>
      {created.state === "failed" && <ProblemNote problem={created.problem} />}
      {created.state === "ready" && (
        <PairingCode code={created.value} current={list?.find((d) => d.display_id === created.value.display_id)} />
      )}
    </form>
  )
}

const health = (d: DisplaySummary, now = Date.now()) =>
  d.revoked_at !== null ? { tone: "neutral" as const, text: "revoked" }
    : d.session_expires_at === null ? (d.paired_at === null ? { tone: "warn" as const, text: "not paired" } : { tone: "bad" as const, text: "session ended" })
    : d.last_seen_at !== null && now - Date.parse(d.last_seen_at) < SILENT_MS ? { tone: "good" as const, text: "showing the wall" }
    : { tone: "warn" as const, text: "silent" }

const DisplayRow = ({ display, onChanged }: { readonly display: DisplaySummary; readonly onChanged: () => void }) => {
  const ref = { display_id: display.display_id }
  const [code, newCode] = useRpcAction(() => withRpc((rpc) => rpc.displays.newCode(ref)))
  const [revoked, revoke] = useRpcAction(() => withRpc((rpc) => rpc.displays.revoke(ref)))
  const state = health(display)
  const facts = [
    display.paired_at === null ? "never paired" : `paired ${formatDateTime(display.paired_at)}`,
    display.session_expires_at !== null || display.last_seen_at !== null ? `last seen ${formatAgo(display.last_seen_at)}` : undefined,
    display.session_expires_at === null ? undefined : `session ends ${formatDate(display.session_expires_at)}`,
    display.code_expires_at === null ? undefined : `pairing code open until ${formatDateTime(display.code_expires_at)}`,
    display.revoked_at === null ? undefined : `revoked ${formatDateTime(display.revoked_at)}`,
    `added ${formatDate(display.created_at)}${display.created_by ? ` by ${display.created_by}` : ""}`
  ].filter((fact) => fact !== undefined)
  return (
    <li className="flex flex-col gap-2 rounded-lg bg-white p-3 ring-1 ring-slate-200" aria-label={`Display ${display.name}`}>
      <div className="flex flex-wrap items-center gap-2">
        <span className="font-semibold text-slate-900">{display.name}</span>
        <Badge tone={state.tone}>{state.text}</Badge>
      </div>
      <p className="text-sm text-slate-700">{facts.join(" · ")}</p>
      {display.revoked_at === null && (
        <div className="flex flex-wrap gap-2">
          <Button variant="secondary" disabled={code.state === "loading"} onClick={() => void newCode().then(onChanged)}>
            New pairing code
          </Button>
          <Button variant="danger" disabled={revoked.state === "loading"} onClick={() => {
            if (window.confirm(`Revoke ${display.name}? Its screen stops showing the wall at once, and this display cannot be paired again.`)) {
              void revoke().then(onChanged)
            }
          }}>Revoke</Button>
        </div>
      )}
      {code.state === "failed" && <ProblemNote problem={code.problem} />}
      {code.state === "ready" && <PairingCode code={code.value} current={display} />}
      {revoked.state === "failed" && <ProblemNote problem={revoked.problem} />}
    </li>
  )
}

/** Admin › Displays: the wall screens, their pairing codes and sessions. */
export const Displays = () => {
  const [displays, reload] = useRpc(() => withRpc((rpc) => rpc.displays.list()), [])
  usePolling(reload, 15)
  const list = valueOf(displays)
  return (
    <section className="flex flex-col gap-4" aria-label="Displays">
      <NewDisplay onCreated={reload} list={list} />
      <Loaded remote={displays}>
        {(list) => list.length === 0
          ? <p className="text-slate-700">No displays yet.</p>
          : <ul className="flex flex-col gap-2" aria-label="Wall displays">{list.map((d) => <DisplayRow key={d.display_id} display={d} onChanged={reload} />)}</ul>}
      </Loaded>
    </section>
  )
}
