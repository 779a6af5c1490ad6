import * as Layer from "effect/Layer"
import { PgListener } from "../db/Listener"
import { AlertEngine } from "./Engine"
import { LiveFeed } from "./Live"
import { MatcherCache } from "./MatcherCache"

/**
 * What a running server adds to the services for alerts: the engine's workers, the watchlists held
 * in memory and the live feed, on one LISTEN connection. Only `serve` runs it (commands of the CLI
 * do not process alerts). Needs the database and AppConfig.
 */
export const AlertsRuntimeLive = Layer.mergeAll(AlertEngine.Default, LiveFeed.Default).pipe(
  Layer.provideMerge(MatcherCache.Default),
  Layer.provideMerge(PgListener.Default)
)
