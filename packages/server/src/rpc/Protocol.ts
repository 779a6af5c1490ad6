import { SESSION_COOKIE } from "@chaverim/domain/Auth"
import { RPC_PATH } from "@chaverim/domain/Rpc"
import * as Headers from "@effect/platform/Headers"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as RpcServer from "@effect/rpc/RpcServer"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { randomBytes } from "node:crypto"
import { AppConfig } from "../Config"
import { clientOf, type RequestInfo, requestInfoOf } from "../http/ClientAddress"
import { originAllowed } from "../http/Origin"

/**
 * RpcServer hands a middleware the upgrade request's headers followed by the headers the client put
 * in each message, and the message's win. So nothing a call relies on is read from those headers
 * directly: the upgrade stores the session cookie and the client's address under an unguessable
 * connection id, and only that id travels in the headers.
 */
export const CONNECTION_HEADER = "x-alpr-rpc-connection"

/** What the upgrade request said about one WebSocket connection. */
export interface Connection extends RequestInfo {
  readonly sessionToken: string | undefined
}

export class RpcConnections extends Effect.Service<RpcConnections>()("@chaverim/server/RpcConnections", {
  sync: () => {
    const open = new Map<string, Connection>()
    return {
      /** Runs `use` with the connection registered under a fresh id, and forgets it afterwards. */
      register: <A, E, R>(connection: Connection, use: (id: string) => Effect.Effect<A, E, R>) =>
        Effect.acquireUseRelease(
          Effect.sync(() => {
            const id = randomBytes(32).toString("base64url")
            open.set(id, connection)
            return id
          }),
          use,
          (id) => Effect.sync(() => open.delete(id))
        ),
      of: (headers: Headers.Headers): Option.Option<Connection> =>
        Option.fromNullable(headers[CONNECTION_HEADER]).pipe(Option.flatMapNullable((id) => open.get(id))),
      /** The client's address and User-Agent, as the upgrade request gave them, for the audit log. */
      requestInfo: (headers: Headers.Headers): RequestInfo => {
        const connection = open.get(headers[CONNECTION_HEADER] ?? "")
        return connection === undefined
          ? { address: "unknown" }
          : { address: connection.address, userAgent: connection.userAgent }
      }
    }
  }
}) {}

const refuse = (status: number, tag: string, message: string) =>
  HttpServerResponse.unsafeJson({ _tag: tag, message }, { status })

/**
 * The RPC protocol over WebSocket at `/rpc`, on the HttpApi's router: one HTTP server serves both.
 * A foreign Origin is refused before the upgrade (403); the session is checked at every call.
 */
export const RpcProtocolLayer = Layer.effect(
  RpcServer.Protocol,
  Effect.gen(function*() {
    const { httpApp, protocol } = yield* RpcServer.makeProtocolWithHttpAppWebsocket
    const connections = yield* RpcConnections
    const config = yield* AppConfig
    const { publicUrl } = config
    const router = yield* HttpApiBuilder.Router

    const upgrade = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      if (request.headers["upgrade"]?.toLowerCase() !== "websocket") {
        return refuse(426, "BadRequest", "this is a WebSocket endpoint: connect with a WebSocket client")
      }
      if (!originAllowed(request.headers, publicUrl)) {
        yield* Effect.logWarning("refused a WebSocket upgrade from a foreign origin").pipe(
          Effect.annotateLogs({ origin: request.headers["origin"], address: clientOf(request, config) })
        )
        return refuse(403, "Forbidden", "cross-origin WebSocket connections are refused")
      }
      const connection: Connection = { sessionToken: request.cookies[SESSION_COOKIE], ...requestInfoOf(request, config) }
      return yield* connections.register(connection, (id) =>
        httpApp.pipe(
          Effect.provideService(
            HttpServerRequest.HttpServerRequest,
            // The cookie stays out of the per-call headers: the connection id stands for it.
            request.modify({ headers: Headers.set(Headers.remove(request.headers, "cookie"), CONNECTION_HEADER, id) })
          ),
          Effect.scoped
        ))
    })

    yield* router.get(RPC_PATH, upgrade)
    return protocol
  })
).pipe(Layer.provide(HttpApiBuilder.Router.Live))
