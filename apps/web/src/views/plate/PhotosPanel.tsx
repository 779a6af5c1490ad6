import type { TimelineResult } from "@chaverim/domain/Investigation"
import { useState } from "react"
import { photoWithReason, type SessionReason } from "../../client/reason"
import { Link } from "../../router"
import { Button } from "../../ui/controls"
import { cameraLabel, formatDateTime } from "../../ui/format"
import { PlatePhoto } from "../../ui/PlatePhoto"

const PAGE = 24

/** A photo opens its read's page. */
const photoLink = "block rounded focus-visible:outline-3 focus-visible:outline-offset-2 focus-visible:outline-blue-600"

/** The photos of the reads listed by the timeline, newest first. */
export const PhotosPanel = ({ timeline, reason }: { readonly timeline: TimelineResult; readonly reason: SessionReason }) => {
  const [shown, setShown] = useState(PAGE)
  const reads = timeline.cameras
    .flatMap((c) => c.sightings.map((s) => ({ ...s, camera: c.camera })))
    .filter((s) => s.images.plate !== undefined || s.images.scene !== undefined)
    .sort((a, b) => b.detected_at.localeCompare(a.detected_at))
  if (reads.length === 0) return <p className="text-slate-700">No photos were stored with these reads.</p>
  return (
    <div className="flex flex-col gap-3">
      <ul className="grid gap-3 sm:grid-cols-2 lg:grid-cols-3">
        {reads.slice(0, shown).map((read) => (
          <li key={read.id} className="flex flex-col gap-2 rounded-lg bg-white p-2 ring-1 ring-slate-200">
            <Link to={`/read/${read.id}`} className={photoLink}>
              <span className="sr-only">Open the read of {read.plate_text}, {formatDateTime(read.detected_at)}: </span>
              <PlatePhoto src={photoWithReason(read.images.scene, reason)} alt={`Scene of the read at ${formatDateTime(read.detected_at)}`} className="aspect-video w-full" />
            </Link>
            <div className="flex items-center gap-2">
              {/* The same page as the scene's link: one Tab stop per read. */}
              <Link to={`/read/${read.id}`} className={`${photoLink} shrink-0`} tabIndex={-1}>
                <span className="sr-only">Open the read of {read.plate_text} from its crop: </span>
                <PlatePhoto src={photoWithReason(read.images.plate, reason)} alt={`Plate crop, read as ${read.plate_text}`} className="h-10 w-28" />
              </Link>
              <p className="text-sm text-slate-800">
                <time dateTime={read.detected_at}>{formatDateTime(read.detected_at)}</time><br />{cameraLabel(read.camera)}
              </p>
            </div>
          </li>
        ))}
      </ul>
      {reads.length > shown && <Button variant="secondary" onClick={() => setShown(shown + PAGE)}>More photos</Button>}
    </div>
  )
}
