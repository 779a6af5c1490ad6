import * as Effect from "effect/Effect"
import { makeAdministration } from "./Administration"
import { makeSessions } from "./Sessions"
import { makeSignIn } from "./SignIn"

export type { UserSummary } from "@chaverim/domain/rpc/Users"
export type { RequestInfo } from "../http/ClientAddress"
export { codeChecks, PREAUTH_MINUTES } from "./SignIn"
export { type Actor, safeEqual, SESSION_HOURS, type SessionUser } from "./Sessions"

/**
 * People and their sign-in: accounts with one-time passwords, a password step and a TOTP step,
 * sessions, recovery codes and the administration of accounts. Every outcome is audited; attempts
 * are counted before they are checked, per account, per address and per both (see Throttle).
 *
 * Assembled here from its parts: Administration.ts, SignIn.ts (with Totp.ts and Recovery.ts) and
 * Sessions.ts, which the other two use.
 */
export class Accounts extends Effect.Service<Accounts>()("@chaverim/server/Accounts", {
  effect: Effect.gen(function*() {
    const sessions = yield* makeSessions
    const administration = yield* makeAdministration(sessions)
    const signIn = yield* makeSignIn(sessions)
    return {
      create: administration.create,
      list: administration.list,
      idOf: administration.idOf,
      setDisabled: administration.setDisabled,
      setRole: administration.setRole,
      resetTotp: administration.resetTotp,
      resetPassword: administration.resetPassword,
      login: signIn.login,
      pendingOf: signIn.pendingOf,
      completeLogin: signIn.completeLogin,
      sessionUser: sessions.sessionUser,
      openSession: sessions.openSession,
      revokeSessions: sessions.revokeSessions,
      me: sessions.me,
      logout: sessions.logout,
      changePassword: signIn.changePassword,
      denied: sessions.denied
    } as const
  })
}) {}
