import { AlprRpcs, RPC_PATH } from "@chaverim/domain/Rpc"
import * as Socket from "@effect/platform/Socket"
import * as RpcClient from "@effect/rpc/RpcClient"
import type { RpcClientError } from "@effect/rpc/RpcClientError"
import * as RpcSerialization from "@effect/rpc/RpcSerialization"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import WebSocket from "ws"

export type AlprClient = RpcClient.FromGroup<typeof AlprRpcs, RpcClientError>

/** The server's `/rpc` WebSocket address. */
export const rpcUrlOf = (server: { readonly url: string }) => `${server.url.replace(/^http/, "ws")}${RPC_PATH}`

/** The RPC protocol over a real WebSocket whose upgrade request carries `headers` (a cookie, an Origin). */
export const rpcSocket = (url: string, headers: Record<string, string>) =>
  RpcClient.layerProtocolSocket({ retryTransientErrors: false }).pipe(
    Layer.provide(Socket.layerWebSocket(url)),
    Layer.provide(Layer.succeed(
      Socket.WebSocketConstructor,
      (address: string, protocols?: string | Array<string>) =>
        new WebSocket(address, protocols, { headers }) as unknown as globalThis.WebSocket
    )),
    Layer.provide(RpcSerialization.layerNdjson)
  )

/** A real RpcClient of every procedure, signed in with `cookie`. */
export const rpcAs = <A, E>(url: string, cookie: string, f: (client: AlprClient) => Effect.Effect<A, E>): Promise<A> =>
  Effect.runPromise(Effect.scoped(Effect.flatMap(RpcClient.make(AlprRpcs), f)).pipe(Effect.provide(rpcSocket(url, { cookie }))))

/** The tag of the expected error an exit failed with, with its message; or "success". */
export const outcomeOf = (exit: Exit.Exit<unknown, unknown>): string =>
  Exit.match(exit, {
    onSuccess: () => "success",
    onFailure: (cause) =>
      Option.match(Cause.failureOption(cause), {
        onSome: (error) => {
          const e = error as { readonly _tag?: string; readonly message?: string }
          return `${e._tag ?? String(error)}: ${e.message ?? ""}`
        },
        onNone: () => `defect: ${Cause.pretty(cause)}`
      })
  })

/**
 * `rpc(user, f)` and `rpcExit(user, f)` on the server `current()` names (a test file's server may be
 * replaced by a restarted one), as the signed-in `user`.
 */
export const rpcFor = (current: () => { readonly url: string }) => ({
  rpc: <A, E>(user: { readonly cookie: string }, f: (client: AlprClient) => Effect.Effect<A, E>) =>
    rpcAs(rpcUrlOf(current()), user.cookie, f),
  rpcExit: <A, E>(user: { readonly cookie: string }, f: (client: AlprClient) => Effect.Effect<A, E>) =>
    rpcAs(rpcUrlOf(current()), user.cookie, (client) => Effect.exit(f(client)))
})
