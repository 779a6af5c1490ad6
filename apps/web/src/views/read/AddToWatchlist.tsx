import { useState } from "react"
import { useRpc, useRpcAction, withRpc } from "../../client/rpc"
import { Link } from "../../router"
import { CATEGORY_LABEL } from "../../ui/colour"
import { Button, Loaded, Notice, ProblemNote, SelectField, TextField } from "../../ui/controls"

/**
 * The read's plate onto one of the lists the operator may change (their own; an admin's, any), as an
 * exact entry with the reason the list asks for. Other kinds of entry are made on the list's page.
 */
export const AddToWatchlist = ({ plate }: { readonly plate: string }) => {
  const [lists] = useRpc(() => withRpc((rpc) => rpc.watchlists.list({})), [])
  const [listId, setListId] = useState("")
  const [reason, setReason] = useState("")
  const [note, setNote] = useState("")
  const [touched, setTouched] = useState(false)
  const [added, add] = useRpcAction((watchlistId: string) =>
    withRpc((rpc) => rpc.watchlists.addEntry({
      watchlist_id: watchlistId,
      kind: "exact",
      value: plate,
      reason: reason.trim(),
      ...(note.trim() === "" ? {} : { note: note.trim() })
    })))
  return (
    <Loaded remote={lists}>
      {(all) => {
        const mine = all.filter((l) => l.can_manage && l.retired_at === null)
        if (mine.length === 0) {
          return (
            <p className="text-slate-800">
              There is no list you may add to. <Link to="/lists" className="font-medium text-blue-800 underline underline-offset-2">Make one under Lists</Link>.
            </p>
          )
        }
        const chosen = listId === "" ? mine[0]! : mine.find((l) => l.watchlist_id === listId) ?? mine[0]!
        return (
          <form className="flex flex-col gap-3" noValidate aria-label="Add the plate to a watchlist" onSubmit={async (event) => {
            event.preventDefault()
            setTouched(true)
            if (reason.trim() === "") return
            const result = await add(chosen.watchlist_id)
            if (result.state === "ready") setTouched(false)
          }}>
            <div className="grid gap-3 sm:grid-cols-2">
              <SelectField label="Watchlist" value={chosen.watchlist_id} onChange={(e) => setListId(e.target.value)}>
                {mine.map((l) => <option key={l.watchlist_id} value={l.watchlist_id}>{l.name} ({CATEGORY_LABEL[l.category]})</option>)}
              </SelectField>
              <TextField label="Plate" value={plate} readOnly className="[&_input]:bg-slate-100 [&_input]:font-mono"
                hint="Added as an exact plate." />
              <TextField label="Why it is watched" value={reason} onChange={(e) => setReason(e.target.value)} required maxLength={500}
                hint="A report or case number." error={touched && reason.trim() === "" ? "say why the plate is watched" : undefined} />
              <TextField label="Note for the alert (optional)" value={note} onChange={(e) => setNote(e.target.value)} maxLength={500}
                hint="Shown with the alert, e.g. the vehicle." />
            </div>
            {added.state === "failed" && <ProblemNote problem={added.problem} />}
            {added.state === "ready" && (
              <Notice tone="success">
                Added {added.value.value} to {mine.find((l) => l.watchlist_id === added.value.watchlist_id)?.name ?? "the list"}.
              </Notice>
            )}
            <Button type="submit" className="self-start" disabled={added.state === "loading"}>Add to the list</Button>
          </form>
        )
      }}
    </Loaded>
  )
}
