import type { Alert } from "@chaverim/domain/Alerts"
import { onWall } from "@chaverim/domain/rpc/Wall"
import { useEffect, useMemo, useRef, useState } from "react"
import type { AlertEvents } from "../../client/live"
import { useRpc, withRpc } from "../../client/rpc"
import { type Board, byUrgency, withAlert, withLoaded } from "../alerts/board"

const shown = (alert: Alert) => onWall(alert, Date.now())

/** How often acknowledged alerts are looked at again to let the aged-out ones go. */
const AGE_CHECK_MS = 60_000

/**
 * The alerts the wall shows: every new one, and the acknowledged ones (who took them, and when) until
 * they are resolved or age out (`onWall`): the car may still be out there. Loaded once
 * (and again after a resync) with `wall.alerts`, which a paired display may call where it may not
 * list alerts, then kept by the live feed; `onRaised` is told of each alert raised while the wall watches.
 */
export const useWallAlerts = (onRaised: (alert: Alert) => void) => {
  const [loaded, reload] = useRpc(() => withRpc((rpc) => rpc.wall.alerts()), [])
  const [board, setBoard] = useState<Board>(new Map())
  // What the feed said since the last load, and the alerts already sounded (once each).
  const seen = useRef<Map<string, Alert>>(new Map())
  const sounded = useRef<Set<string>>(new Set())
  const raised = useRef(onRaised)
  raised.current = onRaised

  useEffect(() => {
    if (loaded.state !== "ready") return
    // Open when the wall loaded: shown, not sounded (a reload of the screen should not ring again).
    loaded.value.forEach((alert) => sounded.current.add(alert.id))
    setBoard((b) => withLoaded(b, loaded.value, seen.current, shown))
  }, [loaded])

  const events = useMemo((): AlertEvents => ({
    onAlert: (alert) => {
      seen.current.set(alert.id, alert)
      setBoard((b) => withAlert(b, alert, shown))
      if (alert.status === "new" && !sounded.current.has(alert.id)) {
        sounded.current.add(alert.id)
        raised.current(alert)
      }
    },
    // Changes were missed: what is open now is what the server says, plus what the feed brings next.
    onResync: () => {
      seen.current.clear()
      setBoard(new Map())
      reload()
    }
  }), [reload])

  // Acknowledged alerts age out while nothing else changes.
  useEffect(() => {
    const timer = setInterval(() => {
      setBoard((b) => ([...b.values()].every(shown) ? b : new Map([...b].filter(([, alert]) => shown(alert)))))
    }, AGE_CHECK_MS)
    return () => clearInterval(timer)
  }, [])

  // The new ones first (most urgent first), then the acknowledged ones.
  const alerts = useMemo(
    () => [...board.values()].sort((a, b) => Number(a.status !== "new") - Number(b.status !== "new") || byUrgency(a, b)),
    [board]
  )
  const failed = loaded.state === "failed" ? loaded.problem : undefined
  return { alerts, events, failed }
}
