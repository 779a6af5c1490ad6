/**
 * The real server (ServerLayer) in this process, recording every SQL statement it runs with its
 * parameters, so that a benchmark can EXPLAIN exactly what a request ran rather than a copy of the
 * query that drifts from the code. Not for measuring latency: it shares this process's event loop.
 */
import { AppConfig } from "@chaverim/server"
import * as HttpServer from "@effect/platform/HttpServer"
import * as Statement from "@effect/sql/Statement"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { ServerLayer } from "../../apps/server/src/Server"

export interface CapturedStatement {
  readonly sql: string
  readonly params: ReadonlyArray<unknown>
}

export interface CapturingServer {
  readonly url: string
  /** Runs `f` (requests to `url`, one at a time) and returns the statements the server ran meanwhile. */
  readonly capture: <A>(f: () => Promise<A>) => Promise<{ readonly result: A; readonly statements: ReadonlyArray<CapturedStatement> }>
  readonly close: () => Promise<void>
}

export const startCapturingServer = async (options: { readonly databaseUrl: string; readonly dataDir: string }): Promise<CapturingServer> => {
  const recorded: Array<CapturedStatement> = []
  const recorder = Statement.setTransformer((statement) =>
    Effect.sync(() => {
      const [sql, params] = statement.compile()
      recorded.push({ sql, params })
      return statement
    })
  )
  const runtime = ManagedRuntime.make(
    ServerLayer.pipe(
      Layer.provide(recorder),
      Layer.provide(AppConfig.make({
        port: 0,
        host: "127.0.0.1",
        dataDir: options.dataDir,
        databaseUrl: Option.some(Redacted.make(options.databaseUrl)),
        s3: Option.none()
      })),
      Layer.provide(Logger.minimumLogLevel(LogLevel.Warning))
    )
  )
  const address = await runtime.runPromise(HttpServer.HttpServer).then((server) => server.address)
  if (address._tag !== "TcpAddress") throw new Error("expected a TCP address")
  return {
    url: `http://127.0.0.1:${address.port}`,
    capture: async (f) => {
      const from = recorded.length
      const result = await f()
      return { result, statements: recorded.slice(from) }
    },
    close: () => runtime.dispose()
  }
}
