import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Either from "effect/Either"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"

/**
 * Structured logs for the server and the edge collector alike, on stderr (logfmt, or JSON with LOG_FORMAT=json), so that stdout carries only
 * what a command prints for its caller.
 */
export const LoggingLayer = Layer.unwrapEffect(
  Effect.gen(function*() {
    // Accept Effect's level names (Warning) and its labels (WARN), in any case.
    const level = yield* Config.string("LOG_LEVEL").pipe(
      Config.withDefault("Info"),
      Config.mapOrFail((text) => {
        const wanted = text.trim().toUpperCase()
        const found = LogLevel.allLevels.find((l) => l._tag.toUpperCase() === wanted || l.label === wanted)
        return found
          ? Either.right(found)
          : Either.left(ConfigError.InvalidData([], `LOG_LEVEL must be one of ${LogLevel.allLevels.map((l) => l._tag).join(", ")}; got "${text}"`))
      })
    )
    const format = yield* Config.literal("logfmt", "json")("LOG_FORMAT").pipe(Config.withDefault("logfmt"))
    const logger = Logger.withConsoleError(format === "json" ? Logger.jsonLogger : Logger.logfmtLogger)
    return Layer.merge(Logger.replace(Logger.defaultLogger, logger), Logger.minimumLogLevel(level))
  })
)
