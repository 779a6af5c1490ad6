import { KnownPlatesRpcs } from "@chaverim/domain/rpc/KnownPlates"
import * as Effect from "effect/Effect"
import { changeByCaller, orDieOnSql } from "../rpc/Session"
import { KnownPlates } from "./KnownPlates"

/** The known plates procedures: operators and admins (the role each declares is checked by the session middleware). */
export const KnownPlatesRpcsLayer = KnownPlatesRpcs.toLayer(Effect.gen(function*() {
  const known = yield* KnownPlates
  const change = yield* changeByCaller
  return KnownPlatesRpcs.of({
    "knownPlates.get": ({ plate }) => orDieOnSql(known.get(plate)),
    "knownPlates.lookup": ({ plates }) => orDieOnSql(known.lookup(plates)),
    "knownPlates.set": (input, { headers }) => change(headers, (actor, request) => known.set(input, actor, request)),
    "knownPlates.clear": ({ plate }, { headers }) => change(headers, (actor, request) => known.clear(plate, actor, request)),
    "knownPlates.list": (query) => orDieOnSql(known.list(query)),
    "knownPlates.tags": () => orDieOnSql(known.tags())
  })
}))
