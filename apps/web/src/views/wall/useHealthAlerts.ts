import type { HealthAlert } from "@chaverim/domain/Health"
import { useCallback, useEffect, useRef, useState } from "react"
import { useRpc, withRpc } from "../../client/rpc"

/**
 * The fleet's open health alerts (issue 19), for an admin's wall: loaded with `health.list` (again after a
 * resync), then kept by the live feed, which tells admins of each one raised or cleared. Nothing is asked
 * for when `enabled` is false (the wall of a viewer or a paired display).
 */
export const useHealthAlerts = (enabled: boolean) => {
  const [loaded, reload] = useRpc(() => (enabled ? withRpc((rpc) => rpc.health.list({ open: true })) : undefined), [enabled])
  const [open, setOpen] = useState<ReadonlyMap<string, HealthAlert>>(new Map())
  // What the feed said since the last load wins over the load (it is newer).
  const seen = useRef<Map<string, HealthAlert>>(new Map())

  useEffect(() => {
    if (loaded.state !== "ready") return
    const next = new Map(loaded.value.map((h) => [h.id, h] as const))
    for (const [id, h] of seen.current) {
      if (h.cleared_at === null) next.set(id, h)
      else next.delete(id)
    }
    setOpen(next)
  }, [loaded])

  const onHealth = useCallback((health: HealthAlert) => {
    seen.current.set(health.id, health)
    setOpen((before) => {
      const next = new Map(before)
      if (health.cleared_at === null) next.set(health.id, health)
      else next.delete(health.id)
      return next
    })
  }, [])
  const resync = useCallback(() => {
    seen.current.clear()
    reload()
  }, [reload])

  /** Newest first. */
  const alerts = [...open.values()].sort((a, b) => b.raised_at.localeCompare(a.raised_at))
  return { alerts, onHealth, resync } as const
}
