import type { Alert } from "@chaverim/domain/Alerts"

/**
 * Open alerts by id, kept from two sources: a list loaded from the API and the live feed. Whichever
 * version was updated last wins, so a list that left the server before an acknowledgement arrived
 * over the feed does not bring the alert back.
 */
export type Board = ReadonlyMap<string, Alert>

const newer = (a: Alert, b: Alert | undefined) => b === undefined || a.updated_at >= b.updated_at

/** The later of two versions of an alert. */
export const latest = (a: Alert, b: Alert | undefined) => (newer(a, b) ? a : b!)

export const withAlert = (board: Board, alert: Alert, keep: (alert: Alert) => boolean): Board => {
  if (!newer(alert, board.get(alert.id))) return board
  const next = new Map(board)
  next.set(alert.id, alert)
  if (!keep(alert)) next.delete(alert.id)
  return next
}

/** The loaded list, with what the feed said since about any alert on it or not. */
export const withLoaded = (board: Board, loaded: ReadonlyArray<Alert>, seen: Board, keep: (alert: Alert) => boolean): Board => {
  const next = new Map(board)
  for (const alert of loaded) {
    const known = seen.get(alert.id)
    const latest = known !== undefined && newer(known, alert) ? known : alert
    if (keep(latest)) next.set(alert.id, latest)
    else next.delete(alert.id)
  }
  return next
}

/** Most urgent list first, then the latest sighting. */
export const byUrgency = (a: Alert, b: Alert) =>
  a.watchlist.priority - b.watchlist.priority || b.last_seen_at.localeCompare(a.last_seen_at)
