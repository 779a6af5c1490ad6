import * as Schema from "effect/Schema"

/**
 * Retention: how long each class of data is kept, by the read's own time, and what the job did. The
 * periods come from the server's settings (RETENTION_*); the database keeps them too, as the floors its
 * purge function enforces whatever the server asks.
 */

export const DataClass = Schema.Literal("scene_image", "plate_image", "detection", "nonhit")
export type DataClass = typeof DataClass.Type

/** One class of data and how long it is kept. */
export const RetentionPeriod = Schema.Struct({
  data_class: DataClass,
  label: Schema.String,
  /** the setting that sets it */
  setting: Schema.String,
  /** kept this many minutes after the read; null: no policy of its own (non-hits then keep the read's) */
  minutes: Schema.NullOr(Schema.Number),
  /** the same as people read it: "365 days", "7 years (2557 days)", "off" */
  text: Schema.String,
  /** what the database enforces as the floor (null: none), which the server cannot go below */
  enforced_minutes: Schema.NullOr(Schema.Number)
})
export type RetentionPeriod = typeof RetentionPeriod.Type

/** Derived tables and how long they are kept; none has a setting of its own. */
export const DerivedLifetime = Schema.Struct({
  table: Schema.String,
  kept: Schema.String
})
export type DerivedLifetime = typeof DerivedLifetime.Type

/** A run of the retention job. */
export const RetentionRun = Schema.Struct({
  id: Schema.String,
  started_at: Schema.String,
  finished_at: Schema.NullOr(Schema.String),
  dry_run: Schema.Boolean,
  trigger: Schema.String,
  scene_before: Schema.String,
  plate_before: Schema.String,
  detection_before: Schema.String,
  nonhit_before: Schema.NullOr(Schema.String),
  scene_images_deleted: Schema.Number,
  plate_images_deleted: Schema.Number,
  detections_deleted: Schema.Number,
  alerts_deleted: Schema.Number,
  held_skipped: Schema.Number,
  kept: Schema.Number,
  objects_removed: Schema.Number,
  error: Schema.NullOr(Schema.String)
})
export type RetentionRun = typeof RetentionRun.Type

export const RetentionStatus = Schema.Struct({
  periods: Schema.Array(RetentionPeriod),
  derived: Schema.Array(DerivedLifetime),
  /** minutes between scheduled runs; null: not scheduled (run with `alpr retention run`) */
  interval_minutes: Schema.NullOr(Schema.Number),
  /** the newest runs first */
  runs: Schema.Array(RetentionRun),
  /** active legal holds, and the reads retention had to keep at its last run */
  active_holds: Schema.Number,
  kept_reads: Schema.Number,
  /** photos whose rows are gone and whose objects the next run removes */
  pending_objects: Schema.Number
})
export type RetentionStatus = typeof RetentionStatus.Type
