import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import nodemailer from "nodemailer"
import type { SmtpInForce } from "./Settings"

/** A message as the sender and the test button hand it to SMTP. */
export interface Mail {
  readonly to: string
  readonly subject: string
  readonly text: string
  readonly html?: string
  readonly attachments?: ReadonlyArray<{
    readonly filename: string
    readonly content: Uint8Array
    readonly contentType: string
    /** referenced from the HTML as `cid:...` */
    readonly cid: string
  }>
}

/** What the SMTP server said: accepted, refused for good (a 5xx answer), or worth trying again (4xx, no answer). */
export type SendResult =
  | { readonly _tag: "accepted"; readonly response: string }
  | { readonly _tag: "refused"; readonly message: string }
  | { readonly _tag: "unavailable"; readonly message: string }

interface SmtpError {
  readonly message?: string
  readonly code?: string
  readonly response?: string
  readonly responseCode?: number
}

/** Never a password in a message that is logged or stored. */
const scrub = (text: string, settings: SmtpInForce) =>
  Option.match(settings.password, {
    onNone: () => text,
    onSome: (password) => (Redacted.value(password) === "" ? text : text.split(Redacted.value(password)).join("***"))
  })

/**
 * A 5xx answer to the message (550 no such mailbox, 554 refused) is for good; a 4xx, a connection or
 * TLS failure, a timeout, is worth trying again. A refused login (535) is the settings' fault, not the
 * message's: it is tried again, so messages still go once an admin corrects the password.
 */
export const classify = (error: SmtpError, settings: SmtpInForce): SendResult => {
  const said = error.response ?? error.message ?? String(error)
  const message = scrub(error.code === undefined ? said : `${said} (${error.code})`, settings)
  return error.responseCode !== undefined && error.responseCode >= 500 && error.responseCode < 600 && error.code !== "EAUTH"
    ? { _tag: "refused", message }
    : { _tag: "unavailable", message }
}

/**
 * Sends one message with the settings in force, on a connection of its own (settings change from the
 * panel at any time, and messages are few: batched per person). Never fails: the result says how it went.
 */
export const sendMail = (settings: SmtpInForce, mail: Mail): Effect.Effect<SendResult> =>
  Effect.gen(function*() {
    if (!settings.enabled || Option.isNone(settings.url) || Option.isNone(settings.from)) {
      return { _tag: "unavailable", message: "e-mail is off: no SMTP server or sender is set" } as const
    }
    const url = new URL(settings.url.value)
    const secure = url.protocol === "smtps:"
    const transport = nodemailer.createTransport({
      host: url.hostname,
      port: url.port === "" ? (secure ? 465 : 587) : Number(url.port),
      secure,
      auth: Option.isSome(settings.username)
        ? { user: settings.username.value, pass: Option.match(settings.password, { onNone: () => "", onSome: Redacted.value }) }
        : undefined,
      connectionTimeout: 15_000,
      greetingTimeout: 15_000,
      socketTimeout: 30_000,
      logger: false,
      debug: false
    })
    const from = settings.from.value
    return yield* Effect.tryPromise({
      try: () =>
        transport.sendMail({
          from,
          to: mail.to,
          subject: mail.subject,
          text: mail.text,
          ...(mail.html === undefined ? {} : { html: mail.html }),
          attachments: (mail.attachments ?? []).map((a) => ({
            filename: a.filename,
            content: Buffer.from(a.content),
            contentType: a.contentType,
            cid: a.cid,
            contentDisposition: "inline" as const
          }))
        }),
      catch: (error) => error as SmtpError
    }).pipe(
      Effect.map((info): SendResult => ({ _tag: "accepted", response: String(info.response ?? "accepted") })),
      Effect.catchAll((error) => Effect.succeed(classify(error, settings))),
      Effect.ensuring(Effect.sync(() => transport.close()))
    )
  }).pipe(Effect.withSpan("Email.send"))
