import { AlprRpcs, RPC_PATH } from "@chaverim/domain/Rpc"
import * as Socket from "@effect/platform/Socket"
import * as RpcClient from "@effect/rpc/RpcClient"
import * as RpcSerialization from "@effect/rpc/RpcSerialization"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { makeHooks, notifySignedOut, type Runner } from "./hooks"
import { fromExit } from "./problem"
import { onSessionChanged } from "./sessionEvents"
import { socketUrl } from "./socketUrl"

// A dropped socket is opened again by the protocol itself (exponential backoff, at most 5 s apart);
// calls made meanwhile fail at once with RpcClientError, and the views simply ask again.
const ProtocolLayer = RpcClient.layerProtocolSocket({ retryTransientErrors: true }).pipe(
  Layer.provide(Socket.layerWebSocket(socketUrl(RPC_PATH))),
  Layer.provide(Socket.layerWebSocketConstructorGlobal),
  Layer.provide(RpcSerialization.layerNdjson)
)

/** The RPC procedures at /rpc (admin, and later the operators' watchlists and alerts). */
export class Rpc extends Effect.Service<Rpc>()("@chaverim/web/Rpc", {
  scoped: RpcClient.make(AlprRpcs),
  dependencies: [ProtocolLayer]
}) {}

// The server reads the session cookie once, when the socket opens: a new sign-in needs a new socket.
let runtime: ManagedRuntime.ManagedRuntime<Rpc, never> | undefined
const current = () => (runtime ??= ManagedRuntime.make(Rpc.Default))

/** Closes the socket; the next call opens one with the session cookie of that moment. */
const closeRpc = () => {
  const closing = runtime
  runtime = undefined
  void closing?.dispose()
}

onSessionChanged(closeRpc)

const run: Runner<Rpc> = (effect, signal) => current().runPromiseExit(effect, signal ? { signal } : undefined)

export const withRpc = <A, E>(f: (rpc: Rpc) => Effect.Effect<A, E>) => Effect.flatMap(Rpc, f)

export const { useAction: useRpcAction, useRemote: useRpc } = makeHooks(() => run)

/** One call outside a component's hooks (a value shared by several views), as a Remote. */
export const callRpc = <A, E>(f: (rpc: Rpc) => Effect.Effect<A, E>) =>
  run(withRpc(f)).then((exit) => {
    const remote = fromExit(exit)
    if (remote.state === "failed" && remote.problem.kind === "signed-out") notifySignedOut()
    return remote
  })

/**
 * A best-effort call whose failure says nothing about the session (the menu's count): it never signs
 * the app out. An answer to a call made before a sign-in can arrive after it, refused for the session
 * that was; taken as "signed out", it would end the new one.
 */
export const peekRpc = <A, E>(f: (rpc: Rpc) => Effect.Effect<A, E>) => run(withRpc(f)).then(fromExit)
