import type { Alert, AlertDetection } from "@chaverim/domain/Alerts"
import type { WallCamera } from "@chaverim/domain/rpc/Wall"
import type { MapPoint } from "../map/CameraMap"
import { LazyMap } from "../map/LazyMap"

/** A camera that read a plate in the last two minutes is lit. */
const RECENT_MS = 120_000

const pointsOf = (
  cameras: ReadonlyArray<WallCamera> | undefined,
  reads: ReadonlyArray<AlertDetection>,
  alerts: ReadonlyArray<Alert>
): ReadonlyArray<MapPoint> => {
  const now = Date.now()
  const active = new Set(reads.filter((r) => now - new Date(r.detected_at).getTime() < RECENT_MS).map((r) => r.camera.id))
  const points = new Map<string, MapPoint>()
  const alerting = new Set(alerts.map((a) => a.detection.camera.id))
  // Cameras seen in the feed are shown even before the camera list has loaded.
  for (const read of [...reads, ...alerts.map((a) => a.detection)]) {
    if (read.camera.lat === null || read.camera.lon === null) continue
    points.set(read.camera.id, { id: read.camera.id, lat: read.camera.lat, lon: read.camera.lon, label: read.camera.name ?? "camera" })
  }
  for (const camera of cameras ?? []) {
    points.set(camera.camera_id, { id: camera.camera_id, lat: camera.lat, lon: camera.lon, label: camera.name ?? camera.site ?? "camera" })
  }
  return [...points.values()].map((p) => ({
    ...p,
    tone: alerting.has(p.id) ? "selected" : active.has(p.id) ? "active" : "other",
    weight: alerting.has(p.id) ? 1 : active.has(p.id) ? 0.6 : 0
  }))
}

export const WallMap = ({ cameras, reads, alerts }: {
  readonly cameras: ReadonlyArray<WallCamera> | undefined
  readonly reads: ReadonlyArray<AlertDetection>
  readonly alerts: ReadonlyArray<Alert>
}) => (
  <section aria-label="Map of cameras" className="min-h-[18em] overflow-hidden rounded-lg ring-1 ring-slate-800 lg:min-h-[9em]">
    <LazyMap points={pointsOf(cameras, reads, alerts)} dark labels label="Cameras; lit ones read a plate in the last two minutes, marked ones raised an open alert"
      className="size-full min-h-[18em] lg:min-h-[9em]" />
  </section>
)
