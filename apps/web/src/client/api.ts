import { AlprApi } from "@chaverim/domain/Api"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpApiClient from "@effect/platform/HttpApiClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { csrfHeaders } from "./csrf"

/**
 * The HTTP API, as a client derived from the contract in packages/domain. Signing in and the
 * operator's search page use the smaller client of their groups (client/operatorApi.ts).
 */
export class Api extends Effect.Service<Api>()("@chaverim/web/Api", {
  effect: HttpApiClient.make(AlprApi, {
    baseUrl: window.location.origin,
    transformClient: HttpClient.mapRequest((request) => HttpClientRequest.setHeaders(request, csrfHeaders()))
  }),
  dependencies: [FetchHttpClient.layer]
}) {}

export const apiRuntime = ManagedRuntime.make(Api.Default)

/** An effect on the API client: `withApi((api) => api.auth.me())`. */
export const withApi = <A, E>(f: (api: Api) => Effect.Effect<A, E>) => Effect.flatMap(Api, f)
