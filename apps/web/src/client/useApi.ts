import { Api, apiRuntime } from "./api"
import { makeHooks, type Runner } from "./hooks"

const run: Runner<Api> = (effect, signal) => apiRuntime.runPromiseExit(effect, signal ? { signal } : undefined)

export const runApi = run

/** `useApi(() => Effect.flatMap(Api, (api) => api.search.detections(...)), [deps])` */
export const { useAction: useApiAction, useRemote: useApi } = makeHooks(() => run)
