import { NotFound } from "@chaverim/domain/Errors"
import { OutputsRpcs } from "@chaverim/domain/rpc/Outputs"
import * as Effect from "effect/Effect"
import { changeByCaller, orDieOnSql } from "../rpc/Session"
import { Webhooks } from "../webhooks/Webhooks"
import { OutputDeliveries } from "./Deliveries"

/** The outbound channels' procedures (admins): the services audit each change, told who made it and from where. */
export const OutputsRpcsLayer = OutputsRpcs.toLayer(Effect.gen(function*() {
  const webhooks = yield* Webhooks
  const deliveries = yield* OutputDeliveries
  const change = yield* changeByCaller
  return OutputsRpcs.of({
    "webhooks.list": () => orDieOnSql(webhooks.list()),
    "webhooks.create": (input, { headers }) =>
      change(headers, (actor, request) => webhooks.create(input, { actor, address: request.address })),
    "webhooks.update": ({ id, ...changes }, { headers }) =>
      change(headers, (actor, request) => webhooks.update(id, changes, { actor, address: request.address })),
    "webhooks.rotateSecret": ({ id }, { headers }) =>
      change(headers, (actor, request) => webhooks.rotateSecret(id, { actor, address: request.address })),
    "webhooks.remove": ({ id }, { headers }) =>
      change(headers, (actor, request) => webhooks.remove(id, { actor, address: request.address })),
    "webhooks.test": ({ id }, { headers }) =>
      change(headers, (actor, request) => webhooks.test(id, { actor, address: request.address })),
    "outputs.deliveries": (request) => orDieOnSql(deliveries.list(request)),
    "outputs.retry": ({ id }) =>
      orDieOnSql(Effect.flatMap(deliveries.retry(id), (done) =>
        done ? Effect.void : Effect.fail(new NotFound({ message: `there is no failed delivery ${id}` }))))
  })
}))
