import { DisplaysRpcs } from "@chaverim/domain/rpc/Displays"
import * as Effect from "effect/Effect"
import { changeByCaller, orDieOnSql } from "../rpc/Session"
import { Displays } from "./Displays"

/** The displays procedures: the displays service audits each change itself, told who made it and from where. */
export const DisplaysRpcsLayer = DisplaysRpcs.toLayer(Effect.gen(function*() {
  const displays = yield* Displays
  const change = yield* changeByCaller
  return DisplaysRpcs.of({
    "displays.list": () => orDieOnSql(displays.list),
    "displays.create": ({ name }, { headers }) => change(headers, (actor, request) => displays.create(name, actor, request)),
    "displays.newCode": ({ display_id }, { headers }) =>
      change(headers, (actor, request) => displays.newCode(display_id, actor, request)),
    "displays.revoke": ({ display_id }, { headers }) =>
      change(headers, (actor, request) => displays.revoke(display_id, actor, request))
  })
}))
