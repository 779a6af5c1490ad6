import type { Me } from "@chaverim/domain/Accounts"
import * as Exit from "effect/Exit"
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from "react"
import { setCsrfToken, withApi } from "./api"
import { onSignedOut } from "./hooks"
import { type Problem, problemOf } from "./problem"
import { sessionChanged } from "./sessionEvents"
import { runApi } from "./useApi"

export type SessionState =
  | { readonly state: "checking" }
  | { readonly state: "signed-out"; readonly notice?: string | undefined }
  | { readonly state: "unreachable"; readonly problem: Problem }
  | { readonly state: "signed-in"; readonly me: Me }

interface SessionValue {
  readonly session: SessionState
  /** after the TOTP step: the user and their CSRF token */
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

/** Asks the server who is signed in (the cookie is HttpOnly), and follows sign-in and sign-out. */
export const SessionProvider = ({ children }: { readonly children: ReactNode }) => {
  const [session, setSession] = useState<SessionState>({ state: "checking" })

  const recheck = useCallback(() => {
    setSession({ state: "checking" })
    void runApi(withApi((api) => api.auth.me())).then((exit) => {
      if (Exit.isSuccess(exit)) {
        setCsrfToken(exit.value.csrf_token)
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
        return { state: "signed-out", notice: "Your session has ended. Sign in again." }
      })), [])

  const signedIn = useCallback((me: Me) => {
    setCsrfToken(me.csrf_token)
    sessionChanged()
    setSession({ state: "signed-in", me })
  }, [])

  const signOut = useCallback(async () => {
    await runApi(withApi((api) => api.auth.logout()))
    setCsrfToken(undefined)
    sessionChanged()
    setSession({ state: "signed-out" })
  }, [])

  const value = useMemo(() => ({ session, signedIn, signOut, recheck }), [session, signedIn, signOut, recheck])
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>
}
