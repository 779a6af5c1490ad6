import { BadRequest, Forbidden, NotFound, ServiceUnavailable } from "@chaverim/domain/Errors"
import {
  type ExportApprovalState,
  ExportNotReleasable,
  type ExportPage,
  ExportRecord,
  type ExportRequest,
  ExportRequestRecord,
  ExportSelection
} from "@chaverim/domain/Evidence"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { randomBytes, randomUUID } from "node:crypto"
import * as FsPromises from "node:fs/promises"
import * as Path from "node:path"
import { Audit } from "../audit/Audit"
import { makeReasonOf } from "../audit/Reason"
import type { Actor } from "../auth/Accounts"
import { AppConfig } from "../Config"
import { Count, IsoTime, IsoTimeOrNull, orBug } from "../db/Rows"
import { ObjectStore } from "../images/ObjectStore"
import { type BundleApproval, type BundleMade, type ExportedBy, makeBundle } from "./Bundle"
import { EvidenceKey } from "./Key"
import { describeSelection, selectionOf, selectReads } from "./Selection"

/** Who asks for an export: a signed-in operator or admin over HTTP, or the command line. */
export type Exporter =
  | { readonly via: "http"; readonly user: Actor & { readonly role: string }; readonly address: string }
  | { readonly via: "cli"; readonly osUser: string; readonly host: string }

/**
 * Who approves or refuses an export request: an admin signed in, or the command line naming an admin's
 * account (`--as USERNAME`), who is then recorded as the one who decided.
 */
export type Decider =
  | { readonly via: "http"; readonly user: Actor & { readonly role: string }; readonly address: string }
  | { readonly via: "cli"; readonly asUsername: string; readonly osUser: string; readonly host: string }

/** What an export made: the CLI's last line is the first four. */
export interface ExportSummary {
  readonly export_id: string
  readonly detections: number
  readonly images: number
  readonly sha256: string
  readonly bytes: number
  readonly images_not_matching: number
}

/** An export's case and reason as recorded, and the reads it was asked for. */
interface Meta {
  readonly caseNumber: string
  readonly reasonCode: string
  readonly reason: string | undefined
  readonly selection: ExportSelection
}

interface Prepared extends Meta {
  readonly label: string
  /** oldest first */
  readonly ids: ReadonlyArray<string>
}

/** Builds running at once on one server: each reads photos and draws a PDF. */
const CONCURRENT_EXPORTS = 2

/** A staged or downloaded bundle left by a stopped server is removed after this long. */
const STALE_MS = 24 * 3600 * 1000

const ListRow = Schema.Struct({
  ...ExportRecord.fields,
  detections: Count,
  images: Count,
  images_not_matching: Count,
  bytes: Count,
  selection: ExportSelection,
  cursor_time: Schema.String
})

const RequestRow = Schema.Struct({
  ...ExportRequestRecord.fields,
  created_at: IsoTime,
  decided_at: IsoTimeOrNull,
  detections: Count,
  images: Count,
  released: Count,
  requested_by_id: Schema.NullOr(Schema.String),
  decided_by_id: Schema.NullOr(Schema.String),
  detection_ids: Schema.Array(Schema.String)
})
type RequestRow = typeof RequestRow.Type

const publicRecord = ({ decided_by_id: _d, detection_ids: _i, requested_by_id: _r, ...record }: RequestRow): ExportRequestRecord =>
  record

const CURSOR = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z)\|([0-9a-f-]{36})$/

/**
 * Case exports: a selection of reads made into a signed bundle (Bundle.ts), recorded in
 * `evidence_exports` and audited (`evidence.export`) in one transaction before anyone receives it.
 */
export class Evidence extends Effect.Service<Evidence>()("@chaverim/server/Evidence", {
  dependencies: [EvidenceKey.Default],
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const audit = yield* Audit
    const config = yield* AppConfig
    const key = yield* EvidenceKey
    const permits = yield* Effect.makeSemaphore(CONCURRENT_EXPORTS)
    const stageDir = Path.join(config.dataDir, "tmp", "evidence")
    // What selecting reads and making a bundle need, from the service's own layer.
    const context = yield* Effect.context<SqlClient.SqlClient | ObjectStore | EvidenceKey>()

    yield* Effect.promise(async () => {
      const names = await FsPromises.readdir(stageDir).catch(() => [] as Array<string>)
      for (const name of names) {
        const path = Path.join(stageDir, name)
        const stat = await FsPromises.stat(path).catch(() => undefined)
        if (stat !== undefined && Date.now() - stat.mtimeMs > STALE_MS) await FsPromises.rm(path, { recursive: true, force: true })
      }
    })

    const reasonOf = yield* makeReasonOf
    const labelOf = SqlSchema.findOne({
      Request: Schema.String,
      Result: Schema.Struct({ label: Schema.String }),
      execute: (code) => sql`SELECT label FROM reason_codes WHERE code = ${code}`
    })

    /** The label of an active reason code (checked as every capability checks it), or a 400 naming the active ones. */
    const reasonLabel = (code: string) =>
      reasonOf({ code }, "export", { required: true }).pipe(
        Effect.zipRight(orBug(labelOf(code))),
        Effect.map(Option.match({ onNone: () => code, onSome: (row) => row.label }))
      )

    const insert = (id: string, createdAt: Date, meta: Meta, who: Exporter, made: BundleMade, requestId: string | null) =>
      sql`
        INSERT INTO evidence_exports (id, created_at, user_id, username, via, case_number, reason_code, reason, selection,
                                      detections, images, images_not_matching, bytes, sha256, key_fingerprint, request_id)
        VALUES (${id}, ${createdAt}, ${who.via === "http" ? who.user.userId : null},
                ${who.via === "http" ? who.user.username : null}, ${who.via}, ${meta.caseNumber},
                ${meta.reasonCode}, ${meta.reason ?? null}, ${JSON.stringify(meta.selection)}::jsonb,
                ${made.detections}, ${made.images}, ${made.imagesNotMatching}, ${made.bytes}, ${made.sha256},
                ${key.fingerprint}, ${requestId})`

    const auditOf = (who: Exporter) =>
      who.via === "http"
        ? { actor: who.user, address: who.address }
        : {}

    /** An export refused (bad input, nothing to export, not approved, the store down): audited as a failure. */
    const refusal = (
      action: string,
      who: Exporter,
      meta: { readonly caseNumber: string; readonly reasonCode: string; readonly reason: string | undefined },
      extra: Record<string, unknown> = {}
    ) =>
    (error: { readonly message: string }) =>
      audit.record({
        ...auditOf(who),
        action,
        ...(meta.reason === undefined ? {} : { reason: meta.reason }),
        details: { via: who.via, case_number: meta.caseNumber, reason_code: meta.reasonCode, ...extra, error: error.message },
        outcome: "failure"
      })

    /** The reads `request` selects, its reason checked; a refusal is audited under `action`. */
    const prepare = (request: ExportRequest, who: Exporter, action: string) => {
      const meta = {
        caseNumber: request.case_number.trim(),
        reasonCode: request.reason_code,
        reason: request.reason?.trim() || undefined
      }
      return Effect.gen(function*() {
        const selection = yield* selectionOf(request)
        const label = yield* reasonLabel(request.reason_code)
        const ids = yield* selectReads(selection, { maxReads: config.evidenceMaxReads, maxPhotoBytes: config.evidenceMaxPhotoBytes })
        return { ...meta, selection: describeSelection(selection), label, ids } satisfies Prepared
      }).pipe(Effect.catchTag("SqlError", Effect.die), Effect.provide(context), Effect.tapError(refusal(action, who, meta)))
    }

    /**
     * Makes the bundle of `prepared` at `outPath`; records and audits it (`evidence.export`). A failure
     * (the object store down, every read gone) is audited too, and leaves no file.
     */
    const bundle = Effect.fn("Evidence.export")(function*(
      prepared: Prepared,
      who: Exporter,
      outPath: string,
      approval: BundleApproval | undefined
    ) {
      const refused = refusal("evidence.export", who, prepared, approval === undefined ? {} : { request_id: approval.request_id })
      const exportId = randomUUID()
      const createdAt = new Date()
      const exportedBy: ExportedBy = who.via === "http"
        ? { via: "http", user_id: who.user.userId, username: who.user.username, role: who.user.role, address: who.address }
        : { via: "cli", os_user: who.osUser, host: who.host }
      const made = yield* permits.withPermits(1)(makeBundle({
        exportId,
        createdAt,
        exportedBy,
        approval,
        caseNumber: prepared.caseNumber,
        reasonCode: prepared.reasonCode,
        reasonLabel: prepared.label,
        reason: prepared.reason,
        selection: prepared.selection,
        detectionIds: prepared.ids
      }, outPath, stageDir)).pipe(
        Effect.catchTag("SqlError", Effect.die),
        Effect.provide(context),
        Effect.catchTag("ObjectStoreError", (error) =>
          Effect.logError("evidence export: the object store failed").pipe(
            Effect.annotateLogs({ error: error.message }),
            Effect.zipRight(Effect.fail(new ServiceUnavailable({ message: "the object store did not answer; try again later" })))
          )),
        Effect.tapError(refused),
        Effect.onError(() => Effect.promise(() => FsPromises.rm(outPath, { force: true })))
      )
      if (made.detections === 0) {
        const gone = new NotFound({ message: "the selected reads were removed (retention) while the bundle was made" })
        yield* Effect.promise(() => FsPromises.rm(outPath, { force: true }))
        yield* refused(gone)
        return yield* gone
      }
      // The record and its audit row, together: a bundle nobody can find in the log never leaves.
      yield* sql.withTransaction(Effect.gen(function*() {
        yield* insert(exportId, createdAt, prepared, who, made, approval?.request_id ?? null)
        yield* audit.record({
          ...auditOf(who),
          action: "evidence.export",
          target: `evidence_export:${exportId}`,
          ...(prepared.reason === undefined ? {} : { reason: prepared.reason }),
          details: {
            via: who.via,
            case_number: prepared.caseNumber,
            reason_code: prepared.reasonCode,
            selection: prepared.selection,
            detections: made.detections,
            images: made.images,
            images_not_matching: made.imagesNotMatching,
            bytes: made.bytes,
            sha256: made.sha256,
            key_fingerprint: key.fingerprint,
            detection_ids: prepared.ids,
            ...(approval === undefined
              ? {}
              : { request_id: approval.request_id, approved_by: approval.approved_by, approved_at: approval.approved_at })
          },
          outcome: "success"
        })
      })).pipe(
        Effect.orDie,
        Effect.onError(() => Effect.promise(() => FsPromises.rm(outPath, { force: true })))
      )
      return {
        export_id: exportId,
        detections: made.detections,
        images: made.images,
        sha256: made.sha256,
        bytes: made.bytes,
        images_not_matching: made.imagesNotMatching
      } satisfies ExportSummary
    })

    const requestColumns = sql`
      r.id::text AS id, r.created_at, r.requested_by::text AS requested_by_id, r.requested_by_name AS requested_by,
      r.requested_via, r.case_number, r.reason_code, r.reason, r.selection, r.detections, r.images, r.state,
      r.decided_at, r.decided_by::text AS decided_by_id, r.decided_by_name AS decided_by, r.decided_via,
      r.decision_note, r.detection_ids::text[] AS detection_ids,
      (SELECT count(*) FROM evidence_exports e WHERE e.request_id = r.id) AS released`
    const requestById = SqlSchema.findOne({
      Request: Schema.Struct({ id: Schema.String, lock: Schema.Boolean }),
      Result: RequestRow,
      execute: ({ id, lock }) =>
        sql`SELECT ${requestColumns} FROM evidence_export_requests r WHERE r.id = ${id}::uuid ${lock ? sql`FOR UPDATE OF r` : sql``}`
    })
    const found = (id: string, lock = false) =>
      orBug(requestById({ id, lock })).pipe(
        Effect.flatMap(Option.match({
          onNone: () => Effect.fail(new NotFound({ message: `there is no export request ${id}` })),
          onSome: Effect.succeed
        }))
      )
    const imagesOf = SqlSchema.single({
      Request: Schema.Array(Schema.String),
      Result: Schema.Struct({ n: Count }),
      execute: (ids) =>
        sql`SELECT count(*) AS n FROM detection_images WHERE detection_id = ANY(string_to_array(${ids.join(",")}, ',')::bigint[])`
    })

    /**
     * EXPORT_APPROVAL=required: records the export as asked for (who, case, reason, exactly which reads)
     * and audits it (`evidence.request`); no bundle is made until an admin other than the requester approves it.
     */
    const ask = Effect.fn("Evidence.request")(function*(request: ExportRequest, who: Exporter) {
      const prepared = yield* prepare(request, who, "evidence.request")
      const images = yield* orBug(imagesOf(prepared.ids)).pipe(
        Effect.catchTags({ NoSuchElementException: Effect.die, SqlError: Effect.die })
      )
      const id = randomUUID()
      yield* sql.withTransaction(Effect.gen(function*() {
        yield* sql`
          INSERT INTO evidence_export_requests (id, requested_by, requested_by_name, requested_via, case_number, reason_code,
                                                reason, selection, detection_ids, detections, images)
          VALUES (${id}, ${who.via === "http" ? who.user.userId : null}, ${who.via === "http" ? who.user.username : null},
                  ${who.via}, ${prepared.caseNumber}, ${prepared.reasonCode}, ${prepared.reason ?? null},
                  ${JSON.stringify(prepared.selection)}::jsonb, string_to_array(${prepared.ids.join(",")}, ',')::bigint[],
                  ${prepared.ids.length}, ${images.n})`
        yield* audit.record({
          ...auditOf(who),
          action: "evidence.request",
          target: `evidence_request:${id}`,
          ...(prepared.reason === undefined ? {} : { reason: prepared.reason }),
          details: {
            via: who.via,
            ...(who.via === "cli" ? { os_user: who.osUser, host: who.host } : {}),
            case_number: prepared.caseNumber,
            reason_code: prepared.reasonCode,
            selection: prepared.selection,
            detections: prepared.ids.length,
            images: images.n,
            detection_ids: prepared.ids,
            state: "pending"
          },
          outcome: "success"
        })
      })).pipe(Effect.orDie)
      return publicRecord(yield* found(id).pipe(Effect.orDie))
    })

    const accountByName = SqlSchema.findOne({
      Request: Schema.String,
      Result: Schema.Struct({ userId: Schema.String, username: Schema.String, role: Schema.String, enabled: Schema.Boolean }),
      execute: (username) =>
        sql`SELECT id::text AS "userId", username, role, disabled_at IS NULL AS enabled FROM users WHERE username = ${username}`
    })

    /** The admin who decides: the one signed in, or the enabled admin account the command line names. */
    const deciderAccount = (decider: Decider): Effect.Effect<Actor, Forbidden | SqlError> =>
      decider.via === "http"
        ? Effect.succeed({ userId: decider.user.userId, username: decider.user.username })
        : orBug(accountByName(decider.asUsername)).pipe(
          Effect.flatMap(Option.match({
            onNone: () => Effect.fail(new Forbidden({ message: `--as names no account: ${decider.asUsername}` })),
            onSome: (account) =>
              account.role === "admin" && account.enabled
                ? Effect.succeed({ userId: account.userId, username: account.username })
                : Effect.fail(
                  new Forbidden({ message: `--as names ${account.username}, who is not an enabled admin: only an admin decides an export` })
                )
          }))
        )

    /**
     * Approves or refuses a pending export request, once, as an admin who is not its requester (the
     * database holds this too: sql/0018). Audited (`evidence.approve`, `evidence.refuse`); a refused
     * attempt is audited as denied.
     */
    const decide = Effect.fn("Evidence.decide")(function*(
      id: string,
      decision: "approved" | "refused",
      note: string | undefined,
      decider: Decider
    ) {
      const action = decision === "approved" ? "evidence.approve" : "evidence.refuse"
      const trimmed = note?.trim() || undefined
      const actor = decider.via === "http" ? { actor: decider.user, address: decider.address } : {}
      const via = decider.via === "http"
        ? { via: "http" }
        : { via: "cli", as: decider.asUsername, os_user: decider.osUser, host: decider.host }
      if (decision === "refused" && trimmed === undefined) {
        return yield* new BadRequest({ message: "a refusal says why: note is required" })
      }
      const attempt = Effect.gen(function*() {
        const account = yield* deciderAccount(decider)
        return yield* sql.withTransaction(Effect.gen(function*() {
          const row = yield* found(id, true)
          if (row.state !== "pending") {
            return yield* new ExportNotReleasable({
              message: `export request ${id} was ${row.state} already by ${row.decided_by ?? "?"}: a decision is final`,
              state: row.state
            })
          }
          if (row.requested_by_id === account.userId) {
            return yield* new Forbidden({ message: "you asked for this export: another admin must approve or refuse it" })
          }
          if (row.requested_via === "cli" && decider.via === "cli") {
            return yield* new Forbidden({
              message: "this export was asked for at the command line: an admin approves or refuses it in the web app"
            })
          }
          yield* sql`
            UPDATE evidence_export_requests
               SET state = ${decision}, decided_at = now(), decided_by = ${account.userId}::uuid,
                   decided_by_name = ${account.username}, decided_via = ${decider.via}, decision_note = ${trimmed ?? null}
             WHERE id = ${id}::uuid`
          yield* audit.record({
            ...actor,
            action,
            target: `evidence_request:${id}`,
            ...(trimmed === undefined ? {} : { reason: trimmed }),
            details: {
              ...via,
              decided_by: account.username,
              requested_by: row.requested_by,
              requested_via: row.requested_via,
              case_number: row.case_number,
              reason_code: row.reason_code,
              detections: row.detections
            },
            outcome: "success"
          })
          return publicRecord(yield* found(id))
        }))
      }).pipe(Effect.catchTag("SqlError", Effect.die))
      return yield* attempt.pipe(
        Effect.tapError((error) =>
          audit.record({
            ...actor,
            action,
            target: `evidence_request:${id}`,
            details: { ...via, error: error.message },
            outcome: error._tag === "Forbidden" ? "denied" : "failure"
          })
        )
      )
    })

    /** Export requests newest first: all of them for admins, one's own for anyone else. */
    const listRequests = Effect.fn("Evidence.listRequests")(function*(
      params: { readonly state?: ExportApprovalState | undefined; readonly limit: number },
      viewer: { readonly userId: string; readonly role: string }
    ) {
      const rows = yield* orBug(SqlSchema.findAll({
        Request: Schema.Void,
        Result: RequestRow,
        execute: () =>
          sql`
            SELECT ${requestColumns} FROM evidence_export_requests r
             WHERE ${params.state === undefined ? sql`true` : sql`r.state = ${params.state}`}
               AND ${viewer.role === "admin" ? sql`true` : sql`r.requested_by = ${viewer.userId}::uuid`}
             ORDER BY r.created_at DESC, r.id DESC
             LIMIT ${params.limit}`
      })(undefined))
      return { items: rows.map(publicRecord) }
    })

    /**
     * Makes a bundle of an approved request at `outPath`, from exactly the reads approved, saying who
     * approved it and when: for its requester or an admin, or (a request made there) the command line.
     */
    const release = (id: string, who: Exporter, outPath: string) =>
      Effect.gen(function*() {
        const row = yield* found(id).pipe(Effect.catchTag("SqlError", Effect.die))
        const meta = { caseNumber: row.case_number, reasonCode: row.reason_code, reason: row.reason ?? undefined }
        const refuse = <E extends { readonly message: string }>(error: E) =>
          Effect.zipRight(refusal("evidence.export", who, meta, { request_id: id })(error), Effect.fail(error))
        const mayHave = who.via === "http"
          ? who.user.role === "admin" || row.requested_by_id === who.user.userId
          : row.requested_via === "cli"
        if (!mayHave) {
          return yield* refuse(
            new Forbidden({
              message: who.via === "http"
                ? "only the one who asked for this export, or an admin, may download it"
                : "this export was asked for in the web app: it is downloaded there"
            })
          )
        }
        if (row.state !== "approved" || row.decided_by === null || row.decided_at === null || row.decided_via === null) {
          return yield* refuse(
            new ExportNotReleasable({
              message: row.state === "pending"
                ? `export request ${id} awaits an admin's approval: no bundle is released before`
                : `export request ${id} was refused by ${row.decided_by ?? "?"}${row.decision_note === null ? "" : `: ${row.decision_note}`}`,
              state: row.state
            })
          )
        }
        const label = yield* orBug(labelOf(row.reason_code)).pipe(
          Effect.catchTag("SqlError", Effect.die),
          Effect.map(Option.match({ onNone: () => row.reason_code, onSome: (r) => r.label }))
        )
        const summary = yield* bundle({ ...meta, selection: row.selection, label, ids: row.detection_ids }, who, outPath, {
          request_id: row.id,
          requested_at: row.created_at,
          requested_by: row.requested_by,
          requested_via: row.requested_via,
          approved_by: row.decided_by,
          approved_via: row.decided_via,
          approved_at: row.decided_at,
          note: row.decision_note
        })
        return { ...summary, case_number: row.case_number }
      })

    const staged = Effect.promise(async () => {
      await FsPromises.mkdir(stageDir, { recursive: true, mode: 0o700 })
      return Path.join(stageDir, `download-${randomBytes(12).toString("hex")}.zip`)
    })

    /** Into a file written under a temporary name and renamed when complete. */
    const intoFile = <E>(out: string, make: (partial: string) => Effect.Effect<ExportSummary, E>) =>
      Effect.gen(function*() {
        const target = Path.resolve(out)
        const partial = `${target}.${randomBytes(6).toString("hex")}.partial`
        const summary = yield* make(partial)
        yield* Effect.promise(() => FsPromises.rename(partial, target))
        return summary
      })

    /**
     * For a download: the bundle in a file of its own under DATA_DIR/tmp, for the caller to send and
     * remove; with EXPORT_APPROVAL=required, the pending request instead.
     */
    const forDownload = (request: ExportRequest, who: Exporter) =>
      config.exportApproval === "required"
        ? Effect.map(ask(request, who), (pending) => ({ _tag: "Pending", request: pending }) as const)
        : Effect.gen(function*() {
          const prepared = yield* prepare(request, who, "evidence.export")
          const path = yield* staged
          const summary = yield* bundle(prepared, who, path, undefined)
          return { _tag: "Released", ...summary, path } as const
        })

    /** For the command line: the bundle at `out`; with EXPORT_APPROVAL=required, the pending request instead. */
    const toFile = (request: ExportRequest, who: Exporter, out: string) =>
      config.exportApproval === "required"
        ? Effect.map(ask(request, who), (pending) => ({ _tag: "Pending", request: pending }) as const)
        : Effect.gen(function*() {
          const prepared = yield* prepare(request, who, "evidence.export")
          const summary = yield* intoFile(out, (partial) => bundle(prepared, who, partial, undefined))
          return { _tag: "Released", ...summary } as const
        })

    /** An approved request's bundle for a download (sent and removed by the caller). */
    const releaseForDownload = (id: string, who: Exporter) =>
      Effect.gen(function*() {
        const path = yield* staged
        const summary = yield* release(id, who, path)
        return { ...summary, path }
      })

    /** An approved request's bundle at `out`, for the command line. */
    const releaseToFile = (id: string, who: Exporter, out: string) => intoFile(out, (partial) => release(id, who, partial))

    const listPage = SqlSchema.findAll({
      Request: Schema.Struct({ limit: Schema.Number, before: Schema.NullOr(Schema.Struct({ t: Schema.String, id: Schema.String })) }),
      Result: ListRow,
      execute: ({ before, limit }) =>
        sql`
          SELECT id::text AS id,
                 to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS created_at,
                 to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_time,
                 username AS exported_by, via, case_number, reason_code, reason, selection, detections, images,
                 images_not_matching, bytes, sha256, key_fingerprint
            FROM evidence_exports
           WHERE ${before === null ? sql`true` : sql`(created_at, id) < (${before.t}::timestamptz, ${before.id}::uuid)`}
           ORDER BY created_at DESC, id DESC
           LIMIT ${limit + 1}`
    })

    /** Every export, newest first, keyset-paged. */
    const list = Effect.fn("Evidence.list")(function*(params: { readonly limit: number; readonly cursor?: string | undefined }) {
      let before: { t: string; id: string } | null = null
      if (params.cursor !== undefined) {
        const match = CURSOR.exec(Buffer.from(params.cursor, "base64url").toString("utf8"))
        if (match === null) return yield* new BadRequest({ message: "cursor is not one this server gave out" })
        before = { t: match[1]!, id: match[2]! }
      }
      const rows = yield* orBug(listPage({ limit: params.limit, before }))
      const items = rows.slice(0, params.limit)
      const last = items.at(-1)
      const page: ExportPage = {
        items: items.map(({ cursor_time: _, ...item }) => item),
        next_cursor: rows.length > params.limit && last !== undefined
          ? Buffer.from(`${last.cursor_time}|${last.id}`).toString("base64url")
          : null
      }
      return page
    })

    return {
      forDownload,
      toFile,
      releaseForDownload,
      releaseToFile,
      decide,
      listRequests,
      list,
      key: key.info,
      reasonLabel
    } as const
  })
}) {}

