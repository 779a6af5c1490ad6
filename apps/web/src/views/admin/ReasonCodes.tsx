import type { ReasonCode } from "@chaverim/domain/Reason"
import { useState } from "react"
import { forgetReasonCodes } from "../../client/reasonCodes"
import { useRpc, useRpcAction, withRpc } from "../../client/rpc"
import { Badge, Button, Loaded, Notice, ProblemNote, TextField } from "../../ui/controls"
import { formatDate } from "../../ui/format"

const NewCode = ({ onCreated }: { readonly onCreated: () => void }) => {
  const [code, setCode] = useState("")
  const [label, setLabel] = useState("")
  const [created, create] = useRpcAction(() => withRpc((rpc) => rpc.reasonCodes.create({ code: code.trim(), label: label.trim() })))
  return (
    <form className="flex flex-col gap-3 rounded-lg bg-white p-3 ring-1 ring-slate-200" aria-label="New reason code"
      onSubmit={async (event) => {
        event.preventDefault()
        if ((await create()).state === "ready") {
          setCode("")
          setLabel("")
          onCreated()
        }
      }}>
      <h2 className="font-semibold text-slate-900">New reason code</h2>
      <div className="grid gap-3 sm:grid-cols-2">
        <TextField label="Code" value={code} onChange={(e) => setCode(e.target.value.toLowerCase())} required maxLength={40}
          pattern="[a-z][a-z0-9_]{1,39}" autoComplete="off" spellCheck={false}
          hint="What the audit log records: lower-case letters, digits and _, e.g. hit_and_run. It never changes." />
        <TextField label="Label" value={label} onChange={(e) => setLabel(e.target.value)} required maxLength={100}
          hint="What people choose from, e.g. Hit and run." />
      </div>
      {created.state === "failed" && <ProblemNote problem={created.problem} />}
      {created.state === "ready" && <Notice tone="success">Added {created.value.code}.</Notice>}
      <Button type="submit" disabled={created.state === "loading"} className="self-start">Add reason code</Button>
    </form>
  )
}

const CodeRow = ({ code, onChanged }: { readonly code: ReasonCode; readonly onChanged: () => void }) => {
  const [label, setLabel] = useState(code.label)
  const [relabelled, relabel] = useRpcAction(() => withRpc((rpc) => rpc.reasonCodes.relabel({ code: code.code, label: label.trim() })))
  const [retired, retire] = useRpcAction(() => withRpc((rpc) => rpc.reasonCodes.retire({ code: code.code })))
  const active = code.retired_at === null
  return (
    <li className="flex flex-col gap-2 rounded-lg bg-white p-3 ring-1 ring-slate-200" aria-label={`Reason code ${code.code}`}>
      <div className="flex flex-wrap items-center gap-2">
        <code className="font-semibold text-slate-900">{code.code}</code>
        <Badge tone={active ? "good" : "neutral"}>{active ? "active" : `retired ${formatDate(code.retired_at!)}`}</Badge>
        <span className="text-sm text-slate-700">added {formatDate(code.created_at)}</span>
      </div>
      {active
        ? (
          <form className="flex flex-wrap items-end gap-2"
            onSubmit={async (event) => {
              event.preventDefault()
              if ((await relabel()).state === "ready") onChanged()
            }}>
            <TextField label={`Label of ${code.code}`} value={label} onChange={(e) => setLabel(e.target.value)} required
              maxLength={100} className="min-w-48 flex-1" />
            <Button type="submit" variant="secondary" disabled={label.trim() === code.label || relabelled.state === "loading"}>
              Save label
            </Button>
            <Button variant="danger" disabled={retired.state === "loading"} onClick={async () => {
              if (window.confirm(`Retire ${code.code} (${code.label})? It is no longer offered nor accepted; the audit log keeps it. A retired code cannot be used again.`)) {
                if ((await retire()).state === "ready") onChanged()
              }
            }}>Retire</Button>
          </form>
        )
        : <p className="text-slate-800">{code.label}</p>}
      {relabelled.state === "failed" && <ProblemNote problem={relabelled.problem} />}
      {retired.state === "failed" && <ProblemNote problem={retired.problem} />}
    </li>
  )
}

/** Admin › Reason codes: what searches, investigations, photo views and exports say they are for. */
export const ReasonCodes = () => {
  const [codes, reload] = useRpc(() => withRpc((rpc) => rpc.reasonCodes.listAll()), [])
  const changed = () => {
    forgetReasonCodes()
    reload()
  }
  return (
    <section className="flex flex-col gap-4" aria-label="Reason codes">
      <p className="text-slate-800">
        Every search, investigation, scene photo and export says why with one of these codes, recorded in the audit log
        with its case number. Codes are never deleted: a retired code is no longer accepted and keeps its meaning in the log.
      </p>
      <NewCode onCreated={changed} />
      <Loaded remote={codes}>
        {(list) => (
          <ul className="flex flex-col gap-2" aria-label="Reason codes">
            {list.map((c) => <CodeRow key={`${c.code}|${c.label}|${c.retired_at}`} code={c} onChanged={changed} />)}
          </ul>
        )}
      </Loaded>
    </section>
  )
}
