import { valueOf } from "../../client/problem"
import { useRpc, withRpc } from "../../client/rpc"
import { useLiveFeed } from "../../client/live"
import { useMe } from "../../client/session"
import { usePolling } from "../../client/usePolling"
import { Counts } from "./Counts"
import { HealthBoard } from "./HealthBoard"
import { LiveArea } from "./LiveArea"
import { StatusBar } from "./StatusBar"
import { WallMap } from "./WallMap"

const REFRESH_SECONDS = 15

/**
 * The control-room wall: dark, large type, nothing to press. Reads arrive over the live feed; site
 * health and the camera map come from the RPC every 15 s. Both reconnect by themselves, and the top
 * bar says when what is shown is no longer current.
 */
const Wall = () => {
  const live = useLiveFeed()
  // Site health and the camera list are admin procedures: not asked for (and refused, and audited,
  // every 15 s) on a screen signed in with a lesser role.
  const admin = useMe().role === "admin"
  const [collectors, reloadCollectors] = useRpc(() => (admin ? withRpc((rpc) => rpc.collectors.list()) : undefined), [admin])
  const [cameras, reloadCameras] = useRpc(() => (admin ? withRpc((rpc) => rpc.cameras.list({})) : undefined), [admin])
  usePolling(reloadCollectors, REFRESH_SECONDS)
  usePolling(reloadCameras, REFRESH_SECONDS * 4)

  return (
    <div className="wall flex min-h-dvh flex-col gap-[1em] bg-slate-950 p-[1em] text-slate-100 lg:h-dvh lg:overflow-hidden">
      <StatusBar live={live} health={collectors} />
      {/* Alerts (banner with sound, and the list that matched) take this place in the next increment. */}
      <div id="wall-alerts" aria-live="assertive" className="empty:hidden" />
      <Counts live={live} collectors={valueOf(collectors)} />
      <main id="main" className="grid min-h-0 flex-1 gap-[1em] lg:grid-cols-[3fr_2fr]">
        <h1 className="sr-only">Control room wall</h1>
        <LiveArea reads={live.reads} status={live.status} />
        <div className="grid min-h-0 gap-[1em] lg:grid-rows-[3fr_2fr]">
          <WallMap cameras={valueOf(cameras)} reads={live.reads} />
          <HealthBoard collectors={collectors} admin={admin} />
        </div>
      </main>
    </div>
  )
}

export default Wall
