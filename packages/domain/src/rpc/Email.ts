/**
 * E-mail: everyone signed in keeps their own address and what they get by e-mail (a list, or a whole
 * category of lists they may see); admins keep the SMTP settings and send a test message. The SMTP
 * password is written, never read back: the settings say only whether one is set.
 */
import * as Rpc from "@effect/rpc/Rpc"
import * as RpcGroup from "@effect/rpc/RpcGroup"
import * as Schema from "effect/Schema"
import { BadRequest, Forbidden, NotFound } from "../Errors"
import { WatchlistCategory } from "../Watchlist"
import { RequiredRole, RpcSession, uuid } from "./Common"

const ADDRESS = /^[^\s@<>,;"()[\]\\]+@[^\s@<>,;"()[\]\\]+\.[^\s@<>,;"()[\]\\]+$/

/** One plain address, `name@example.org`: no display name, no spaces, nothing that could start another header. */
export const EmailAddress = Schema.Trim.pipe(
  Schema.maxLength(254, { message: () => "an e-mail address is at most 254 characters" }),
  Schema.filter((address) => ADDRESS.test(address) || `"${address.slice(0, 60)}" is not an e-mail address (name@example.org)`)
).annotations({
  // random text is seldom an address: property tests draw from real-looking ones
  arbitrary: () => (fc) => fc.tuple(fc.stringMatching(/^[a-z][a-z0-9.]{0,20}$/), fc.domain()).map(([local, host]) => `${local}@${host}`)
})

/** smtp://host:port or smtps://host:port; credentials go in their own fields. */
export const SmtpUrl = Schema.Trim.pipe(
  Schema.maxLength(500, { message: () => "smtp_url is at most 500 characters" }),
  Schema.filter((url) =>
    /^smtps?:\/\/[^\s/@]+(:\d+)?\/?$/i.test(url) ||
    "smtp_url is smtp://host:port or smtps://host:port (the user name and password go in their own fields)"
  )
)

/** The sender: `alerts@example.org` or `Chaverim ALPR <alerts@example.org>`, one line. */
export const SmtpFrom = Schema.Trim.pipe(
  Schema.maxLength(300, { message: () => "from is at most 300 characters" }),
  Schema.filter((from) =>
    (!/[\r\n]/.test(from) && (ADDRESS.test(from) || /^[^<>\r\n]*<[^\s@<>]+@[^\s@<>]+>$/.test(from))) ||
    "from is an address, or a name and <address>"
  )
)

const BatchSeconds = Schema.Int.pipe(Schema.between(0, 3600, { message: () => "batch_seconds is 0 to 3600" }))

/** Where a setting in force comes from: the server's environment wins over the admin panel. */
export const SettingSource = Schema.Literal("environment", "admin", "default", "unset")

/** The SMTP settings as admins see them: in force, and where each comes from; the password only as set or not. */
export const EmailSettings = Schema.Struct({
  /** SMTP_URL and SMTP_FROM are set (here or in the environment): e-mail goes out */
  enabled: Schema.Boolean,
  /** without credentials */
  smtp_url: Schema.NullOr(Schema.String),
  smtp_username: Schema.NullOr(Schema.String),
  smtp_password: Schema.Literal("set", "not set"),
  from: Schema.NullOr(Schema.String),
  batch_seconds: Schema.Number,
  sources: Schema.Struct({
    smtp_url: SettingSource,
    smtp_username: SettingSource,
    smtp_password: SettingSource,
    from: SettingSource,
    batch_seconds: SettingSource
  }),
  updated_at: Schema.String
})
export type EmailSettings = typeof EmailSettings.Type

/** What the panel changes; a field left out stays, null clears it. */
export const EmailSettingsUpdate = Schema.Struct({
  smtp_url: Schema.optional(Schema.NullOr(SmtpUrl)),
  smtp_username: Schema.optional(Schema.NullOr(Schema.String.pipe(
    Schema.minLength(1, { message: () => "smtp_username must not be empty (null clears it)" }),
    Schema.maxLength(200, { message: () => "smtp_username is at most 200 characters" })
  ))),
  smtp_password: Schema.optional(Schema.NullOr(Schema.String.pipe(
    Schema.minLength(1, { message: () => "smtp_password must not be empty (null clears it)" }),
    Schema.maxLength(500, { message: () => "smtp_password is at most 500 characters" })
  ))),
  from: Schema.optional(Schema.NullOr(SmtpFrom)),
  batch_seconds: Schema.optional(Schema.NullOr(BatchSeconds))
})
export type EmailSettingsUpdate = typeof EmailSettingsUpdate.Type

/** What the SMTP server answered the test message (or why it could not be sent). */
export const EmailTestResult = Schema.Struct({
  ok: Schema.Boolean,
  /** the server's last answer, e.g. `250 2.0.0 Ok: queued`, or the error */
  message: Schema.String,
  elapsed_ms: Schema.Number
})
export type EmailTestResult = typeof EmailTestResult.Type

/** A person's e-mail: their address and what they get. */
export const EmailMe = Schema.Struct({
  address: Schema.NullOr(Schema.String),
  watchlist_ids: Schema.Array(Schema.String),
  categories: Schema.Array(WatchlistCategory),
  /** whether the server sends e-mail at all (SMTP configured) */
  enabled: Schema.Boolean
})
export type EmailMe = typeof EmailMe.Type

/** One list, or one category (all the lists of it the person may see). */
export const EmailSubscription = Schema.Union(
  Schema.Struct({ watchlist_id: uuid("watchlist_id") }),
  Schema.Struct({ category: WatchlistCategory })
)
export type EmailSubscription = typeof EmailSubscription.Type

export class EmailRpcs extends RpcGroup.make(
  /** The caller's address and subscriptions. */
  Rpc.make("email.me", { success: EmailMe }).annotate(RequiredRole, "viewer"),
  /** Sets (or with null, removes) the caller's own address. */
  Rpc.make("email.setAddress", {
    payload: { address: Schema.NullOr(EmailAddress) },
    success: EmailMe
  }).annotate(RequiredRole, "viewer"),
  /** E-mail for a list the caller may see, or for a category; subscribing twice changes nothing. */
  Rpc.make("email.subscribe", {
    payload: EmailSubscription,
    success: EmailMe,
    error: Schema.Union(NotFound, Forbidden)
  }).annotate(RequiredRole, "viewer"),
  Rpc.make("email.unsubscribe", { payload: EmailSubscription, success: EmailMe }).annotate(RequiredRole, "viewer"),
  /** The SMTP settings in force (the password only as set or not). */
  Rpc.make("email.settings", { success: EmailSettings }).annotate(RequiredRole, "admin"),
  /** Changes the panel's settings (a setting in the server's environment still overrides it). */
  Rpc.make("email.updateSettings", {
    payload: EmailSettingsUpdate,
    success: EmailSettings,
    error: BadRequest
  }).annotate(RequiredRole, "admin"),
  /** Sends a test message to `to` now, with the settings in force, and tells what the SMTP server answered. */
  Rpc.make("email.test", { payload: { to: EmailAddress }, success: EmailTestResult }).annotate(RequiredRole, "admin")
).middleware(RpcSession) {}
