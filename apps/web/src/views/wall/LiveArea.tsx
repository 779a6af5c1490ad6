import type { AlertDetection } from "@chaverim/domain/Alerts"
import { memo } from "react"
import type { LiveStatus } from "../../client/live"
import { PlatePhoto } from "../../ui/PlatePhoto"
import { formatWhen } from "../../ui/format"

/**
 * How long a read stays on screen before its crop is asked for: at a busy time most are gone sooner,
 * and nobody could have looked at them (see PlatePhoto).
 */
const LATEST_PHOTO_DELAY_MS = 250
const TILE_PHOTO_DELAY_MS = 1_000

const where = (read: AlertDetection) => [read.camera.name ?? "unnamed camera", read.camera.site].filter(Boolean).join(" · ")

const Latest = ({ read }: { readonly read: AlertDetection }) => (
  <article className="flex flex-wrap items-center gap-[1em] rounded-lg bg-slate-900 p-[1em] ring-1 ring-slate-700" aria-label={`Latest read ${read.plate_text}`}>
    <PlatePhoto src={read.images.plate} alt={`Plate ${read.plate_text}`} dark delayMs={LATEST_PHOTO_DELAY_MS}
      className="h-[5em] w-[15em] shrink-0" />
    <div className="min-w-0">
      <p className="font-mono text-[2.5em] font-bold leading-none tracking-wider sm:text-[3.5em]">{read.plate_text}</p>
      <p className="mt-[0.3em] truncate text-[1.3em] text-slate-300">
        {formatWhen(read.detected_at)} · {where(read)}{read.direction ? ` · ${read.direction}` : ""}
      </p>
    </div>
  </article>
)

// Memoised: at 50 reads a second only the new tiles render, not the whole grid.
const Tile = memo(({ read }: { readonly read: AlertDetection }) => (
  <li className="flex items-center gap-[0.6em] rounded-md bg-slate-900 p-[0.5em] ring-1 ring-slate-800">
    <PlatePhoto src={read.images.plate} alt="" dark delayMs={TILE_PHOTO_DELAY_MS} className="h-[2.2em] w-[6.5em] shrink-0" />
    <div className="min-w-0">
      <p className="font-mono text-[1.4em] font-bold leading-tight tracking-wide">{read.plate_text}</p>
      <p className="truncate text-[0.85em] text-slate-400">{formatWhen(read.detected_at)} · {where(read)}</p>
    </div>
  </li>
))

/** The newest read large, the ones before it in a grid. */
export const LiveArea = ({ reads, status }: {
  readonly reads: ReadonlyArray<AlertDetection>
  readonly status: LiveStatus
}) => (
  <section aria-labelledby="live-title" className="flex min-h-0 flex-col gap-[0.75em] overflow-hidden">
    <h2 id="live-title" className="text-[1.3em] font-semibold text-slate-200">Live reads</h2>
    {reads.length === 0
      ? (
        <p className="rounded-lg bg-slate-900 p-[1em] text-[1.3em] text-slate-300 ring-1 ring-slate-800">
          {status === "live" ? "Waiting for the next read…" : "Connecting to the live feed…"}
        </p>
      )
      : (
        <>
          <Latest read={reads[0]!} />
          <ul className="grid min-h-0 grid-cols-1 content-start gap-[0.5em] overflow-hidden sm:grid-cols-2 xl:grid-cols-3">
            {reads.slice(1).map((read) => <Tile key={read.id} read={read} />)}
          </ul>
        </>
      )}
  </section>
)
