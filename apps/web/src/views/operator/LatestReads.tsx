import type { AlertDetection } from "@chaverim/domain/Alerts"
import { normalizePlate } from "@chaverim/domain/Plate"
import { memo, useMemo, useState } from "react"
import { type LiveStatus, useLiveFeed } from "../../client/live"
import { photoWithReason, savedReason, type SessionReason } from "../../client/reason"
import { Link } from "../../router"
import { Button, SelectField, TextField } from "../../ui/controls"
import { cameraLabel, formatWhen } from "../../ui/format"
import { PlatePhoto } from "../../ui/PlatePhoto"

/** Reads kept on the page: the latest ones are replayed by the server on connect, new ones go on top. */
const KEEP = 100
/** A read that is gone again within this never asks for its crop (each view of a photo is audited). */
const PHOTO_DELAY_MS = 500

interface Filter {
  readonly plate: string
  readonly site: string
  readonly camera: string
  readonly direction: string
}

const NO_FILTER: Filter = { plate: "", site: "", camera: "", direction: "" }

const matches = (filter: Filter) => {
  const plate = normalizePlate(filter.plate)
  return (read: AlertDetection) =>
    (plate === "" || read.plate.includes(plate)) &&
    (filter.site === "" || read.camera.site === filter.site) &&
    (filter.camera === "" || read.camera.id === filter.camera) &&
    (filter.direction === "" || read.direction === filter.direction)
}

/** The choices a select offers: what the list holds, and the chosen one even once it has left the list. */
const choices = (values: Iterable<readonly [string, string]>, chosen: string) => {
  const all = new Map(values)
  if (chosen !== "" && !all.has(chosen)) all.set(chosen, chosen)
  return [...all].sort(([, a], [, b]) => a.localeCompare(b))
}

const STATUS: Record<LiveStatus, { readonly text: string; readonly dot: string }> = {
  connecting: { text: "Connecting to the live feed…", dot: "bg-slate-400" },
  live: { text: "Live", dot: "bg-green-600" },
  reconnecting: { text: "Connection lost; reconnecting…", dot: "bg-amber-500" }
}

const ReadRow = memo(({ read, reason }: { readonly read: AlertDetection; readonly reason: SessionReason | undefined }) => (
  <article aria-label={`Read of ${read.plate_text}`}
    className="grid grid-cols-[auto_minmax(0,1fr)] items-center gap-x-3 rounded-xl bg-white px-3 py-1.5 shadow-sm ring-1 ring-slate-200">
    <PlatePhoto src={photoWithReason(read.images.plate, reason)} alt={`Plate crop of the read ${read.plate_text}`}
      delayMs={PHOTO_DELAY_MS} className="row-span-2 h-10 w-28 sm:h-12 sm:w-36" />
    <div className="flex min-w-0 flex-wrap items-center justify-between gap-x-3">
      <Link to={`/read/${read.id}`} title="This read: photos, details, corrections"
        className="inline-flex min-h-11 items-center font-mono text-xl font-bold tracking-wider text-blue-900 underline underline-offset-4">
        {read.plate_text}
      </Link>
      <Link to={`/plate/${encodeURIComponent(read.plate)}`}
        className="inline-flex min-h-11 items-center text-sm font-medium text-blue-800 underline underline-offset-2">
        Plate history
      </Link>
    </div>
    <p className="pb-1 text-sm text-slate-700">
      <time dateTime={read.detected_at}>{formatWhen(read.detected_at)}</time>
      {" · "}{cameraLabel(read.camera)}{read.camera.site ? ` · ${read.camera.site}` : ""}
      {read.direction ? ` · ${read.direction}` : ""}
    </p>
  </article>
))

/**
 * The operator's home before a search: the latest reads as they arrive (the feed opens on the ones
 * before), filtered in place over the list, with a pause so that a list being read holds still.
 */
export const LatestReads = () => {
  const live = useLiveFeed(KEEP)
  // Photos are looked at for the reason given in this tab, if one was (audited with it).
  const [reason] = useState(savedReason)
  const [filter, setFilter] = useState<Filter>(NO_FILTER)
  const [held, setHeld] = useState<ReadonlyArray<AlertDetection>>()
  const reads = held ?? live.reads
  const shown = useMemo(() => reads.filter(matches(filter)), [reads, filter])
  // The filters' options follow the list, not each frame's render.
  const options = useMemo(() => ({
    sites: choices(reads.flatMap((r) => (r.camera.site ? [[r.camera.site, r.camera.site] as const] : [])), filter.site),
    cameras: choices(reads.map((r) => [r.camera.id, cameraLabel(r.camera)] as const), filter.camera),
    directions: choices(reads.flatMap((r) => (r.direction ? [[r.direction, r.direction] as const] : [])), filter.direction)
  }), [reads, filter.site, filter.camera, filter.direction])
  const set = (field: keyof Filter) => (event: { readonly target: { readonly value: string } }) =>
    setFilter((f) => ({ ...f, [field]: event.target.value }))

  // While paused: how many came since (at most the list's length).
  const since = held === undefined ? 0 : held.length === 0 ? live.reads.length : live.reads.findIndex((r) => r.id === held[0]!.id)
  const waiting = since === -1 ? `${KEEP}+` : String(since)
  const status = STATUS[live.status]
  const filtered = Object.values(filter).some((v) => v !== "")

  return (
    <section aria-labelledby="latest-title" className="flex flex-col gap-3">
      <div className="flex flex-wrap items-center justify-between gap-x-4 gap-y-1">
        <h2 id="latest-title" className="text-xl font-bold text-slate-900">Latest reads</h2>
        <div className="flex items-center gap-3">
          <p role="status" className="flex items-center gap-2 text-sm font-medium text-slate-800">
            <span aria-hidden className={`size-2.5 rounded-full ${status.dot}`} />
            {held === undefined ? status.text : `Paused · ${waiting} new`}
          </p>
          <Button variant="secondary" aria-pressed={held !== undefined} className="min-w-24"
            onClick={() => setHeld(held === undefined ? live.reads : undefined)}>
            {held === undefined ? "Pause" : "Resume"}
          </Button>
        </div>
      </div>
      <fieldset className="grid grid-cols-2 gap-2 md:grid-cols-4 lg:grid-cols-2 xl:grid-cols-4">
        <legend className="sr-only">Filter the list</legend>
        <TextField label="Plate contains" value={filter.plate} onChange={set("plate")} autoComplete="off"
          autoCapitalize="characters" spellCheck={false} />
        <SelectField label="Site is" value={filter.site} onChange={set("site")}>
          <option value="">All sites</option>
          {options.sites.map(([value, label]) => <option key={value} value={value}>{label}</option>)}
        </SelectField>
        <SelectField label="Camera is" value={filter.camera} onChange={set("camera")}>
          <option value="">All cameras</option>
          {options.cameras.map(([value, label]) => <option key={value} value={value}>{label}</option>)}
        </SelectField>
        <SelectField label="Direction is" value={filter.direction} onChange={set("direction")}>
          <option value="">Any direction</option>
          {options.directions.map(([value, label]) => <option key={value} value={value}>{label}</option>)}
        </SelectField>
      </fieldset>
      <div className="flex flex-wrap items-center justify-between gap-2 text-sm text-slate-700">
        <p>
          {filtered ? `${shown.length} of the latest ${reads.length} match` : `The latest ${reads.length}`}, newest first
        </p>
        {filtered && <button type="button" onClick={() => setFilter(NO_FILTER)}
          className="inline-flex min-h-11 items-center font-medium text-blue-800 underline underline-offset-2">Clear the filter</button>}
      </div>
      {shown.length === 0
        ? (
          <p className="rounded-xl bg-white p-4 text-slate-700 ring-1 ring-slate-200">
            {reads.length > 0
              ? "No read in the list matches the filter."
              : live.status === "live"
              ? "No reads in the last day. New ones appear here as they are stored."
              : "Connecting to the live feed…"}
          </p>
        )
        : (
          <ul className="flex flex-col gap-2">
            {shown.map((read) => <li key={read.id}><ReadRow read={read} reason={reason} /></li>)}
          </ul>
        )}
    </section>
  )
}

export default LatestReads
