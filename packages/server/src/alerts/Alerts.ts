import {
  type Alert,
  type AlertListParams,
  type AlertPage,
  AlertStateConflict,
  AlertStatus,
  type AlertVia
} from "@chaverim/domain/Alerts"
import { type Role, roleAtLeast } from "@chaverim/domain/Auth"
import { BadRequest, NotFound } from "@chaverim/domain/Errors"
import { normalizePlate } from "@chaverim/domain/Plate"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import type * as Statement from "@effect/sql/Statement"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { Audit } from "../audit/Audit"
import type { Actor, RequestInfo } from "../auth/Accounts"
import { decodeCursor, encodeCursor } from "../db/Cursor"
import { orBug } from "../db/Rows"
import { appendLiveEvents } from "../live/Events"
import { type OutboxEvent, publish } from "../outbox/Outbox"
import { alertFrom, alertOf, AlertRow, mayView, type Viewer, visibleTo } from "./Views"

/** A person acting on an alert: who they are for the audit log, and their role for what they may see. */
export interface AlertActor extends Actor {
  readonly role: Role
}

export interface AlertAction {
  readonly alertId: string
  readonly actor: AlertActor
  readonly via: AlertVia
  /** the client's address, for the audit log (Telegram has none) */
  readonly request?: RequestInfo | undefined
}

export interface ResolveAction extends Omit<AlertAction, "via"> {
  readonly note?: string | undefined
  /** "web" when not given */
  readonly via?: AlertVia | undefined
}

const ID = /^\d{1,18}$/

/** An alert locked for a change of state, with what decides who may change it. */
const Locked = Schema.Struct({
  status: AlertStatus,
  plate: Schema.String,
  watchlist_id: Schema.String,
  owner_id: Schema.NullOr(Schema.String),
  shared: Schema.Boolean
})
type Locked = typeof Locked.Type

/** What an outbound channel hears of each change of state. */
const EVENT_OF = {
  "alert.acknowledge": "alert_acknowledged",
  "alert.en_route": "alert_en_route",
  "alert.resolve": "alert_resolved"
} as const satisfies Record<string, OutboxEvent>

/**
 * Alerts for people: listing those of the lists they may see, and the changes of state (acknowledge,
 * on my way, resolve). Each change is audited, published to the outbound channels (the outbox) and
 * appended to the live feed in its transaction.
 *
 * Roles are the caller's gate (the HTTP API wants an operator, the Telegram bot a linked volunteer);
 * here an alert of a list the actor may not see does not exist (NotFound), as it does not for listing.
 */
export class Alerts extends Effect.Service<Alerts>()("@chaverim/server/Alerts", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const audit = yield* Audit

    const alertRows = (query: Statement.Statement<unknown>) =>
      orBug(SqlSchema.findAll({ Request: Schema.Void, Result: AlertRow, execute: () => query })(undefined))
    const lock = SqlSchema.findOne({
      Request: Schema.String,
      Result: Locked,
      execute: (alertId) =>
        sql`
          SELECT a.status, a.plate, a.watchlist_id, w.owner_id, w.shared
            FROM alerts a JOIN watchlists w ON w.id = a.watchlist_id
           WHERE a.id = ${alertId}
             FOR UPDATE OF a`
    })

    const notFound = (id: string) => new NotFound({ message: `there is no alert ${id}` })

    const list = Effect.fn("Alerts.list")(function*(params: AlertListParams, viewer: Viewer) {
      const cursor = params.cursor === undefined ? undefined : yield* decodeCursor(params.cursor)
      const where: Array<Statement.Fragment> = [visibleTo(sql, viewer)]
      if (params.status === "open") where.push(sql`a.status <> 'resolved'`)
      else if (params.status !== undefined) where.push(sql`a.status = ${params.status}`)
      if (params.watchlist_id !== undefined) where.push(sql`a.watchlist_id = ${params.watchlist_id}`)
      if (params.plate !== undefined) {
        const plate = normalizePlate(params.plate)
        if (plate === "") return yield* new BadRequest({ message: "plate has no letters or digits" })
        where.push(sql`a.plate = ${plate}`)
      }
      if (params.since !== undefined) where.push(sql`a.last_seen_at >= ${params.since}`)
      if (cursor !== undefined) where.push(sql`(a.created_at, a.id) < (${cursor.t}::timestamptz, ${cursor.id}::bigint)`)
      const rows = yield* alertRows(sql`
        ${alertFrom(sql)}
         WHERE ${sql.and(where)}
         ORDER BY a.created_at DESC, a.id DESC
         LIMIT ${params.limit + 1}`)
      const page = rows.slice(0, params.limit)
      const last = page.at(-1)
      const result: AlertPage = {
        items: page.map(alertOf),
        next_cursor: rows.length > params.limit && last !== undefined ? encodeCursor({ t: last.cursor_time, id: last.id }) : null
      }
      return result
    }, Effect.catchTag("SqlError", Effect.die))

    const load = (id: string) =>
      ID.test(id)
        ? Effect.map(alertRows(sql`${alertFrom(sql)} WHERE a.id = ${id}`), (rows) => rows[0])
        : Effect.succeed(undefined)

    const get = Effect.fn("Alerts.get")(function*(id: string, viewer: Viewer) {
      const row = yield* load(id)
      if (row === undefined || !mayView(viewer, row)) return yield* notFound(id)
      return alertOf(row)
    }, Effect.catchTag("SqlError", Effect.die))

    /**
     * One change of state, in one transaction: the alert row locked, `change` applied (or refused),
     * the audit row, then the live event last. A refusal is audited too, as a failure.
     */
    const transition = (
      action: "alert.acknowledge" | "alert.en_route" | "alert.resolve",
      input: AlertAction,
      change: (alert: Locked) => Effect.Effect<{ readonly changed: boolean; readonly details?: Record<string, unknown> }, AlertStateConflict>
    ): Effect.Effect<Alert, NotFound | AlertStateConflict> => {
      const { actor, alertId, request, via } = input
      const record = (outcome: "success" | "failure", details: Record<string, unknown>) =>
        audit.record({
          actor,
          address: request?.address,
          action,
          target: `alert:${alertId}`,
          details: { via, ...details },
          outcome
        })
      return sql.withTransaction(Effect.gen(function*() {
        const locked = ID.test(alertId) ? Option.getOrUndefined(yield* orBug(lock(alertId))) : undefined
        if (locked === undefined || !mayView(actor, locked)) return yield* notFound(alertId)
        const outcome = yield* change(locked)
        yield* record("success", { plate: locked.plate, watchlist_id: locked.watchlist_id, changed: outcome.changed, ...outcome.details })
        if (outcome.changed) {
          yield* publish([{ event: EVENT_OF[action], alertId }])
          yield* appendLiveEvents({ alertIds: [alertId] })
        }
      }).pipe(Effect.provideService(SqlClient.SqlClient, sql))).pipe(
        Effect.tapError((error) =>
          // Outside the rolled-back transaction, so the refusal stays on record.
          record("failure", { error: error._tag, message: error.message })
        ),
        Effect.zipRight(Effect.suspend(() => load(alertId))),
        Effect.flatMap((row) => (row === undefined ? Effect.fail(notFound(alertId)) : Effect.succeed(alertOf(row)))),
        Effect.catchTag("SqlError", Effect.die)
      )
    }

    const refuseResolved = (alertId: string, what: string) => (alert: Locked) =>
      alert.status === "resolved"
        ? Effect.fail(new AlertStateConflict({ message: `alert ${alertId} is resolved; it cannot be ${what}`, status: alert.status }))
        : Effect.void

    /** New → acknowledged. Acknowledged again: no change (the first acknowledgement stands). */
    const acknowledge = (input: AlertAction) =>
      transition("alert.acknowledge", input, (alert) =>
        Effect.zipRight(
          refuseResolved(input.alertId, "acknowledged")(alert),
          alert.status === "acknowledged"
            ? Effect.succeed({ changed: false })
            : sql`
                UPDATE alerts SET status = 'acknowledged', acknowledged_by = ${input.actor.userId},
                       acknowledged_by_name = ${input.actor.username}, acknowledged_at = now(), updated_at = now()
                 WHERE id = ${input.alertId}`.pipe(Effect.as({ changed: true }), Effect.orDie)
        )).pipe(Effect.withSpan("Alerts.acknowledge"))

    /**
     * "On my way": recorded by name and time (the latest one stands). An operator's or admin's also
     * acknowledges a new alert; a viewer's (a field volunteer's) does not, since acknowledging needs
     * the operator role: the alert stays new, on the wall too, with who is on the way.
     */
    const enRoute = (input: AlertAction) =>
      transition("alert.en_route", input, (alert) => {
        const acknowledges = alert.status === "new" && roleAtLeast(input.actor.role, "operator")
        return Effect.zipRight(
          refuseResolved(input.alertId, "marked en route")(alert),
          (acknowledges
            ? sql`
                UPDATE alerts SET en_route_by_name = ${input.actor.username}, en_route_at = now(), updated_at = now(),
                       status = 'acknowledged', acknowledged_by = ${input.actor.userId},
                       acknowledged_by_name = ${input.actor.username}, acknowledged_at = now()
                 WHERE id = ${input.alertId}`
            : sql`
                UPDATE alerts SET en_route_by_name = ${input.actor.username}, en_route_at = now(), updated_at = now()
                 WHERE id = ${input.alertId}`).pipe(
            Effect.as({ changed: true, details: { acknowledged: acknowledges } }),
            Effect.orDie
          )
        )
      }).pipe(Effect.withSpan("Alerts.enRoute"))

    /** New or acknowledged → resolved, for good: later sightings raise a new alert. */
    const resolve = (input: ResolveAction) =>
      transition("alert.resolve", { ...input, via: input.via ?? "web" }, (alert) =>
        Effect.zipRight(
          refuseResolved(input.alertId, "resolved again")(alert),
          sql`
            UPDATE alerts SET status = 'resolved', resolved_by = ${input.actor.userId},
                   resolved_by_name = ${input.actor.username}, resolved_at = now(),
                   resolution_note = ${input.note ?? null}, updated_at = now()
             WHERE id = ${input.alertId}`.pipe(
            Effect.as({ changed: true, details: { from: alert.status, ...(input.note === undefined ? {} : { note: input.note }) } }),
            Effect.orDie
          )
        )).pipe(Effect.withSpan("Alerts.resolve"))

    return { list, get, acknowledge, enRoute, resolve } as const
  })
}) {}
