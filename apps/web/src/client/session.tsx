import type { Me } from "@chaverim/domain/Accounts"
import * as Exit from "effect/Exit"
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from "react"
import { flushSync } from "react-dom"
import { onSignedOut } from "./hooks"
import { setCsrfToken } from "./csrf"
import { runOperatorApi, withOperatorApi } from "./operatorApi"
import { type Problem, problemOf } from "./problem"
import { sessionChanged } from "./sessionEvents"

export type SessionState =
  | { readonly state: "checking" }
  /** `display`: the session that ended was a wall display's (it pairs again rather than signing in) */
  | { readonly state: "signed-out"; readonly notice?: string | undefined; readonly display?: boolean }
  | { readonly state: "unreachable"; readonly problem: Problem }
  | { readonly state: "signed-in"; readonly me: Me }

interface SessionValue {
  readonly session: SessionState
  /** after the TOTP step (or pairing a display): the user and their CSRF token */
  readonly signedIn: (me: Me) => void
  readonly signOut: () => Promise<void>
  readonly recheck: () => void
}

const SessionContext = createContext<SessionValue | undefined>(undefined)

export const useSession = () => {
  const value = useContext(SessionContext)
  if (value === undefined) throw new Error("useSession outside SessionProvider")
  return value
}

/** The signed-in user, for views that are only shown to one. */
export const useMe = (): Me => {
  const { session } = useSession()
  if (session.state !== "signed-in") throw new Error("useMe without a session")
  return session.me
}

const DISPLAY_KEY = "alpr:display"

/** What a wall screen says when its display's session has ended. */
export const DISPLAY_ENDED =
  "This screen is no longer paired: its session ended or an admin revoked it. Ask an admin for a new pairing code."

/**
 * Whether this browser was last signed in as a wall display: a kiosk whose session ran out goes back
 * to pairing from `/wall`. Kept in localStorage (the kiosk's profile persists); a person signing in
 * here clears it.
 */
const remember = (me: Me) => {
  try {
    if (me.display) window.localStorage.setItem(DISPLAY_KEY, me.username)
    else window.localStorage.removeItem(DISPLAY_KEY)
  } catch {
    // Storage may be refused (a private window): the sign-in page then links to pairing.
  }
}

export const wasDisplay = () => {
  try {
    return window.localStorage.getItem(DISPLAY_KEY) !== null
  } catch {
    return false
  }
}

/** Asks the server who is signed in (the cookie is HttpOnly), and follows sign-in and sign-out. */
export const SessionProvider = ({ children }: { readonly children: ReactNode }) => {
  const [session, setSession] = useState<SessionState>({ state: "checking" })

  const recheck = useCallback(() => {
    setSession({ state: "checking" })
    void runOperatorApi(withOperatorApi((api) => api.auth.me())).then((exit) => {
      if (Exit.isSuccess(exit)) {
        setCsrfToken(exit.value.csrf_token)
        remember(exit.value)
        setSession({ state: "signed-in", me: exit.value })
        return
      }
      const problem = problemOf(exit.cause)
      setSession(problem.kind === "unreachable" ? { state: "unreachable", problem } : { state: "signed-out" })
    })
  }, [])

  useEffect(recheck, [recheck])

  useEffect(() =>
    onSignedOut(() =>
      setSession((before) => {
        if (before.state !== "signed-in") return before
        setCsrfToken(undefined)
        sessionChanged()
        return before.me.display
          ? { state: "signed-out", display: true, notice: DISPLAY_ENDED }
          : { state: "signed-out", notice: "Your session has ended. Sign in again." }
      })), [])

  const signedIn = useCallback((me: Me) => {
    setCsrfToken(me.csrf_token)
    remember(me)
    sessionChanged()
    setSession({ state: "signed-in", me })
  }, [])

  const signOut = useCallback(async () => {
    // The pages go first, and their live connections with them, while the session still holds: a
    // connection that reconnected across the sign-out would be refused (401) and end the next session's
    // first moments with an error. flushSync: unmounted now, not after the request has gone.
    flushSync(() => setSession({ state: "signed-out" }))
    await runOperatorApi(withOperatorApi((api) => api.auth.logout()))
    setCsrfToken(undefined)
    sessionChanged()
  }, [])

  const value = useMemo(() => ({ session, signedIn, signOut, recheck }), [session, signedIn, signOut, recheck])
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>
}
