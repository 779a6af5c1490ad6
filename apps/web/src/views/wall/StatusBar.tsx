import type { WallStatus } from "@chaverim/domain/rpc/Wall"
import { useEffect, useState } from "react"
import type { LiveState } from "../../client/live"
import type { Remote } from "../../client/problem"
import { useMe } from "../../client/session"
import { Link } from "../../router"
import { formatAgo, formatTime } from "../../ui/format"

/** Health older than this is shown as stale (three missed refreshes). */
const STALE_MS = 45_000

const useNow = (ms: number) => {
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), ms)
    return () => window.clearInterval(timer)
  }, [ms])
  return now
}

/** When the health board last loaded, kept across failed refreshes. */
const useLastLoaded = (health: Remote<WallStatus>) => {
  const [at, setAt] = useState<number>()
  useEffect(() => {
    if (health.state === "ready") setAt(Date.now())
  }, [health])
  return at
}

export const StatusBar = ({ live, health, sound }: {
  readonly live: LiveState
  readonly health: Remote<WallStatus>
  readonly sound: { readonly blocked: boolean; readonly enable: () => void }
}) => {
  const now = useNow(1000)
  const display = useMe().display
  const loadedAt = useLastLoaded(health)
  const healthStale = loadedAt === undefined ? health.state === "failed" : now - loadedAt > STALE_MS
  const stale = live.status !== "live" || healthStale
  const heard = live.lastHeard?.toISOString() ?? null
  return (
    <header className="flex flex-wrap items-center gap-x-[1.5em] gap-y-[0.5em]">
      <p className="text-[1.5em] font-bold tracking-tight">Chaverim ALPR</p>
      <p className="font-mono text-[1.5em] tabular-nums"><span className="sr-only">Time: </span>{formatTime(new Date(now))}</p>
      <p role="status" className={`ml-auto rounded-full px-[1em] py-[0.25em] text-[1.1em] font-bold ${
        stale ? "bg-amber-400 text-slate-950" : "bg-emerald-500 text-slate-950"}`}>
        {live.status === "live" && !healthStale && "● LIVE"}
        {live.status === "connecting" && "CONNECTING…"}
        {live.status === "reconnecting" && `STALE · feed reconnecting · last data ${formatAgo(heard, now)}`}
        {live.status === "live" && healthStale && `STALE · collector health from ${loadedAt ? formatAgo(new Date(loadedAt).toISOString(), now) : "never"}`}
      </p>
      {/* The kiosk starts with sound allowed; any other browser needs one touch before it may play. */}
      {sound.blocked && (
        <button type="button" onClick={sound.enable}
          className="rounded-full bg-amber-400 px-[1em] py-[0.25em] text-[1.1em] font-bold text-slate-950 focus-visible:outline-3 focus-visible:outline-offset-2 focus-visible:outline-white">
          Sound is off: enable alert sound
        </button>
      )}
      {/* A lost feed must not be missed from across the room: a red band the width of the screen, saying
          how old what is shown is (the alerts and reads below are dimmed meanwhile). */}
      {(live.status === "reconnecting" || healthStale) && (
        <div role="alert" className="order-last w-full rounded-xl border-[0.2em] border-red-300 bg-red-700 px-[0.8em] py-[0.3em] text-[2em] font-black leading-tight text-white">
          {live.status === "reconnecting"
            ? `FEED LOST · last data ${formatAgo(heard, now)} · what is shown may be out of date`
            : `COLLECTOR HEALTH NOT UPDATING · last ${loadedAt ? formatAgo(new Date(loadedAt).toISOString(), now) : "never"}`}
        </div>
      )}
      {/* The kiosk never uses it; someone who opened the wall from the menu can get back. A display has only the wall. */}
      {!display && (
        <Link to="/" className="rounded px-[0.5em] py-[0.25em] text-[0.9em] text-slate-400 underline-offset-2 hover:underline">Menu</Link>
      )}
    </header>
  )
}
