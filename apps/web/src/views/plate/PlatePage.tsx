import { normalizePlate } from "@chaverim/domain/Plate"
import { type ReactNode, useState } from "react"
import { withApi } from "../../client/api"
import type { SessionReason } from "../../client/reason"
import type { Remote } from "../../client/problem"
import { useApi } from "../../client/useApi"
import { Link } from "../../router"
import { lastSearchUrl } from "../operator/query"
import { Loading, PlateText, ProblemNote, SelectField } from "../../ui/controls"
import { Tabs } from "../../ui/Tabs"
import { PlateNotes, PlateTags } from "../plates/PlateTags"
import { ConvoyPanel } from "./ConvoyPanel"
import { EvidenceExport } from "./EvidenceExport"
import { MapPanel } from "./MapPanel"
import { PhotosPanel } from "./PhotosPanel"
import { bucketOf, investigationParams, RANGES, type Range, rangeOf } from "./range"
import { ReasonGate } from "./ReasonGate"
import { RoutePanel } from "./RoutePanel"
import { TimelinePanel } from "./TimelinePanel"

type TabKey = "timeline" | "map" | "route" | "convoy" | "photos" | "export"

const TABS = [
  { key: "timeline", label: "Timeline" },
  { key: "map", label: "Map" },
  { key: "route", label: "Route" },
  { key: "convoy", label: "Convoy" },
  { key: "photos", label: "Photos" },
  { key: "export", label: "Export" }
] as const

/** Loading, a failure, or the panel drawn from the value. */
const Show = <A,>({ remote, children }: { readonly remote: Remote<A>; readonly children: (value: A) => ReactNode }) =>
  remote.state === "failed" ? <ProblemNote problem={remote.problem} />
    : remote.state === "ready" ? <>{children(remote.value)}</>
    : <Loading />

/** Convoys are searched over at most 31 days. */
const convoyRange = (range: Range): Range => (range.days > 31 ? rangeOf(31, range.to) : range)

const Investigation = ({ plate, reason }: { readonly plate: string; readonly reason: SessionReason }) => {
  const [range, setRange] = useState(() => rangeOf(30))
  const [tab, setTab] = useState<TabKey>("timeline")
  const [visited, setVisited] = useState<ReadonlySet<TabKey>>(new Set(["timeline"]))
  const [windowS, setWindowS] = useState(60)
  const [minCameras, setMinCameras] = useState(2)
  const path = { plate }
  const common = investigationParams(range, reason)
  const wants = (...tabs: ReadonlyArray<TabKey>) => tabs.some((t) => visited.has(t))

  const [timeline] = useApi(() =>
    withApi((api) => api.investigation.timeline({ path, urlParams: { ...common, bucket: bucketOf(range), min_gap_minutes: 60, limit: 500 } })),
    [range])
  const [map] = useApi(() =>
    wants("map") ? withApi((api) => api.investigation.map({ path, urlParams: common })) : undefined,
    [range, wants("map")])
  const [route] = useApi(() =>
    wants("map", "route")
      ? withApi((api) => api.investigation.route({ path, urlParams: { ...common, trip_gap_minutes: 30, max_speed_kmh: 200 } }))
      : undefined,
    [range, wants("map", "route")])
  const [convoy] = useApi(() =>
    wants("convoy")
      ? withApi((api) => api.investigation.convoy({
        path,
        urlParams: { ...investigationParams(convoyRange(range), reason), window_s: windowS, min_cameras: minCameras, limit: 20 }
      }))
      : undefined,
    [range, wants("convoy"), windowS, minCameras])

  const select = (key: TabKey) => {
    setTab(key)
    setVisited((v) => new Set([...v, key]))
  }

  return (
    <div className="flex flex-col gap-4">
      <SelectField label="Period" value={range.days} className="max-w-60"
        onChange={(e) => setRange(rangeOf(Number(e.target.value)))}>
        {RANGES.map((r) => <option key={r.days} value={r.days}>{r.label}</option>)}
      </SelectField>
      <Tabs tabs={TABS} selected={tab} onSelect={select} label="Views of the plate">
        {tab === "timeline" && <Show remote={timeline}>{(t) => <TimelinePanel timeline={t} />}</Show>}
        {tab === "photos" && <Show remote={timeline}>{(t) => <PhotosPanel timeline={t} reason={reason} />}</Show>}
        {tab === "export" && <EvidenceExport plate={plate} reason={reason} />}
        {tab === "map" && <Show remote={map}>{(m) => <MapPanel map={m} route={route.state === "ready" ? route.value : undefined} />}</Show>}
        {tab === "route" && <Show remote={route}>{(r) => <RoutePanel route={r} />}</Show>}
        {tab === "convoy" && (
          <div className="flex flex-col gap-3">
            <div className="flex flex-wrap gap-3">
              <SelectField label="Within" value={windowS} onChange={(e) => setWindowS(Number(e.target.value))}>
                {[30, 60, 120, 300].map((s) => <option key={s} value={s}>{s} seconds</option>)}
              </SelectField>
              <SelectField label="At least" value={minCameras} onChange={(e) => setMinCameras(Number(e.target.value))}>
                {[2, 3, 4, 5].map((n) => <option key={n} value={n}>{n} cameras</option>)}
              </SelectField>
            </div>
            {range.days > 31 && <p className="text-sm text-slate-700">Convoys are looked for in the last 31 days.</p>}
            <Show remote={convoy}>{(c) => <ConvoyPanel convoy={c} />}</Show>
          </div>
        )}
      </Tabs>
    </div>
  )
}

/** One plate: when and where it was read, the route it drove, who drives with it, the photos. */
const PlatePage = ({ plate }: { readonly plate: string }) => {
  const normalized = normalizePlate(plate)
  return (
    <div className="flex flex-col gap-4">
      <Link to={lastSearchUrl()} className="self-start py-2 font-medium text-blue-800 underline-offset-2 hover:underline">
        ← Back to search
      </Link>
      <h1 className="text-slate-900" tabIndex={-1}>
        <span className="sr-only">Plate </span><PlateText plate={normalized} className="text-3xl" />
      </h1>
      <PlateTags plate={normalized} />
      <Link to={`/holds?plate=${encodeURIComponent(normalized)}`} className="self-start py-2 font-medium text-blue-800 underline-offset-2 hover:underline">
        Put this plate's reads on legal hold
      </Link>
      <PlateNotes plate={normalized} />
      <ReasonGate>
        {(reason) => <Investigation key={`${normalized}|${JSON.stringify(reason)}`} plate={normalized} reason={reason} />}
      </ReasonGate>
    </div>
  )
}

export default PlatePage
