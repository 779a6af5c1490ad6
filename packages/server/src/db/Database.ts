import { PgClient } from "@effect/sql-pg"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Path from "node:path"
import { AppConfig } from "../Config"
import { embeddedPostgres } from "./EmbeddedPostgres"
import { migrate } from "./Migrator"

/**
 * Session settings for the application's connections, sent at connect time (the `options` startup
 * parameter, which node-postgres reads from the URL). JIT is off: its compile time (40-200 ms) is
 * spent on short queries whose row estimates look large on a big table, and is never won back.
 * Settings the URL already gives win.
 */
export const withSessionSettings = (url: string): string => {
  const parsed = new URL(url)
  const given = parsed.searchParams.get("options") ?? ""
  if (/\bjit\s*=/.test(given)) return url
  parsed.searchParams.set("options", `${given} -c jit=off`.trim())
  return parsed.toString()
}

/**
 * The database: `DATABASE_URL` when set, otherwise a real PostgreSQL embedded under `DATA_DIR/pg`,
 * which lives exactly as long as the layer. The pool retries its first connection for a while so a
 * server started alongside its database (docker compose) does not give up at once.
 */
export const DatabaseLive = Layer.unwrapScoped(
  Effect.gen(function*() {
    const config = yield* AppConfig
    const url = Option.isSome(config.databaseUrl)
      ? config.databaseUrl.value
      : (yield* embeddedPostgres({ dir: Path.join(config.dataDir, "pg"), database: "alpr" })).url
    return PgClient.layer({
      url: Redacted.make(withSessionSettings(Redacted.value(url))),
      maxConnections: config.dbPoolSize,
      applicationName: "chaverim-alpr"
    }).pipe(
      Layer.retry(
        Schedule.exponential("250 millis").pipe(Schedule.jittered, Schedule.intersect(Schedule.recurs(8)))
      )
    )
  })
)

/** The database with every migration applied. */
export const MigratedDatabaseLive = Layer.effectDiscard(migrate).pipe(Layer.provideMerge(DatabaseLive))

