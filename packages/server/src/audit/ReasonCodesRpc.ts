import { ReasonCodesRpcs } from "@chaverim/domain/rpc/ReasonCodes"
import * as Effect from "effect/Effect"
import { AppConfig } from "../Config"
import { changeByCaller, orDieOnSql } from "../rpc/Session"
import { ReasonCodes } from "./ReasonCodes"

/** The reason codes procedures: the service audits each change itself, told who made it and from where. */
export const ReasonCodesRpcsLayer = ReasonCodesRpcs.toLayer(Effect.gen(function*() {
  const codes = yield* ReasonCodes
  const change = yield* changeByCaller
  const config = yield* AppConfig
  return ReasonCodesRpcs.of({
    "reasonCodes.list": () => orDieOnSql(Effect.map(codes.list(), (active) => ({ required: config.reasonRequired, codes: active }))),
    "reasonCodes.listAll": () => orDieOnSql(codes.listAll()),
    "reasonCodes.create": ({ code, label }, { headers }) =>
      change(headers, (actor, request) => codes.create(code, label, { actor, address: request.address, via: "rpc" })),
    "reasonCodes.relabel": ({ code, label }, { headers }) =>
      change(headers, (actor, request) => codes.relabel(code, label, { actor, address: request.address, via: "rpc" })),
    "reasonCodes.retire": ({ code }, { headers }) =>
      change(headers, (actor, request) => codes.retire(code, { actor, address: request.address, via: "rpc" }))
  })
}))
