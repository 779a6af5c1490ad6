import type { KnownPlate } from "@chaverim/domain/KnownPlates"
import { useRpc, useRpcAction, withRpc } from "../../client/rpc"
import { usePages } from "../../client/usePages"
import { Link, navigate, useLocation } from "../../router"
import { Loaded, MorePages, PlateText, SelectField } from "../../ui/controls"
import { formatDateTime } from "../../ui/format"
import { TAG } from "./PlateTags"

const PAGE = 100

const Row = ({ known }: { readonly known: KnownPlate }) => (
  <li className="flex flex-col gap-1 rounded-lg bg-white p-3 ring-1 ring-slate-200">
    <div className="flex flex-wrap items-center gap-2">
      <Link to={`/plate/${encodeURIComponent(known.plate)}`} className="text-blue-800 underline underline-offset-2">
        <PlateText plate={known.plate} className="text-xl" />
      </Link>
      {known.tags.map((tag) => (
        <span key={tag} className={TAG}>{tag}</span>
      ))}
    </div>
    {known.note !== "" && <p className="whitespace-pre-wrap text-slate-900">{known.note}</p>}
    <p className="text-sm text-slate-700">
      {known.set_by_name}, <time dateTime={known.set_at}>{formatDateTime(known.set_at)}</time>
    </p>
  </li>
)

/** Every plate with a note or tags (`/known`), by plate, narrowed to one tag (kept in the address). */
const KnownPlates = () => {
  const { query } = useLocation()
  const tag = query.get("tag") ?? ""
  const [tags] = useRpc(() => withRpc((rpc) => rpc.knownPlates.tags({})), [])
  const listOf = (after?: string) =>
    withRpc((rpc) => rpc.knownPlates.list({ limit: PAGE, ...(tag === "" ? {} : { tag }), ...(after === undefined ? {} : { after }) }))
  const [first] = useRpc(() => listOf(), [tag])
  const [more, loadMore] = useRpcAction((after: string) => listOf(after))
  const { add, items, next } = usePages(first)
  return (
    <div className="flex flex-col gap-4">
      <h1 className="text-xl font-bold text-slate-900" tabIndex={-1}>Known plates</h1>
      <p className="text-slate-700">Plates with a note or tags. Change them on the plate's page.</p>
      <SelectField label="Tag" value={tag} className="max-w-60"
        onChange={(e) => navigate(e.target.value === "" ? "/known" : `/known?tag=${encodeURIComponent(e.target.value)}`)}>
        <option value="">Every tag</option>
        {(tags.state === "ready" ? tags.value : []).map((t) => <option key={t.tag} value={t.tag}>{t.tag} ({t.plates})</option>)}
      </SelectField>
      <Loaded remote={first}>
        {() => (
          <>
            {items.length === 0 && <p className="text-slate-700">No known plates{tag === "" ? "" : ` tagged ${tag}`}.</p>}
            <ul className="flex flex-col gap-2" aria-label="Known plates">
              {items.map((known) => <Row key={known.plate} known={known} />)}
            </ul>
            <MorePages next={next} more={more} load={loadMore} onPage={add} label="More plates" />
          </>
        )}
      </Loaded>
    </div>
  )
}

export default KnownPlates
