import type { WatchlistCategory } from "@chaverim/domain/Watchlist"
import * as Console from "effect/Console"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { AuditLayer } from "../audit/Audit"
import { MigratedDatabaseLayer } from "../db/Database"
import { parseImport } from "./Csv"
import { cliCaller } from "./Permissions"
import { Watchlists } from "./Watchlists"

/**
 * `alpr watchlist import` and `alpr watchlist export`: what the commands do, so that the CLI's
 * composition root only declares them. They act for the organisation (see `cliCaller`).
 */

/** The file named on the command line cannot be read or written. */
export class WatchlistFileError extends Data.TaggedError("WatchlistFileError")<{ readonly message: string }> {}

/** The watchlist service on the migrated database, and nothing else the server runs. */
export const WatchlistCliLayer = Watchlists.Default.pipe(
  Layer.provideMerge(AuditLayer),
  Layer.provideMerge(MigratedDatabaseLayer)
)

const describe = (e: unknown) => (e instanceof Error ? e.message : String(e))

/**
 * Imports a CSV file into the list of that name, made when missing (owned by the organisation,
 * shared). Bad lines go to stderr as `line N: message` and do not fail the run; the last stdout line is
 * a JSON summary. Fails when the file cannot be read, has no plate column, or names a list of
 * another category.
 */
export const importWatchlistFile = (options: {
  readonly name: string
  readonly category: WatchlistCategory
  readonly file: string
  /** the reason for new entries whose line has none; by default, where they came from */
  readonly reason?: string | undefined
}) =>
  Effect.gen(function*() {
    const started = performance.now()
    const file = Path.resolve(options.file)
    const text = yield* Effect.tryPromise({
      try: () => Fs.readFile(file, "utf8"),
      catch: (e) => new WatchlistFileError({ message: `cannot read ${options.file}: ${describe(e)}` })
    })
    const parsed = yield* parseImport(text)
    const reason = options.reason?.trim() || `imported from ${Path.basename(file)} by the command line`
    const watchlists = yield* Watchlists
    const outcome = yield* watchlists.importByName(options.name, options.category, parsed, {
      reason,
      file: Path.basename(file)
    })
    if (outcome.errors.length > 0) {
      yield* Console.error(outcome.errors.map((e) => `line ${e.line}: ${e.message}`).join("\n"))
    }
    const summary = {
      watchlist_id: outcome.watchlist_id,
      name: outcome.name,
      created: outcome.created,
      imported: outcome.imported,
      updated: outcome.updated,
      unchanged: outcome.unchanged,
      rejected: outcome.rejected,
      seconds: Math.round(performance.now() - started) / 1000
    }
    yield* Console.log(JSON.stringify(summary))
    return summary
  })

/**
 * Writes the live entries of the list of that name as CSV to `out`: under a temporary name first,
 * renamed when complete, so a reader never takes a half-written file for the list. The last stdout
 * line is a JSON summary.
 */
export const exportWatchlistFile = (options: { readonly name: string; readonly out: string }) =>
  Effect.gen(function*() {
    const watchlists = yield* Watchlists
    const id = yield* watchlists.findByName(options.name)
    const { csv, entries } = yield* watchlists.exportCsv(cliCaller, id)
    const out = Path.resolve(options.out)
    const partial = `${out}.partial`
    const failed = (e: unknown) => new WatchlistFileError({ message: `cannot write ${options.out}: ${describe(e)}` })
    yield* Effect.acquireUseRelease(
      Effect.tryPromise({ try: () => Fs.open(partial, "w"), catch: failed }),
      (handle) =>
        csv.pipe(
          Stream.runForEach((text) => Effect.tryPromise({ try: () => handle.write(text), catch: failed })),
          Effect.zipRight(Effect.tryPromise({ try: () => handle.sync(), catch: failed }))
        ),
      (handle) => Effect.promise(() => handle.close())
    )
    yield* Effect.tryPromise({ try: () => Fs.rename(partial, out), catch: failed })
    const summary = { watchlist_id: id, out, entries }
    yield* Console.log(JSON.stringify(summary))
    return summary
  })
