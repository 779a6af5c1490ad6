import { type EntryKind, parseEntryValue } from "@chaverim/domain/Watchlist"
import type { WatchlistEntry } from "@chaverim/domain/rpc/Watchlists"
import * as Either from "effect/Either"
import { useState } from "react"
import { useRpcAction, withRpc } from "../../client/rpc"
import { Button, Notice, ProblemNote, SelectField, TextField } from "../../ui/controls"

const KINDS: ReadonlyArray<{ readonly kind: EntryKind; readonly label: string; readonly hint: string }> = [
  { kind: "exact", label: "Exact plate", hint: "The plate as written; spaces and dashes do not matter." },
  { kind: "ocr", label: "Look-alike plate", hint: "Also matches reads that confuse O/0, B/8, S/5 and the like." },
  { kind: "wildcard", label: "Wildcard", hint: "* any run, ? one character, over the whole plate: AB1* starts with AB1." },
  { kind: "regex", label: "Regular expression", hint: "Over the whole plate in capitals, no slashes or flags: AB\\d{3}" }
]

/** The same check, and the same words, as the server's. */
const problemOf = (kind: EntryKind, value: string) =>
  Either.match(parseEntryValue(kind, value), { onLeft: (problem) => problem, onRight: () => undefined })

/** Adds one entry: the value is checked as it is typed, the reason is required. */
export const EntryForm = ({ watchlistId, onAdded }: { readonly watchlistId: string; readonly onAdded: (entry: WatchlistEntry) => void }) => {
  const [kind, setKind] = useState<EntryKind>("exact")
  const [value, setValue] = useState("")
  const [touched, setTouched] = useState(false)
  const [note, setNote] = useState("")
  const [reason, setReason] = useState("")
  const [expires, setExpires] = useState("")
  const [added, add] = useRpcAction(() =>
    withRpc((rpc) => rpc.watchlists.addEntry({
      watchlist_id: watchlistId,
      kind,
      value,
      reason: reason.trim(),
      ...(note.trim() === "" ? {} : { note: note.trim() }),
      ...(expires === "" ? {} : { expires_at: new Date(expires).toISOString() })
    })))
  const problem = problemOf(kind, value)
  const shown = touched && value !== "" ? problem : undefined
  return (
    <form className="flex flex-col gap-3" noValidate onSubmit={async (event) => {
      event.preventDefault()
      setTouched(true)
      if (problem !== undefined || reason.trim() === "") return
      const result = await add()
      if (result.state === "ready") {
        setValue("")
        setNote("")
        setTouched(false)
        onAdded(result.value)
      }
    }}>
      <div className="grid gap-3 sm:grid-cols-2">
        <SelectField label="Kind" value={kind} onChange={(e) => setKind(e.target.value as EntryKind)}
          hint={KINDS.find((k) => k.kind === kind)!.hint}>
          {KINDS.map((k) => <option key={k.kind} value={k.kind}>{k.label}</option>)}
        </SelectField>
        <TextField label="Plate or pattern" value={value} onChange={(e) => setValue(e.target.value)} onBlur={() => setTouched(true)}
          error={shown ?? (touched && value === "" ? problem : undefined)} required spellCheck={false} autoCapitalize="characters"
          className="[&_input]:font-mono" />
        <TextField label="Reason" value={reason} onChange={(e) => setReason(e.target.value)} required maxLength={500}
          hint="Why it is watched: a report or case number." error={touched && reason.trim() === "" ? "say why the plate is watched" : undefined} />
        <TextField label="Note (optional)" value={note} onChange={(e) => setNote(e.target.value)} maxLength={500}
          hint="Shown with the alert, e.g. the vehicle." />
        <TextField label="Expires (optional)" type="datetime-local" value={expires} onChange={(e) => setExpires(e.target.value)} />
      </div>
      {added.state === "failed" && <ProblemNote problem={added.problem} />}
      {added.state === "ready" && <Notice tone="success">Added {added.value.value}.</Notice>}
      <Button type="submit" className="self-start" disabled={added.state === "loading"}>Add entry</Button>
    </form>
  )
}
