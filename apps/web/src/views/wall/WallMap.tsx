import type { AlertDetection } from "@chaverim/domain/Alerts"
import type { Camera } from "@chaverim/domain/Rpc"
import type { MapPoint } from "../map/CameraMap"
import { LazyMap } from "../map/LazyMap"

/** A camera that read a plate in the last two minutes is lit. */
const RECENT_MS = 120_000

const pointsOf = (cameras: ReadonlyArray<Camera> | undefined, reads: ReadonlyArray<AlertDetection>): ReadonlyArray<MapPoint> => {
  const now = Date.now()
  const active = new Set(reads.filter((r) => now - new Date(r.detected_at).getTime() < RECENT_MS).map((r) => r.camera.id))
  const points = new Map<string, MapPoint>()
  // Cameras seen in the feed are shown even when the camera list is not available to this session.
  for (const read of reads) {
    if (read.camera.lat === null || read.camera.lon === null) continue
    points.set(read.camera.id, { id: read.camera.id, lat: read.camera.lat, lon: read.camera.lon, label: read.camera.name ?? "camera" })
  }
  for (const camera of cameras ?? []) {
    if (camera.lat === null || camera.lon === null) continue
    points.set(camera.camera_id, { id: camera.camera_id, lat: camera.lat, lon: camera.lon, label: camera.name ?? camera.external_id })
  }
  return [...points.values()].map((p) => ({ ...p, tone: active.has(p.id) ? "active" : "other", weight: active.has(p.id) ? 0.6 : 0 }))
}

export const WallMap = ({ cameras, reads }: {
  readonly cameras: ReadonlyArray<Camera> | undefined
  readonly reads: ReadonlyArray<AlertDetection>
}) => (
  <section aria-label="Map of cameras" className="min-h-[18em] overflow-hidden rounded-lg ring-1 ring-slate-800">
    <LazyMap points={pointsOf(cameras, reads)} dark labels label="Cameras; lit ones read a plate in the last two minutes"
      className="size-full min-h-[18em]" />
  </section>
)
