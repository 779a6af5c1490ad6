import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as Schema from "effect/Schema"

/** Every expected failure carries a message that tells the caller what was wrong. */
const fields = { message: Schema.String }

export class Unauthorized extends Schema.TaggedError<Unauthorized>()(
  "Unauthorized",
  fields,
  HttpApiSchema.annotations({ status: 401 })
) {}

export class NotFound extends Schema.TaggedError<NotFound>()(
  "NotFound",
  fields,
  HttpApiSchema.annotations({ status: 404 })
) {}

export class BadRequest extends Schema.TaggedError<BadRequest>()(
  "BadRequest",
  fields,
  HttpApiSchema.annotations({ status: 400 })
) {}

export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>()(
  "PayloadTooLarge",
  fields,
  HttpApiSchema.annotations({ status: 413 })
) {}

/** The body's content type is not one the endpoint takes; the message names those it does. */
export class UnsupportedMediaType extends Schema.TaggedError<UnsupportedMediaType>()(
  "UnsupportedMediaType",
  fields,
  HttpApiSchema.annotations({ status: 415 })
) {}

/** The server stored nothing of the request and asks the caller to retry after `retry_after_s`. */
export class Overloaded extends Schema.TaggedError<Overloaded>()(
  "Overloaded",
  { ...fields, retry_after_s: Schema.Number },
  HttpApiSchema.annotations({ status: 503 })
) {}

/** A partner token's quota is used up until `resets_at` (the next UTC day, or month). */
export class QuotaExceeded extends Schema.TaggedError<QuotaExceeded>()(
  "QuotaExceeded",
  { ...fields, resets_at: Schema.String, retry_after_s: Schema.Number },
  HttpApiSchema.annotations({ status: 429 })
) {}

export class ServiceUnavailable extends Schema.TaggedError<ServiceUnavailable>()(
  "ServiceUnavailable",
  fields,
  HttpApiSchema.annotations({ status: 503 })
) {}

export class ClaimCodeUnknown extends Schema.TaggedError<ClaimCodeUnknown>()(
  "ClaimCodeUnknown",
  fields,
  HttpApiSchema.annotations({ status: 404 })
) {}

export class ClaimCodeUsed extends Schema.TaggedError<ClaimCodeUsed>()(
  "ClaimCodeUsed",
  fields,
  HttpApiSchema.annotations({ status: 409 })
) {}

export class ClaimCodeExpired extends Schema.TaggedError<ClaimCodeExpired>()(
  "ClaimCodeExpired",
  fields,
  HttpApiSchema.annotations({ status: 410 })
) {}

/** A stored image no longer matches the SHA-256 recorded when it was received. */
export class ImageIntegrityError extends Schema.TaggedError<ImageIntegrityError>()(
  "ImageIntegrityError",
  fields,
  HttpApiSchema.annotations({ status: 500 })
) {}

/** Signed in, but the role does not allow this. */
export class Forbidden extends Schema.TaggedError<Forbidden>()(
  "Forbidden",
  fields,
  HttpApiSchema.annotations({ status: 403 })
) {}

/** Too many failed attempts: try again after `retry_after_s`. */
export class TooManyAttempts extends Schema.TaggedError<TooManyAttempts>()(
  "TooManyAttempts",
  { ...fields, retry_after_s: Schema.Number },
  HttpApiSchema.annotations({ status: 429 })
) {}
