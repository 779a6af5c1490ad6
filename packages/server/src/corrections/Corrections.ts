import { Correction, CorrectionAction } from "@chaverim/domain/Corrections"
import { BadRequest, NotFound } from "@chaverim/domain/Errors"
import { normalizePlate, ocrKey } from "@chaverim/domain/Plate"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { Audit } from "../audit/Audit"
import type { Actor, RequestInfo } from "../auth/Accounts"
import { IsoTime, IsoTimeFromText, orBug } from "../db/Rows"

/**
 * A row of `corrections` as the contract shows it, selected as
 * `id::text AS id, detection_id::text AS detection_id, action, plate_text, plate, note, username AS "by", created_at AS "at"`.
 */
const CorrectionRow = Schema.Struct({ ...Correction.fields, at: IsoTime })

/** The same columns inside JSON (`row_to_json`, as search selects the correction in force), where the time is text. */
export const CorrectionJson = Schema.Struct({ ...Correction.fields, at: IsoTimeFromText })

/**
 * A corrected read for a retraining data set: the read as received and the plate it really shows, as
 * the driver gives the row. Not decoded through a Schema: the export reads every corrected read, a
 * thousand a page, and writes each as it comes.
 */
export interface CorrectedRead {
  readonly correction_id: string
  readonly detection_id: string
  readonly collector_detection_id: string
  readonly detected_at: Date
  readonly camera: string
  readonly site: string | null
  readonly original_text: string
  readonly original_plate: string
  readonly confidence: number
  readonly action: CorrectionAction
  readonly corrected_plate: string | null
  readonly corrected_by: string
  readonly corrected_at: Date
  readonly note: string | null
  readonly image_kinds: ReadonlyArray<string> | null
}

/**
 * Operators' corrections of reads, append-only beside the untouched detections: the newest of a
 * detection is in force. Each is audited.
 */
export class Corrections extends Effect.Service<Corrections>()("@chaverim/server/Corrections", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const audit = yield* Audit

    /** The plate of a read as it was recorded. */
    const recordedPlate = SqlSchema.findOne({
      Request: Schema.Number,
      Result: Schema.Struct({ plate: Schema.String }),
      execute: (detectionId) => sql`SELECT plate FROM detections WHERE id = ${detectionId}`
    })

    const insert = SqlSchema.single({
      Request: Schema.Struct({
        detectionId: Schema.Number,
        action: CorrectionAction,
        plate: Schema.NullOr(Schema.Struct({ text: Schema.String, normalized: Schema.String, ocr: Schema.String })),
        note: Schema.NullOr(Schema.String),
        user: Schema.Struct({ userId: Schema.String, username: Schema.String })
      }),
      Result: CorrectionRow,
      execute: ({ action, detectionId, note, plate, user }) =>
        sql`
          INSERT INTO corrections (detection_id, action, plate_text, plate, plate_ocr, note, user_id, username)
          VALUES (${detectionId}, ${action}, ${plate?.text ?? null}, ${plate?.normalized ?? null},
                  ${plate?.ocr ?? null}, ${note}, ${user.userId}, ${user.username})
          RETURNING id::text AS id, detection_id::text AS detection_id, action, plate_text, plate, note,
                    username AS "by", created_at AS "at"`
    })

    /** A read's corrections, newest (the one in force) first. */
    const history = SqlSchema.findAll({
      Request: Schema.Number,
      Result: CorrectionRow,
      execute: (detectionId) =>
        sql`
          SELECT id::text AS id, detection_id::text AS detection_id, action, plate_text, plate, note,
                 username AS "by", created_at AS "at"
            FROM corrections WHERE detection_id = ${detectionId} ORDER BY id DESC`
    })

    const create = (
      detectionId: number,
      request: { readonly action: CorrectionAction; readonly plate?: string | undefined; readonly note?: string | undefined },
      user: Actor,
      info: RequestInfo
    ) =>
      Effect.gen(function*() {
        const note = request.note?.trim() || null
        let plate: { text: string; normalized: string; ocr: string } | null = null
        if (request.action === "correct") {
          const text = request.plate?.trim() ?? ""
          const normalized = normalizePlate(text)
          if (normalized === "") return yield* new BadRequest({ message: "a correction needs the plate as it really is (plate)" })
          plate = { text, normalized, ocr: ocrKey(text) }
        } else if (request.plate !== undefined) {
          return yield* new BadRequest({ message: `plate goes only with action correct, not ${request.action}` })
        }
        return yield* sql.withTransaction(Effect.gen(function*() {
          const found = yield* orBug(recordedPlate(detectionId))
          if (Option.isNone(found)) return yield* new NotFound({ message: `no detection ${detectionId}` })
          const detection = found.value
          const correction = yield* insert({ detectionId, action: request.action, plate, note, user }).pipe(
            orBug,
            Effect.catchTag("NoSuchElementException", () => Effect.dieMessage("INSERT ... RETURNING returned no row"))
          )
          yield* audit.record({
            actor: user,
            address: info.address,
            action: "detection.correct",
            target: `detection:${detectionId}`,
            details: {
              action: request.action,
              original_plate: detection.plate,
              ...(plate === null ? {} : { corrected_plate: plate.normalized })
            },
            ...(note === null ? {} : { reason: note }),
            outcome: "success"
          })
          return correction
        }))
      })

    const list = (detectionId: number) =>
      Effect.gen(function*() {
        const exists = yield* sql`SELECT 1 FROM detections WHERE id = ${detectionId}`
        if (exists.length === 0) return yield* new NotFound({ message: `no detection ${detectionId}` })
        return yield* orBug(history(detectionId))
      })

    /**
     * The reads whose correction in force is `correct` (and `confirm`, if asked: reads a person
     * checked), oldest correction first, in pages: a data set for retraining recognisers.
     */
    const corrected = (options: { readonly includeConfirmed: boolean; readonly since?: Date | undefined }) => {
      const actions = options.includeConfirmed ? ["correct", "confirm"] : ["correct"]
      const page = (afterId: string) =>
        sql<CorrectedRead>`
          SELECT c.id::text AS correction_id, d.id::text AS detection_id, d.detection_id AS collector_detection_id,
                 d.detected_at, coalesce(cam.name, cam.external_id) AS camera, cam.site,
                 d.plate_text AS original_text, d.plate AS original_plate, d.confidence,
                 c.action, c.plate AS corrected_plate, c.username AS corrected_by, c.created_at AS corrected_at, c.note,
                 (SELECT array_agg(i.kind ORDER BY i.kind) FROM detection_images i WHERE i.detection_id = d.id) AS image_kinds
            FROM corrections c
            JOIN detections d ON d.id = c.detection_id
            JOIN cameras cam ON cam.id = d.camera_id
           WHERE c.id > ${afterId}::bigint
             AND c.action IN ${sql.in(actions)}
             AND NOT EXISTS (SELECT 1 FROM corrections n WHERE n.detection_id = c.detection_id AND n.id > c.id)
             ${options.since === undefined ? sql`` : sql`AND c.created_at >= ${options.since}`}
           ORDER BY c.id
           LIMIT 1000`
      return { page }
    }

    return { create, list, corrected } as const
  })
}) {}
