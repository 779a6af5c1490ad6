import type { TimelineBucket } from "@chaverim/domain/Investigation"
import { formatDate, formatDayHour } from "../../ui/format"

const STEP = { hour: 3_600_000, day: 86_400_000 } as const

const bucketLabel = (start: number, bucket: TimelineBucket) =>
  bucket === "day"
    ? formatDate(new Date(start))
    : formatDayHour(new Date(start))

/**
 * Reads per UTC hour or day across the whole range, empty buckets included, as plain SVG bars. The
 * figures are in each bar's title and summarised in the label for screen readers.
 */
export const TimelineChart = ({ counts, bucket, from, to }: {
  readonly counts: ReadonlyArray<{ readonly start: string; readonly count: number }>
  readonly bucket: TimelineBucket
  readonly from: string
  readonly to: string
}) => {
  const step = STEP[bucket]
  const first = Math.floor(new Date(from).getTime() / step) * step
  const last = new Date(to).getTime()
  const byStart = new Map(counts.map((c) => [new Date(c.start).getTime(), c.count]))
  const bars: Array<{ readonly start: number; readonly count: number }> = []
  for (let start = first; start < last; start += step) bars.push({ start, count: byStart.get(start) ?? 0 })
  const max = Math.max(1, ...bars.map((b) => b.count))
  const busiest = bars.reduce((a, b) => (b.count > a.count ? b : a), bars[0] ?? { start: first, count: 0 })
  const total = counts.reduce((sum, c) => sum + c.count, 0)
  const summary = `Reads per ${bucket}: ${total} in all, at most ${busiest.count} (${bucketLabel(busiest.start, bucket)})`

  return (
    <figure className="flex flex-col gap-1">
      <div className="flex items-stretch gap-2">
        <div className="flex flex-col justify-between text-right text-xs text-slate-700" aria-hidden>
          <span>{max}</span>
          <span>0</span>
        </div>
        <svg role="img" aria-label={summary} viewBox={`0 0 ${bars.length} 100`} preserveAspectRatio="none"
          className="h-40 w-full rounded bg-white ring-1 ring-slate-200">
          {bars.map((bar, i) => (
            <rect key={bar.start} x={i + 0.1} width={0.8} y={100 - (bar.count / max) * 100} height={(bar.count / max) * 100}
              className={bar.count > 0 ? "fill-blue-700" : "fill-transparent"}>
              <title>{`${bucketLabel(bar.start, bucket)}: ${bar.count} read${bar.count === 1 ? "" : "s"}`}</title>
            </rect>
          ))}
        </svg>
      </div>
      <figcaption className="flex justify-between pl-6 text-xs text-slate-700">
        <span>{bucketLabel(first, bucket)}</span>
        <span>per {bucket} (UTC)</span>
        <span>{bucketLabel(last, bucket)}</span>
      </figcaption>
    </figure>
  )
}
