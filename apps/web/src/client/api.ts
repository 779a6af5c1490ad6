import { CSRF_HEADER } from "@chaverim/domain/Accounts"
import { AlprApi } from "@chaverim/domain/Api"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpApiClient from "@effect/platform/HttpApiClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"

// The session's CSRF token (from sign-in or /auth/me), sent with every request: the server checks it
// on state-changing ones. The session cookie itself is HttpOnly and travels on its own.
let csrfToken: string | undefined
export const setCsrfToken = (token: string | undefined) => {
  csrfToken = token
}

/** The HTTP API, as a client derived from the contract in packages/domain. */
export class Api extends Effect.Service<Api>()("@chaverim/web/Api", {
  effect: HttpApiClient.make(AlprApi, {
    baseUrl: window.location.origin,
    transformClient: HttpClient.mapRequest((request) =>
      csrfToken === undefined ? request : HttpClientRequest.setHeader(request, CSRF_HEADER, csrfToken))
  }),
  dependencies: [FetchHttpClient.layer]
}) {}

export const apiRuntime = ManagedRuntime.make(Api.Default)

/** An effect on the API client: `withApi((api) => api.auth.me())`. */
export const withApi = <A, E>(f: (api: Api) => Effect.Effect<A, E>) => Effect.flatMap(Api, f)
