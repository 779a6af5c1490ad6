import type { ConvoyMatch, ConvoyParams, ConvoyResult } from "@chaverim/domain/Investigation"
import { ocrKey } from "@chaverim/domain/Plate"
import { CameraRef, plateDifferences } from "@chaverim/domain/Search"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { Actor, RequestInfo } from "../auth/Accounts"
import { iso, IsoTimeFromText, orBug } from "../db/Rows"
import { type Inquiry, plateOf, Range, rangeOf } from "./Inquiry"
import { poissonSurprise, round } from "./Statistics"

/** Convoy work grows with the period (each candidate's own reads are counted over it). */
const CONVOY_MAX_RANGE_DAYS = 31
/** Reads of the target a convoy search looks around: the newest this many. */
export const CONVOY_READS_CAP = 2_000
/** Candidates whose own rates are counted: the ones seen with the target at most cameras, then most often. */
const CONVOY_SCORED_MAX = 200
/**
 * A candidate's own rate at a camera is counted over its reads in the period, or, when it has more than
 * this many, over the span of its newest this many: frequent plates are the usual candidates, and reading
 * all of a bus's reads for a month costs far more than the estimate gains.
 */
const RATE_SAMPLE = 100
const EVIDENCE_MAX = 100

/** The counts a convoy search scores from, in one row (its lists as JSON). */
const ConvoyRow = Schema.Struct({
  /** at most CONVOY_READS_CAP + 1 */
  target_reads: Schema.Number,
  target_passes: Schema.Number,
  candidates: Schema.Number,
  scored: Schema.Number,
  /** the target's passes per camera, with the camera */
  target_cameras: Schema.Array(Schema.Struct({ ...CameraRef.pick("id", "name", "site").fields, passes: Schema.Number })),
  /** the joint sightings of the scored plates */
  evidence: Schema.Array(Schema.Struct({
    plate: Schema.String,
    camera_id: Schema.String,
    target_id: Schema.String,
    target_at: IsoTimeFromText,
    id: Schema.String,
    detected_at: IsoTimeFromText
  })),
  /** each scored plate's passes at the target's cameras, counted over its reads in the period or its newest RATE_SAMPLE */
  rates: Schema.Array(Schema.Struct({ plate: Schema.String, camera_id: Schema.String, passes: Schema.Number })),
  /** the plates counted over their newest RATE_SAMPLE reads only, with the oldest of those */
  sampled: Schema.Array(Schema.Struct({ plate: Schema.String, since: Schema.String }))
})
type Evidence = typeof ConvoyRow.Type["evidence"][number]

/**
 * One statement, driven by the target's passes:
 * - `target`: the target's newest CONVOY_READS_CAP reads in the period (index `(plate, detected_at)`),
 *   one row per pass (a run of reads at one camera, by `duplicate_of`);
 * - `near`: for each pass, the reads at the same camera within the window (index
 *   `(camera_id, detected_at)`, one range scan per pass; DISTINCT ON keeps the LATERAL from being
 *   flattened into a hash join over the whole table), the closest read of each other plate;
 * - `candidates`: plates near the target at `min_cameras` distinct cameras or more; the best-placed
 *   CONVOY_SCORED_MAX of them are `scored`;
 * - `recent`: each scored plate's newest RATE_SAMPLE reads in the period (index `(plate, detected_at)`,
 *   one bounded range scan per plate), from which `rates` counts its passes at the target's cameras.
 * The score is then computed here from the counts.
 */
export const makeConvoy = ({ inRange, reasonOf, record, sql }: Inquiry) => {
  const countsOf = SqlSchema.single({
    Request: Schema.Struct({ plate: Schema.String, range: Range, window: Schema.Number, minCameras: Schema.Number }),
    Result: ConvoyRow,
    execute: ({ minCameras, plate, range, window }) =>
      sql`
        WITH target_reads AS MATERIALIZED (
          SELECT id, camera_id, detected_at, duplicate_of
            FROM detections
           WHERE ${inRange(plate, range)}
           ORDER BY detected_at DESC, id DESC
           LIMIT ${CONVOY_READS_CAP + 1}
        ),
        target AS MATERIALIZED (
          SELECT camera_id, min(detected_at) AS first_at, max(detected_at) AS last_at,
                 (array_agg(id ORDER BY detected_at, id))[1] AS target_id
            FROM (SELECT * FROM target_reads ORDER BY detected_at DESC, id DESC LIMIT ${CONVOY_READS_CAP}) r
           GROUP BY coalesce(duplicate_of, id), camera_id
        ),
        near AS MATERIALIZED (
          SELECT t.target_id, t.first_at AS target_at, t.camera_id, n.plate, n.id, n.detected_at
            FROM target t
            CROSS JOIN LATERAL (
              SELECT DISTINCT ON (d.plate) d.plate, d.id, d.detected_at
                FROM detections d
               WHERE d.camera_id = t.camera_id
                 AND d.detected_at >= t.first_at - make_interval(secs => ${window}::int)
                 AND d.detected_at <= t.last_at + make_interval(secs => ${window}::int)
                 -- Implied by the two above (the target's reads lie in the range); spelled out so that the
                 -- statement is planned against the range's months only (reads are partitioned by month).
                 AND d.detected_at >= ${range.from}::timestamptz - make_interval(secs => ${window}::int)
                 AND d.detected_at <= ${range.to}::timestamptz + make_interval(secs => ${window}::int)
                 AND d.plate <> ${plate} AND d.plate_ocr <> ${ocrKey(plate)}
               ORDER BY d.plate, abs(extract(epoch FROM d.detected_at - t.first_at)), d.id
            ) n
        ),
        candidates AS MATERIALIZED (
          SELECT plate, count(DISTINCT camera_id) AS cameras, count(*) AS occasions
            FROM near
           GROUP BY plate
          HAVING count(DISTINCT camera_id) >= ${minCameras}::int
        ),
        scored AS MATERIALIZED (
          SELECT plate FROM candidates ORDER BY cameras DESC, occasions DESC, plate LIMIT ${CONVOY_SCORED_MAX}
        ),
        recent AS MATERIALIZED (
          SELECT s.plate, r.camera_id, r.id, r.duplicate_of, r.detected_at
            FROM scored s
            CROSS JOIN LATERAL (
              SELECT d.camera_id, d.id, d.duplicate_of, d.detected_at
                FROM detections d
               WHERE d.plate = s.plate AND d.detected_at >= ${range.from} AND d.detected_at < ${range.to}
               ORDER BY d.detected_at DESC
               LIMIT ${RATE_SAMPLE}
            ) r
        )
        SELECT
          (SELECT count(*) FROM target_reads)::int AS target_reads,
          (SELECT count(*) FROM target)::int AS target_passes,
          (SELECT count(*) FROM candidates)::int AS candidates,
          (SELECT count(*) FROM scored)::int AS scored,
          (SELECT coalesce(json_agg(json_build_object('id', c.id, 'name', c.name, 'site', c.site, 'passes', t.passes)), '[]'::json)
             FROM (SELECT camera_id, count(*)::int AS passes FROM target GROUP BY camera_id) t
             JOIN cameras c ON c.id = t.camera_id) AS target_cameras,
          (SELECT coalesce(json_agg(json_build_object(
                    'plate', n.plate, 'camera_id', n.camera_id, 'target_id', n.target_id::text, 'target_at', n.target_at,
                    'id', n.id::text, 'detected_at', n.detected_at
                  ) ORDER BY n.plate, n.target_at, n.target_id), '[]'::json)
             FROM near n JOIN scored s ON s.plate = n.plate) AS evidence,
          (SELECT coalesce(json_agg(r), '[]'::json)
             FROM (SELECT plate, camera_id, count(DISTINCT coalesce(duplicate_of, id))::int AS passes
                     FROM recent
                    WHERE camera_id IN (SELECT camera_id FROM target)
                    GROUP BY plate, camera_id) r) AS rates,
          (SELECT coalesce(json_agg(s), '[]'::json)
             FROM (SELECT plate, min(detected_at) AS since
                     FROM recent GROUP BY plate HAVING count(*) >= ${RATE_SAMPLE}) s) AS sampled`
  })

  return Effect.fn("Investigation.convoy")(function*(
    typed: string,
    params: ConvoyParams,
    user: Actor,
    request: RequestInfo
  ) {
    const reason = yield* reasonOf(params)
    const plate = yield* plateOf(typed)
    const range = yield* rangeOf(params, CONVOY_MAX_RANGE_DAYS)
    const window = params.window_s
    const row = yield* countsOf({ plate, range, window, minCameras: params.min_cameras }).pipe(
      orBug,
      Effect.catchTag("NoSuchElementException", () => Effect.dieMessage("an aggregate returned no row"))
    )

    const periodS = (range.to.getTime() - range.from.getTime()) / 1000
    const targetCameras = row.target_cameras
    const cameraOf = new Map(targetCameras.map((c) => [c.id, c]))
    const nameOf = (id: string) => {
      const c = cameraOf.get(id)!
      return { id: c.id, name: c.name, site: c.site }
    }
    const passesOf = new Map(row.rates.map((r) => [`${r.plate}\u0000${r.camera_id}`, r.passes]))
    const sinceOf = new Map(row.sampled.map((s) => [s.plate, Date.parse(s.since)]))
    const byPlate = new Map<string, Array<Evidence>>()
    for (const e of row.evidence) {
      const list = byPlate.get(e.plate)
      if (list === undefined) byPlate.set(e.plate, [e])
      else list.push(e)
    }

    const matches: Array<ConvoyMatch> = []
    for (const [other, evidence] of byPlate) {
      const since = sinceOf.get(other)
      const countedS = since === undefined ? periodS : Math.max(1, (range.to.getTime() - since) / 1000)
      const joint = new Map<string, number>()
      for (const e of evidence) joint.set(e.camera_id, (joint.get(e.camera_id) ?? 0) + 1)
      // At each of the target's cameras: the plate's own rate there (half a pass added, so that a camera
      // it was not counted at still gets a rate in proportion to how busy the plate is, and never below
      // what the joint passes alone make it), the chance of a pass within +/- window of a given moment,
      // and so the joint sightings expected by chance over the target's passes there.
      const expectedAt = new Map<string, number>()
      for (const camera of targetCameras) {
        const passes = passesOf.get(`${other}\u0000${camera.id}`) ?? 0
        const rate = Math.max((passes + 0.5) / countedS, (joint.get(camera.id) ?? 0) / periodS)
        expectedAt.set(camera.id, camera.passes * -Math.expm1(-rate * 2 * window))
      }
      const expected = [...expectedAt.values()].reduce((a, b) => a + b, 0)
      matches.push({
        plate: other,
        score: round(poissonSurprise(evidence.length, expected), 3),
        cameras: joint.size,
        occasions: evidence.length,
        expected: Number(expected.toPrecision(4)),
        counted_days: round(countedS / 86_400, 3),
        possible_misread: plateDifferences(plate, other).length <= 1,
        per_camera: [...joint]
          .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1))
          .map(([cameraId, n]) => ({
            camera: nameOf(cameraId),
            joint: n,
            target_passes: cameraOf.get(cameraId)!.passes,
            plate_passes: passesOf.get(`${other}\u0000${cameraId}`) ?? 0,
            expected: Number(expectedAt.get(cameraId)!.toPrecision(4))
          })),
        evidence: evidence.slice(0, EVIDENCE_MAX).map((e) => ({
          camera: nameOf(e.camera_id),
          target: { id: e.target_id, detected_at: e.target_at },
          sighting: { id: e.id, detected_at: e.detected_at },
          offset_s: round((Date.parse(e.detected_at) - Date.parse(e.target_at)) / 1000, 3)
        }))
      })
    }
    matches.sort((a, b) => b.score - a.score || b.cameras - a.cameras || b.occasions - a.occasions || (a.plate < b.plate ? -1 : 1))

    const result: ConvoyResult = {
      plate,
      from: iso(range.from),
      to: iso(range.to),
      window_s: window,
      min_cameras: params.min_cameras,
      target_passes: row.target_passes,
      cap: CONVOY_READS_CAP,
      capped: row.target_reads > CONVOY_READS_CAP,
      candidates: row.candidates,
      scored: row.scored,
      items: matches.slice(0, params.limit)
    }
    yield* record(user, request, "investigate.convoy", `plate:${plate}`, reason, {
      plate: typed,
      from: result.from,
      to: result.to,
      window_s: window,
      min_cameras: params.min_cameras,
      limit: params.limit,
      results: result.items.length,
      candidates: result.candidates
    })
    return result
  })
}
