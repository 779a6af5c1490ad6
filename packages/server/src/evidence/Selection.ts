import type { ExportRequest, ExportSelection } from "@chaverim/domain/Evidence"
import { BadRequest, NotFound } from "@chaverim/domain/Errors"
import { normalizePlate } from "@chaverim/domain/Plate"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { Count, Int8Text, orBug } from "../db/Rows"

/** Which reads an export holds, as asked for. */
export type Selection =
  | { readonly kind: "plate"; readonly plate: string; readonly withCorrections: boolean }
  | { readonly kind: "detections"; readonly ids: ReadonlyArray<string> }
  | { readonly kind: "camera"; readonly cameraId: string; readonly from: Date; readonly to: Date }

const bad = (message: string) => new BadRequest({ message })

/** Exactly one way of choosing reads, with only the fields that go with it. */
export const selectionOf = (request: ExportRequest): Effect.Effect<Selection, BadRequest> => {
  const given = [
    request.plate !== undefined && "plate",
    request.detections !== undefined && "detections",
    request.camera_id !== undefined && "camera_id"
  ].filter((x): x is string => x !== false)
  if (given.length !== 1) {
    return Effect.fail(bad(
      given.length === 0
        ? "say which reads to export: plate, detections, or camera_id with from and to"
        : `give one of plate, detections or camera_id, not ${given.join(" and ")}`
    ))
  }
  if (request.with_corrections !== undefined && request.plate === undefined) {
    return Effect.fail(bad("with_corrections goes with plate"))
  }
  if ((request.from !== undefined || request.to !== undefined) && request.camera_id === undefined) {
    return Effect.fail(bad("from and to go with camera_id"))
  }
  if (request.plate !== undefined) {
    const plate = normalizePlate(request.plate)
    return plate === ""
      ? Effect.fail(bad("plate has no letters or digits"))
      : Effect.succeed({ kind: "plate", plate, withCorrections: request.with_corrections ?? false })
  }
  if (request.detections !== undefined) {
    return Effect.succeed({ kind: "detections", ids: [...new Set(request.detections)] })
  }
  const { from, to } = request
  if (from === undefined || to === undefined) return Effect.fail(bad("camera_id needs from and to"))
  if (!(from.getTime() < to.getTime())) return Effect.fail(bad("from must be before to"))
  return Effect.succeed({ kind: "camera", cameraId: request.camera_id!, from, to })
}

/** The selection as the export's record and bundle tell it. */
export const describeSelection = (selection: Selection): ExportSelection => {
  switch (selection.kind) {
    case "plate":
      return { kind: "plate", plate: selection.plate, with_corrections: selection.withCorrections }
    case "detections":
      return { kind: "detections", detection_ids: selection.ids }
    case "camera":
      return { kind: "camera", camera_id: selection.cameraId, from: selection.from.toISOString(), to: selection.to.toISOString() }
  }
}

/** The ids of the reads selected, oldest first. Refuses an empty selection (404) and one over `maxReads` (400). */
export const selectReads = (selection: Selection, limits: { readonly maxReads: number; readonly maxPhotoBytes: number }) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const limit = limits.maxReads + 1
    const ids = SqlSchema.findAll({
      Request: Schema.Void,
      Result: Schema.Struct({ id: Int8Text }),
      execute: () => {
        switch (selection.kind) {
          case "plate":
            return selection.withCorrections
              ? sql`
                  SELECT s.id FROM (
                    SELECT d.id, d.detected_at FROM detections d WHERE d.plate = ${selection.plate}
                    UNION
                    SELECT d.id, d.detected_at
                      FROM corrections c JOIN detections d ON d.id = c.detection_id
                     WHERE c.action = 'correct' AND c.plate = ${selection.plate}
                       AND NOT EXISTS (SELECT 1 FROM corrections n WHERE n.detection_id = c.detection_id AND n.id > c.id)
                  ) s
                  ORDER BY s.detected_at, s.id LIMIT ${limit}`
              : sql`SELECT id FROM detections WHERE plate = ${selection.plate} ORDER BY detected_at, id LIMIT ${limit}`
          case "detections":
            return sql`
              SELECT id FROM detections
               WHERE id = ANY(string_to_array(${selection.ids.join(",")}, ',')::bigint[])
               ORDER BY detected_at, id`
          case "camera":
            return sql`
              SELECT id FROM detections
               WHERE camera_id = ${selection.cameraId}
                 AND detected_at >= ${selection.from} AND detected_at < ${selection.to}
               ORDER BY detected_at, id LIMIT ${limit}`
        }
      }
    })
    if (selection.kind === "camera") {
      const camera = yield* orBug(SqlSchema.findOne({
        Request: Schema.Void,
        Result: Schema.Struct({ id: Schema.String }),
        execute: () => sql`SELECT id FROM cameras WHERE id = ${selection.cameraId}`
      })(undefined))
      if (Option.isNone(camera)) return yield* new NotFound({ message: `there is no camera ${selection.cameraId}` })
    }
    const found = (yield* orBug(ids(undefined))).map((row) => row.id)
    if (selection.kind === "detections") {
      const known = new Set(found)
      const unknown = selection.ids.filter((id) => !known.has(id))
      if (unknown.length > 0) {
        return yield* new NotFound({
          message: `no read has the id ${unknown.slice(0, 10).join(", ")}${unknown.length > 10 ? ` (and ${unknown.length - 10} more)` : ""}`
        })
      }
    }
    if (found.length === 0) return yield* new NotFound({ message: "no reads match: there is nothing to export" })
    if (found.length > limits.maxReads) {
      return yield* bad(
        `the selection holds more than ${limits.maxReads} reads, the most one export may hold (EVIDENCE_MAX_READS): ` +
          "narrow it (a shorter time range, or a list of reads)"
      )
    }
    const photos = yield* orBug(SqlSchema.single({
      Request: Schema.Void,
      Result: Schema.Struct({ bytes: Count }),
      execute: () =>
        sql`
          SELECT coalesce(sum(size_bytes), 0) AS bytes FROM detection_images
           WHERE detection_id = ANY(string_to_array(${found.join(",")}, ',')::bigint[])`
    })(undefined)).pipe(Effect.catchTag("NoSuchElementException", Effect.die))
    if (photos.bytes > limits.maxPhotoBytes) {
      return yield* bad(
        `the selection's photos take ${(photos.bytes / 1048576).toFixed(1)} MiB, more than one export may hold ` +
          `(${(limits.maxPhotoBytes / 1048576).toFixed(1)} MiB, EVIDENCE_MAX_PHOTO_MB): narrow it`
      )
    }
    return found
  })
