import type { MultiPlaceResult } from "@chaverim/domain/Investigation"
import { Link } from "../../router"
import { Notice } from "../../ui/controls"
import { cameraLabel, formatDateTime } from "../../ui/format"

type Found = MultiPlaceResult["items"][number]

const LINK = "font-medium text-blue-800 underline underline-offset-2"

/** One plate: for each incident, the reads that put it there (time and camera), each linking to the read. */
const PlateFound = ({ item }: { readonly item: Found }) => (
  <li>
    <article aria-label={`Plate ${item.plate}`} className="rounded-lg bg-white p-3 ring-1 ring-slate-200">
      <Link to={`/plate/${encodeURIComponent(item.plate)}`} className="font-mono text-xl font-bold tracking-wider text-blue-800 underline">
        {item.plate}
      </Link>
      <ol className="mt-2 grid gap-2 sm:grid-cols-2 lg:grid-cols-3">
        {item.places.map((place) => (
          <li key={place.place} className="rounded-md bg-slate-50 p-2 ring-1 ring-slate-200">
            <p className="text-sm font-semibold text-slate-900">
              Incident {place.place + 1} <span className="font-normal text-slate-700">· {place.count} read{place.count === 1 ? "" : "s"}</span>
            </p>
            <ul className="text-sm text-slate-800">
              {place.sightings.map((s) => (
                <li key={s.id} className="py-1">
                  {/* Named by what it shows (the time) first, then which read it is. */}
                  <Link to={`/read/${s.id}`} className={LINK}
                    aria-label={`${formatDateTime(s.detected_at)}, read ${s.id} of ${s.plate_text} at ${cameraLabel(s.camera)}`}>
                    <time dateTime={s.detected_at}>{formatDateTime(s.detected_at)}</time>
                  </Link>
                  <br />
                  {cameraLabel(s.camera)}{s.camera.site ? ` · ${s.camera.site}` : ""}
                  {s.plate_text !== item.plate ? ` · read as ${s.plate_text}` : ""}
                </li>
              ))}
            </ul>
            {place.count > place.sightings.length && (
              <p className="text-sm text-slate-700">and {place.count - place.sightings.length} later</p>
            )}
          </li>
        ))}
      </ol>
    </article>
  </li>
)

export const PlacesResults = ({ result, incidents }: { readonly result: MultiPlaceResult; readonly incidents: number }) => (
  <section aria-labelledby="places-found" className="flex flex-col gap-3">
    <h2 id="places-found" className="text-lg font-semibold text-slate-900">
      <span role="status">
        {result.items.length === 0
          ? `No plate was read at all ${incidents} incidents.`
          : `${result.items.length} plate${result.items.length === 1 ? "" : "s"} read at all ${incidents} incidents`}
      </span>
    </h2>
    {result.capped && <Notice tone="warning">More plates matched than are listed: narrow the places or the times.</Notice>}
    {result.items.length > 0 && <ul className="flex flex-col gap-3">{result.items.map((item) => <PlateFound key={item.plate} item={item} />)}</ul>}
  </section>
)
