import { BadRequest } from "@chaverim/domain/Errors"
import type { EmailSettings, EmailSettingsUpdate, SettingSource } from "@chaverim/domain/rpc/Email"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type { Actor } from "../auth/Accounts"
import { Audit } from "../audit/Audit"
import { AppConfig } from "../Config"
import { IsoTime, orBug } from "../db/Rows"
import type { RequestInfo } from "../http/ClientAddress"
import { OUTPUT_DELIVERY_CHANNEL } from "../outputs/Deliveries"

/** The channel's name in outbound_channels and output_deliveries (sql/0026). */
export const EMAIL_CHANNEL = "email"

export const DEFAULT_BATCH_SECONDS = 30

/** The SMTP settings in force: the environment's, else the admin panel's (email_settings). */
export interface SmtpInForce {
  /** smtp://host:port or smtps://host:port, without credentials */
  readonly url: Option.Option<string>
  readonly username: Option.Option<string>
  readonly password: Option.Option<Redacted.Redacted>
  readonly from: Option.Option<string>
  readonly batchSeconds: number
  /** a URL and a sender: e-mail goes out */
  readonly enabled: boolean
}

const SettingsRow = Schema.Struct({
  smtp_url: Schema.NullOr(Schema.String),
  smtp_username: Schema.NullOr(Schema.String),
  smtp_password: Schema.NullOr(Schema.String),
  smtp_from: Schema.NullOr(Schema.String),
  batch_seconds: Schema.NullOr(Schema.Number),
  updated_at: IsoTime
})
type SettingsRow = typeof SettingsRow.Type

/** SMTP_URL split: the address without credentials, and the credentials it carried (percent-decoded). */
export const splitSmtpUrl = (text: string) => {
  const url = new URL(text)
  const decode = (part: string) => (part === "" ? Option.none<string>() : Option.some(decodeURIComponent(part)))
  return {
    url: `${url.protocol}//${url.host}`,
    username: decode(url.username),
    password: Option.map(decode(url.password), Redacted.make)
  }
}

/** One setting: the environment's if set, else the panel's, else the default; and where it came from. */
const pick = <A>(env: Option.Option<A>, panel: Option.Option<A>): [Option.Option<A>, typeof SettingSource.Type] =>
  Option.isSome(env) ? [env, "environment"] : Option.isSome(panel) ? [panel, "admin"] : [Option.none(), "unset"]

/**
 * The e-mail settings: what the environment sets (AppConfig.email) overrides the one row admins edit
 * in the panel, read afresh at every use so a change takes effect on every server without a restart
 * (a change also wakes the senders). The password is used here and in the transport only: it is
 * never logged, never audited and never returned (the panel reads "set" or "not set").
 */
export class SmtpSettings extends Effect.Service<SmtpSettings>()("@chaverim/server/SmtpSettings", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const audit = yield* Audit
    const env = (yield* AppConfig).email
    const envUrl = Option.map(env.smtpUrl, (url) => splitSmtpUrl(Redacted.value(url)))

    const row = SqlSchema.single({
      Request: Schema.Void,
      Result: SettingsRow,
      execute: () =>
        sql`SELECT smtp_url, smtp_username, smtp_password, smtp_from, batch_seconds, updated_at FROM email_settings`
    })
    const readRow = orBug(row(undefined)).pipe(
      Effect.catchTag("NoSuchElementException", () => Effect.dieMessage("email_settings has no row (sql/0026 makes it)"))
    )

    const resolve = (r: SettingsRow) => {
      const [url, urlSource] = pick(Option.map(envUrl, (u) => u.url), Option.fromNullable(r.smtp_url))
      const [username, usernameSource] = pick(
        Option.orElse(env.smtpUsername, () => Option.flatMap(envUrl, (u) => u.username)),
        Option.fromNullable(r.smtp_username)
      )
      const [password, passwordSource] = pick(
        Option.orElse(env.smtpPassword, () => Option.flatMap(envUrl, (u) => u.password)),
        Option.map(Option.fromNullable(r.smtp_password), Redacted.make)
      )
      const [from, fromSource] = pick(env.smtpFrom, Option.fromNullable(r.smtp_from))
      const [batch, batchSource] = pick(env.batchSeconds, Option.fromNullable(r.batch_seconds))
      const inForce: SmtpInForce = {
        url,
        username,
        password,
        from,
        batchSeconds: Option.getOrElse(batch, () => DEFAULT_BATCH_SECONDS),
        enabled: Option.isSome(url) && Option.isSome(from)
      }
      const view: EmailSettings = {
        enabled: inForce.enabled,
        smtp_url: Option.getOrNull(url),
        smtp_username: Option.getOrNull(username),
        smtp_password: Option.isSome(password) ? "set" : "not set",
        from: Option.getOrNull(from),
        batch_seconds: inForce.batchSeconds,
        sources: {
          smtp_url: urlSource,
          smtp_username: usernameSource,
          smtp_password: passwordSource,
          from: fromSource,
          batch_seconds: batchSource === "unset" ? "default" : batchSource
        },
        updated_at: r.updated_at
      }
      return { inForce, view }
    }

    /** The settings in force now, for the sender and the test message. */
    const current = Effect.map(readRow, (r) => resolve(r).inForce)

    /** For admins: what is in force and where it comes from; the password as "set" or "not set". */
    const view = Effect.fn("SmtpSettings.view")(function*() {
      return resolve(yield* readRow).view
    })

    /** Changes the panel's row, audited (which fields changed; a password only as set or cleared), and wakes the senders. */
    const update = Effect.fn("SmtpSettings.update")(function*(
      change: EmailSettingsUpdate,
      actor: Actor,
      request: RequestInfo | undefined
    ) {
      const fields = Object.keys(change).filter((k) => change[k as keyof EmailSettingsUpdate] !== undefined)
      if (fields.length === 0) return yield* new BadRequest({ message: "nothing to change" })
      const set = <A>(value: A | undefined, column: string) =>
        value === undefined ? sql`` : sql`, ${sql(column)} = ${value as never}`
      yield* sql.withTransaction(Effect.gen(function*() {
        yield* sql`
          UPDATE email_settings
             SET updated_at = now(), updated_by = ${actor.userId}
                 ${set(change.smtp_url, "smtp_url")}
                 ${set(change.smtp_username, "smtp_username")}
                 ${set(change.smtp_password, "smtp_password")}
                 ${set(change.from, "smtp_from")}
                 ${set(change.batch_seconds, "batch_seconds")}
           WHERE id`
        const details: Record<string, unknown> = { fields }
        if (change.smtp_url !== undefined) details.smtp_url = change.smtp_url
        if (change.smtp_username !== undefined) details.smtp_username = change.smtp_username
        if (change.smtp_password !== undefined) details.smtp_password = change.smtp_password === null ? "cleared" : "set"
        if (change.from !== undefined) details.from = change.from
        if (change.batch_seconds !== undefined) details.batch_seconds = change.batch_seconds
        yield* audit.record({
          actor,
          address: request?.address,
          action: "email.settings",
          target: "email_settings",
          details,
          outcome: "success"
        })
        // Owed e-mail waits while SMTP is not configured: a change may let it go now.
        yield* sql`SELECT pg_notify(${OUTPUT_DELIVERY_CHANNEL}, ${EMAIL_CHANNEL})`
      })).pipe(orBug)
      return yield* view()
    })

    return { current, view, update } as const
  })
}) {}
