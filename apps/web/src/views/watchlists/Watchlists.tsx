import type { Watchlist } from "@chaverim/domain/rpc/Watchlists"
import { useState } from "react"
import { valueOf } from "../../client/problem"
import { useRpc, useRpcAction, withRpc } from "../../client/rpc"
import { useMe } from "../../client/session"
import { navigate, useLocation } from "../../router"
import { CATEGORY_LABEL } from "../../ui/colour"
import { Button, Loading, ProblemNote } from "../../ui/controls"
import { gateOf, type ListDraft, ListForm, NEW_LIST } from "./ListForm"
import { WatchlistDetail } from "./WatchlistDetail"

const NewList = ({ onCreated }: { readonly onCreated: (list: Watchlist) => void }) => {
  const [open, setOpen] = useState(false)
  const [created, create] = useRpcAction((draft: ListDraft) =>
    withRpc((rpc) => rpc.watchlists.create({
      name: draft.name.trim(), category: draft.category, priority: draft.priority, colour: draft.colour, shared: draft.shared,
      ...(draft.alertUnreviewed ? { alert_unreviewed: true } : {}),
      ...(gateOf(draft).length > 0 ? { camera_ids: gateOf(draft) } : {})
    })))
  if (!open) return <Button variant="secondary" className="self-start" onClick={() => setOpen(true)}>New list</Button>
  return (
    <section aria-labelledby="new-list-title" className="flex max-w-3xl flex-col gap-3 rounded-lg bg-white p-3 ring-1 ring-slate-200">
      <h2 id="new-list-title" className="font-semibold text-slate-900">New list</h2>
      <ListForm initial={NEW_LIST} submitLabel="Create list" result={created} onSubmit={async (draft) => {
        const result = await create(draft)
        if (result.state === "ready") {
          setOpen(false)
          onCreated(result.value)
        }
      }} />
    </section>
  )
}

const ListButton = ({ list, selected, onSelect }: { readonly list: Watchlist; readonly selected: boolean; readonly onSelect: () => void }) => (
  <button type="button" aria-pressed={selected} onClick={onSelect}
    className={`flex min-h-11 w-full items-center gap-3 rounded-lg px-3 py-2 text-left ring-1 ${
      selected ? "bg-blue-50 ring-blue-600" : "bg-white ring-slate-200 hover:bg-slate-50"}`}>
    <span aria-hidden className="size-4 shrink-0 rounded-full ring-1 ring-slate-400" style={{ backgroundColor: list.colour }} />
    <span className="min-w-0 flex-1">
      <span className="block truncate font-medium text-slate-900">{list.name}</span>
      <span className="block text-sm text-slate-700">
        {CATEGORY_LABEL[list.category]} · {list.entries} entr{list.entries === 1 ? "y" : "ies"}
        {list.retired_at ? " · retired" : !list.active ? " · inactive" : ""}{list.can_manage ? "" : " · read only"}
      </span>
    </span>
  </button>
)

/**
 * Watchlists and their entries. Operators manage their own lists (and read the shared ones); an
 * admin, from the admin panel, manages every list: the server says which ones in `can_manage`.
 * The chosen list is in the address (`?list=`), so it survives a reload and the back button.
 */
export const WatchlistManager = ({ path }: { readonly path: string }) => {
  const canCreate = useMe().role !== "viewer"
  const { query } = useLocation()
  const selectedId = query.get("list") ?? undefined
  const [retiredToo, setRetiredToo] = useState(false)
  const [lists, reload] = useRpc(() => withRpc((rpc) => rpc.watchlists.list({ include_retired: retiredToo })), [retiredToo])
  const all = valueOf(lists) ?? []
  const selected = all.find((l) => l.watchlist_id === selectedId)
  const select = (id: string) => navigate(`${path}?list=${encodeURIComponent(id)}`)
  return (
    <div className="flex flex-col gap-4">
      {canCreate && <NewList onCreated={(list) => { reload(); select(list.watchlist_id) }} />}
      <div className="grid gap-4 lg:grid-cols-[20rem_1fr]">
        <div className="flex flex-col gap-3">
          <label className="flex min-h-11 items-center gap-3 text-slate-900">
            <input type="checkbox" className="size-5" checked={retiredToo} onChange={(e) => setRetiredToo(e.target.checked)} />
            Show retired lists
          </label>
          {lists.state === "failed" && <ProblemNote problem={lists.problem} />}
          {lists.state === "loading" && all.length === 0 && <Loading />}
          {lists.state === "ready" && all.length === 0 && <p className="text-slate-700">No lists yet.</p>}
          <ul className="flex flex-col gap-1" aria-label="Lists">
            {all.map((list) => (
              <li key={list.watchlist_id}>
                <ListButton list={list} selected={list.watchlist_id === selectedId} onSelect={() => select(list.watchlist_id)} />
              </li>
            ))}
          </ul>
        </div>
        <div>
          {selected
            ? <WatchlistDetail key={selected.watchlist_id} list={selected} onChanged={reload} />
            : selectedId !== undefined && lists.state === "ready"
            ? <p className="text-slate-700">That list is not here (retired lists show with “Show retired lists”).</p>
            : <p className="hidden text-slate-700 lg:block">Choose a list to see its entries.</p>}
        </div>
      </div>
    </div>
  )
}

/** The operator's page at /lists. */
const Watchlists = () => (
  <div className="flex flex-col gap-4">
    <h1 className="text-xl font-bold text-slate-900" tabIndex={-1}>Watchlists</h1>
    <WatchlistManager path="/lists" />
  </div>
)

export default Watchlists
