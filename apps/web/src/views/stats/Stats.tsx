import { LOW_CONFIDENCE, type ReadsStats, type SummaryStats } from "@chaverim/domain/Stats"
import { useMemo, useState } from "react"
import { withApi } from "../../client/api"
import { useApi } from "../../client/useApi"
import { Loaded, SelectField } from "../../ui/controls"
import { formatDuration, formatPercent, formatShort } from "../../ui/format"

const HOUR = 3_600_000
const DAY = 24 * HOUR

const RANGES = {
  day: { label: "the last 24 hours", ms: DAY, bucket: "hour" },
  week: { label: "the last 7 days", ms: 7 * DAY, bucket: "day" },
  month: { label: "the last 31 days", ms: 31 * DAY, bucket: "day" }
} as const
type RangeKey = keyof typeof RANGES

/** Colours of the cameras' parts of a bar, in turn (readable on white, told apart without colour by the table). */
const COLOURS = ["#1d4ed8", "#b45309", "#047857", "#7c3aed", "#be123c", "#0e7490", "#4d7c0f", "#a21caf"]

const Figure = ({ label, value }: { readonly label: string; readonly value: string }) => (
  <div className="rounded-lg bg-white p-3 ring-1 ring-slate-200">
    <p className="text-2xl font-bold tabular-nums text-slate-900">{value}</p>
    <p className="text-sm text-slate-700">{label}</p>
  </div>
)

/** Every hour or day (UTC) the range touches, each bucket's start, oldest first. */
const bucketsOf = (from: Date, to: Date, unit: "hour" | "day") => {
  const step = unit === "day" ? DAY : HOUR
  const out: Array<string> = []
  for (let at = Math.floor(from.getTime() / step) * step; at < to.getTime(); at += step) out.push(new Date(at).toISOString())
  return out
}

/** Reads per bucket, stacked by camera, every bucket of the range (an empty one too). */
const ReadsChart = ({ stats, span }: { readonly stats: ReadsStats; readonly span: { readonly from: Date; readonly to: Date } }) => {
  const times = bucketsOf(span.from, span.to, stats.bucket)
  const colourOf = new Map(stats.cameras.map((c, i) => [c.id, COLOURS[i % COLOURS.length]!]))
  const totals = times.map((at) => stats.buckets.filter((b) => b.at === at).reduce((n, b) => n + b.reads, 0))
  const most = Math.max(1, ...totals)
  const width = Math.max(320, times.length * 18)
  const height = 160
  const bar = width / Math.max(1, times.length)
  return (
    <figure className="flex flex-col gap-2">
      <svg role="img" aria-label={`Reads per ${stats.bucket}, stacked by camera; the most in one ${stats.bucket}: ${most}`}
        viewBox={`0 0 ${width} ${height + 4}`} className="h-48 w-full rounded bg-white ring-1 ring-slate-200" preserveAspectRatio="none">
        {times.map((at, i) => {
          let y = height
          return stats.buckets.filter((b) => b.at === at).map((b) => {
            const h = (b.reads / most) * (height - 8)
            y -= h
            return <rect key={`${at}|${b.camera_id}`} x={i * bar + 1} y={y} width={Math.max(1, bar - 2)} height={h} fill={colourOf.get(b.camera_id)} />
          })
        })}
      </svg>
      <div aria-hidden className="flex justify-between text-xs text-slate-700">
        <span>{formatShort(times[0] ?? span.from)}</span>
        <span>{formatShort(times.at(-1) ?? span.to)}</span>
      </div>
      <figcaption className="flex flex-wrap gap-x-4 gap-y-1 text-sm text-slate-800">
        {stats.cameras.map((c) => (
          <span key={c.id} className="inline-flex items-center gap-1">
            <span aria-hidden className="inline-block size-3 rounded-sm" style={{ background: colourOf.get(c.id) }} />
            {c.name}{c.site ? ` (${c.site})` : ""}
          </span>
        ))}
      </figcaption>
    </figure>
  )
}

const ConfidenceChart = ({ bins }: { readonly bins: ReadonlyArray<number> }) => {
  const most = Math.max(1, ...bins)
  return (
    <figure className="flex flex-col gap-1">
      <svg role="img" aria-label={`Reads by confidence, in tenths: ${bins.join(", ")}`} viewBox="0 0 200 84"
        className="h-32 w-full max-w-md rounded bg-white ring-1 ring-slate-200">
        {bins.map((n, i) => {
          const h = (n / most) * 70
          return <rect key={i} x={i * 20 + 2} y={74 - h} width={16} height={h} fill={i / 10 < LOW_CONFIDENCE ? "#b45309" : "#1d4ed8"} />
        })}
        {[0, 5, 10].map((t) => <text key={t} x={t * 20 - (t === 10 ? 12 : 0)} y={83} fontSize={8} fill="#334155">{(t / 10).toFixed(1)}</text>)}
      </svg>
      <figcaption className="text-sm text-slate-700">Reads by confidence; amber: below {LOW_CONFIDENCE}, counted as low.</figcaption>
    </figure>
  )
}

const Table = ({ caption, head, rows }: {
  readonly caption: string
  readonly head: ReadonlyArray<string>
  readonly rows: ReadonlyArray<ReadonlyArray<string | number>>
}) => (
  // Scrolls sideways on a phone: reachable by the keyboard, named for a screen reader.
  <div className="overflow-x-auto" tabIndex={0} role="region" aria-label={caption}>
    <table className="w-full min-w-max text-left text-sm">
      <caption className="pb-1 text-left font-semibold text-slate-900">{caption}</caption>
      <thead className="text-slate-700"><tr>{head.map((h, i) => <th key={h} scope="col" className={`px-2 py-1 font-medium ${i > 0 ? "text-right" : ""}`}>{h}</th>)}</tr></thead>
      <tbody>
        {rows.map((row, r) => (
          <tr key={r} className="border-t border-slate-200">
            {row.map((cell, i) => <td key={i} className={`px-2 py-1 ${i > 0 ? "text-right tabular-nums" : ""}`}>{cell}</td>)}
          </tr>
        ))}
      </tbody>
    </table>
  </div>
)

const Summary = ({ summary }: { readonly summary: SummaryStats }) => (
  <div className="flex flex-col gap-4">
    <div className="grid grid-cols-2 gap-2 sm:grid-cols-3 lg:grid-cols-6">
      <Figure label="reads" value={summary.reads.toLocaleString()} />
      <Figure label="different plates" value={summary.unique_plates.toLocaleString()} />
      <Figure label="plates seen on 2+ days" value={summary.repeat_plates.toLocaleString()} />
      <Figure label="low-confidence reads" value={summary.low_confidence_share === null ? "–" : formatPercent(summary.low_confidence_share)} />
      <Figure label="camera to stored, median" value={summary.ingest_lag_s.p50 === null ? "–" : formatDuration(summary.ingest_lag_s.p50)} />
      <Figure label="camera to stored, 95th percentile" value={summary.ingest_lag_s.p95 === null ? "–" : formatDuration(summary.ingest_lag_s.p95)} />
    </div>
    <ConfidenceChart bins={summary.confidence} />
    <Table caption="Accuracy by camera, from people's checks" head={["Camera", "Reads", "Checked", "Corrected", "No plate", "Wrong"]}
      rows={summary.accuracy.map((a) => [
        a.camera.name, a.reads, a.checked, a.corrected, a.rejected, a.share_wrong === null ? "–" : formatPercent(a.share_wrong)
      ])} />
    {summary.confusions.length > 0 && (
      <Table caption="Characters the cameras confuse (read as → really)" head={["Read as", "Really", "Times"]}
        rows={summary.confusions.map((c) => [c.read === "" ? "(nothing)" : c.read, c.actual === "" ? "(nothing)" : c.actual, c.count])} />
    )}
    {summary.alerts_by_list.length === 0
      ? <p className="text-slate-700">No alerts in this range.</p>
      : <Table caption="Alerts by list" head={["List", "Alerts"]} rows={summary.alerts_by_list.map((l) => [l.name, l.alerts])} />}
  </div>
)

/**
 * The numbers, for operators and admins: reads per camera over time, how readable they were, repeat
 * visitors, alerts by list, how long reads take to arrive, and each camera's accuracy from people's
 * corrections. Aggregates only: nothing here names a plate.
 */
const Stats = () => {
  const [range, setRange] = useState<RangeKey>("week")
  const [camera, setCamera] = useState("")
  // One range per choice, fixed when chosen (so a re-render does not move it).
  const span = useMemo(() => {
    const to = new Date(Math.ceil(Date.now() / HOUR) * HOUR)
    return { from: new Date(to.getTime() - RANGES[range].ms), to }
  }, [range])
  const scope = { ...span, ...(camera === "" ? {} : { camera }) }
  const [reads] = useApi(() => withApi((api) => api.stats.reads({ urlParams: { ...scope, bucket: RANGES[range].bucket } })), [span, camera])
  const [summary] = useApi(() => withApi((api) => api.stats.summary({ urlParams: scope })), [span, camera])
  const cameras = reads.state === "ready" ? reads.value.cameras : []
  return (
    <section aria-labelledby="stats-title" className="flex flex-col gap-4">
      <h1 id="stats-title" className="text-xl font-bold text-slate-900" tabIndex={-1}>Statistics</h1>
      <div className="flex flex-wrap gap-3">
        <SelectField label="Over" value={range} className="max-w-xs" onChange={(e) => setRange(e.target.value as RangeKey)}>
          {Object.entries(RANGES).map(([key, r]) => <option key={key} value={key}>{r.label}</option>)}
        </SelectField>
        <SelectField label="Camera" value={camera} className="max-w-xs" onChange={(e) => setCamera(e.target.value)}>
          <option value="">every camera</option>
          {cameras.map((c) => <option key={c.id} value={c.id}>{c.name}</option>)}
          {camera !== "" && !cameras.some((c) => c.id === camera) && <option value={camera}>the chosen camera</option>}
        </SelectField>
      </div>
      <p className="text-sm text-slate-700">From {formatShort(span.from)} to {formatShort(span.to)}.</p>
      <h2 className="font-semibold text-slate-900">Reads per {RANGES[range].bucket}</h2>
      <Loaded remote={reads}>
        {(r) => (r.buckets.length === 0 ? <p className="text-slate-700">No reads in this range.</p> : <ReadsChart stats={r} span={span} />)}
      </Loaded>
      <Loaded remote={summary}>{(s) => <Summary summary={s} />}</Loaded>
    </section>
  )
}

export default Stats
