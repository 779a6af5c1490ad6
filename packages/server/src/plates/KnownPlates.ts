import { BadRequest, NotFound } from "@chaverim/domain/Errors"
import { normalizePlate } from "@chaverim/domain/Plate"
import {
  checkKnownPlateValue,
  KnownPlate,
  type KnownPlateDetail,
  type KnownPlatePage,
  type KnownPlateQuery,
  type KnownPlateSet,
  TagInUse
} from "@chaverim/domain/KnownPlates"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import type * as Statement from "@effect/sql/Statement"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { Audit } from "../audit/Audit"
import type { Actor } from "../auth/Accounts"
import { Count, IsoTime, orBug } from "../db/Rows"
import type { RequestInfo } from "../http/ClientAddress"

/** A row of `known_plates` or `known_plate_history`, as the contract carries a version. */
const KnownPlateRow = Schema.Struct({ ...KnownPlate.fields, set_at: IsoTime })

const TagRow = Schema.Struct({ ...TagInUse.fields, plates: Count })

const DEFAULT_LIMIT = 100

/** A plate carries something: a cleared plate keeps its row (and its history) with neither. */
const KNOWN = "(note <> '' OR cardinality(tags) > 0)"

/** What the audit log keeps of a version: enough to read the change without the history table. */
const auditVersion = (version: KnownPlate | undefined) =>
  version === undefined ? null : { note: version.note, tags: version.tags, version: version.version }

const isKnown = (version: KnownPlate) => version.note !== "" || version.tags.length > 0

/**
 * Known plates (sql/0028): a plate's note and tags, set and cleared by operators, every version kept.
 * Changes are audited here, in the transaction that makes them, with the version before and after.
 *
 * Reads are not audited: a note is looked up to decorate plates the caller is already shown (a search's
 * results, an alert, the plate's page), and the search or the page that showed them is audited itself.
 */
export class KnownPlates extends Effect.Service<KnownPlates>()("@chaverim/server/KnownPlates", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const audit = yield* Audit

    const columns = sql`plate, note, tags, version, set_by_name, set_at`
    const known = sql.literal(KNOWN)

    /** The sql text[] of `values`, in their order. */
    const textArray = (values: ReadonlyArray<string>) =>
      sql`ARRAY(SELECT t FROM jsonb_array_elements_text(${JSON.stringify(values)}::jsonb) WITH ORDINALITY AS x(t, n) ORDER BY n)`

    const currentRow = SqlSchema.findOne({
      Request: Schema.String,
      Result: KnownPlateRow,
      execute: (plate) => sql`SELECT ${columns} FROM known_plates WHERE plate = ${plate}`
    })

    const historyRows = SqlSchema.findAll({
      Request: Schema.String,
      Result: KnownPlateRow,
      execute: (plate) => sql`SELECT ${columns} FROM known_plate_history WHERE plate = ${plate} ORDER BY version DESC`
    })

    const lookupRows = SqlSchema.findAll({
      Request: Schema.Array(Schema.String),
      Result: KnownPlateRow,
      execute: (plates) => sql`SELECT ${columns} FROM known_plates WHERE plate IN ${sql.in(plates)} AND ${known} ORDER BY plate`
    })

    const versionRow = SqlSchema.findOne({
      Request: Schema.Struct({ plate: Schema.String, version: Schema.Number }),
      Result: KnownPlateRow,
      execute: ({ plate, version }) =>
        sql`SELECT ${columns} FROM known_plate_history WHERE plate = ${plate} AND version = ${version}`
    })

    const detailOf = (plate: string) =>
      Effect.gen(function*() {
        const current = yield* orBug(currentRow(plate))
        const history = yield* orBug(historyRows(plate))
        return {
          plate,
          current: Option.getOrNull(Option.filter(current, isKnown)),
          history
        } satisfies KnownPlateDetail
      })

    const get = Effect.fn("KnownPlates.get")(function*(typed: string) {
      return yield* detailOf(normalizePlate(typed))
    })

    const lookup = Effect.fn("KnownPlates.lookup")(function*(typed: ReadonlyArray<string>) {
      const plates = [...new Set(typed.map(normalizePlate).filter((p) => p !== ""))]
      return plates.length === 0 ? [] : yield* orBug(lookupRows(plates))
    })

    /**
     * Writes a version (the upsert; the database numbers and dates it and copies it to the history) and
     * audits it with the version it replaced, read from the history: exact even when two people change
     * the plate at once.
     */
    const write = (
      plate: string,
      value: { readonly note: string; readonly tags: ReadonlyArray<string> },
      actor: Actor,
      request: RequestInfo,
      action: "known_plate.set" | "known_plate.clear"
    ) =>
      sql.withTransaction(Effect.gen(function*() {
        const written = yield* orBug(SqlSchema.single({
          Request: Schema.Void,
          Result: KnownPlateRow,
          execute: () =>
            sql`
              INSERT INTO known_plates (plate, note, tags, set_by, set_by_name)
              VALUES (${plate}, ${value.note}, ${textArray(value.tags)}, ${actor.userId}, ${actor.username})
              ON CONFLICT (plate) DO UPDATE
                SET note = EXCLUDED.note, tags = EXCLUDED.tags, set_by = EXCLUDED.set_by, set_by_name = EXCLUDED.set_by_name
              RETURNING ${columns}`
        })(undefined)).pipe(Effect.catchTag("NoSuchElementException", Effect.die))
        const before = written.version > 1
          ? Option.getOrUndefined(yield* orBug(versionRow({ plate, version: written.version - 1 })))
          : undefined
        yield* audit.record({
          actor,
          address: request.address,
          action,
          target: `plate:${plate}`,
          details: { from: auditVersion(before), to: auditVersion(written) },
          outcome: "success"
        })
      }))

    /** The note and the tags together; a value equal to the one in force makes no new version. */
    const set = Effect.fn("KnownPlates.set")(function*(input: KnownPlateSet, actor: Actor, request: RequestInfo) {
      const checked = checkKnownPlateValue(input)
      if (Either.isLeft(checked)) return yield* new BadRequest({ message: checked.left })
      const plate = normalizePlate(input.plate)
      const value = { note: checked.right.note.trim(), tags: [...new Set(checked.right.tags)].sort() }
      const current = yield* orBug(currentRow(plate))
      const unchanged = Option.exists(current, (c) => c.note === value.note && c.tags.join(" ") === value.tags.join(" "))
      if (!unchanged) yield* write(plate, value, actor, request, "known_plate.set")
      return yield* detailOf(plate)
    })

    /** No note and no tags any more: a version of its own, who cleared it and when kept with it. */
    const clear = Effect.fn("KnownPlates.clear")(function*(typed: string, actor: Actor, request: RequestInfo) {
      const plate = normalizePlate(typed)
      const current = yield* orBug(currentRow(plate))
      if (!Option.exists(current, isKnown)) {
        return yield* new NotFound({ message: `${plate} carries no note and no tags: nothing to clear` })
      }
      yield* write(plate, { note: "", tags: [] }, actor, request, "known_plate.clear")
      return yield* detailOf(plate)
    })

    /** Known plates by plate, a page at a time, those carrying `tag` only if one is given. */
    const list = Effect.fn("KnownPlates.list")(function*(query: KnownPlateQuery) {
      const limit = query.limit ?? DEFAULT_LIMIT
      const where: Array<Statement.Fragment> = [known]
      if (query.tag !== undefined) where.push(sql`tags @> ${textArray([query.tag])}`)
      if (query.after !== undefined) where.push(sql`plate > ${query.after}`)
      const rows = yield* orBug(SqlSchema.findAll({
        Request: Schema.Void,
        Result: KnownPlateRow,
        execute: () => sql`SELECT ${columns} FROM known_plates WHERE ${sql.and(where)} ORDER BY plate LIMIT ${limit + 1}`
      })(undefined))
      const items = rows.slice(0, limit)
      return {
        items,
        next_cursor: rows.length > limit ? items.at(-1)?.plate ?? null : null
      } satisfies KnownPlatePage
    })

    const tags = Effect.fn("KnownPlates.tags")(function*() {
      return yield* orBug(SqlSchema.findAll({
        Request: Schema.Void,
        Result: TagRow,
        execute: () =>
          sql`SELECT t AS tag, count(*) AS plates FROM known_plates CROSS JOIN unnest(tags) AS t
               GROUP BY t ORDER BY count(*) DESC, t`
      })(undefined))
    })

    return { get, lookup, set, clear, list, tags } as const
  })
}) {}
