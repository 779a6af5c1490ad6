import type { DetectionItem } from "@chaverim/domain/Search"
import { photoWithReason, type SessionReason } from "../../client/reason"
import { Link } from "../../router"
import { Badge } from "../../ui/controls"
import { cameraLabel, formatPercent, formatWhenShort } from "../../ui/format"
import { PlatePhoto } from "../../ui/PlatePhoto"
import { PlateTags } from "../plates/PlateTags"
import { vehicleOf } from "./DetectionCard"

const LINK = "font-medium text-blue-800 underline underline-offset-2 hover:text-blue-950 focus-visible:outline-3 focus-visible:outline-blue-600"

/**
 * Reads as a dense table, for wide screens: a row a read, its time opening the read's own page and its
 * plate the plate's timeline and map.
 */
export const ResultsTable = ({ items, reason }: {
  readonly items: ReadonlyArray<DetectionItem>
  /** why the reads are looked at: their plate crops are audited with it */
  readonly reason: SessionReason | undefined
}) => (
  // Sized by the column, never by the table (contain): a narrow screen scrolls the table, not the page.
  <div className="w-full overflow-x-auto rounded-xl bg-white shadow-sm ring-1 ring-slate-200 [contain:inline-size]">
    <table className="w-full border-collapse text-left text-sm text-slate-900">
      <caption className="sr-only">Reads found, one a row</caption>
      <thead className="border-b border-slate-300 bg-slate-50 text-xs uppercase tracking-wide text-slate-700">
        <tr>
          <th scope="col" className="px-1.5 py-1.5 font-semibold">Plate</th>
          <th scope="col" className="px-1.5 py-1.5 font-semibold">Time</th>
          <th scope="col" className="px-1.5 py-1.5 font-semibold">Camera</th>
          <th scope="col" className="px-1.5 py-1.5 font-semibold">Site</th>
          <th scope="col" className="px-1.5 py-1.5 font-semibold"><abbr title="Direction" className="no-underline">Dir.</abbr></th>
          <th scope="col" className="px-1.5 py-1.5 font-semibold">Vehicle</th>
          <th scope="col" className="px-1.5 py-1.5 text-right font-semibold"><abbr title="Confidence" className="no-underline">Conf.</abbr></th>
        </tr>
      </thead>
      <tbody className="divide-y divide-slate-200">
        {items.map((item) => (
          <tr key={item.id} className="hover:bg-slate-50" aria-label={`Read of ${item.plate_text}`}>
            <td className="px-1.5 py-0.5">
              <div className="flex items-center gap-2">
                <PlatePhoto src={photoWithReason(item.images.plate, reason)} alt={`Plate crop of the read ${item.plate_text}`}
                  className="h-6 w-14 shrink-0" />
                <Link to={`/plate/${encodeURIComponent(item.plate)}`} className={`${LINK} whitespace-nowrap font-mono font-bold tracking-wider`}
                  title="Timeline and map of this plate">
                  {item.plate_text}
                </Link>
                {item.distance !== undefined && item.distance > 0 && <span className="text-xs text-slate-600">{item.distance} off</span>}
                <PlateTags plate={item.plate} />
                {item.correction?.action === "correct" && <Badge tone="warn">→ {item.correction.plate_text ?? item.correction.plate}</Badge>}
              </div>
            </td>
            <td className="whitespace-nowrap px-1.5 py-0.5">
              <Link to={`/read/${item.id}`} className={LINK} title="Open this read">
                <time dateTime={item.detected_at}>{formatWhenShort(item.detected_at)}</time>
              </Link>
            </td>
            <td className="px-1.5 py-0.5">{cameraLabel(item.camera)}</td>
            <td className="px-1.5 py-0.5">{item.camera.site ?? ""}</td>
            <td className="px-1.5 py-0.5">{item.direction ?? ""}</td>
            <td className="whitespace-nowrap px-1.5 py-0.5">{vehicleOf(item)}</td>
            <td className="px-1.5 py-0.5 text-right tabular-nums">{formatPercent(item.confidence)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  </div>
)
