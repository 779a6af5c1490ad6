import { BadRequest, NotFound, ServiceUnavailable } from "@chaverim/domain/Errors"
import { type ExportPage, ExportRecord, type ExportRequest, ExportSelection } from "@chaverim/domain/Evidence"
import * as SqlClient from "@effect/sql/SqlClient"
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
import { Count, orBug } from "../db/Rows"
import { ObjectStore } from "../images/ObjectStore"
import { type BundleMade, type ExportedBy, makeBundle } from "./Bundle"
import { EvidenceKey } from "./Key"
import { describeSelection, selectionOf, selectReads } from "./Selection"

/** Who asks for an export: a signed-in operator or admin over HTTP, or the command line. */
export type Exporter =
  | { readonly via: "http"; readonly user: Actor & { readonly role: string }; readonly address: string }
  | { readonly via: "cli"; readonly osUser: string; readonly host: string }

/** What an export made: the CLI's last line is the first four. */
export interface ExportSummary {
  readonly export_id: string
  readonly detections: number
  readonly images: number
  readonly sha256: string
  readonly bytes: number
  readonly images_not_matching: number
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

    const insert = (id: string, createdAt: Date, request: ExportRequest, who: Exporter, selection: unknown, made: BundleMade) =>
      sql`
        INSERT INTO evidence_exports (id, created_at, user_id, username, via, case_number, reason_code, reason, selection,
                                      detections, images, images_not_matching, bytes, sha256, key_fingerprint)
        VALUES (${id}, ${createdAt}, ${who.via === "http" ? who.user.userId : null},
                ${who.via === "http" ? who.user.username : null}, ${who.via}, ${request.case_number.trim()},
                ${request.reason_code}, ${request.reason?.trim() || null}, ${JSON.stringify(selection)}::jsonb,
                ${made.detections}, ${made.images}, ${made.imagesNotMatching}, ${made.bytes}, ${made.sha256},
                ${key.fingerprint})`

    const auditOf = (who: Exporter) =>
      who.via === "http"
        ? { actor: who.user, address: who.address }
        : {}

    /**
     * Makes the bundle of `request` at `outPath`; records and audits it. A refusal (bad input, nothing
     * to export, the object store down) is audited too, and leaves no file.
     */
    const make = Effect.fn("Evidence.export")(function*(request: ExportRequest, who: Exporter, outPath: string) {
      const caseNumber = request.case_number.trim()
      const reason = request.reason?.trim() || undefined
      const attempt = Effect.gen(function*() {
        const selection = yield* selectionOf(request)
        const label = yield* reasonLabel(request.reason_code)
        const ids = yield* selectReads(selection, { maxReads: config.evidenceMaxReads, maxPhotoBytes: config.evidenceMaxPhotoBytes })
        return { selection: describeSelection(selection), label, ids }
      }).pipe(Effect.catchTag("SqlError", Effect.die), Effect.provide(context))
      const refused = (error: BadRequest | NotFound | ServiceUnavailable) =>
        audit.record({
          ...auditOf(who),
          action: "evidence.export",
          ...(reason === undefined ? {} : { reason }),
          details: { via: who.via, case_number: caseNumber, reason_code: request.reason_code, error: error.message },
          outcome: "failure"
        })
      const { ids, label, selection } = yield* attempt.pipe(Effect.tapError(refused))
      const exportId = randomUUID()
      const createdAt = new Date()
      const exportedBy: ExportedBy = who.via === "http"
        ? { via: "http", user_id: who.user.userId, username: who.user.username, role: who.user.role, address: who.address }
        : { via: "cli", os_user: who.osUser, host: who.host }
      const made = yield* permits.withPermits(1)(makeBundle({
        exportId,
        createdAt,
        exportedBy,
        caseNumber,
        reasonCode: request.reason_code,
        reasonLabel: label,
        reason,
        selection,
        detectionIds: ids
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
        yield* insert(exportId, createdAt, request, who, selection, made)
        yield* audit.record({
          ...auditOf(who),
          action: "evidence.export",
          target: `evidence_export:${exportId}`,
          ...(reason === undefined ? {} : { reason }),
          details: {
            via: who.via,
            case_number: caseNumber,
            reason_code: request.reason_code,
            selection,
            detections: made.detections,
            images: made.images,
            images_not_matching: made.imagesNotMatching,
            bytes: made.bytes,
            sha256: made.sha256,
            key_fingerprint: key.fingerprint,
            detection_ids: ids
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

    /** For a download: the bundle in a file of its own under DATA_DIR/tmp, for the caller to send and remove. */
    const forDownload = (request: ExportRequest, who: Exporter) =>
      Effect.gen(function*() {
        yield* Effect.promise(() => FsPromises.mkdir(stageDir, { recursive: true, mode: 0o700 }))
        const path = Path.join(stageDir, `download-${randomBytes(12).toString("hex")}.zip`)
        const summary = yield* make(request, who, path)
        return { ...summary, path }
      })

    /** For the command line: the bundle at `out`, written under a temporary name and renamed when complete. */
    const toFile = (request: ExportRequest, who: Exporter, out: string) =>
      Effect.gen(function*() {
        const target = Path.resolve(out)
        const partial = `${target}.${randomBytes(6).toString("hex")}.partial`
        const summary = yield* make(request, who, partial)
        yield* Effect.promise(() => FsPromises.rename(partial, target))
        return summary
      })

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

    return { forDownload, toFile, list, key: key.info, reasonLabel } as const
  })
}) {}

