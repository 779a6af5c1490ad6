import type { WallStatus } from "@chaverim/domain/rpc/Wall"
import { useEffect, useMemo, useRef, useState } from "react"
import { type AlertEvents, useLiveFeed } from "../../client/live"
import { valueOf } from "../../client/problem"
import { useRpc, withRpc } from "../../client/rpc"
import { useSession } from "../../client/session"
import { usePolling } from "../../client/usePolling"
import { AlertBanners } from "./AlertBanners"
import { Counts } from "./Counts"
import { HealthBoard } from "./HealthBoard"
import { LiveArea } from "./LiveArea"
import { useAlertSound } from "./sound"
import { useHealthAlerts } from "./useHealthAlerts"
import { StatusBar } from "./StatusBar"
import { useWallAlerts } from "./useWallAlerts"
import { WallMap } from "./WallMap"

const REFRESH_SECONDS = 15

const midnight = (now = new Date()) => new Date(now.getFullYear(), now.getMonth(), now.getDate())

/**
 * Reads today: the server's count at its last answer, plus the reads the feed brought since. The
 * count is asked for again at every refresh, so a missed read is corrected within 15 s.
 */
const useReadsToday = (status: WallStatus | undefined, liveCount: number) => {
  const [base, setBase] = useState<{ readonly reads: number; readonly live: number }>()
  const live = useRef(liveCount)
  live.current = liveCount
  useEffect(() => {
    if (status !== undefined) setBase({ reads: status.reads_since, live: live.current })
  }, [status])
  return base === undefined ? undefined : base.reads + Math.max(0, liveCount - base.live)
}

/**
 * The control-room wall: dark, large type, nothing to press. Reads and alerts arrive over the live
 * feed; collector health, placed cameras and today's count come from `wall.status` every 15 s (any role may
 * ask, so the screen can be signed in with a viewer account); an admin's wall also lists the fleet's open
 * health alerts (a silent collector or camera, a filling buffer, a clock off). Everything reconnects by itself, and
 * the top bar says when what is shown is no longer current.
 */
const Wall = () => {
  const sound = useAlertSound()
  const alerts = useWallAlerts((alert) => sound.play(alert.watchlist.priority === 1))
  const { session } = useSession()
  const health = useHealthAlerts(session.state === "signed-in" && session.me.role === "admin")
  const events = useMemo((): AlertEvents => ({
    ...alerts.events,
    onHealth: health.onHealth,
    onResync: () => {
      alerts.events.onResync()
      health.resync()
    }
  }), [alerts.events, health.onHealth, health.resync])
  const live = useLiveFeed(24, events)
  const [status, reload] = useRpc(() => withRpc((rpc) => rpc.wall.status({ since: midnight().toISOString() })), [])
  usePolling(reload, REFRESH_SECONDS)
  const current = valueOf(status)
  const readsToday = useReadsToday(current, live.count)

  return (
    <div className="wall flex min-h-dvh flex-col gap-[1em] bg-slate-950 p-[1em] text-slate-100 lg:h-dvh lg:overflow-hidden">
      <StatusBar live={live} health={status} sound={sound} />
      {/* While the feed is lost, what it showed is dimmed: it may be out of date. */}
      <div data-stale={live.status === "reconnecting"} className="contents [&[data-stale=true]>*]:opacity-50 [&[data-stale=true]>*]:saturate-50">
      <AlertBanners alerts={alerts.alerts} failed={alerts.failed} />
      <Counts readsToday={readsToday} live={live} collectors={current?.collectors} />
      <main id="main" className="grid min-h-0 flex-1 gap-[1em] lg:grid-cols-[3fr_2fr]">
        <h1 className="sr-only">Control room wall</h1>
        <LiveArea reads={live.reads} status={live.status} />
        {/* The collectors take the height their rows need (the silent ones come first if they must be cut); the map the rest. */}
        <div className="grid min-h-0 gap-[1em] lg:grid-rows-[minmax(9em,1fr)_minmax(0,auto)]">
          <WallMap cameras={current?.cameras} reads={live.reads} alerts={alerts.alerts} />
          <HealthBoard status={status} problems={health.alerts} />
        </div>
      </main>
      </div>
    </div>
  )
}

export default Wall
