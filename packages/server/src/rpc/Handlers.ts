import { CurrentUser } from "@chaverim/domain/Auth"
import type { CommandName } from "@chaverim/domain/Collector"
import { BadRequest, NotFound } from "@chaverim/domain/Errors"
import { AuditRpcs, CamerasRpcs, CollectorsRpcs, DisplaysRpcs, UsersRpcs } from "@chaverim/domain/Rpc"
import type * as Headers from "@effect/platform/Headers"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlError from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Accounts, type Actor, type RequestInfo } from "../auth/Accounts"
import { Audit } from "../audit/Audit"
import { Collectors } from "../collectors/Collectors"
import { Displays } from "../displays/Displays"
import { TelegramLinks } from "../telegram/Links"
import { Cameras } from "./Cameras"
import { RpcConnections } from "./Protocol"

/** A failure no caller can act on (the database is down, ...): logged here, a bare defect for the client. */
const unexpected = (error: unknown) =>
  Effect.zipRight(Effect.logError("RPC procedure failed unexpectedly", error), Effect.die(error))

const orDieOnSql = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.catchIf(effect, (e): e is Extract<E, SqlError.SqlError> => e instanceof SqlError.SqlError, unexpected)

/** Who is calling and from where: what a change records in the audit log. */
const caller = Effect.gen(function*() {
  const connections = yield* RpcConnections
  return (headers: Headers.Headers) =>
    Effect.map(CurrentUser, (user) => ({
      actor: { userId: user.userId, username: user.username } satisfies Actor,
      request: connections.requestInfo(headers)
    }))
})

/** A change by the caller, for a service that audits it itself when told who made it and from where. */
const changeByCaller = Effect.map(caller, (who) =>
  <A, E, R>(headers: Headers.Headers, f: (actor: Actor, request: RequestInfo) => Effect.Effect<A, E, R>) =>
    orDieOnSql(Effect.flatMap(who(headers), ({ actor, request }) => f(actor, request))))

export const UsersRpcsLayer = UsersRpcs.toLayer(Effect.gen(function*() {
  const accounts = yield* Accounts
  const links = yield* TelegramLinks
  const change = yield* changeByCaller
  return UsersRpcs.of({
    "users.list": () => orDieOnSql(accounts.list),
    "users.create": ({ role, username }, { headers }) =>
      change(headers, (actor, request) => accounts.create(username, role, actor, request)),
    "users.disable": ({ user_id }, { headers }) =>
      change(headers, (actor, request) => accounts.setDisabled(user_id, true, actor, request)),
    "users.enable": ({ user_id }, { headers }) =>
      change(headers, (actor, request) => accounts.setDisabled(user_id, false, actor, request)),
    "users.setRole": ({ role, user_id }, { headers }) =>
      change(headers, (actor, request) => accounts.setRole(user_id, role, actor, request)),
    "users.resetTotp": ({ user_id }, { headers }) =>
      change(headers, (actor, request) => accounts.resetTotp(user_id, actor, request)),
    "users.resetPassword": ({ user_id }, { headers }) =>
      change(headers, (actor, request) => accounts.resetPassword(user_id, actor, request)),
    "users.telegramLinkCode": ({ user_id }, { headers }) =>
      change(headers, (actor, request) => links.newCode(user_id, actor, request, "rpc")).pipe(
        Effect.catchTag("Forbidden", (refused) => new BadRequest({ message: refused.message }))
      )
  })
}))

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

export const CamerasRpcsLayer = CamerasRpcs.toLayer(Effect.gen(function*() {
  const cameras = yield* Cameras
  const audit = yield* Audit
  const sql = yield* SqlClient.SqlClient
  const who = yield* caller
  return CamerasRpcs.of({
    "cameras.list": ({ collector_id }) => orDieOnSql(cameras.list(collector_id)),
    "cameras.update": (change, { headers }) =>
      Effect.gen(function*() {
        const { actor, request } = yield* who(headers)
        return yield* sql.withTransaction(Effect.gen(function*() {
          const { after, before } = yield* cameras.update(change)
          const changed = (["name", "site", "lat", "lon"] as const).filter((field) => before[field] !== after[field])
          yield* audit.record({
            actor,
            address: request.address,
            action: "camera.update",
            target: `camera:${change.camera_id}`,
            details: {
              from: Object.fromEntries(changed.map((field) => [field, before[field]])),
              to: Object.fromEntries(changed.map((field) => [field, after[field]]))
            },
            outcome: "success"
          })
          return after
        }))
      }).pipe(orDieOnSql)
  })
}))

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

/** Every admin procedure implemented; needs the services, the database and the connection registry. */
export const AdminHandlersLayer = Layer.mergeAll(UsersRpcsLayer, CollectorsRpcsLayer, DisplaysRpcsLayer, CamerasRpcsLayer, AuditRpcsLayer)
