import type { Watchlist } from "@chaverim/domain/rpc/Watchlists"
import { type ReactNode, useEffect, useRef, useState } from "react"
import { useRpcAction, withRpc } from "../../client/rpc"
import { CATEGORY_LABEL } from "../../ui/colour"
import { Badge, Button, ProblemNote } from "../../ui/controls"
import { formatShort } from "../../ui/format"
import { CsvExport } from "./CsvExport"
import { CsvImport } from "./CsvImport"
import { Entries } from "./Entries"
import { EntryForm } from "./EntryForm"
import { changesOf, draftOf, ListForm } from "./ListForm"

/** A part of the page that opens when wanted: on a phone the entries stay near the top. */
const Part = ({ title, children, open = false }: { readonly title: string; readonly children: ReactNode; readonly open?: boolean }) => (
  <details open={open} className="group rounded-lg bg-white ring-1 ring-slate-200">
    <summary className="flex min-h-11 cursor-pointer items-center px-3 font-semibold text-slate-900">
      <span aria-hidden className="mr-2 inline-block transition-transform group-open:rotate-90">▸</span>{title}
    </summary>
    <div className="border-t border-slate-200 p-3">{children}</div>
  </details>
)

const Settings = ({ list, onChanged }: { readonly list: Watchlist; readonly onChanged: (list: Watchlist) => void }) => {
  const [saved, save] = useRpcAction((change: ReturnType<typeof changesOf>) =>
    withRpc((rpc) => rpc.watchlists.update({ watchlist_id: list.watchlist_id, ...change })))
  const [retired, retire] = useRpcAction((reason: string) =>
    withRpc((rpc) => rpc.watchlists.retire({ watchlist_id: list.watchlist_id, ...(reason === "" ? {} : { reason }) })))
  return (
    <div className="flex flex-col gap-4">
      <ListForm key={list.updated_at} initial={draftOf(list)} submitLabel="Save list" result={saved} editing
        onSubmit={async (draft) => {
          const result = await save(changesOf(list, draft))
          if (result.state === "ready") onChanged(result.value)
        }} />
      <div className="flex flex-col gap-2 border-t border-slate-200 pt-3">
        <p className="text-sm text-slate-700">Retiring stops the list for good; its alerts and entries are kept.</p>
        <Button variant="danger" className="self-start" disabled={retired.state === "loading"} onClick={async () => {
          const reason = window.prompt(`Retire “${list.name}”? It raises no more alerts. Why (optional, kept in the audit log):`)
          if (reason === null) return
          const result = await retire(reason.trim())
          if (result.state === "ready") onChanged(result.value)
        }}>
          Retire list
        </Button>
        {retired.state === "failed" && <ProblemNote problem={retired.problem} />}
      </div>
    </div>
  )
}

/** One list: what it is, its entries, and (for who may change it) adding, importing, settings. */
export const WatchlistDetail = ({ list, onChanged }: { readonly list: Watchlist; readonly onChanged: (list?: Watchlist) => void }) => {
  const [version, setVersion] = useState(0)
  const entriesChanged = () => {
    setVersion((v) => v + 1)
    onChanged()
  }
  const manage = list.can_manage && list.retired_at === null
  // On a phone the list sits below the others: bring it into view when chosen.
  const top = useRef<HTMLElement>(null)
  useEffect(() => {
    if (window.matchMedia("(max-width: 1023px)").matches) top.current?.scrollIntoView({ block: "start" })
  }, [])
  return (
    <section ref={top} aria-labelledby="list-title" className="flex scroll-mt-2 flex-col gap-3">
      <header className="flex flex-wrap items-center gap-2">
        <span aria-hidden className="size-5 rounded-full ring-1 ring-slate-400" style={{ backgroundColor: list.colour }} />
        <h2 id="list-title" className="text-lg font-bold text-slate-900">{list.name}</h2>
        <Badge>{CATEGORY_LABEL[list.category]}</Badge>
        <Badge>priority {list.priority}</Badge>
        {!list.shared && <Badge tone="warn">private</Badge>}
        {list.retired_at ? <Badge tone="bad">retired {formatShort(list.retired_at)}</Badge> : !list.active && <Badge tone="warn">inactive</Badge>}
      </header>
      <p className="text-sm text-slate-700">
        {list.entries} entr{list.entries === 1 ? "y" : "ies"} · {list.owner_username ? `owned by ${list.owner_username}` : "the organisation's"}
        {list.can_manage ? "" : " · you can read it, not change it"}
      </p>
      {manage && <Part title="Add an entry" open><EntryForm watchlistId={list.watchlist_id} onAdded={entriesChanged} /></Part>}
      {manage && <Part title="Import a CSV file"><CsvImport watchlistId={list.watchlist_id} onImported={entriesChanged} /></Part>}
      {list.can_manage && <Part title="Export"><CsvExport watchlistId={list.watchlist_id} name={list.name} /></Part>}
      {manage && <Part title="Settings and retiring"><Settings list={list} onChanged={onChanged} /></Part>}
      <h3 className="mt-2 font-semibold text-slate-900">Entries</h3>
      <Entries watchlistId={list.watchlist_id} canManage={manage} version={version} onChanged={() => onChanged()} />
    </section>
  )
}
