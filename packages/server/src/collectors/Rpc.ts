import type { CommandName } from "@chaverim/domain/Collector"
import { NotFound } from "@chaverim/domain/Errors"
import { CollectorsRpcs } from "@chaverim/domain/rpc/Collectors"
import type * as Headers from "@effect/platform/Headers"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import { Audit } from "../audit/Audit"
import { caller, orDieOnSql } from "../rpc/Session"
import { Collectors } from "./Collectors"

export const CollectorsRpcsLayer = CollectorsRpcs.toLayer(Effect.gen(function*() {
  const collectors = yield* Collectors
  const audit = yield* Audit
  const sql = yield* SqlClient.SqlClient
  const who = yield* caller

  /** The change and its audit row commit together, or neither does. */
  const audited = <A, E, R>(
    headers: Headers.Headers,
    action: string,
    change: (actor: { readonly username: string }) => Effect.Effect<A, E, R>,
    describe: (result: A) => { readonly target: string; readonly details?: Record<string, unknown> }
  ) =>
    Effect.gen(function*() {
      const { actor, request } = yield* who(headers)
      return yield* sql.withTransaction(Effect.gen(function*() {
        const result = yield* change(actor)
        yield* audit.record({ actor, address: request.address, action, outcome: "success", ...describe(result) })
        return result
      }))
    })

  const mustExist = (collectorId: string) =>
    Effect.flatMap(collectors.list(), (all) =>
      all.some((c) => c.id === collectorId)
        ? Effect.void
        : Effect.fail(new NotFound({ message: `no collector ${collectorId}` })))

  const queue = (headers: Headers.Headers, action: string, collectorId: string, cmd: CommandName, payload: unknown) =>
    audited(
      headers,
      action,
      (actor) => collectors.enqueueCommand(collectorId, cmd, payload, actor.username),
      (commandId) => ({ target: `collector:${collectorId}`, details: { cmd, command_id: commandId } })
    ).pipe(Effect.map((commandId) => ({ command_id: commandId, collector_id: collectorId, cmd })))

  return CollectorsRpcs.of({
    "collectors.list": () =>
      collectors.list().pipe(
        Effect.map((all) => all.map(({ id, ...rest }) => ({ collector_id: id, ...rest }))),
        orDieOnSql
      ),
    "collectors.createClaimCode": (request, { headers }) =>
      (request.collector_id === undefined
        ? audited(headers, "collector.create", () => collectors.create(request.name!), (created) => ({
          target: `collector:${created.collector_id}`,
          details: { name: request.name!.trim() }
        }))
        : audited(headers, "collector.claim_code", () => collectors.newCode(request.collector_id!), (created) => ({
          target: `collector:${created.collector_id}`,
          details: { expires_at: created.expires_at }
        }))).pipe(orDieOnSql),
    "collectors.revokeKeys": ({ collector_id }, { headers }) =>
      Effect.zipRight(
        mustExist(collector_id),
        audited(headers, "collector.revoke_keys", () => collectors.revokeKeys(collector_id), (revoked) => ({
          target: `collector:${collector_id}`,
          details: { revoked_keys: revoked }
        }))
      ).pipe(
        Effect.map((revoked) => ({ collector_id, revoked_keys: revoked })),
        orDieOnSql
      ),
    "collectors.rotateKey": ({ collector_id }, { headers }) =>
      queue(headers, "collector.rotate_key", collector_id, "rotate_key", {}).pipe(orDieOnSql),
    "collectors.sendCommand": ({ cmd, collector_id, payload }, { headers }) =>
      queue(headers, "collector.command", collector_id, cmd, payload ?? {}).pipe(orDieOnSql)
  })
}))
