import type { WatchlistEntry } from "@chaverim/domain/rpc/Watchlists"
import { useState } from "react"
import { useRpc, useRpcAction, withRpc } from "../../client/rpc"
import { usePages } from "../../client/usePages"
import { Badge, Button, Loading, MorePages, ProblemNote, TextField } from "../../ui/controls"
import { formatDate, formatShort } from "../../ui/format"

const PAGE = 50

/** An ISO time as a datetime-local field shows it: the browser's local time, to the minute. */
const localInput = (iso: string | null) => {
  if (iso === null) return ""
  const d = new Date(iso)
  const pad = (n: number) => String(n).padStart(2, "0")
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`
}

/** Note, reason and expiry change in place; the value does not (remove it and add the new one). */
const EntryEditor = ({ entry, onSaved }: { readonly entry: WatchlistEntry; readonly onSaved: () => void }) => {
  const [note, setNote] = useState(entry.note ?? "")
  const [reason, setReason] = useState(entry.reason ?? "")
  const [expires, setExpires] = useState(localInput(entry.expires_at))
  const [saved, save] = useRpcAction(() =>
    withRpc((rpc) => rpc.watchlists.updateEntry({
      entry_id: entry.entry_id,
      ...(note.trim() !== (entry.note ?? "") ? { note: note.trim() === "" ? null : note.trim() } : {}),
      ...(reason.trim() !== (entry.reason ?? "") ? { reason: reason.trim() } : {}),
      ...(expires !== localInput(entry.expires_at) ? { expires_at: expires === "" ? null : new Date(expires).toISOString() } : {})
    })))
  return (
    <form className="mt-2 flex flex-col gap-3 border-t border-slate-200 pt-3" onSubmit={async (event) => {
      event.preventDefault()
      if ((await save()).state === "ready") onSaved()
    }}>
      <div className="grid gap-3 sm:grid-cols-3">
        <TextField label="Note" value={note} onChange={(e) => setNote(e.target.value)} maxLength={500} />
        <TextField label="Reason" value={reason} onChange={(e) => setReason(e.target.value)} maxLength={500} required />
        <TextField label="Expires" type="datetime-local" value={expires} onChange={(e) => setExpires(e.target.value)} />
      </div>
      {saved.state === "failed" && <ProblemNote problem={saved.problem} />}
      <Button type="submit" className="self-start" disabled={saved.state === "loading"}>Save entry</Button>
    </form>
  )
}

const EntryRow = ({ entry, canManage, onChanged }: {
  readonly entry: WatchlistEntry
  readonly canManage: boolean
  readonly onChanged: () => void
}) => {
  const [editing, setEditing] = useState(false)
  const [removed, remove] = useRpcAction((reason: string) =>
    withRpc((rpc) => rpc.watchlists.removeEntry({ entry_id: entry.entry_id, ...(reason === "" ? {} : { reason }) })))
  const expired = entry.expires_at !== null && new Date(entry.expires_at) < new Date()
  return (
    <li className="flex flex-col gap-1 rounded-lg bg-white p-3 ring-1 ring-slate-200">
      <div className="flex flex-wrap items-center gap-2">
        <span className="break-all font-mono text-lg font-bold text-slate-900">{entry.value}</span>
        {entry.kind !== "exact" && <Badge>{entry.kind}</Badge>}
        {expired && <Badge tone="warn">expired</Badge>}
        {canManage && (
          <Button variant="secondary" className="ml-auto" aria-expanded={editing} aria-label={`Edit ${entry.value}`}
            onClick={() => setEditing(!editing)}>
            {editing ? "Close" : "Edit"}
          </Button>
        )}
        {canManage && (
          <Button variant="danger" disabled={removed.state === "loading"}
            aria-label={`Remove ${entry.value}`}
            onClick={async () => {
              const reason = window.prompt(`Remove ${entry.value} from the list? Why (optional, kept in the audit log):`)
              if (reason === null) return
              if ((await remove(reason.trim())).state === "ready") onChanged()
            }}>
            Remove
          </Button>
        )}
      </div>
      {entry.note && <p className="text-slate-900">{entry.note}</p>}
      <p className="text-sm text-slate-700">
        {entry.reason ? `${entry.reason} · ` : ""}added by {entry.added_by_name}, {formatShort(entry.created_at)}
        {entry.expires_at ? ` · ${expired ? "expired" : "expires"} ${formatDate(entry.expires_at)}` : ""}
      </p>
      {removed.state === "failed" && <ProblemNote problem={removed.problem} />}
      {editing && <EntryEditor entry={entry} onSaved={() => { setEditing(false); onChanged() }} />}
    </li>
  )
}

/** A list's entries, newest first, searchable, a page at a time. */
export const Entries = ({ watchlistId, canManage, version, onChanged }: {
  readonly watchlistId: string
  readonly canManage: boolean
  /** changes when entries were added elsewhere (a form, an import) */
  readonly version: number
  readonly onChanged: () => void
}) => {
  const [draft, setDraft] = useState("")
  const [text, setText] = useState("")
  const query = (before?: string) => ({
    watchlist_id: watchlistId, limit: PAGE,
    ...(text === "" ? {} : { text }),
    ...(before === undefined ? {} : { before })
  })
  const [first, reload] = useRpc(() => withRpc((rpc) => rpc.watchlists.entries(query())), [watchlistId, text, version])
  const [more, loadMore] = useRpcAction((before: string) => withRpc((rpc) => rpc.watchlists.entries(query(before))))
  const { items: entries, next, add } = usePages(first)
  return (
    <div className="flex flex-col gap-3">
      <form role="search" className="flex flex-wrap items-end gap-2" onSubmit={(event) => {
        event.preventDefault()
        setText(draft.trim())
      }}>
        <TextField label="Find an entry" value={draft} onChange={(e) => setDraft(e.target.value)} className="min-w-48 flex-1"
          aria-describedby="entry-find-hint" />
        <Button type="submit" variant="secondary">Find</Button>
        <p id="entry-find-hint" className="w-full text-sm text-slate-600">Part of the plate, the note, the reason or who added it.</p>
      </form>
      {first.state === "failed" && <ProblemNote problem={first.problem} />}
      {first.state === "loading" && entries.length === 0 && <Loading />}
      {first.state === "ready" && entries.length === 0 && <p className="text-slate-700">{text ? "No entry matches." : "The list has no entries yet."}</p>}
      <ul className="flex flex-col gap-2" aria-label="Entries">
        {entries.map((entry) => (
          <EntryRow key={entry.entry_id} entry={entry} canManage={canManage} onChanged={() => {
            reload()
            onChanged()
          }} />
        ))}
      </ul>
      <MorePages next={next} more={more} load={loadMore} label="More entries" onPage={add} />
    </div>
  )
}
