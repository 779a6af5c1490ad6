import { AuditRpcs } from "@chaverim/domain/rpc/Audit"
import * as Effect from "effect/Effect"
import { Audit } from "./Audit"

export const AuditRpcsLayer = AuditRpcs.toLayer(Effect.gen(function*() {
  const audit = yield* Audit
  return AuditRpcs.of({
    "audit.list": ({ before, from, limit, to, ...filter }) =>
      audit.list(
        { ...filter, from: from === undefined ? undefined : new Date(from), to: to === undefined ? undefined : new Date(to) },
        { before, limit }
      )
  })
}))
