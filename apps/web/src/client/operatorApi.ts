import { CSRF_HEADER } from "@chaverim/domain/Accounts"
import { OperatorApi } from "@chaverim/domain/OperatorApi"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpApiClient from "@effect/platform/HttpApiClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { makeHooks, type Runner } from "./hooks"

// The session's CSRF token (from sign-in or /auth/me), sent with every request: the server checks it
// on state-changing ones. The session cookie itself is HttpOnly and travels on its own.
let csrfToken: string | undefined
export const setCsrfToken = (token: string | undefined) => {
  csrfToken = token
}

/** How both clients of the HTTP API (this one and client/api.ts) send their requests. */
export const clientOptions = {
  baseUrl: window.location.origin,
  transformClient: HttpClient.mapRequest((request) =>
    csrfToken === undefined ? request : HttpClientRequest.setHeader(request, CSRF_HEADER, csrfToken))
}

/**
 * The groups of the HTTP API that signing in, the session and the operator's search page call (auth,
 * search, corrections), as a client of their own, derived from OperatorApi in packages/domain. The
 * first page loads this one: the client of the whole contract (client/api.ts) would make it 8 KiB
 * heavier gzipped, and comes with the first page that calls another group.
 */
export class OperatorApiClient extends Effect.Service<OperatorApiClient>()("@chaverim/web/OperatorApiClient", {
  effect: HttpApiClient.make(OperatorApi, clientOptions),
  dependencies: [FetchHttpClient.layer]
}) {}

const runtime = ManagedRuntime.make(OperatorApiClient.Default)

export const runOperatorApi: Runner<OperatorApiClient> = (effect, signal) =>
  runtime.runPromiseExit(effect, signal ? { signal } : undefined)

/** An effect on this client: `withOperatorApi((api) => api.auth.me())`. */
export const withOperatorApi = <A, E>(f: (api: OperatorApiClient) => Effect.Effect<A, E>) => Effect.flatMap(OperatorApiClient, f)

/** As useApi and useApiAction (client/useApi.ts), on this client. */
export const { useAction: useOperatorApiAction, useRemote: useOperatorApi } = makeHooks(() => runOperatorApi)
