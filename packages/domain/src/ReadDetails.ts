import * as Schema from "effect/Schema"
import { Alert } from "./Alerts"
import { Correction } from "./Corrections"
import { ImageKind, Source } from "./Detection"
import { DetectionItem, ReadFields } from "./Search"

/**
 * Everything known of one read, for its page (`GET /api/v1/detections/{id}/details`): the read as a
 * search shows it, its photos' hashes, what the vendor sent beside it, its corrections, its run and the
 * alerts it raised. Its own file: it holds an Alert, and the alerts' contract holds the search's fields.
 */

/** A stored photo of the read: the object store keeps it under its SHA-256, checked at every view. */
export const ReadPhoto = Schema.Struct({
  kind: ImageKind,
  content_type: Schema.String,
  size_bytes: Schema.Number,
  /** hex SHA-256 of the bytes as received */
  sha256: Schema.String,
  stored_at: Schema.String
})
export type ReadPhoto = typeof ReadPhoto.Type

/** A read of the run, as its list shows it (the camera and plate are the run's). */
export const RunRead = Schema.Struct({
  id: ReadFields.id,
  detected_at: ReadFields.detected_at,
  plate_text: ReadFields.plate_text,
  confidence: ReadFields.confidence,
  direction: ReadFields.direction,
  images: ReadFields.images
})
export type RunRead = typeof RunRead.Type

/**
 * The run the read belongs to: the same plate at the same camera, each read within 30 s of the one
 * before, starting at `first_id`. A run of one is the read alone.
 */
export const ReadRun = Schema.Struct({
  first_id: Schema.String,
  /** every read of the run */
  total: Schema.Number,
  /** the run's reads nearest the read in time (RUN_LISTED at most), oldest first; the read among them */
  reads: Schema.Array(RunRead)
})
export type ReadRun = typeof ReadRun.Type

/** A run lists at most this many of its reads. */
export const RUN_LISTED = 100

export const ReadDetails = Schema.Struct({
  read: DetectionItem,
  /** the collector the camera reports through */
  collector: Schema.Struct({ id: Schema.String, name: Schema.String }),
  photos: Schema.Array(ReadPhoto),
  /** what the vendor sent that a read has no field for, as received; null when nothing */
  source: Schema.NullOr(Source),
  /** newest (the one in force) first */
  corrections: Schema.Array(Correction),
  run: ReadRun,
  /** the alerts whose sightings include the read, of the lists the caller may see; newest first */
  alerts: Schema.Array(Alert)
})
export type ReadDetails = typeof ReadDetails.Type
