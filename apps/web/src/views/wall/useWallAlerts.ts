import type { Alert } from "@chaverim/domain/Alerts"
import { useEffect, useMemo, useRef, useState } from "react"
import type { AlertEvents } from "../../client/live"
import { useRpc, withRpc } from "../../client/rpc"
import { type Board, byUrgency, withAlert, withLoaded } from "../alerts/board"

const isNew = (alert: Alert) => alert.status === "new"

/**
 * The alerts the wall shows: every new one, until someone acknowledges or resolves it. Loaded once
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
    setBoard((b) => withLoaded(b, loaded.value, seen.current, isNew))
  }, [loaded])

  const events = useMemo((): AlertEvents => ({
    onAlert: (alert) => {
      seen.current.set(alert.id, alert)
      setBoard((b) => withAlert(b, alert, isNew))
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

  const alerts = useMemo(() => [...board.values()].sort(byUrgency), [board])
  const failed = loaded.state === "failed" ? loaded.problem : undefined
  return { alerts, events, failed }
}
