import { CurrentUser } from "@chaverim/domain/Auth"
import { EmailRpcs } from "@chaverim/domain/rpc/Email"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Audit } from "../audit/Audit"
import { caller, changeByCaller, orDieOnSql } from "../rpc/Session"
import { testMail } from "./Message"
import { SmtpSettings } from "./Settings"
import { EmailSubscriptions } from "./Subscriptions"
import { sendMail } from "./Transport"

/** E-mail's procedures: a person's own address and subscriptions; the SMTP settings and the test message for admins. */
export const EmailRpcsLayer = EmailRpcs.toLayer(Effect.gen(function*() {
  const subscriptions = yield* EmailSubscriptions
  const settings = yield* SmtpSettings
  const audit = yield* Audit
  const change = yield* changeByCaller
  const who = yield* caller
  return EmailRpcs.of({
    "email.me": () => orDieOnSql(Effect.flatMap(CurrentUser, (user) => subscriptions.me(user.userId))),
    "email.setAddress": ({ address }, { headers }) =>
      change(headers, (actor, request) => subscriptions.setAddress(actor, address, request)),
    "email.subscribe": (subscription, { headers }) =>
      change(headers, (actor, request) =>
        Effect.flatMap(CurrentUser, (user) => subscriptions.subscribe({ ...actor, role: user.role }, subscription, request))),
    "email.unsubscribe": (subscription, { headers }) =>
      change(headers, (actor, request) => subscriptions.unsubscribe(actor, subscription, request)),
    "email.settings": () => orDieOnSql(settings.view()),
    "email.updateSettings": (update, { headers }) =>
      change(headers, (actor, request) => settings.update(update, actor, request)),
    "email.test": ({ to }, { headers }) =>
      orDieOnSql(Effect.gen(function*() {
        const { actor, request } = yield* who(headers)
        const smtp = yield* settings.current
        const started = Date.now()
        const result = yield* sendMail(smtp, testMail(to, actor.username)).pipe(
          Effect.timeoutTo({
            duration: "60 seconds",
            onSuccess: (r) => r,
            onTimeout: () => ({ _tag: "unavailable", message: "no answer within 60 seconds" } as const)
          })
        )
        const ok = result._tag === "accepted"
        const message = result._tag === "accepted" ? result.response : result.message
        yield* audit.record({
          actor,
          address: request.address,
          action: "email.test",
          target: "email_settings",
          details: { to, ok, answer: message.slice(0, 500) },
          outcome: "success"
        })
        return { ok, message, elapsed_ms: Date.now() - started }
      }))
  })
})).pipe(Layer.provide(EmailSubscriptions.Default), Layer.provide(SmtpSettings.Default))
