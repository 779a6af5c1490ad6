import {
  AlertEngine,
  ApiLayer,
  AppConfig,
  FootageJobsLayer,
  backpressureMiddleware,
  operatorPagesMiddleware,
  requestLogger,
  securityMiddleware,
  MigratedDatabaseLayer,
  ObjectStoreLayer,
  HealthMonitor,
  httpMetrics,
  LiveFeed,
  LiveFeedRouteLayer,
  MatcherCache,
  PgListener,
  RetentionScheduleLayer,
  RpcLayer,
  ServicesLayer,
  TelegramLayer,
  TelegramRecipientsLayer,
  WebhooksLayer
} from "@chaverim/server"
import { EmailLayer } from "@chaverim/server/email/EmailLayer"
import { MqttLayer } from "@chaverim/server/mqtt/MqttLayer"
import { WebAppLayer } from "@chaverim/server/http/WebApp"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiSwagger from "@effect/platform/HttpApiSwagger"
import * as HttpServer from "@effect/platform/HttpServer"
import { NodeHttpServer } from "@effect/platform-node"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { flow } from "effect/Function"
import * as Layer from "effect/Layer"
import { createServer, type Server } from "node:http"
import type { Socket } from "node:net"

/** Database (migrated), object store and the central services, from AppConfig. */
export const CoreLayer = ServicesLayer.pipe(
  Layer.provideMerge(ObjectStoreLayer),
  Layer.provideMerge(MigratedDatabaseLayer)
)

/**
 * What a running server adds to the services: the alert engine's workers, the watchlists held in
 * memory, the live feed, the health monitor and the outbound channels' consumers of the outbox (Telegram's recipients), on
 * one LISTEN connection, the retention job on its schedule, and the job workers (footage). Only `serve` runs it (commands of the
 * CLI do not process alerts). Needs the database, the services and AppConfig.
 */
export const RuntimeLayer = Layer.mergeAll(AlertEngine.Default, LiveFeed.Default, HealthMonitor.Default, TelegramRecipientsLayer, WebhooksLayer, EmailLayer, MqttLayer, RetentionScheduleLayer, FootageJobsLayer).pipe(
  Layer.provideMerge(MatcherCache.Default),
  Layer.provideMerge(PgListener.Default)
)

/** How long a stopping server waits for requests still open before it closes their connections. */
export const SHUTDOWN_GRACE_MS = 8_000

/**
 * Node's HTTP server, stopped within SHUTDOWN_GRACE_MS. Stopping waits for every open connection to
 * end: a request still arriving (a half-sent one, or one that came in after the routes were taken
 * down, which nothing will answer) or an upgraded socket would hold the process until the client gives
 * up. At the start of the shutdown idle connections are closed; after the grace, all that are left.
 */
const NodeServerLayer = Layer.unwrapEffect(
  Effect.map(AppConfig, (config) => {
    const sockets = new Set<Socket>()
    let server: Server | undefined
    const base = NodeHttpServer.layer(() => {
      server = createServer()
      server.on("connection", (socket: Socket) => {
        sockets.add(socket)
        socket.once("close", () => sockets.delete(socket))
      })
      return server
    }, { port: config.port, host: config.host })
    // Built after the server, so released before it: its finalizer starts the grace while the
    // server's own waits for the connections.
    const grace = Layer.scopedDiscard(Effect.addFinalizer(() =>
      Effect.sync(() => {
        server?.closeIdleConnections()
        setTimeout(() => {
          for (const socket of sockets) socket.destroy()
        }, SHUTDOWN_GRACE_MS).unref()
      })
    ))
    return grace.pipe(Layer.provideMerge(base))
  })
)

const announce = Layer.effectDiscard(
  HttpServer.addressFormattedWith((address) =>
    Console.log(`listening on ${address.replace("//0.0.0.0:", "//localhost:")}`))
)

/** The whole central server: HTTP API, OpenAPI docs, services and resources. Needs AppConfig. */
export const ServerLayer = HttpApiBuilder.serve(flow(operatorPagesMiddleware, securityMiddleware, backpressureMiddleware, requestLogger, httpMetrics)).pipe(
  Layer.provide(HttpApiSwagger.layer({ path: "/api/docs" })),
  Layer.provide(HttpApiBuilder.middlewareOpenApi({ path: "/api/openapi.json" })),
  Layer.provide(ApiLayer),
  // the admin RPC at /rpc, on the same router (so before serve turns the router into the app)
  Layer.provide(RpcLayer),
  // the web app (apps/web/dist) at / with a fallback to index.html for the client's routes
  Layer.provide(WebAppLayer),
  // the live feed's WebSocket at /api/v1/live, on the same router
  Layer.provide(LiveFeedRouteLayer),
  Layer.merge(announce),
  // the Telegram bot and sender, with TELEGRAM_BOT_TOKEN
  Layer.merge(TelegramLayer),
  Layer.provideMerge(NodeServerLayer),
  // the alert engine's workers and the live feed (alerts survive a restart: the queue is in the database)
  Layer.provideMerge(RuntimeLayer),
  Layer.provideMerge(CoreLayer)
)
