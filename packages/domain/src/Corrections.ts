import * as Schema from "effect/Schema"

export const CorrectionAction = Schema.Literal("confirm", "correct", "reject")
export type CorrectionAction = typeof CorrectionAction.Type

/** What an operator says of a read: it is right, it is this plate instead, or it is no plate at all. */
export const CorrectionRequest = Schema.Struct({
  action: CorrectionAction,
  /** required with `correct`: the plate as it really is */
  plate: Schema.optional(Schema.String.pipe(Schema.maxLength(32, { message: () => "plate is at most 32 characters" }))),
  note: Schema.optional(Schema.String.pipe(Schema.maxLength(500, { message: () => "note is at most 500 characters" })))
})

export const Correction = Schema.Struct({
  id: Schema.String,
  detection_id: Schema.String,
  action: CorrectionAction,
  plate_text: Schema.NullOr(Schema.String),
  plate: Schema.NullOr(Schema.String),
  note: Schema.NullOr(Schema.String),
  by: Schema.String,
  at: Schema.String
})
export type Correction = typeof Correction.Type
