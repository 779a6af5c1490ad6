import { OperatorApi } from "@chaverim/domain/OperatorApi"
import * as Effect from "effect/Effect"
import { csrfHeaders } from "./csrf"
import * as FetchApiClient from "./fetchApiClient"
import { makeHooks, type Runner } from "./hooks"

/**
 * The groups of the HTTP API that signing in, the session and the operator's search page call (auth,
 * search, corrections), derived from OperatorApi in packages/domain, over fetch (client/fetchApiClient.ts).
 * The first page loads this one: the client of the whole contract (client/api.ts), and the HttpClient
 * it runs on, come with the first page that calls another group.
 */
const operatorApi = FetchApiClient.make(OperatorApi, { baseUrl: window.location.origin, headers: csrfHeaders })

export type OperatorApiClient = typeof operatorApi

export const runOperatorApi: Runner<never> = (effect, signal) =>
  Effect.runPromiseExit(effect, signal ? { signal } : undefined)

/** An effect on this client: `withOperatorApi((api) => api.auth.me())`. */
export const withOperatorApi = <A, E>(f: (api: OperatorApiClient) => Effect.Effect<A, E>) => Effect.suspend(() => f(operatorApi))

/** As useApi and useApiAction (client/useApi.ts), on this client. */
export const { useAction: useOperatorApiAction, useRemote: useOperatorApi } = makeHooks(() => runOperatorApi)
