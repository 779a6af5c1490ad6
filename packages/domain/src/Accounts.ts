import * as Schema from "effect/Schema"
import { Role } from "./Auth"

/** Letters, digits and `. _ - @`, 1 to 64 of them; case does not make a second account. */
export const Username = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9._@-]{1,64}$/, {
    message: () => "a username is 1 to 64 letters, digits or . _ - @"
  })
)

/** Long enough to resist guessing, short enough that hashing it cannot be used to exhaust the server. */
export const NewPassword = Schema.String.pipe(
  Schema.minLength(12, { message: () => "a password has at least 12 characters" }),
  Schema.maxLength(256, { message: () => "a password has at most 256 characters" })
)

/** What is typed at sign-in; checked against the hash, never against rules. */
const TypedPassword = Schema.String.pipe(Schema.maxLength(1024))

export const TotpCode = Schema.String.pipe(
  Schema.pattern(/^\d{6}$/, { message: () => "a TOTP code is six digits" })
)

/** `XXXX-XXXX-XXXX-XXXX` in Crockford base32; case and separators are forgiven. */
export const RecoveryCode = Schema.String.pipe(Schema.maxLength(64))

export const LoginRequest = Schema.Struct({
  username: Schema.String.pipe(Schema.maxLength(256)),
  password: TypedPassword
})

export const LoginResponse = Schema.Union(
  Schema.Struct({
    status: Schema.Literal("totp_required"),
    password_change_required: Schema.Boolean
  }),
  Schema.Struct({
    status: Schema.Literal("totp_enrollment_required"),
    otpauth_url: Schema.String,
    secret: Schema.String,
    password_change_required: Schema.Boolean
  })
)
export type LoginResponse = typeof LoginResponse.Type

/**
 * The second step: a TOTP code, or one of the recovery codes (not at enrolment). A user still on a
 * one-time password sets `new_password` here, in the same step.
 */
export const TotpRequest = Schema.Struct({
  code: Schema.optional(TotpCode),
  recovery_code: Schema.optional(RecoveryCode),
  new_password: Schema.optional(NewPassword)
})

export const Me = Schema.Struct({
  user_id: Schema.UUID,
  username: Schema.String,
  role: Role,
  /** Sent back in `X-CSRF-Token` with every state-changing request made with the session cookie. */
  csrf_token: Schema.String,
  expires_at: Schema.String,
  /** a wall display's session (see `PairRequest`): the web app shows it the wall and nothing else */
  display: Schema.Boolean
})
export type Me = typeof Me.Type

/**
 * Pairing a wall screen: the code an admin made for the display (`displays.create`/`newCode`), typed on
 * the screen. Answered with the display's session cookie; wrong codes count against the address as
 * wrong passwords do.
 */
export const PairRequest = Schema.Struct({
  code: Schema.String.pipe(Schema.maxLength(32, { message: () => "a pairing code is at most 32 characters" }))
})

export const TotpResponse = Schema.Struct({
  user: Me,
  /** Only at enrolment: ten single-use codes, shown once. */
  recovery_codes: Schema.optional(Schema.Array(Schema.String)),
  recovery_codes_left: Schema.Number
})

export const PasswordChange = Schema.Struct({
  current_password: TypedPassword,
  new_password: NewPassword
})

export const CSRF_HEADER = "x-csrf-token"
