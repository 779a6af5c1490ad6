import type { Correction } from "@chaverim/domain/Corrections"
import type { DetectionItem, PlateDifference } from "@chaverim/domain/Search"
import { useState } from "react"
import { photoWithReason, type SessionReason } from "../../client/reason"
import { Link } from "../../router"
import { Badge, PlateText } from "../../ui/controls"
import { cameraLabel, formatDateTime, formatPercent } from "../../ui/format"
import { PlatePhoto } from "../../ui/PlatePhoto"
import { PlateTags } from "../plates/PlateTags"
import { CorrectionPanel } from "./CorrectionPanel"

/** The matched plate with the characters a fuzzy match differs in marked. */
const FuzzyPlate = ({ plate, differences }: { readonly plate: string; readonly differences: ReadonlyArray<PlateDifference> }) => {
  const changed = new Set(differences.filter((d) => d.op !== "delete").map((d) => d.position))
  return (
    <span className="font-mono text-2xl font-bold tracking-wider text-slate-900">
      {[...plate].map((c, i) =>
        changed.has(i)
          ? <mark key={i} className="rounded-sm bg-amber-300 text-slate-950" title="differs from the search">{c}</mark>
          : <span key={i}>{c}</span>
      )}
    </span>
  )
}

/** The correction in force on a read, as a badge. */
export const CorrectionBadge = ({ correction }: { readonly correction: Correction }) =>
  correction.action === "confirm"
    ? <Badge tone="good">confirmed by {correction.by}</Badge>
    : correction.action === "reject"
    ? <Badge tone="bad">rejected: not a plate</Badge>
    : <Badge tone="warn">corrected to {correction.plate_text ?? correction.plate}</Badge>

/** "blue Toyota car": a read's vehicle as the camera described it. */
export const vehicleOf = (item: Pick<DetectionItem, "vehicle_color" | "vehicle_make" | "vehicle_type">) =>
  [item.vehicle_color, item.vehicle_make, item.vehicle_type].filter(Boolean).join(" ")

export const DetectionCard = ({ item, searched, reason }: {
  readonly item: DetectionItem
  readonly searched: string
  /** why the reads are looked at: their photos are audited with it */
  readonly reason: SessionReason | undefined
}) => {
  const [checking, setChecking] = useState(false)
  const [correction, setCorrection] = useState(item.correction)
  const differs = item.plate !== searched.toUpperCase().replace(/[\s.-]/g, "")
  return (
    <article className="rounded-xl bg-white p-3 shadow-sm ring-1 ring-slate-200" aria-label={`Read of ${item.plate_text}`}>
      <div className="flex items-center gap-3">
        <Link to={`/read/${item.id}`} className="shrink-0 rounded focus-visible:outline-3 focus-visible:outline-offset-2 focus-visible:outline-blue-600">
          <span className="sr-only">Open the read of {item.plate_text}, {formatDateTime(item.detected_at)}: </span>
          <PlatePhoto src={photoWithReason(item.images.plate, reason)} alt={`Plate crop of the read ${item.plate_text}`} className="h-12 w-36" />
        </Link>
        <p className="flex min-w-0 flex-wrap items-baseline gap-x-3 gap-y-1">
          {item.differences && differs
            ? <FuzzyPlate plate={item.plate} differences={item.differences} />
            : <PlateText plate={item.plate_text} className="text-2xl text-slate-900" />}
          {item.distance !== undefined && <span className="text-sm text-slate-700">{item.distance} off</span>}
        </p>
      </div>
      <PlateTags plate={item.plate} className="mt-2" />
      {correction && <p className="mt-2"><CorrectionBadge correction={correction} /></p>}
      <p className="mt-2 font-medium text-slate-900">{cameraLabel(item.camera)}{item.camera.site ? ` · ${item.camera.site}` : ""}</p>
      <p className="text-sm text-slate-700">
        <time dateTime={item.detected_at}>{formatDateTime(item.detected_at)}</time>
        {" · "}{formatPercent(item.confidence)} sure
        {item.direction ? ` · ${item.direction}` : ""}
        {vehicleOf(item) ? ` · ${vehicleOf(item)}` : ""}
        {item.duplicate_of ? " · repeat read" : ""}
      </p>
      <div className="mt-1 flex flex-wrap gap-x-2">
        <Link to={`/plate/${encodeURIComponent(item.plate)}`}
          className="inline-flex min-h-11 items-center font-medium text-blue-800 underline underline-offset-2">
          Timeline and map
        </Link>
        <button type="button" aria-expanded={checking} onClick={() => setChecking(!checking)}
          className="ml-auto inline-flex min-h-11 items-center px-1 font-medium text-blue-800 underline underline-offset-2">
          {checking ? "Close" : "Check this read"}
        </button>
      </div>
      {checking && <CorrectionPanel item={item} onCorrected={setCorrection} reason={reason} />}
    </article>
  )
}
