import { type AlprDatabaseError, parseAlprDatabaseJson } from "@chaverim/domain/AlprDatabase"
import * as Either from "effect/Either"
import { type CameraContext, type Parsed, PayloadError } from "./CameraRead"
import { decodeText, type Decoded } from "./decode"
import { cameraRef, collect, image, lowerAttribute } from "./reads"

/**
 * Blue Iris, through the body its alert action sends to ALPR-Database (`POST /api/plate-reads`):
 * JSON with `ai_dump` (CodeProject.AI's results), `memo` or `plate_number`, `Image` (base64),
 * `camera`, `timestamp`, `ALERT_PATH`, `ALERT_CLIP`. The body is read by the domain's shared parser
 * (packages/domain/src/AlprDatabase.ts), which the central server's `/api/plate-reads` uses too.
 *
 * One read per plate, with its confidence and the vehicle label the other models gave. `Image` is
 * every read's scene photo, typed by its bytes. Time: `timestamp`; a body without one is timed when
 * parsed, as ALPR-Database does (so a re-send of such a body is a new read).
 * Identity: no id per plate, so a fingerprint; the camera is the configuration's, else
 * `blueiris:<camera>`. ALERT_PATH and ALERT_CLIP have no place in a Detection and are not carried
 * from the edge.
 */

const VENDOR = "blueiris"

const refused = (error: AlprDatabaseError) => new PayloadError({ vendor: VENDOR, message: error.message })

export const parseBlueIris = (body: Uint8Array, ctx: CameraContext): Decoded<Parsed> =>
  Either.gen(function*() {
    const push = yield* Either.mapLeft(parseAlprDatabaseJson(yield* decodeText(VENDOR, body), new Date()), refused)
    const scene = push.image === undefined ? undefined : yield* image(VENDOR, "scene", "Image", push.image)
    const camera = cameraRef(VENDOR, ctx, { key: push.camera, name: push.camera })
    return yield* collect(
      VENDOR,
      push.reads.map((read) => ({
        timestamp: push.timestamp,
        camera,
        plate: read.plate,
        confidence: read.confidence,
        vehicle: { type: lowerAttribute(read.vehicle) },
        location: ctx.location,
        images: [scene],
        // ALERT_PATH, ALERT_CLIP, the AI dump: the body but its image, as the server keeps it.
        source: push.kept
      }))
    )
  })
