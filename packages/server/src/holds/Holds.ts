import { BadRequest, NotFound, ServiceUnavailable } from "@chaverim/domain/Errors"
import { Hold, type HoldListParams, HoldReleased, type HoldRequest } from "@chaverim/domain/Holds"
import { normalizePlate } from "@chaverim/domain/Plate"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import type * as Statement from "@effect/sql/Statement"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { Audit } from "../audit/Audit"
import type { Actor } from "../auth/Accounts"
import { Count, IsoTime, IsoTimeOrNull, orBug } from "../db/Rows"

/**
 * The lock a hold being made holds to its commit, and each purge batch shares (sql/0017,
 * retention_purge): a hold waits for the batches deleting now, and every batch after sees it. So the
 * reads a hold reports it covers are reads that are still there.
 */
const HOLD_LOCK = 7_415_017

/** Who makes or releases a hold: a signed-in person, or the command line (`alpr hold ...`). */
export type HoldActor = Actor | "cli"

const nameOf = (actor: HoldActor) => (actor === "cli" ? "cli" : actor.username)
const idOf = (actor: HoldActor) => (actor === "cli" ? null : actor.userId)

/** A row of `legal_holds` as the contract shows it, with the reads it covers now (see `holdColumns`). */
const HoldRow = Schema.Struct({
  ...Hold.fields,
  from: IsoTimeOrNull,
  to: IsoTimeOrNull,
  created_at: IsoTime,
  released_at: IsoTimeOrNull,
  detections: Count
})

/**
 * The contract's columns of `legal_holds h` and the stored reads each covers: the same rule as
 * `legal_hold_covered` (sql/0017), counted by the indexes of plate, id and camera.
 */
const holdColumns = (sql: SqlClient.SqlClient) =>
  sql`
    h.id::text AS id, h.case_number, h.reason,
    CASE WHEN h.plate IS NOT NULL THEN 'plate' WHEN h.detection_ids IS NOT NULL THEN 'detections' ELSE 'camera' END AS scope,
    h.plate, h.detection_ids::text[] AS detection_ids, h.camera_id::text AS camera_id, c.name AS camera_name,
    h.from_at AS "from", h.to_at AS "to", h.created_by_name AS created_by, h.created_at, h.released_at,
    h.released_by_name AS released_by, h.release_note,
    CASE
      WHEN h.plate IS NOT NULL THEN (
        SELECT count(*) FROM (
          SELECT d.id FROM detections d WHERE d.plate = h.plate
          UNION
          SELECT x.detection_id FROM corrections x WHERE x.plate = h.plate AND x.action = 'correct') covered)
      WHEN h.detection_ids IS NOT NULL THEN (SELECT count(*) FROM detections d WHERE d.id = ANY(h.detection_ids))
      ELSE (SELECT count(*) FROM detections d
             WHERE d.camera_id = h.camera_id AND d.detected_at BETWEEN h.from_at AND h.to_at)
    END AS detections`

const LIST_LIMIT = 500

/** What a request asks to hold, checked: exactly one scope. */
type Scope =
  | { readonly kind: "plate"; readonly plate: string }
  | { readonly kind: "detections"; readonly ids: ReadonlyArray<string> }
  | { readonly kind: "camera"; readonly cameraId: string; readonly from: Date; readonly to: Date }

const scopeOf = (request: HoldRequest): Effect.Effect<Scope, BadRequest> => {
  const given = [request.plate, request.detections, request.camera_id].filter((x) => x !== undefined).length
  if (given !== 1) {
    return Effect.fail(new BadRequest({ message: "a hold covers exactly one of: plate, detections, or camera_id with from and to" }))
  }
  if (request.camera_id === undefined && (request.from !== undefined || request.to !== undefined)) {
    return Effect.fail(new BadRequest({ message: "from and to go with camera_id" }))
  }
  if (request.plate !== undefined) {
    const plate = normalizePlate(request.plate)
    return plate === "" || plate.length > 32
      ? Effect.fail(new BadRequest({ message: "plate has no letters or digits" }))
      : Effect.succeed({ kind: "plate", plate })
  }
  if (request.detections !== undefined) {
    return Effect.succeed({ kind: "detections", ids: [...new Set(request.detections)] })
  }
  const { from, to } = request
  if (from === undefined || to === undefined) {
    return Effect.fail(new BadRequest({ message: "a camera hold needs from and to (ISO 8601 times)" }))
  }
  if (from.getTime() > to.getTime()) return Effect.fail(new BadRequest({ message: "from is after to" }))
  return Effect.succeed({ kind: "camera", cameraId: request.camera_id!, from, to })
}

/**
 * Legal holds (`legal_holds`, sql/0017): made by operators (or the command line), released by admins,
 * never deleted. Retention's purge checks them itself; this service only records them. Each change is
 * audited in its own transaction (`hold.create`, `hold.release`).
 */
export class Holds extends Effect.Service<Holds>()("@chaverim/server/Holds", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const audit = yield* Audit

    const one = (where: Statement.Fragment) =>
      SqlSchema.findOne({
        Request: Schema.Void,
        Result: HoldRow,
        execute: () => sql`SELECT ${holdColumns(sql)} FROM legal_holds h LEFT JOIN cameras c ON c.id = h.camera_id WHERE ${where}`
      })(undefined).pipe(orBug)

    const byId = (id: string) => one(sql`h.id = ${id}`)

    const found = <A>(row: Option.Option<A>, what: string) =>
      Option.match(row, { onNone: () => Effect.dieMessage(`${what} returned no row`), onSome: Effect.succeed })

    /** The given reads that are not stored (some of them, for the message). */
    const missingReads = (ids: ReadonlyArray<string>) =>
      SqlSchema.findAll({
        Request: Schema.Void,
        Result: Schema.Struct({ id: Schema.String }),
        execute: () =>
          sql`
            SELECT x::text AS id FROM unnest(${`{${ids.join(",")}}`}::bigint[]) AS x
             WHERE NOT EXISTS (SELECT FROM detections d WHERE d.id = x)
             ORDER BY x LIMIT 10`
      })(undefined).pipe(orBug)

    const create = Effect.fn("Holds.create")(function*(request: HoldRequest, actor: HoldActor, address?: string) {
      const scope = yield* scopeOf(request)
      const caseNumber = request.case_number.trim()
      const reason = request.reason.trim()
      if (scope.kind === "detections") {
        const missing = yield* missingReads(scope.ids)
        if (missing.length > 0) {
          return yield* new NotFound({ message: `no read ${missing.map((m) => m.id).join(", ")}: a hold names stored reads` })
        }
      }
      if (scope.kind === "camera") {
        const camera = yield* sql`SELECT 1 FROM cameras WHERE id = ${scope.cameraId}`
        if (camera.length === 0) return yield* new NotFound({ message: `no camera ${scope.cameraId}` })
      }
      return yield* sql.withTransaction(Effect.gen(function*() {
        // A retention batch deletes for milliseconds; a dry run deletes nothing and takes no turn here.
        yield* sql`SET LOCAL lock_timeout = '15s'`
        yield* sql`SELECT pg_advisory_xact_lock(${HOLD_LOCK})`.pipe(
          Effect.catchIf(
            (error) => String((error.cause as { code?: unknown } | undefined)?.code) === "55P03",
            () => new ServiceUnavailable({ message: "retention is deleting reads right now; try again in a minute" })
          )
        )
        const inserted = yield* SqlSchema.single({
          Request: Schema.Void,
          Result: Schema.Struct({ id: Schema.String }),
          execute: () =>
            sql`
              INSERT INTO legal_holds (case_number, reason, plate, detection_ids, camera_id, from_at, to_at,
                                       created_by, created_by_name)
              VALUES (${caseNumber}, ${reason}, ${scope.kind === "plate" ? scope.plate : null},
                      ${scope.kind === "detections" ? `{${scope.ids.join(",")}}` : null}::bigint[],
                      ${scope.kind === "camera" ? scope.cameraId : null}::uuid,
                      ${scope.kind === "camera" ? scope.from : null}::timestamptz,
                      ${scope.kind === "camera" ? scope.to : null}::timestamptz,
                      ${idOf(actor)}::uuid, ${nameOf(actor)})
              RETURNING id::text AS id`
        })(undefined).pipe(orBug, Effect.catchTag("NoSuchElementException", Effect.die))
        const hold = yield* found(yield* byId(inserted.id), "the hold just made")
        yield* audit.record({
          actor: actor === "cli" ? undefined : actor,
          address,
          action: "hold.create",
          target: `hold:${hold.id}`,
          reason,
          details: {
            case_number: caseNumber,
            scope: hold.scope,
            ...(hold.plate === null ? {} : { plate: hold.plate }),
            ...(hold.detection_ids === null ? {} : { detection_ids: hold.detection_ids }),
            ...(hold.camera_id === null ? {} : { camera_id: hold.camera_id, from: hold.from, to: hold.to }),
            detections: hold.detections,
            ...(actor === "cli" ? { via: "cli" } : {})
          },
          outcome: "success"
        })
        return hold
      }))
    })

    const list = Effect.fn("Holds.list")(function*(params: Pick<HoldListParams, "status"> & { readonly case_number?: string | undefined }) {
      const where: Array<Statement.Fragment> = []
      if (params.status === "active") where.push(sql`h.released_at IS NULL`)
      if (params.status === "released") where.push(sql`h.released_at IS NOT NULL`)
      const caseNumber = params.case_number?.trim()
      if (caseNumber !== undefined && caseNumber !== "") where.push(sql`h.case_number = ${caseNumber}`)
      return yield* SqlSchema.findAll({
        Request: Schema.Void,
        Result: HoldRow,
        execute: () =>
          sql`
            SELECT ${holdColumns(sql)} FROM legal_holds h LEFT JOIN cameras c ON c.id = h.camera_id
             WHERE ${sql.and(where)}
             ORDER BY h.created_at DESC, h.id DESC
             LIMIT ${LIST_LIMIT}`
      })(undefined).pipe(orBug)
    })

    const release = Effect.fn("Holds.release")(function*(id: string, note: string | undefined, actor: HoldActor, address?: string) {
      const trimmed = note?.trim() || null
      return yield* sql.withTransaction(Effect.gen(function*() {
        const locked = yield* sql`SELECT released_at FROM legal_holds WHERE id = ${id} FOR UPDATE`
        if (locked.length === 0) return yield* new NotFound({ message: `no hold ${id}` })
        if (locked[0]!.released_at !== null) {
          return yield* new HoldReleased({ message: `hold ${id} was released already` })
        }
        yield* sql`
          UPDATE legal_holds
             SET released_at = now(), released_by = ${idOf(actor)}::uuid, released_by_name = ${nameOf(actor)},
                 release_note = ${trimmed}
           WHERE id = ${id}`
        const hold = yield* found(yield* byId(id), "the hold just released")
        yield* audit.record({
          actor: actor === "cli" ? undefined : actor,
          address,
          action: "hold.release",
          target: `hold:${id}`,
          ...(trimmed === null ? {} : { reason: trimmed }),
          details: {
            case_number: hold.case_number,
            scope: hold.scope,
            detections: hold.detections,
            ...(actor === "cli" ? { via: "cli" } : {})
          },
          outcome: "success"
        })
        return hold
      }))
    })

    return { create, list, release }
  })
}) {}
