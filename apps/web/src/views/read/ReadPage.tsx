import type { ReadDetails } from "@chaverim/domain/ReadDetails"
import { useEffect, useState } from "react"
import { withApi } from "../../client/api"
import { valueOf } from "../../client/problem"
import { photoWithReason, reasonParams, type SessionReason } from "../../client/reason"
import { useApi } from "../../client/useApi"
import { Link } from "../../router"
import { Button, Loaded, PlateText } from "../../ui/controls"
import { cameraLabel, formatDateTime } from "../../ui/format"
import { PlatePhoto } from "../../ui/PlatePhoto"
import { CorrectionPanel } from "../operator/CorrectionPanel"
import { CorrectionBadge } from "../operator/DetectionCard"
import { lastSearchUrl } from "../operator/query"
import { ReasonGate } from "../plate/ReasonGate"
import { AddToWatchlist } from "./AddToWatchlist"
import { Alerts, Corrections, Fields, Place, Run, Section } from "./Parts"
import { PhotoZoom } from "./PhotoZoom"
import { PlateNotes, PlateTags } from "../plates/PlateTags"

const linkClass = "self-start py-2 font-medium text-blue-800 underline-offset-2 hover:underline"

/** A photo that opens large when clicked or tapped (or Enter / Space on it). */
const ZoomablePhoto = ({ src, alt, onOpen, className, badge = true }: {
  readonly src: string | undefined
  readonly alt: string
  readonly onOpen: () => void
  readonly className: string
  /** "Zoom" over the corner: not on a crop, where it would hide the plate */
  readonly badge?: boolean
}) =>
  src === undefined
    ? <PlatePhoto src={undefined} alt={alt} className={className} />
    : (
      <button type="button" onClick={onOpen} aria-label={`${alt}: open large to zoom`}
        className="group relative block w-full rounded focus-visible:outline-3 focus-visible:outline-offset-2 focus-visible:outline-blue-600">
        <PlatePhoto src={src} alt={alt} className={`cursor-zoom-in ${className}`} />
        {badge && (
          <span aria-hidden className="absolute right-2 bottom-2 rounded bg-black/70 px-2 py-1 text-xs font-medium text-white group-hover:bg-black/90">
            Zoom
          </span>
        )}
      </button>
    )

const Read = ({ details, reason, onChanged }: {
  readonly details: ReadDetails
  readonly reason: SessionReason
  readonly onChanged: () => void
}) => {
  const { read } = details
  const [zoom, setZoom] = useState<{ readonly src: string; readonly alt: string } | undefined>(undefined)
  const [panel, setPanel] = useState<"watch" | "check" | "note" | undefined>(undefined)
  const scene = photoWithReason(read.images.scene, reason)
  const crop = photoWithReason(read.images.plate, reason)
  const sceneAlt = `Scene photo of the read ${read.plate_text}, ${formatDateTime(read.detected_at)}`
  const cropAlt = `Plate crop of the read ${read.plate_text}`
  const inForce = details.corrections[0]
  const toggle = (which: "watch" | "check" | "note") => setPanel(panel === which ? undefined : which)

  return (
    <div className="grid gap-4 lg:grid-cols-[minmax(0,3fr)_minmax(0,2fr)] lg:items-start">
      <div className="flex min-w-0 flex-col gap-4">
        <ZoomablePhoto src={scene} alt={sceneAlt} onOpen={() => setZoom({ src: scene!, alt: sceneAlt })}
          className="aspect-video max-h-[75vh] w-full" />
        <div className="flex flex-wrap items-center gap-3">
          <div className="w-44 shrink-0">
            <ZoomablePhoto src={crop} alt={cropAlt} onOpen={() => setZoom({ src: crop!, alt: cropAlt })} className="h-14 w-44" badge={false} />
          </div>
          <p className="flex min-w-0 flex-col">
            <PlateText plate={read.plate_text} className="text-3xl text-slate-900" />
            <PlateTags plate={read.plate} />
            <span className="text-sm text-slate-700">{cameraLabel(read.camera)}{read.camera.site ? ` · ${read.camera.site}` : ""}</span>
          </p>
          {inForce && <CorrectionBadge correction={inForce} />}
        </div>
        <div className="flex flex-wrap gap-2">
          <Link to={`/plate/${encodeURIComponent(read.plate)}`}
            className="inline-flex min-h-11 items-center justify-center rounded-lg bg-blue-700 px-4 py-2 font-medium text-white hover:bg-blue-800 focus-visible:outline-3 focus-visible:outline-offset-2 focus-visible:outline-blue-600">
            Show this plate
          </Link>
          <Button variant="secondary" aria-expanded={panel === "watch"} onClick={() => toggle("watch")}>Add to a watchlist</Button>
          <Button variant="secondary" aria-expanded={panel === "check"} onClick={() => toggle("check")}>Check this read</Button>
          <Button variant="secondary" aria-expanded={panel === "note"} onClick={() => toggle("note")}>Add a note</Button>
        </div>
        {panel === "watch" && <Section title="Add to a watchlist"><AddToWatchlist plate={read.plate} /></Section>}
        {panel === "check" && (
          <Section title="Check this read">
            <CorrectionPanel item={read} reason={reason} compact onCorrected={onChanged} />
          </Section>
        )}
        {panel === "note" && <Section title="Notes on this plate"><PlateNotes plate={read.plate} /></Section>}
        <Section title="The read"><Fields details={details} /></Section>
      </div>
      <div className="flex min-w-0 flex-col gap-4">
        <Section title="Where"><Place details={details} /></Section>
        <Section title="Alerts it raised"><Alerts alerts={details.alerts} /></Section>
        <Section title="Its run"><Run run={details.run} readId={read.id} /></Section>
        <Section title="Checks and corrections"><Corrections corrections={details.corrections} /></Section>
      </div>
      {zoom && <PhotoZoom src={zoom.src} alt={zoom.alt} onClose={() => setZoom(undefined)} />}
    </div>
  )
}

/** A read's number as the address carries it (the server takes up to 2^53). */
const READ_ID = /^\d{1,16}$/

const Loader = ({ id, reason, onPlate }: { readonly id: string; readonly reason: SessionReason; readonly onPlate: (plate: string) => void }) => {
  const valid = READ_ID.test(id)
  const [details, reload] = useApi(() =>
    valid
      ? withApi((api) => api.search.detectionDetails({ path: { id: Number(id) }, urlParams: reasonParams(reason) }))
      : undefined,
    [id])
  const plate = valueOf(details)?.read.plate_text
  useEffect(() => {
    if (plate !== undefined) onPlate(plate)
  }, [plate])
  if (!valid) return <p role="alert" className="text-slate-800">“{id}” is not a read's number.</p>
  return (
    <Loaded remote={details}>
      {(value) => <Read details={value} reason={reason} onChanged={reload} />}
    </Loaded>
  )
}

/**
 * One read: its photos (the scene large and zoomable), every field, the camera on a map, its run, the
 * alerts it raised, its checks, and what to do next. Audited with the tab's reason, like the plate page.
 */
const ReadPage = ({ id }: { readonly id: string }) => {
  const [plate, setPlate] = useState<string | undefined>(undefined)
  return (
    <div className="flex flex-col gap-3">
      <Link to={lastSearchUrl()} className={linkClass}>← Back to search</Link>
      <h1 className="text-xl font-bold text-slate-900" tabIndex={-1}>
        Read {plate === undefined ? id : <>of <PlateText plate={plate} /></>}
      </h1>
      <ReasonGate>
        {(reason) => <Loader key={`${id}|${JSON.stringify(reason)}`} id={id} reason={reason} onPlate={setPlate} />}
      </ReasonGate>
    </div>
  )
}

export default ReadPage
