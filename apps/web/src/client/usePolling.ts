import { useEffect } from "react"

/** Calls `refresh` every `seconds` while the page is visible (a health board, the wall). */
export const usePolling = (refresh: () => void, seconds: number) => {
  useEffect(() => {
    const timer = window.setInterval(() => {
      if (document.visibilityState === "visible") refresh()
    }, seconds * 1000)
    return () => window.clearInterval(timer)
  }, [refresh, seconds])
}
