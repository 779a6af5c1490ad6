import { CurrentUser } from "@chaverim/domain/Auth"
import { WatchlistsRpcs } from "@chaverim/domain/rpc/Watchlists"
import { MAX_REPORTED_ERRORS } from "@chaverim/domain/WatchlistCsv"
import type * as Headers from "@effect/platform/Headers"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { RpcConnections } from "../rpc/Protocol"
import { parseImport } from "./Csv"
import { type Caller, Watchlists } from "./Watchlists"

/**
 * The watchlist procedures. The session middleware has checked the role each one declares; which
 * lists a caller sees and may change (their own, or any for an admin) is the service's to decide.
 */
export const WatchlistsRpcsLayer = WatchlistsRpcs.toLayer(Effect.gen(function*() {
  const watchlists = yield* Watchlists
  const connections = yield* RpcConnections

  const caller = (headers: Headers.Headers) =>
    Effect.map(CurrentUser, (user): Caller => ({
      _tag: "User",
      userId: user.userId,
      username: user.username,
      role: user.role,
      address: connections.requestInfo(headers).address
    }))

  const as = <A, E, R>(headers: Headers.Headers, f: (caller: Caller) => Effect.Effect<A, E, R>) =>
    Effect.flatMap(caller(headers), f)

  return WatchlistsRpcs.of({
    "watchlists.list": (query, { headers }) => as(headers, (c) => watchlists.list(c, query)),
    "watchlists.get": ({ watchlist_id }, { headers }) => as(headers, (c) => watchlists.get(c, watchlist_id)),
    "watchlists.entries": (query, { headers }) => as(headers, (c) => watchlists.entries(c, query)),
    "watchlists.create": (input, { headers }) => as(headers, (c) => watchlists.create(c, input)),
    "watchlists.update": (change, { headers }) => as(headers, (c) => watchlists.update(c, change)),
    "watchlists.retire": ({ reason, watchlist_id }, { headers }) =>
      as(headers, (c) => watchlists.retire(c, watchlist_id, reason)),
    "watchlists.addEntry": (input, { headers }) => as(headers, (c) => watchlists.addEntry(c, input)),
    "watchlists.updateEntry": (change, { headers }) => as(headers, (c) => watchlists.updateEntry(c, change)),
    "watchlists.removeEntry": ({ entry_id, reason }, { headers }) =>
      as(headers, (c) => watchlists.removeEntry(c, entry_id, reason)),
    "watchlists.importCsv": ({ csv, first_line, import_id, reason, watchlist_id }, { headers }) =>
      as(headers, (c) =>
        Effect.gen(function*() {
          const parsed = yield* parseImport(csv, { firstLine: first_line })
          const outcome = yield* watchlists.importCsv(c, watchlist_id, parsed, first_line, {
            reason: reason?.trim(),
            importId: import_id
          })
          // The counts are complete; the lines themselves are capped to keep the answer small.
          return { ...outcome, errors: outcome.errors.slice(0, MAX_REPORTED_ERRORS) }
        })),
    "watchlists.exportCsv": ({ watchlist_id }, { headers }) =>
      Stream.unwrap(as(headers, (c) => Effect.map(watchlists.exportCsv(c, watchlist_id), ({ csv }) => csv)))
  })
}))
