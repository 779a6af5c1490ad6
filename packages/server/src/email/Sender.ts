import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Schema from "effect/Schema"
import { visibleToEach } from "../alerts/Views"
import { AppConfig } from "../Config"
import { PgListener } from "../db/Listener"
import { orBug } from "../db/Rows"
import { loadHealthAlert } from "../health/Health"
import { Images } from "../images/Images"
import { type ClaimedOutput, OutputDeliveries } from "../outputs/Deliveries"
import { loadAlertFacts } from "../outputs/Notice"
import { OUTPUT_MAX_ATTEMPTS, OUTPUT_RETRY_CAP_MS, outputMetrics, outputRetryDelayMs, wakeOnDeliveries } from "../outputs/Sender"
import { alertMail, healthMail, type MailAlert, type MailHealth } from "./Message"
import { EMAIL_CHANNEL, type SmtpInForce, SmtpSettings } from "./Settings"
import { type Mail, sendMail } from "./Transport"

/**
 * E-mail's sender: batched per person, so a burst of alerts is one e-mail. It claims the channel's due
 * deliveries (a lease, SKIP LOCKED: any server may run it), groups them by person, and holds a person's
 * rows until the oldest pending one is EMAIL_BATCH_SECONDS old (they are put back, due at that moment,
 * uncounted); then it checks each alert again (still there, still visible to the person as their role
 * and the list are now), sends one message with every alert left, and records each row's outcome with
 * the outbound channels' retry policy (outputs/Sender.ts): a 5xx answer fails them for good, a 4xx, a
 * connection failure or a timeout retries them, together. With e-mail off nothing is claimed: owed
 * rows wait. An admin's health alerts go in an e-mail of their own, checked the same way (still there,
 * still an admin). Woken by NOTIFY `output_delivery` (payload `email`), by its own timer when rows come due,
 * and every 30 s in any case.
 */

const BATCH = 100
const LEASE_SECONDS = 300
const SEND_TIMEOUT = Duration.seconds(90)
const IDLE_POLL = Duration.seconds(30)

const { failed: failedTotal, retried: retriedTotal, sent: sentTotal } = outputMetrics(EMAIL_CHANNEL)
/** Annotates what a sender logs with the person and channel it is sending to. */
type Annotated = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>

const mailsTotal = Metric.counter("alpr_email_messages_total", { description: "E-mails accepted by the SMTP server (each may carry several alerts)" })

export const runEmailSender = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const deliveries = yield* OutputDeliveries
  const settings = yield* SmtpSettings
  const images = yield* Images
  const listener = yield* PgListener
  const { publicUrl } = yield* AppConfig
  const wake = yield* Queue.sliding<void>(1)

  /** How old each person's oldest pending row is (ms). */
  const oldest = SqlSchema.findAll({
    Request: Schema.Array(Schema.String),
    Result: Schema.Struct({ target: Schema.String, age_ms: Schema.Number }),
    execute: (targets) =>
      sql`
        SELECT target, (extract(epoch FROM now() - min(created_at)) * 1000)::float8 AS age_ms
          FROM output_deliveries
         WHERE channel = ${EMAIL_CHANNEL} AND status = 'pending' AND target IN ${sql.in(targets)}
         GROUP BY target`
  })

  /** Puts a person's claimed rows back, due when their oldest pending row is `batchSeconds` old; not an attempt. */
  const holdBack = (target: string, ids: ReadonlyArray<string>, batchSeconds: number) =>
    sql`
      UPDATE output_deliveries d
         SET next_attempt_at = greatest(now(), m.oldest + make_interval(secs => ${batchSeconds}))
        FROM (SELECT min(created_at) AS oldest FROM output_deliveries
               WHERE channel = ${EMAIL_CHANNEL} AND status = 'pending' AND target = ${target}) m
       WHERE d.id IN ${sql.in(ids)}`

  const recipient = SqlSchema.findOne({
    Request: Schema.String,
    Result: Schema.Struct({ email: Schema.String, role: Schema.String }),
    execute: (userId) =>
      sql`SELECT email, role FROM users WHERE id = ${userId}::uuid AND email IS NOT NULL AND disabled_at IS NULL`
  })

  /** Of `alertIds`, those the person may see now (their role now, the list's sharing now). */
  const visible = SqlSchema.findAll({
    Request: Schema.Struct({ userId: Schema.String, alertIds: Schema.Array(Schema.String) }),
    Result: Schema.Struct({ id: Schema.String }),
    execute: ({ alertIds, userId }) =>
      sql`
        SELECT a.id::text AS id
          FROM alerts a
          JOIN watchlists w ON w.id = a.watchlist_id AND w.deleted_at IS NULL
          JOIN users u ON u.id = ${userId}::uuid
         WHERE a.id IN ${sql.in(alertIds)} AND u.disabled_at IS NULL AND ${visibleToEach(sql)}`
  })

  const failAll = (rows: ReadonlyArray<ClaimedOutput>, error: string, counts: boolean) =>
    Effect.forEach(rows, (d) => deliveries.failed(d.id, error, counts), { discard: true })

  /** The plate crop of the alert's read, when there is one and it is intact. */
  const cropOf = (detectionId: number) =>
    images.read(detectionId, "plate").pipe(
      Effect.map((image) => ({ bytes: image.bytes, contentType: image.contentType })),
      Effect.catchTag("NotFound", () => Effect.succeed(undefined)),
      Effect.catchAll(() => Effect.succeed(undefined))
    )

  /** Sends one e-mail for `rows` and records each row's outcome, together. */
  const deliverMail = (rows: ReadonlyArray<ClaimedOutput>, mail: Mail, smtp: SmtpInForce, log: Annotated) =>
    Effect.gen(function*() {
      const result = yield* sendMail(smtp, mail).pipe(
        Effect.timeoutTo({
          duration: SEND_TIMEOUT,
          onSuccess: (r) => r,
          onTimeout: () => ({ _tag: "unavailable", message: `no answer within ${Duration.format(SEND_TIMEOUT)}` } as const)
        })
      )
      // One outcome for every row of the message, in one transaction: the rows stay together on retry.
      yield* sql.withTransaction(Effect.gen(function*() {
        switch (result._tag) {
          case "accepted":
            for (const row of rows) yield* deliveries.sent(row.id)
            yield* Metric.incrementBy(sentTotal, rows.length)
            yield* Metric.increment(mailsTotal)
            return
          case "refused":
            for (const row of rows) yield* deliveries.failed(row.id, result.message)
            yield* Metric.incrementBy(failedTotal, rows.length)
            yield* Effect.logWarning(`e-mail refused for good: ${result.message}`).pipe(log)
            return
          case "unavailable": {
            const attempts = Math.max(...rows.map((row) => row.attempts)) + 1
            const delay = Math.min(OUTPUT_RETRY_CAP_MS, outputRetryDelayMs(attempts))
            let failed = 0
            for (const row of rows) {
              if ((yield* deliveries.retryLater(row.id, result.message, delay, OUTPUT_MAX_ATTEMPTS)) === "failed") failed++
            }
            yield* Metric.incrementBy(failedTotal, failed)
            yield* Metric.incrementBy(retriedTotal, rows.length - failed)
            yield* Effect.logWarning(`e-mail not sent, retrying in ${Math.round(delay / 1000)} s: ${result.message}`).pipe(log)
          }
        }
      }))
    })

  /** A person's alerts: each checked again (still there, still theirs to see), then one e-mail for those left. */
  const sendAlerts = (target: string, email: string, rows: ReadonlyArray<ClaimedOutput & { readonly alertId: string }>, smtp: SmtpInForce, log: Annotated) =>
    Effect.gen(function*() {
      const allowed = new Set((yield* orBug(visible({ userId: target, alertIds: rows.map((d) => d.alertId) }))).map((r) => r.id))
      const going: Array<{ readonly row: ClaimedOutput; readonly alert: MailAlert }> = []
      for (const d of rows) {
        if (!allowed.has(d.alertId)) {
          yield* deliveries.failed(d.id, "the person may no longer see this alert's list, or the alert is gone", false)
          continue
        }
        const facts = yield* loadAlertFacts(d.alertId, publicUrl)
        if (Option.isNone(facts)) {
          yield* deliveries.failed(d.id, "the alert is gone", false)
          continue
        }
        going.push({ row: d, alert: { facts: facts.value.facts, crop: yield* cropOf(facts.value.photoDetectionId) } })
      }
      if (going.length === 0) return
      yield* deliverMail(going.map((g) => g.row), alertMail(email, going.map((g) => g.alert)), smtp, log)
    })

  /** An admin's health alerts, as they are now, in one e-mail; someone no longer an admin is not told. */
  const sendHealth = (email: string, role: string, rows: ReadonlyArray<ClaimedOutput & { readonly healthAlertId: string }>, smtp: SmtpInForce, log: Annotated) =>
    Effect.gen(function*() {
      if (role !== "admin") {
        return yield* Effect.forEach(rows, (d) => deliveries.failed(d.id, "the person is no longer an admin", false), { discard: true })
      }
      const going: Array<{ readonly row: ClaimedOutput; readonly item: MailHealth }> = []
      for (const d of rows) {
        const health = yield* loadHealthAlert(d.healthAlertId)
        if (Option.isNone(health)) {
          yield* deliveries.failed(d.id, "the health alert no longer exists", false)
          continue
        }
        going.push({ row: d, item: { health: health.value, cleared: d.event === "health_cleared" } })
      }
      if (going.length === 0) return
      yield* deliverMail(going.map((g) => g.row), healthMail(email, going.map((g) => g.item)), smtp, log)
    })

  /** One person's rows: their alerts in one e-mail, their health alerts in another, each row's outcome recorded. */
  const sendTo = (target: string, rows: ReadonlyArray<ClaimedOutput>, smtp: SmtpInForce) =>
    Effect.gen(function*() {
      const log = Effect.annotateLogs({ channel: EMAIL_CHANNEL, target, deliveries: rows.length })
      const person = yield* orBug(recipient(target))
      if (Option.isNone(person)) {
        return yield* failAll(rows, "the person has no e-mail address now, or their account is disabled", false)
      }
      const alerts = rows.flatMap((d) => d.alertId === null ? [] : [{ ...d, alertId: d.alertId }])
      const healths = rows.flatMap((d) => d.healthAlertId === null ? [] : [{ ...d, healthAlertId: d.healthAlertId }])
      if (alerts.length > 0) yield* sendAlerts(target, person.value.email, alerts, smtp, log)
      if (healths.length > 0) yield* sendHealth(person.value.email, person.value.role, healths, smtp, log)
    }).pipe(
      // A bug or a database failure with one person must not stop the others; the lease brings the rows back.
      Effect.catchAllCause((cause) => Effect.logError("e-mail to one person could not be processed", Cause.squash(cause))),
      Effect.withSpan("EmailSender.send", { attributes: { target, deliveries: rows.length } })
    )

  const round = Effect.gen(function*() {
    const smtp = yield* settings.current
    if (smtp.enabled) {
      while (true) {
        const batch = yield* deliveries.claim(EMAIL_CHANNEL, BATCH, LEASE_SECONDS)
        if (batch.length === 0) break
        const byTarget = new Map<string, Array<ClaimedOutput>>()
        for (const d of batch) byTarget.set(d.target, [...(byTarget.get(d.target) ?? []), d])
        const ages = new Map((yield* orBug(oldest([...byTarget.keys()]))).map((r) => [r.target, r.age_ms]))
        const due: Array<[string, Array<ClaimedOutput>]> = []
        for (const [target, rows] of byTarget) {
          if ((ages.get(target) ?? 0) < smtp.batchSeconds * 1000) {
            yield* holdBack(target, rows.map((d) => d.id), smtp.batchSeconds)
          } else due.push([target, rows])
        }
        yield* Effect.forEach(due, ([target, rows]) => sendTo(target, rows, smtp), { concurrency: 4, discard: true })
      }
    }
    const next = smtp.enabled ? yield* deliveries.nextDueInMs(EMAIL_CHANNEL) : undefined
    const wait = next === undefined ? IDLE_POLL : Duration.min(IDLE_POLL, Duration.millis(next))
    yield* Effect.raceFirst(Effect.sleep(wait), Queue.take(wake))
  }).pipe(
    Effect.catchAllCause((cause) =>
      Effect.logError("e-mail sender round failed", Cause.squash(cause)).pipe(Effect.zipRight(Effect.sleep("5 seconds")))
    )
  )

  yield* wakeOnDeliveries(listener, EMAIL_CHANNEL, wake)
  yield* Effect.forever(round).pipe(Effect.forkScoped)
})

/** The sender, on every server. Needs the database, PgListener, Images, OutputDeliveries, SmtpSettings and AppConfig. */
export const EmailSenderLayer = Layer.scopedDiscard(runEmailSender)
