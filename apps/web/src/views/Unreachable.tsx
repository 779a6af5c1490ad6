import { useEffect } from "react"
import type { Problem } from "../client/problem"
import { Button } from "../ui/controls"

/** Shown when the app loads (perhaps from the offline cache) but the server does not answer. */
export const Unreachable = ({ problem, onRetry, dark = false }: {
  readonly problem: Problem
  readonly onRetry: () => void
  /** the wall's colours, for the kiosk */
  readonly dark?: boolean
}) => {
  useEffect(() => {
    // Try again by itself: a kiosk has nobody to press the button.
    const timer = window.setTimeout(onRetry, 15_000)
    window.addEventListener("online", onRetry)
    return () => {
      window.clearTimeout(timer)
      window.removeEventListener("online", onRetry)
    }
  }, [onRetry])
  return (
    <main id="main" className={`flex min-h-dvh flex-col justify-center px-4 ${dark ? "wall bg-slate-950 text-slate-100" : "text-slate-900"}`}>
      <div className="mx-auto flex w-full max-w-md flex-col gap-4">
        <p className={`text-sm font-semibold uppercase tracking-wide ${dark ? "text-blue-300" : "text-blue-800"}`}>Chaverim ALPR</p>
        <h1 className="text-2xl font-bold">The server is unreachable</h1>
        <p role="alert">{problem.message}</p>
        <p className={dark ? "text-slate-300" : "text-slate-700"}>This page tries again every 15 seconds, and as soon as the network is back.</p>
        <Button onClick={onRetry}>Try again now</Button>
      </div>
    </main>
  )
}
