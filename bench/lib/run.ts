import { progress } from "./report"

/**
 * What a benchmark run sets up and must take down again, whatever happens: steps pushed as things
 * are created, run in reverse by `cleanup`. Ctrl-C (or SIGTERM) aborts `signal`; the run notices and
 * cleans up in its own time, and if it is stuck somewhere, cleanup runs from here after 30 s. The
 * signal may arrive twice (from the terminal and relayed by tsx): it is acted on once.
 */
export interface RunScope {
  /** steps to take down what the run set up, pushed in order of creation */
  readonly cleanups: Array<() => Promise<void>>
  readonly cleanup: () => Promise<void>
  /** aborted on SIGINT or SIGTERM */
  readonly signal: AbortSignal
  /** cleans up and stops listening for signals */
  readonly close: () => Promise<void>
}

export const runScope = (): RunScope => {
  const cleanups: Array<() => Promise<void>> = []
  const cleanup = async () => {
    while (cleanups.length > 0) {
      const step = cleanups.pop()!
      try {
        await step()
      } catch (e) {
        progress(`cleanup step failed: ${e instanceof Error ? e.message : String(e)}`)
      }
    }
  }
  const stop = new AbortController()
  let interrupted = false
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return
    interrupted = true
    progress(`${signal}: stopping and cleaning up`)
    stop.abort()
    setTimeout(() => void cleanup().finally(() => process.exit(130)), 30_000).unref()
  }
  process.on("SIGINT", onSignal)
  process.on("SIGTERM", onSignal)
  const close = async () => {
    await cleanup()
    process.off("SIGINT", onSignal)
    process.off("SIGTERM", onSignal)
  }
  return { cleanups, cleanup, signal: stop.signal, close }
}
