import type { KnownPlate } from "@chaverim/domain/KnownPlates"
import { lazy, Suspense } from "react"
import { Loading } from "../../ui/controls"
import { useKnownPlate } from "./knownPlates"

// The editor and its RPC client are loaded where it is shown, not with the search page's cards.
const Editor = lazy(() => import("./PlateNotes"))

export const TAG = "inline-flex items-center rounded-full bg-indigo-100 px-2 py-0.5 text-xs font-semibold text-indigo-950"

/**
 * A plate's tags as small badges, its note beside them (cut short, whole on hover and for screen
 * readers). Nothing for a plate that is not known. For operators and admins only: viewers may not look
 * plates up.
 */
export const PlateTags = ({ plate, className = "" }: { readonly plate: string; readonly className?: string }) => {
  const known = useKnownPlate(plate)
  if (known === undefined || known === null) return null
  return (
    <span role="group" className={`inline-flex min-w-0 flex-wrap items-center gap-1 ${className}`} aria-label={`Known plate: ${describe(known)}`}
      title={known.note === "" ? undefined : known.note}>
      {known.tags.map((tag) => <span key={tag} className={TAG}>{tag}</span>)}
      {known.note !== "" && (
        <span className="max-w-64 truncate text-sm italic text-slate-700">“{known.note}”</span>
      )}
    </span>
  )
}

const describe = (known: KnownPlate) =>
  [known.tags.length > 0 ? `tagged ${known.tags.join(", ")}` : "", known.note === "" ? "" : `note: ${known.note}`]
    .filter(Boolean).join("; ")

/**
 * What the organisation knows of a plate: its note and tags, to change (every change is kept and
 * audited) or clear, with every earlier version. For the plate's page and a read's page (operators).
 */
export const PlateNotes = ({ plate }: { readonly plate: string }) => (
  <Suspense fallback={<Loading />}>
    <Editor plate={plate} />
  </Suspense>
)
