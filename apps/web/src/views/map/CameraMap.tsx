import "leaflet/dist/leaflet.css"
import type { LatLngTuple } from "leaflet"
import { memo, useEffect, useMemo, useRef } from "react"
import { CircleMarker, MapContainer, Polyline, TileLayer, Tooltip, useMap, useMapEvents } from "react-leaflet"
import { mapTiles } from "../../client/config"

export interface MapPoint {
  readonly id: string
  readonly lat: number
  readonly lon: number
  readonly label: string
  /** "seen": the plate was read there; "active": a read just now (wall); "selected": being placed (admin) */
  readonly tone?: "seen" | "other" | "active" | "selected"
  /** 0..1, drawn as the marker's size */
  readonly weight?: number
}

export interface MapLine {
  readonly id: string
  readonly points: ReadonlyArray<LatLngTuple>
  readonly implausible?: boolean
}

const COLOURS = { seen: "#1d4ed8", other: "#64748b", active: "#f59e0b", selected: "#dc2626" } as const

/** Rockland County, NY: where the first installation is; any view with cameras fits them instead. */
const HOME: LatLngTuple = [41.15, -74.02]

const FitToPoints = ({ points, fitKey }: { readonly points: ReadonlyArray<MapPoint>; readonly fitKey: string }) => {
  const map = useMap()
  const latest = useRef(points)
  latest.current = points
  useEffect(() => {
    const fit = () => {
      const current = latest.current
      if (current.length === 0) return
      map.invalidateSize()
      if (current.length === 1) map.setView([current[0]!.lat, current[0]!.lon], 14)
      // More room above: a marker's label stands over it.
      else map.fitBounds(current.map((p) => [p.lat, p.lon] as LatLngTuple), { paddingTopLeft: [40, 64], paddingBottomRight: [40, 32], maxZoom: 15 })
    }
    fit()
    // The box can change size after the first fit (the wall's alert banners push the map down):
    // Leaflet is told, and the places fitted again.
    let size = ""
    const observer = new ResizeObserver(([entry]) => {
      const next = `${Math.round(entry!.contentRect.width)}x${Math.round(entry!.contentRect.height)}`
      if (size !== "" && next !== size) fit()
      size = next
    })
    observer.observe(map.getContainer())
    return () => observer.disconnect()
    // Fit when the set of places changes, not at every refresh of the same places.
  }, [map, fitKey])
  return null
}

/**
 * One camera's marker, from plain values so that it redraws only when one of them changes: the wall
 * renders its map at every batch of reads, and react-leaflet repositions a marker (and measures its
 * label, a forced layout) whenever it is given a new centre or style object.
 */
const Marker = memo(({ lat, lon, label, tone, weight, dark, labels }: {
  readonly lat: number
  readonly lon: number
  readonly label: string
  readonly tone: NonNullable<MapPoint["tone"]>
  readonly weight: number
  readonly dark: boolean
  readonly labels: boolean
}) => {
  const center = useMemo((): LatLngTuple => [lat, lon], [lat, lon])
  const pathOptions = useMemo(
    () => ({ color: dark ? "#e2e8f0" : "#0f172a", weight: 2, fillColor: COLOURS[tone], fillOpacity: 0.9 }),
    [dark, tone]
  )
  return (
    <CircleMarker center={center} radius={7 + 9 * weight} pathOptions={pathOptions}>
      <Tooltip permanent={labels} direction="top" offset={TOOLTIP_OFFSET}>{label}</Tooltip>
    </CircleMarker>
  )
})

const TOOLTIP_OFFSET: [number, number] = [0, -8]

const PickOnClick = ({ onPick }: { readonly onPick: (lat: number, lon: number) => void }) => {
  useMapEvents({ click: (event) => onPick(event.latlng.lat, event.latlng.lng) })
  return null
}

/**
 * Cameras (and tracks) on a Leaflet map. Without tiles (MAP_TILE_URL=none, or no connection to the
 * tile server) the same markers and lines stand on a plain background.
 */
const CameraMap = ({ points, lines = [], dark = false, labels = false, onPick, label, className = "h-80" }: {
  readonly points: ReadonlyArray<MapPoint>
  readonly lines?: ReadonlyArray<MapLine>
  readonly dark?: boolean
  /** camera names always shown (the wall), rather than on hover */
  readonly labels?: boolean
  readonly onPick?: (lat: number, lon: number) => void
  readonly label: string
  readonly className?: string
}) => {
  const tiles = mapTiles()
  const fitKey = points.map((p) => p.id).sort().join("|")
  return (
    <div role="region" aria-label={label} className={`overflow-hidden rounded-lg ${className}`}>
      <MapContainer center={HOME} zoom={11} className={`alpr-map size-full ${dark ? "alpr-map-dark" : ""}`}
        attributionControl={tiles !== undefined} zoomControl={!dark}>
        {tiles && <TileLayer url={tiles.url} attribution={tiles.attribution} maxZoom={19} />}
        <FitToPoints points={points} fitKey={fitKey} />
        {onPick && <PickOnClick onPick={onPick} />}
        {lines.map((line) => (
          <Polyline key={line.id} positions={line.points as Array<LatLngTuple>}
            pathOptions={{ color: line.implausible ? "#dc2626" : dark ? "#93c5fd" : "#1e40af", weight: 4, dashArray: line.implausible ? "8 8" : undefined }} />
        ))}
        {points.map((point) => (
          <Marker key={`${point.id}:${point.tone ?? ""}`} lat={point.lat} lon={point.lon} label={point.label}
            tone={point.tone ?? "seen"} weight={point.weight ?? 0} dark={dark} labels={labels} />
        ))}
      </MapContainer>
    </div>
  )
}

export default CameraMap
