import type * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import { type DependencyList, useCallback, useEffect, useRef, useState } from "react"
import { fromExit, type Remote, valueOf } from "./problem"

/** Runs an effect to its Exit; aborting the signal interrupts it. */
export type Runner<R> = <A, E>(effect: Effect.Effect<A, E, R>, signal?: AbortSignal) => Promise<Exit.Exit<A, E>>

const signedOutListeners = new Set<() => void>()

/** Called whenever a request finds the session gone (expired, revoked, signed out elsewhere). */
export const onSignedOut = (listener: () => void) => {
  signedOutListeners.add(listener)
  return () => void signedOutListeners.delete(listener)
}

export const notifySignedOut = () => signedOutListeners.forEach((listener) => listener())

const settle = <A, E>(exit: Exit.Exit<A, E>): Remote<A> => {
  const remote = fromExit(exit)
  if (remote.state === "failed" && remote.problem.kind === "signed-out") notifySignedOut()
  return remote
}

/**
 * React hooks over one runtime: `useRemote` loads when its dependencies change (and on `reload`),
 * `useAction` runs on demand, e.g. from a form. Components see plain values, never effects.
 */
export const makeHooks = <R,>(runner: () => Runner<R>) => {
  const useRemote = <A, E>(
    make: () => Effect.Effect<A, E, R> | undefined,
    deps: DependencyList
  ): readonly [Remote<A>, () => void] => {
    const [remote, setRemote] = useState<Remote<A>>({ state: "idle" })
    const [version, setVersion] = useState(0)
    useEffect(() => {
      const effect = make()
      if (effect === undefined) {
        setRemote({ state: "idle" })
        return
      }
      const controller = new AbortController()
      setRemote((before) => ({ state: "loading", previous: valueOf(before) }))
      void runner()(effect, controller.signal).then((exit) => {
        if (controller.signal.aborted) return
        const next = settle(exit)
        setRemote((before) => (next.state === "failed" ? { ...next, previous: valueOf(before) } : next))
      })
      return () => controller.abort()
      // `make` is new at every render; the caller's `deps` say when what it makes changes.
    }, [...deps, version])
    const reload = useCallback(() => setVersion((v) => v + 1), [])
    return [remote, reload] as const
  }

  const useAction = <Args extends ReadonlyArray<unknown>, A, E>(
    make: (...args: Args) => Effect.Effect<A, E, R>
  ): readonly [Remote<A>, (...args: Args) => Promise<Remote<A>>, () => void] => {
    const [remote, setRemote] = useState<Remote<A>>({ state: "idle" })
    // The latest `make`, so that a stable `perform` still sees the form's current values.
    const latest = useRef(make)
    latest.current = make
    const live = useRef(true)
    useEffect(() => {
      live.current = true
      return () => void (live.current = false)
    }, [])
    const perform = useCallback(async (...args: Args) => {
      setRemote({ state: "loading" })
      const result = settle(await runner()(latest.current(...args)))
      if (live.current) setRemote(result)
      return result
    }, [])
    const reset = useCallback(() => setRemote({ state: "idle" }), [])
    return [remote, perform, reset] as const
  }

  return { useRemote, useAction }
}
