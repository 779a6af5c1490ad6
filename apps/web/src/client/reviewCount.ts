import { useEffect, useSyncExternalStore } from "react"

// How many reads wait for review, for the menu: asked on the footage pages (where reads for review come
// from), and told by the review page whenever it loads the queue, so that the menu follows the
// reviewer's work. Not asked on every page: a call in flight across a sign-out and a sign-in raced the
// new session (the sign-in test caught it).
let waiting: number | undefined
const listeners = new Set<() => void>()

export const setReviewCount = (count: number) => {
  waiting = count
  listeners.forEach((listener) => listener())
}

const subscribe = (listener: () => void) => {
  listeners.add(listener)
  return () => void listeners.delete(listener)
}

/** The reads waiting for review; undefined until known, or for a viewer (`enabled` false). */
export const useReviewCount = (enabled: boolean, path: string) => {
  useEffect(() => {
    if (!enabled || (path !== "/footage" && path !== "/review")) return
    let live = true
    // The RPC client is loaded on demand (as the reason codes do), so that the first page stays lean.
    void import("./rpc")
      .then(({ peekRpc }) => peekRpc((rpc) => rpc.review.queue({ limit: 1 })))
      .then((remote) => {
        if (live && remote.state === "ready") setReviewCount(remote.value.total)
      })
    return () => void (live = false)
  }, [enabled, path])
  const count = useSyncExternalStore(subscribe, () => waiting)
  return enabled ? count : undefined
}
