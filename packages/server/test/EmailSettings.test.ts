import type * as SqlClient from "@effect/sql/SqlClient"
import { PgClient } from "@effect/sql-pg"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { useFreshDatabase } from "../../../test-support/Database"
import { AuditLayer } from "../src/audit/Audit"
import { appConfig, AppConfig, type EmailEnvSettings } from "../src/Config"
import { migrate } from "../src/db/Migrator"
import { SmtpSettings } from "../src/email/Settings"
import { classify } from "../src/email/Transport"

const fromEnv = (env: Record<string, string>) =>
  Effect.runSync(Effect.either(appConfig.pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))))))

describe("e-mail settings from the environment", () => {
  it("reads SMTP_URL with its credentials redacted, and needs SMTP_FROM with it", () => {
    const ok = fromEnv({ SMTP_URL: "smtps://mailer:p%40ss@mail.example.org:465", SMTP_FROM: "alerts@example.org", EMAIL_BATCH_SECONDS: "10" })
    expect(Either.isRight(ok)).toBe(true)
    const email = Either.getOrThrow(ok).email
    expect(String(Option.getOrThrow(email.smtpUrl))).not.toContain("p%40ss")
    expect(email.batchSeconds).toEqual(Option.some(10))

    const noFrom = fromEnv({ SMTP_URL: "smtp://mail.example.org:587" })
    expect(Either.isLeft(noFrom) && String(noFrom.left)).toContain("SMTP_FROM is required when SMTP_URL is set")
    const wrong = fromEnv({ SMTP_URL: "http://mail.example.org", SMTP_FROM: "alerts@example.org" })
    expect(Either.isLeft(wrong) && String(wrong.left)).toContain("SMTP_URL is smtp://host:port")
    const batch = fromEnv({ EMAIL_BATCH_SECONDS: "soon" })
    expect(Either.isLeft(batch) && String(batch.left)).toContain("EMAIL_BATCH_SECONDS")
    // unset and empty: e-mail off, the panel decides
    const off = Either.getOrThrow(fromEnv({ SMTP_URL: "", SMTP_PASSWORD: "" })).email
    expect(Option.isNone(off.smtpUrl) && Option.isNone(off.smtpPassword) && Option.isNone(off.batchSeconds)).toBe(true)
  })

  it("takes a 5xx answer as final, a 4xx, a refused login or no connection as worth another try", () => {
    const settings = { url: Option.none(), username: Option.none(), password: Option.some(Redacted.make("hunter22")), from: Option.none(), batchSeconds: 30, enabled: true }
    expect(classify({ responseCode: 550, response: "550 5.1.1 no such user", code: "EENVELOPE" }, settings)._tag).toBe("refused")
    expect(classify({ responseCode: 451, response: "451 4.3.0 try later", code: "EENVELOPE" }, settings)._tag).toBe("unavailable")
    expect(classify({ message: "connect ECONNREFUSED 127.0.0.1:25", code: "ESOCKET" }, settings)._tag).toBe("unavailable")
    const login = classify({ responseCode: 535, response: "535 bad credentials for hunter22", code: "EAUTH" }, settings)
    expect(login._tag).toBe("unavailable")
    expect(login._tag !== "accepted" && login.message).not.toContain("hunter22")
  })
})

describe("e-mail settings: the environment over the admin panel", () => {
  const database = useFreshDatabase()
  const make = (email: EmailEnvSettings) =>
    ManagedRuntime.make(
      SmtpSettings.Default.pipe(
        Layer.provide(Layer.effect(AppConfig, Effect.map(appConfig, (base) => ({ ...base, email })))),
        Layer.provide(AuditLayer),
        Layer.provideMerge(PgClient.layer({ url: Redacted.make(database.url) }))
      )
    )
  const none: EmailEnvSettings = {
    smtpUrl: Option.none(),
    smtpUsername: Option.none(),
    smtpPassword: Option.none(),
    smtpFrom: Option.none(),
    batchSeconds: Option.none()
  }
  let panel: ManagedRuntime.ManagedRuntime<SmtpSettings | SqlClient.SqlClient, unknown>
  let adminId: string

  beforeAll(async () => {
    panel = make(none)
    await panel.runPromise(migrate)
    const { rows } = await database.db.query("INSERT INTO users (username, role) VALUES ('mail-admin', 'admin') RETURNING id")
    adminId = rows[0].id
    await panel.runPromise(Effect.flatMap(SmtpSettings, (s) =>
      s.update(
        { smtp_url: "smtp://panel.example.org:587", smtp_username: "panel", smtp_password: "panel-secret", from: "panel@example.org", batch_seconds: 5 },
        { userId: adminId, username: "mail-admin" },
        { address: "127.0.0.1" }
      )))
  })
  afterAll(() => panel?.dispose())

  it("uses the panel's settings when the environment sets none, the password never shown", async () => {
    const view = await panel.runPromise(Effect.flatMap(SmtpSettings, (s) => s.view()))
    expect(view).toMatchObject({
      enabled: true,
      smtp_url: "smtp://panel.example.org:587",
      smtp_username: "panel",
      smtp_password: "set",
      from: "panel@example.org",
      batch_seconds: 5,
      sources: { smtp_url: "admin", smtp_username: "admin", smtp_password: "admin", from: "admin", batch_seconds: "admin" }
    })
    expect(JSON.stringify(view)).not.toContain("panel-secret")
    const { rows } = await database.db.query("SELECT details::text AS details FROM audit_log WHERE action = 'email.settings'")
    expect(rows).toHaveLength(1)
    expect(rows[0].details).toContain("\"smtp_password\": \"set\"")
    expect(rows[0].details).not.toContain("panel-secret")
  })

  it("lets each setting of the environment override its own, credentials taken from SMTP_URL", async () => {
    const env = make({ ...none, smtpUrl: Option.some(Redacted.make("smtps://env-user:env%2Fpass@env.example.org:465")) })
    try {
      const [view, current] = await env.runPromise(Effect.flatMap(SmtpSettings, (s) => Effect.zip(s.view(), s.current)))
      expect(view).toMatchObject({
        smtp_url: "smtps://env.example.org:465",
        smtp_username: "env-user",
        smtp_password: "set",
        from: "panel@example.org",
        batch_seconds: 5,
        sources: { smtp_url: "environment", smtp_username: "environment", smtp_password: "environment", from: "admin" }
      })
      expect(JSON.stringify(view)).not.toContain("env/pass")
      expect(Option.map(current.password, Redacted.value)).toEqual(Option.some("env/pass"))
    } finally {
      await env.dispose()
    }
  })
})
