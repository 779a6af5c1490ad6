import { PartnersRpcs } from "@chaverim/domain/rpc/Partners"
import * as Effect from "effect/Effect"
import { changeByCaller, orDieOnSql } from "../rpc/Session"
import { Partners } from "./Partners"

/** Partner tokens, for admins: issued, listed with their usage, revoked (each change audited). */
export const PartnersRpcsLayer = PartnersRpcs.toLayer(Effect.gen(function*() {
  const partners = yield* Partners
  const change = yield* changeByCaller
  return PartnersRpcs.of({
    "partners.list": () => orDieOnSql(partners.list()),
    "partners.create": (input, { headers }) => change(headers, (actor, request) => partners.create(input, actor, request)),
    "partners.revoke": ({ partner_id }, { headers }) => change(headers, (actor, request) => partners.revoke(partner_id, actor, request))
  })
}))
