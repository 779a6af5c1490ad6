import type { Role } from "@chaverim/domain/Auth"
import { Correction } from "@chaverim/domain/Corrections"
import { ImageKind, Source } from "@chaverim/domain/Detection"
import { NotFound } from "@chaverim/domain/Errors"
import type { ReasonParams } from "@chaverim/domain/Reason"
import { type ReadDetails, RUN_LISTED } from "@chaverim/domain/ReadDetails"
import type { DetectionItem } from "@chaverim/domain/Search"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { alertFrom, alertOf, AlertRow, visibleTo } from "../alerts/Views"
import { Audit } from "../audit/Audit"
import { givenReason, makeReasonOf, reasonDetails } from "../audit/Reason"
import type { Actor, RequestInfo } from "../auth/Accounts"
import { Count, IsoTime, orBug } from "../db/Rows"
import { imageLinks } from "../images/Images"

/** Who opens the page: the audit's actor, and the role that decides which alerts they may see. */
export interface ReadViewer extends Actor {
  readonly role: Role
}

const PhotoRow = Schema.Struct({
  kind: ImageKind,
  content_type: Schema.String,
  size_bytes: Schema.Number,
  sha256: Schema.String,
  stored_at: IsoTime
})

const FactsRow = Schema.Struct({
  collector_name: Schema.String,
  source: Schema.NullOr(Source),
  run_first: Schema.String,
  run_total: Count
})

const RunRow = Schema.Struct({
  id: Schema.String,
  detected_at: IsoTime,
  plate_text: Schema.String,
  confidence: Schema.Number,
  direction: Schema.NullOr(Schema.String),
  image_kinds: Schema.NullOr(Schema.Array(Schema.String))
})

const CorrectionRow = Schema.Struct({ ...Correction.fields, at: IsoTime })

/**
 * A read's page: the read as a search shows it (`findRead`, unaudited: this audits the whole page once),
 * and what lies around it. One audit row (action `search`, mode `read_page`), found or not.
 */
export const makeReadDetails = (findRead: (id: number) => Effect.Effect<DetectionItem | undefined>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const audit = yield* Audit
    const reasonOf = yield* makeReasonOf

    const photos = SqlSchema.findAll({
      Request: Schema.Number,
      Result: PhotoRow,
      execute: (id) =>
        sql`SELECT kind, content_type, size_bytes, sha256, created_at AS stored_at
              FROM detection_images WHERE detection_id = ${id} ORDER BY kind`
    })

    /** The collector, the vendor's extra data, and the run's first read and size. */
    const facts = SqlSchema.findOne({
      Request: Schema.Number,
      Result: FactsRow,
      execute: (id) =>
        sql`SELECT o.name AS collector_name, d.raw -> 'source' AS source,
                   coalesce(d.duplicate_of, d.id)::text AS run_first,
                   (SELECT count(*) FROM detections m
                     WHERE m.id = coalesce(d.duplicate_of, d.id) OR m.duplicate_of = coalesce(d.duplicate_of, d.id)) AS run_total
              FROM detections d JOIN collectors o ON o.id = d.collector_id
             WHERE d.id = ${id}`
    })

    /**
     * The run's reads nearest the read in time, oldest first: a car parked in front of a camera makes
     * a run of thousands, and the page wants the read's neighbours. The first read by its primary key,
     * the others by the run index (`detections_duplicate_of`).
     */
    const runReads = SqlSchema.findAll({
      Request: Schema.Struct({ first: Schema.String, at: Schema.String }),
      Result: RunRow,
      execute: ({ at, first }) =>
        sql`SELECT * FROM (
              SELECT d.id::text AS id, d.detected_at, d.plate_text, d.confidence, d.direction,
                     (SELECT array_agg(i.kind ORDER BY i.kind) FROM detection_images i WHERE i.detection_id = d.id) AS image_kinds
                FROM detections d
               WHERE d.id = ${first}::bigint OR d.duplicate_of = ${first}::bigint
               ORDER BY abs(extract(epoch FROM d.detected_at - ${at}::timestamptz)), d.id
               LIMIT ${RUN_LISTED}) r
            ORDER BY r.detected_at, r.id::bigint`
    })

    const corrections = SqlSchema.findAll({
      Request: Schema.Number,
      Result: CorrectionRow,
      execute: (id) =>
        sql`SELECT id::text AS id, detection_id::text AS detection_id, action, plate_text, plate, note,
                   username AS "by", created_at AS "at"
              FROM corrections WHERE detection_id = ${id} ORDER BY id DESC`
    })

    /** The alerts with a sighting of the read, of the lists the viewer may see (`alerts/Views.ts`). */
    const alerts = (id: number, viewer: ReadViewer) =>
      SqlSchema.findAll({
        Request: Schema.Number,
        Result: AlertRow,
        execute: (detectionId) =>
          sql`${alertFrom(sql)}
               WHERE a.id IN (SELECT s.alert_id FROM alert_sightings s WHERE s.detection_id = ${detectionId})
                 AND ${visibleTo(sql, viewer)}
               ORDER BY a.created_at DESC, a.id DESC`
      })(id)

    return (id: number, given: ReasonParams, user: ReadViewer, request: RequestInfo) =>
      Effect.gen(function*() {
        const reason = yield* reasonOf(givenReason(given), "search")
        const read = yield* findRead(id)
        const details: ReadDetails | undefined = read === undefined ? undefined : yield* Effect.gen(function*() {
          const known = yield* orBug(facts(id))
          // The read was just found: its row is there (reads are deleted only by retention's purge).
          if (Option.isNone(known)) return yield* Effect.dieMessage(`read ${id} went while its page was read`)
          const [stored, run, corrected, raised] = yield* Effect.all([
            orBug(photos(id)),
            orBug(runReads({ first: known.value.run_first, at: read.detected_at })),
            orBug(corrections(id)),
            orBug(alerts(id, user))
          ], { concurrency: 2 })
          return {
            read,
            collector: { id: read.camera.collector_id, name: known.value.collector_name },
            photos: stored,
            source: known.value.source,
            corrections: corrected,
            run: {
              first_id: known.value.run_first,
              total: known.value.run_total,
              reads: run.map(({ image_kinds, ...r }) => ({ ...r, images: imageLinks(r.id, image_kinds) }))
            },
            alerts: raised.map(alertOf)
          }
        })
        yield* audit.record({
          actor: user,
          address: request.address,
          action: "search",
          target: `detection:${id}`,
          reason: reason.text,
          details: {
            ...reasonDetails(reason),
            mode: "read_page",
            detection: String(id),
            results: details === undefined ? 0 : 1,
            ...(details === undefined ? {} : {
              run: details.run.total,
              run_listed: details.run.reads.length,
              alerts: details.alerts.length,
              corrections: details.corrections.length
            })
          },
          outcome: "success"
        })
        if (details === undefined) return yield* new NotFound({ message: `there is no read ${id}` })
        return details
      })
  })
