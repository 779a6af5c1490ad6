import { AlprApi } from "@chaverim/domain/Api"
import { CurrentPreAuth, CurrentUser, PREAUTH_COOKIE, SESSION_COOKIE } from "@chaverim/domain/Auth"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiSecurity from "@effect/platform/HttpApiSecurity"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Effect from "effect/Effect"
import { AppConfig } from "../Config"
import { Displays } from "../displays/Displays"
import { overTls, requestInfo } from "../http/ClientAddress"
import { Accounts, PREAUTH_MINUTES, SESSION_HOURS } from "./Accounts"

const sessionCookie = HttpApiSecurity.apiKey({ in: "cookie", key: SESSION_COOKIE })
const preauthCookie = HttpApiSecurity.apiKey({ in: "cookie", key: PREAUTH_COOKIE })

export const AuthHttpLayer = HttpApiBuilder.group(AlprApi, "auth", (handlers) =>
  Effect.gen(function*() {
    const accounts = yield* Accounts
    const displays = yield* Displays
    const config = yield* AppConfig

    /**
     * HttpOnly, SameSite=Strict, path /; Secure when the server is reached over TLS (PUBLIC_URL is
     * https, or a trusted proxy in front says so). Browsers drop Secure cookies on plain http other
     * than localhost, so they are not Secure there.
     */
    const cookieOptions = (maxAgeSeconds: number) =>
      Effect.map(HttpServerRequest.HttpServerRequest, (request) => ({
        httpOnly: true,
        sameSite: "strict" as const,
        path: "/",
        maxAge: `${maxAgeSeconds} seconds` as const,
        secure: overTls(request, config)
      }))
    const setCookie = (security: HttpApiSecurity.ApiKey, value: string, maxAgeSeconds: number) =>
      Effect.flatMap(cookieOptions(maxAgeSeconds), (options) => HttpApiBuilder.securitySetCookie(security, value, options))

    return handlers
      .handle("login", ({ payload }) =>
        Effect.gen(function*() {
          const { preauth, response } = yield* accounts.login(payload.username, payload.password, yield* requestInfo)
          yield* setCookie(preauthCookie, preauth, PREAUTH_MINUTES * 60)
          return response
        }).pipe(Effect.catchTags({ SqlError: Effect.die })))
      .handle("totp", ({ payload }) =>
        Effect.gen(function*() {
          const { tokenHash } = yield* CurrentPreAuth
          const { response, session } = yield* accounts.completeLogin(tokenHash, payload, yield* requestInfo)
          yield* setCookie(sessionCookie, session, SESSION_HOURS * 3600)
          yield* setCookie(preauthCookie, "", 0)
          return response
        }).pipe(Effect.catchTags({ SqlError: Effect.die })))
      .handle("pair", ({ payload }) =>
        Effect.gen(function*() {
          const { me, session } = yield* displays.pair(payload.code, yield* requestInfo)
          yield* setCookie(sessionCookie, session, config.displaySessionDays * 86_400)
          return me
        }).pipe(Effect.catchTags({ SqlError: Effect.die })))
      .handle("me", () =>
        Effect.flatMap(CurrentUser, (user) => accounts.me(user.sessionHash)).pipe(Effect.catchTags({ SqlError: Effect.die })))
      .handle("logout", () =>
        Effect.gen(function*() {
          const user = yield* CurrentUser
          yield* accounts.logout(user, yield* requestInfo)
          yield* setCookie(sessionCookie, "", 0)
        }).pipe(Effect.orDie))
      .handle("password", ({ payload }) =>
        Effect.gen(function*() {
          const user = yield* CurrentUser
          yield* accounts.changePassword(user, payload.current_password, payload.new_password, yield* requestInfo)
          yield* setCookie(sessionCookie, "", 0)
        }).pipe(Effect.catchTags({ SqlError: Effect.die })))
  }))
