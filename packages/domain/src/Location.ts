interface Position {
  readonly lat: number | null
  readonly lon: number | null
}

/**
 * Where a read was made, as every view of a read shows it: its own position when it has both
 * coordinates, else its camera's, else unknown (never one coordinate of each).
 */
export const locationOf = (own: Position, camera: Position) =>
  own.lat !== null && own.lon !== null
    ? { lat: own.lat, lon: own.lon }
    : camera.lat !== null && camera.lon !== null
    ? { lat: camera.lat, lon: camera.lon }
    : null
