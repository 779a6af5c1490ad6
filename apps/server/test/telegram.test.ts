import { MAX_ATTEMPTS, RETRY_BASE_MS, RETRY_CAP_MS, retryDelayMs } from "@chaverim/server/telegram/Sender"
import { BUTTON_REFUSED } from "@chaverim/server/telegram/AlertActions"
import { scrubToken } from "@chaverim/server/telegram/BotErrors"
import { botLink, type LinkCode } from "@chaverim/domain/Telegram"
import { appConfig } from "@chaverim/server/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { randomBytes } from "node:crypto"
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest"
import { type BotCall, type FakeBotApi, startFakeBotApi, type TelegramUser } from "../../../test-support/FakeBotApi"
import { alprAgainst, describeRun, INVOCATION_MS, lastJson } from "./alprCli"
import { checkHealth, detection, fakeJpeg, postHeartbeat, type SignedIn, sleep, startServer, type TestServer, until } from "./harness"

/**
 * Telegram end to end: the real server (bot polling, sender, HTTP API, CLI) against a local fake of the
 * Bot API. Alerts and their delivery rows are written in SQL, as the alert engine writes them, for a
 * detection that came in through the real batch API with its plate photo.
 */

const TOKEN = `7000001:AAF${randomBytes(16).toString("hex")}`

let fake: FakeBotApi
let server: TestServer
let apiKey: string
/** Everything the server logged or printed while the tests ran. */
const output: Array<string> = []

let telegramSeq = 61_000_000
const volunteer = (): TelegramUser => {
  const id = ++telegramSeq
  return { id, username: `vol${id}` }
}



const toChat = (chatId: number) => (c: BotCall) => Number(c.params.chat_id) === chatId

const replyTo = (chatId: number, since: number) =>
  fake.waitFor((c) => c.method === "sendMessage" && toChat(chatId)(c), { since })

/** Sends `text` from the volunteer and returns the bot's answer. */
const say = async (from: TelegramUser, text: string) => {
  const since = fake.calls.length
  fake.sendText(from, text)
  return String((await replyTo(from.id, since)).params.text)
}

const postLinkCode = (user: SignedIn, csrf = user.csrf) =>
  fetch(`${server.url}/api/v1/telegram/link-code`, {
    method: "POST",
    headers: { cookie: user.cookie, "x-csrf-token": csrf }
  })

const linkCode = async (user: SignedIn) => {
  const response = await postLinkCode(user)
  expect(response.status).toBe(201)
  return (await response.json()) as LinkCode
}

/** A signed-in person of the role with a linked chat. */
const linked = async (role: "admin" | "operator" | "viewer") => {
  const user = await server.signIn(role)
  const { code } = await linkCode(user)
  const tg = volunteer()
  expect(await say(tg, `/start ${code}`)).toContain(`Linked to ${user.username}`)
  return { user, tg }
}

const api = (user: SignedIn, path: string, init: RequestInit = {}) =>
  fetch(`${server.url}${path}`, {
    ...init,
    headers: { cookie: user.cookie, "x-csrf-token": user.csrf, "content-type": "application/json", ...init.headers }
  })

let plateSeq = 0

/**
 * An alert as the engine raises one: for a detection ingested with (or without) a plate photo, on an
 * inactive list so that no running matcher raises alerts of its own for it.
 */
const newPlate = () => `TG${++plateSeq}X${randomBytes(2).toString("hex").toUpperCase()}`

/** A read of the plate through the real batch API, with a plate photo unless told otherwise. */
const ingest = async (plate: string, photo = true) => {
  const event = detection({ plate: { text: plate, confidence: 0.95 }, location: { lat: 41.1135, lon: -74.0457 } })
  const jpeg = fakeJpeg(3_000 + plateSeq, plateSeq)
  const form = new FormData()
  form.append("batch", JSON.stringify({ events: [event] }))
  if (photo) form.append(`plate:${event.detection_id}`, new Blob([jpeg], { type: "image/jpeg" }), "plate.jpg")
  const response = await fetch(`${server.url}/api/v1/detections/batch`, {
    method: "POST",
    headers: { authorization: `Bearer ${apiKey}` },
    body: form
  })
  expect(await response.json()).toMatchObject({ accepted: 1 })
  const { rows: [read] } = await server.db.query(
    "SELECT id, camera_id, detected_at FROM detections WHERE detection_id = $1",
    [event.detection_id]
  )
  await server.db.query("UPDATE cameras SET site = 'North gate' WHERE id = $1", [read.camera_id])
  return { jpeg, read: read as { id: string; camera_id: string; detected_at: Date } }
}

const newAlert = async (
  options: { readonly photo?: boolean; readonly retro?: boolean; readonly privateTo?: string } = {}
) => {
  const plate = newPlate()
  const n = plateSeq
  const { jpeg, read } = await ingest(plate, options.photo !== false)
  const { rows: [list] } = await server.db.query(
    "INSERT INTO watchlists (name, category, priority, active, owner_id, shared) VALUES ($1, 'stolen', 1, false, $2, $3) RETURNING id",
    [`Stolen cars ${n}`, options.privateTo ?? null, options.privateTo === undefined]
  )
  const { rows: [entry] } = await server.db.query(
    `INSERT INTO watchlist_entries (watchlist_id, kind, value, note, added_by_name)
     VALUES ($1, 'exact', $2, 'grey van, dented door', 'import') RETURNING id`,
    [list.id, plate]
  )
  const { rows: [alert] } = await server.db.query(
    `INSERT INTO alerts (watchlist_id, entry_id, plate, detection_id, last_detection_id, first_seen_at, last_seen_at, retro)
     SELECT $1, $2, plate, id, id, detected_at, detected_at, $4 FROM detections WHERE id = $3 RETURNING id`,
    [list.id, entry.id, read.id, options.retro ?? false]
  )
  return {
    alertId: String(alert.id),
    listId: String(list.id),
    plate,
    jpeg,
    listName: `Stolen cars ${n}`,
    detectedAt: read.detected_at as Date
  }
}

/** The delivery row the alert engine writes with a new alert, and its wake-up. */
const deliver = async (alertId: string, userId: string, chatId: number) => {
  const { rows: [row] } = await server.db.query(
    "INSERT INTO telegram_deliveries (alert_id, user_id, chat_id) VALUES ($1, $2, $3) RETURNING id",
    [alertId, userId, chatId]
  )
  await server.db.query("NOTIFY telegram_delivery")
  return String(row.id)
}

const deliveryRow = async (id: string) =>
  (await server.db.query(
    `SELECT status, attempts, last_error, message_id,
            extract(epoch FROM next_attempt_at - now()) * 1000 AS due_in_ms
       FROM telegram_deliveries WHERE id = $1`,
    [id]
  )).rows[0] as { status: string; attempts: number; last_error: string | null; message_id: string | null; due_in_ms: number }

/** Makes a pending retry due now, as time passing would. */
const timeTravel = async (id: string) => {
  await server.db.query("UPDATE telegram_deliveries SET next_attempt_at = now() WHERE id = $1", [id])
  await server.db.query("NOTIFY telegram_delivery")
}

const sentPhotos = (chatId: number, since = 0) =>
  fake.calls.slice(since).filter((c) => c.method === "sendPhoto" && toChat(chatId)(c))

const buttonsOf = (call: BotCall): Array<{ text: string; callback_data: string }> =>
  (call.params.reply_markup?.inline_keyboard ?? []).flat()

/** Button data as the server signs it: the action, the alert, and 22 characters of HMAC. */
const signed = (action: "ack" | "way", alertId: string) => new RegExp(`^${action}:${alertId}:[A-Za-z0-9_-]{22}$`)

describe("Telegram", () => {
  beforeAll(async () => {
    for (const method of ["log", "info", "warn", "error", "debug"] as const) {
      const original = console[method].bind(console)
      vi.spyOn(console, method).mockImplementation((...args: Array<unknown>) => {
        output.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a) ?? String(a))).join(" "))
        original(...args)
      })
    }
    fake = await startFakeBotApi(TOKEN)
    server = await startServer({
      telegramBotToken: Option.some(Redacted.make(TOKEN)),
      telegramApiRoot: fake.url,
      telegramBotUsername: Option.some("chaverim_alpr_test_bot")
    })
    apiKey = (await server.collector("telegram site")).apiKey
    // Polling has begun once the bot asked for updates.
    await fake.waitFor((c) => c.method === "deleteWebhook", { timeoutMs: 20_000 })
  })

  afterAll(async () => {
    await server?.close()
    await fake?.close()
    vi.restoreAllMocks()
  })

  describe("linking a chat", () => {
    it("links with a code from the CLI, answers in the chat and audits telegram.link", async () => {
      const user = await server.signIn("operator")
      const alpr = alprAgainst(() => server.databaseUrl)
      const before = Date.now()
      const run = await alpr(["telegram", "link-code", "--username", user.username])
      expect(run.code, describeRun(run)).toBe(0)
      const made = lastJson(run)
      expect(Object.keys(made).sort()).toEqual(["bot_username", "code", "expires_at", "username"])
      // The command line's environment does not name the bot.
      expect(made.bot_username).toBeNull()
      expect(made.username).toBe(user.username)
      expect(made.code).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}$/)
      // valid for ten minutes from when the command made it
      const expires = Date.parse(made.expires_at)
      expect(expires).toBeGreaterThanOrEqual(before + 10 * 60_000 - 1_000)
      expect(expires).toBeLessThanOrEqual(Date.now() + 10 * 60_000 + 1_000)
      const { rows: codes } = await server.db.query("SELECT code_hash FROM telegram_link_codes WHERE user_id = $1", [user.userId])
      expect(codes).toHaveLength(1)
      expect(codes[0].code_hash).not.toContain(made.code.replace("-", ""))

      const tg = volunteer()
      expect(await say(tg, `/start ${made.code}`)).toContain(`Linked to ${user.username}`)
      const { rows: links } = await server.db.query("SELECT chat_id, telegram_username FROM telegram_links WHERE user_id = $1", [user.userId])
      expect(links).toEqual([{ chat_id: String(tg.id), telegram_username: tg.username }])
      const { rows: audit } = await server.db.query(
        "SELECT actor_id, details, outcome FROM audit_log WHERE action = 'telegram.link' AND target = $1",
        [`user:${user.userId}`]
      )
      expect(audit).toEqual([expect.objectContaining({ actor_id: user.userId, outcome: "success" })])
      expect(audit[0].details).toMatchObject({ chat_id: String(tg.id) })
      expect(JSON.stringify(audit)).not.toContain(made.code)
    }, INVOCATION_MS + 20_000)

    it("links with a code from the web API, typed loosely; moves a chat and replaces a previous one", async () => {
      const first = await server.signIn("viewer")
      expect((await postLinkCode(first, "wrong-csrf")).status).toBe(403)
      const made = await linkCode(first)
      expect(made.username).toBe(first.username)
      // The web app links to the bot with the code: Telegram then sends "/start CODE" when Start is pressed.
      expect(made.bot_username).toBe("chaverim_alpr_test_bot")
      expect(botLink(made.bot_username!, made.code)).toBe(`https://t.me/chaverim_alpr_test_bot?start=${made.code}`)
      const tg = volunteer()
      // lower case, no dash, O for 0 and l for 1: forgiven like every typable code
      const typed = made.code.replace("-", "").toLowerCase().replace(/0/g, "o").replace(/1/g, "l")
      expect(await say(tg, typed)).toContain(`Linked to ${first.username}`)

      // The same chat linked by someone else moves to them.
      const second = await server.signIn("operator")
      const moved = await say(tg, `/start ${(await linkCode(second)).code}`)
      expect(moved).toContain(`Linked to ${second.username}`)
      expect(moved).toContain(`linked to ${first.username} before`)
      const { rows: afterMove } = await server.db.query(
        "SELECT user_id FROM telegram_links WHERE chat_id = $1",
        [tg.id]
      )
      expect(afterMove).toEqual([{ user_id: second.userId }])

      // A person linking a new chat replaces their previous one.
      const phone = volunteer()
      expect(await say(phone, `/start ${(await linkCode(second)).code}`)).toContain("previous chat no longer receives alerts")
      const { rows: afterReplace } = await server.db.query("SELECT chat_id FROM telegram_links WHERE user_id = $1", [second.userId])
      expect(afterReplace).toEqual([{ chat_id: String(phone.id) }])
      expect((await server.db.query("SELECT 1 FROM telegram_links WHERE chat_id = $1", [tg.id])).rows).toHaveLength(0)
    })

    it("refuses used, expired, superseded and unknown codes, throttles a guessing chat and links only in private", async () => {
      const user = await server.signIn("operator")
      const used = await linkCode(user)
      const tg = volunteer()
      expect(await say(tg, used.code)).toContain("Linked")
      expect(await say(tg, used.code)).toContain("already been used")

      const expired = await linkCode(user)
      await server.db.query("UPDATE telegram_link_codes SET expires_at = now() - interval '1 second' WHERE used_at IS NULL AND user_id = $1", [user.userId])
      expect(await say(tg, expired.code)).toContain("expired")

      // Only the newest code works.
      const older = await linkCode(user)
      await linkCode(user)
      expect(await say(tg, older.code)).toContain("expired")

      const group = volunteer()
      const since = fake.calls.length
      fake.sendText(group, `/start ${(await linkCode(user)).code}`, { id: -100_000 - group.id, type: "group" })
      expect(String((await replyTo(-100_000 - group.id, since)).params.text)).toContain("private chat")

      const guesser = volunteer()
      const answers: Array<string> = []
      for (let i = 0; i < 5; i++) answers.push(await say(guesser, `/start ZZZZ-ZZ${i}Z`))
      expect(answers[0]).toContain("not a valid link code")
      expect(answers[4]).toContain("must now wait")
      const good = await linkCode(user)
      expect(await say(guesser, good.code)).toContain("Too many wrong codes")
      expect((await server.db.query("SELECT 1 FROM telegram_links WHERE chat_id = $1", [guesser.id])).rows).toHaveLength(0)
      const { rows: failures } = await server.db.query(
        "SELECT count(*)::int AS n FROM audit_log WHERE action = 'telegram.link' AND outcome = 'failure' AND details->>'chat_id' = $1",
        [String(guesser.id)]
      )
      expect(failures[0].n).toBe(5)

      expect(await say(volunteer(), "hello")).toContain("/start CODE")
      expect(await say(volunteer(), "/help")).toContain("/unlink")
    })
  })

  describe("subscriptions", () => {
    it("sets lists and categories for yourself, refuses a private list you may not see, and unlinks", async () => {
      const { tg, user } = await linked("viewer")
      const owner = await server.signIn("operator")
      const list = async (shared: boolean, ownerId: string | null) =>
        (await server.db.query(
          "INSERT INTO watchlists (name, category, owner_id, shared) VALUES ($1, 'bolo', $2, $3) RETURNING id",
          [`list ${randomBytes(4).toString("hex")}`, ownerId, shared]
        )).rows[0].id as string
      const shared = await list(true, null)
      const privateOfOther = await list(false, owner.userId)
      const privateOwn = await list(false, user.userId)

      const initial = await (await api(user, "/api/v1/telegram/subscriptions")).json()
      expect(initial).toMatchObject({ linked: true, telegram_username: tg.username, watchlist_ids: [], categories: [] })

      const put = (body: unknown) => api(user, "/api/v1/telegram/subscriptions", { method: "PUT", body: JSON.stringify(body) })
      const saved = await put({ watchlist_ids: [shared, privateOwn], categories: ["stolen", "missing_person"] })
      expect(saved.status).toBe(200)
      expect(await saved.json()).toMatchObject({ watchlist_ids: [shared, privateOwn], categories: ["stolen", "missing_person"] })

      const refused = await put({ watchlist_ids: [privateOfOther], categories: [] })
      expect(refused.status).toBe(403)
      expect(((await refused.json()) as { message: string }).message).toContain("private")
      expect((await put({ watchlist_ids: ["00000000-0000-4000-8000-00000000abcd"], categories: [] })).status).toBe(404)
      expect((await put({ watchlist_ids: [], categories: ["parking"] })).status).toBe(400)
      // refusals change nothing
      const kept = (await (await api(user, "/api/v1/telegram/subscriptions")).json()) as { watchlist_ids: Array<string> }
      expect(kept.watchlist_ids).toEqual([shared, privateOwn])

      const { rows } = await server.db.query(
        "SELECT watchlist_id, category FROM telegram_subscriptions WHERE user_id = $1 ORDER BY id",
        [user.userId]
      )
      expect(rows).toEqual([
        { watchlist_id: shared, category: null },
        { watchlist_id: privateOwn, category: null },
        { watchlist_id: null, category: "stolen" },
        { watchlist_id: null, category: "missing_person" }
      ])

      expect((await api(user, "/api/v1/telegram/unlink", { method: "POST" })).status).toBe(204)
      expect(await (await api(user, "/api/v1/telegram/subscriptions")).json()).toMatchObject({ linked: false })
      const { rows: audit } = await server.db.query(
        "SELECT action, outcome FROM audit_log WHERE actor_id = $1 AND action LIKE 'telegram.%' ORDER BY id",
        [user.userId]
      )
      expect(audit.map((a) => `${a.action}:${a.outcome}`)).toEqual([
        "telegram.link_code:success",
        "telegram.link:success",
        "telegram.subscriptions:success",
        "telegram.subscriptions:denied",
        "telegram.unlink:success"
      ])
    })
  })

  describe("health alerts", () => {
    it("tells the admins with a linked chat of a health alert raised and cleared, and no one else", async () => {
      const admin = await linked("admin")
      const operator = await linked("operator")
      const { apiKey: siteKey } = await server.collector("Clock site")
      const beat = (aheadMs: number) => postHeartbeat(server, siteKey, { device_time: new Date(Date.now() + aheadMs).toISOString() })
      const check = () => checkHealth(server)
      const since = fake.calls.length
      expect((await beat(6_000)).status).toBe(200)
      await check()
      const raised = await fake.waitFor(
        (c) => c.method === "sendMessage" && toChat(admin.tg.id)(c) && String(c.params.text).includes("Clock site"),
        { since }
      )
      expect(String(raised.params.text)).toMatch(/^⚠️ <b>Collector clock off<\/b>\nClock site: clock ahead by 6\.0 s\nSince \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/)
      expect(raised.params.reply_markup).toBeUndefined()
      expect((await beat(0)).status).toBe(200)
      await check()
      const cleared = await fake.waitFor(
        (c) => c.method === "sendMessage" && toChat(admin.tg.id)(c) && String(c.params.text).includes("cleared"),
        { since }
      )
      expect(String(cleared.params.text)).toMatch(/^✅ <b>Collector clock off: cleared<\/b>\nClock site: clock ahead by 6\.0 s\nLasted 1 min, until /)
      // The operator's chat heard nothing of it.
      expect(fake.calls.slice(since).filter((c) => toChat(operator.tg.id)(c) && String(c.params.text ?? "").includes("Clock site"))).toEqual([])
      // Recorded as sent once Telegram's answer is in.
      await expect.poll(async () => (await server.db.query(
        "SELECT health_event, status FROM telegram_deliveries WHERE user_id = $1 AND health_alert_id IS NOT NULL ORDER BY id",
        [admin.user.userId])).rows).toEqual([{ health_event: "raised", status: "sent" }, { health_event: "cleared", status: "sent" }])
      // Admins see them in the deliveries list too, by their health alert.
      const listed = (await (await api(admin.user, "/api/v1/telegram/deliveries?status=sent&limit=500")).json()) as {
        items: Array<{ user_id: string; alert_id: string | null; plate: string | null; health_alert_id: string | null; health_event: string | null }>
      }
      const ours = listed.items.filter((d) => d.user_id === admin.user.userId && d.health_alert_id !== null)
      expect(ours.map((d) => [d.alert_id, d.plate, d.health_event]).sort()).toEqual([[null, null, "cleared"], [null, null, "raised"]])
    })
  })

  describe("delivering alerts", () => {
    it("sends the plate crop with the caption and the two buttons, and records the message", async () => {
      const { tg, user } = await linked("operator")
      const alert = await newAlert()
      const since = fake.calls.length
      const id = await deliver(alert.alertId, user.userId, tg.id)
      const call = await fake.waitFor((c) => c.method === "sendPhoto" && toChat(tg.id)(c), { since })
      expect(call.status).toBe(200)
      expect(call.photo).toEqual(alert.jpeg)
      const caption = String(call.params.caption)
      expect(caption).toContain(alert.plate)
      expect(caption).toContain(alert.listName)
      expect(caption).toContain("stolen")
      expect(caption).toContain("Main St northbound")
      expect(caption).toContain("North gate")
      expect(caption).toContain(`${alert.detectedAt.toISOString().slice(0, 19).replace("T", " ")} UTC`)
      expect(caption).toContain("https://www.openstreetmap.org/?mlat=41.1135&amp;mlon=-74.0457#map=17/41.1135/-74.0457")
      expect(caption).toContain("grey van")
      expect(caption).not.toContain("RETRO")
      expect(call.params.parse_mode).toBe("HTML")
      expect(buttonsOf(call).map((b) => b.callback_data)).toEqual([
        expect.stringMatching(signed("ack", alert.alertId)),
        expect.stringMatching(signed("way", alert.alertId))
      ])
      // Telegram refuses callback data over 64 bytes.
      for (const b of buttonsOf(call)) expect(Buffer.byteLength(b.callback_data)).toBeLessThanOrEqual(64)
      expect(buttonsOf(call).map((b) => b.text).join(" ")).toMatch(/Acknowledge.*On my way/)

      const row = await until(async () => {
        const r = await deliveryRow(id)
        return r.status === "sent" ? r : undefined
      }, "the delivery to be recorded as sent")
      expect(row).toMatchObject({ attempts: 1, last_error: null })
      expect(Number(row.message_id)).toBeGreaterThan(0)
    })

    it("an alert the engine raises reaches the volunteer subscribed to its list", async () => {
      const { tg, user } = await linked("operator")
      const { rows: [list] } = await server.db.query(
        "INSERT INTO watchlists (name, category) VALUES ($1, 'missing_person') RETURNING id",
        [`Missing ${randomBytes(3).toString("hex")}`]
      )
      const subscribed = await api(user, "/api/v1/telegram/subscriptions", {
        method: "PUT",
        body: JSON.stringify({ watchlist_ids: [list.id], categories: [] })
      })
      expect(subscribed.status).toBe(200)
      const plate = newPlate()
      await server.db.query(
        "INSERT INTO watchlist_entries (watchlist_id, kind, value, added_by_name) VALUES ($1, 'exact', $2, 'import')",
        [list.id, plate]
      )
      const since = fake.calls.length
      const { jpeg } = await ingest(plate)
      const call = await fake.waitFor(
        (c) => c.method === "sendPhoto" && toChat(tg.id)(c) && String(c.params.caption).includes(plate),
        { since, timeoutMs: 30_000 }
      )
      expect(call.status).toBe(200)
      expect(call.photo).toEqual(jpeg)
      expect(String(call.params.caption)).toContain("missing_person")
    }, 40_000)

    it("sends text when the alert has no photo, and marks a retro alert", async () => {
      const { tg, user } = await linked("viewer")
      const alert = await newAlert({ photo: false, retro: true })
      const since = fake.calls.length
      await deliver(alert.alertId, user.userId, tg.id)
      const call = await fake.waitFor((c) => c.method === "sendMessage" && toChat(tg.id)(c), { since })
      expect(String(call.params.text)).toContain(alert.plate)
      expect(String(call.params.text)).toContain("RETRO")
      expect(buttonsOf(call)).toHaveLength(2)
      expect(sentPhotos(tg.id, since)).toHaveLength(0)
    })

    it("honours a 429's retry_after, then sends", async () => {
      const { tg, user } = await linked("operator")
      const alert = await newAlert()
      fake.failNext("sendPhoto", 1, { kind: "429", retryAfter: 2 })
      const since = fake.calls.length
      const id = await deliver(alert.alertId, user.userId, tg.id)
      const first = await fake.waitFor((c) => c.method === "sendPhoto" && toChat(tg.id)(c), { since })
      expect(first.status).toBe(429)
      const second = await fake.waitFor((c) => c.method === "sendPhoto" && toChat(tg.id)(c) && c.status === 200, {
        since,
        timeoutMs: 15_000
      })
      // Telegram's two seconds, not the five of the ordinary backoff.
      expect(second.at - first.at).toBeGreaterThanOrEqual(1_900)
      expect(second.at - first.at).toBeLessThan(3_900)
      const row = await until(async () => {
        const r = await deliveryRow(id)
        return r.status === "sent" ? r : undefined
      }, "the retried delivery to be sent")
      expect(row).toMatchObject({ attempts: 2, last_error: null })
    })

    it("retries 500s with a doubling, jittered backoff and records the failure after the last attempt, for admins", async () => {
      const { tg, user } = await linked("operator")
      const alert = await newAlert()
      fake.failNext("sendPhoto", MAX_ATTEMPTS, { kind: "500" })
      const id = await deliver(alert.alertId, user.userId, tg.id)
      for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        const row = await until(async () => {
          const r = await deliveryRow(id)
          return r.attempts === attempt ? r : undefined
        }, `attempt ${attempt}`)
        expect(row.last_error).toBe("500: Internal Server Error")
        if (attempt === MAX_ATTEMPTS) {
          expect(row.status).toBe("failed")
          break
        }
        expect(row.status).toBe("pending")
        const plain = Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** (attempt - 1))
        expect(Number(row.due_in_ms)).toBeGreaterThan(plain * 0.8 - 2_000)
        expect(Number(row.due_in_ms)).toBeLessThanOrEqual(plain * 1.2 + 100)
        await timeTravel(id)
      }
      expect(sentPhotos(tg.id).map((c) => c.status)).toEqual(Array.from({ length: MAX_ATTEMPTS }, () => 500))
      await sleep(300)
      expect(sentPhotos(tg.id)).toHaveLength(MAX_ATTEMPTS)

      const admin = await server.signIn("admin")
      const listed = await api(admin, "/api/v1/telegram/deliveries?status=failed")
      expect(listed.status).toBe(200)
      const body = (await listed.json()) as { items: Array<unknown> }
      expect(body.items).toContainEqual(expect.objectContaining({
        id,
        alert_id: alert.alertId,
        plate: alert.plate,
        username: user.username,
        chat_id: String(tg.id),
        status: "failed",
        attempts: MAX_ATTEMPTS,
        last_error: "500: Internal Server Error"
      }))
      expect((await api(await server.signIn("operator"), "/api/v1/telegram/deliveries?status=failed")).status).toBe(403)
    }, 60_000)

    it("fails at once when the volunteer blocked the bot (403)", async () => {
      const { tg, user } = await linked("operator")
      const alert = await newAlert()
      fake.failNext("sendPhoto", 1, { kind: "403" })
      const id = await deliver(alert.alertId, user.userId, tg.id)
      const row = await until(async () => {
        const r = await deliveryRow(id)
        return r.status === "failed" ? r : undefined
      }, "the delivery to fail")
      expect(row).toMatchObject({ attempts: 1, last_error: "403: Forbidden: bot was blocked by the user" })
      await sleep(300)
      expect(sentPhotos(tg.id)).toHaveLength(1)
    })

    it("retries a network failure without the token in what it records", async () => {
      const { tg, user } = await linked("operator")
      const alert = await newAlert()
      fake.failNext("sendPhoto", 1, { kind: "drop" })
      const id = await deliver(alert.alertId, user.userId, tg.id)
      const failed = await until(async () => {
        const r = await deliveryRow(id)
        return r.attempts === 1 ? r : undefined
      }, "the failed attempt")
      expect(failed.status).toBe("pending")
      expect(failed.last_error).toContain("sendPhoto")
      expect(failed.last_error).not.toContain(TOKEN)
      expect(failed.last_error).not.toContain(TOKEN.split(":")[1])
      await timeTravel(id)
      const sent = await until(async () => {
        const r = await deliveryRow(id)
        return r.status === "sent" ? r : undefined
      }, "the retried delivery")
      expect(sent.attempts).toBe(2)
    })

    it("does not send an alert of a list the person may not see (it turned private after the alert)", async () => {
      const { tg, user } = await linked("viewer")
      const owner = await server.signIn("operator")
      const alert = await newAlert({ privateTo: owner.userId })
      const since = fake.calls.length
      const id = await deliver(alert.alertId, user.userId, tg.id)
      const row = await until(async () => {
        const r = await deliveryRow(id)
        return r.status === "failed" ? r : undefined
      }, "the delivery to be dropped")
      expect(row.last_error).toContain("may not see")
      expect(fake.calls.slice(since).filter(toChat(tg.id))).toHaveLength(0)
    })

    it("does not send to a chat that is no longer linked to the person", async () => {
      const { tg, user } = await linked("operator")
      await api(user, "/api/v1/telegram/unlink", { method: "POST" })
      const alert = await newAlert()
      const id = await deliver(alert.alertId, user.userId, tg.id)
      const row = await until(async () => {
        const r = await deliveryRow(id)
        return r.status === "failed" ? r : undefined
      }, "the delivery to be dropped")
      expect(row.last_error).toContain("no longer linked")
      expect(sentPhotos(tg.id)).toHaveLength(0)
    })

    it("lists deliveries by status for admins, newest first, page by page", async () => {
      const admin = await server.signIn("admin")
      const page = async (query: string) => {
        const response = await api(admin, `/api/v1/telegram/deliveries${query}`)
        expect(response.status).toBe(200)
        return (await response.json()) as { items: Array<{ id: string; status: string }>; next_cursor: string | null }
      }
      const { rows } = await server.db.query("SELECT id FROM telegram_deliveries WHERE status = 'failed' ORDER BY id DESC")
      expect(rows.length).toBeGreaterThanOrEqual(3)
      const first = await page("?limit=2")
      expect(first.items.map((d) => d.id)).toEqual(rows.slice(0, 2).map((r) => String(r.id)))
      expect(first.next_cursor).toBe(first.items[1]!.id)
      const rest = await page(`?limit=500&cursor=${first.next_cursor}`)
      expect(rest.items.map((d) => d.id)).toEqual(rows.slice(2).map((r) => String(r.id)))
      expect(rest.next_cursor).toBeNull()
      const sent = await page("?status=sent")
      expect(sent.items.length).toBeGreaterThan(0)
      expect(sent.items.every((d) => d.status === "sent")).toBe(true)
      expect((await api(admin, "/api/v1/telegram/deliveries?status=lost")).status).toBe(400)
      expect((await api(admin, "/api/v1/telegram/deliveries?cursor=x")).status).toBe(400)
    })
  })

  describe("buttons", () => {
    /** A linked person with an alert message delivered to them. */
    const withMessage = async (role: "admin" | "operator" | "viewer", alert?: Awaited<ReturnType<typeof newAlert>>) => {
      const person = await linked(role)
      const shown = alert ?? (await newAlert())
      const id = await deliver(shown.alertId, person.user.userId, person.tg.id)
      const row = await until(async () => {
        const r = await deliveryRow(id)
        return r.status === "sent" ? r : undefined
      }, "the alert message")
      const sent = fake.calls.findLast((c) =>
        (c.method === "sendPhoto" || c.method === "sendMessage") && c.status === 200 && toChat(person.tg.id)(c)
      )!
      /** The data of the message's button for `action`, as the server made it for this chat. */
      const button = (action: "ack" | "way") => buttonsOf(sent).find((b) => b.callback_data.startsWith(`${action}:`))!.callback_data
      return { ...person, alert: shown, messageId: Number(row.message_id), button }
    }

    const press = async (tg: TelegramUser, messageId: number, data: string) => {
      const since = fake.calls.length
      const queryId = fake.pressButton(tg, messageId, data)
      const answer = await fake.waitFor((c) => c.method === "answerCallbackQuery" && c.params.callback_query_id === queryId, { since })
      return { answer, since }
    }

    const alertRow = async (alertId: string) =>
      (await server.db.query(
        "SELECT status, acknowledged_by, acknowledged_by_name, en_route_by_name, en_route_at FROM alerts WHERE id = $1",
        [alertId]
      )).rows[0]

    it("Acknowledge by an operator and On my way by a volunteer update the alert, the audit log and the message", async () => {
      const operator = await withMessage("operator")
      const { answer, since } = await press(operator.tg, operator.messageId, operator.button("ack"))
      expect(answer.params.text).toContain("Acknowledged")
      const edit = await fake.waitFor(
        (c) => c.method === "editMessageCaption" && toChat(operator.tg.id)(c),
        { since }
      )
      expect(Number(edit.params.message_id)).toBe(operator.messageId)
      expect(edit.params.caption).toContain(`Acknowledged by ${operator.user.username}`)
      expect(edit.params.caption).toContain(operator.alert.plate)
      expect(buttonsOf(edit).map((b) => b.callback_data)).toEqual([expect.stringMatching(signed("way", operator.alert.alertId))])
      expect(await alertRow(operator.alert.alertId)).toMatchObject({
        status: "acknowledged",
        acknowledged_by: operator.user.userId,
        acknowledged_by_name: operator.user.username
      })
      const { rows: acks } = await server.db.query(
        "SELECT actor_id, details, outcome FROM audit_log WHERE action = 'alert.acknowledge' AND target = $1",
        [`alert:${operator.alert.alertId}`]
      )
      expect(acks).toEqual([expect.objectContaining({ actor_id: operator.user.userId, outcome: "success" })])
      expect(acks[0].details).toMatchObject({ via: "telegram" })

      const viewer = await withMessage("viewer", operator.alert)
      const onWay = await press(viewer.tg, viewer.messageId, viewer.button("way"))
      expect(onWay.answer.params.text).toContain("on your way")
      const edited = await fake.waitFor((c) => c.method === "editMessageCaption" && toChat(viewer.tg.id)(c), { since: onWay.since })
      expect(edited.params.caption).toContain(`On the way: ${viewer.user.username}`)
      expect(edited.params.caption).toContain(`Acknowledged by ${operator.user.username}`)
      const row = await alertRow(operator.alert.alertId)
      expect(row.en_route_by_name).toBe(viewer.user.username)
      expect(row.en_route_at).not.toBeNull()
      expect(row.acknowledged_by).toBe(operator.user.userId)
      const { rows: ways } = await server.db.query(
        "SELECT actor_id, outcome FROM audit_log WHERE action = 'alert.en_route' AND target = $1",
        [`alert:${operator.alert.alertId}`]
      )
      expect(ways).toEqual([{ actor_id: viewer.user.userId, outcome: "success" }])
    })

    it("On my way acknowledges a new alert when an operator presses it, not when a viewer does", async () => {
      const viewer = await withMessage("viewer")
      await press(viewer.tg, viewer.messageId, viewer.button("way"))
      expect(await alertRow(viewer.alert.alertId)).toMatchObject({
        status: "new", acknowledged_by: null, en_route_by_name: viewer.user.username
      })
      const operator = await withMessage("operator")
      await press(operator.tg, operator.messageId, operator.button("way"))
      expect(await alertRow(operator.alert.alertId)).toMatchObject({
        status: "acknowledged", acknowledged_by: operator.user.userId, en_route_by_name: operator.user.username
      })
      const { rows } = await server.db.query(
        "SELECT target, details->>'acknowledged' AS acknowledged FROM audit_log WHERE action = 'alert.en_route' AND target = ANY($1) ORDER BY id",
        [[`alert:${viewer.alert.alertId}`, `alert:${operator.alert.alertId}`]]
      )
      expect(rows).toEqual([
        { target: `alert:${viewer.alert.alertId}`, acknowledged: "false" },
        { target: `alert:${operator.alert.alertId}`, acknowledged: "true" }
      ])
    })

    it("a viewer cannot acknowledge", async () => {
      const viewer = await withMessage("viewer")
      const { answer } = await press(viewer.tg, viewer.messageId, viewer.button("ack"))
      expect(answer.params.text).toContain("operator role")
      expect(answer.params.show_alert).toBe(true)
      expect(await alertRow(viewer.alert.alertId)).toMatchObject({ status: "new", acknowledged_by: null })
      const { rows } = await server.db.query(
        "SELECT actor_id, outcome FROM audit_log WHERE action = 'alert.acknowledge' AND target = $1",
        [`alert:${viewer.alert.alertId}`]
      )
      expect(rows).toEqual([{ actor_id: viewer.user.userId, outcome: "denied" }])
    })

    it("a button from a chat that is not linked, or of a disabled account, does nothing", async () => {
      const alert = await newAlert()
      const stranger = volunteer()
      const { answer } = await press(stranger, 1, `ack:${alert.alertId}`)
      expect(answer.params.text).toContain("not linked")

      const operator = await withMessage("operator", alert)
      await server.db.query("UPDATE users SET disabled_at = now() WHERE id = $1", [operator.user.userId])
      const disabled = await press(operator.tg, operator.messageId, operator.button("ack"))
      expect(disabled.answer.params.text).toContain("disabled")
      expect(await alertRow(alert.alertId)).toMatchObject({ status: "new" })
    })

    /** What the bot sent or answered in the chat from call `since` on (answers to button presses carry no chat). */
    const saidTo = (chatId: number, since: number) =>
      fake.calls.slice(since).filter((c) =>
        c.method !== "getUpdates" && (c.method === "answerCallbackQuery" || toChat(chatId)(c))
      )

    const buttonAudit = async (userId: string) =>
      (await server.db.query(
        `SELECT target, details->>'reason' AS reason, details->>'data' AS data, outcome
           FROM audit_log WHERE action = 'telegram.button' AND actor_id = $1 ORDER BY id`,
        [userId]
      )).rows

    it("a viewer's chat learns nothing of a private list's alert from made-up, forged or another chat's buttons", async () => {
      const owner = await server.signIn("operator")
      const hidden = await newAlert({ privateTo: owner.userId })
      // Admins see every list: this message carries buttons the server signed, for the admin's chat.
      const admin = await withMessage("admin", hidden)
      const viewer = await withMessage("viewer")
      const forged = (action: "ack" | "way") => `${action}:${hidden.alertId}:${"A".repeat(22)}`
      const attempts = [
        { data: `way:${hidden.alertId}`, reason: "unsigned" },
        { data: `ack:${hidden.alertId}`, reason: "unsigned" },
        { data: forged("way"), reason: "bad signature" },
        { data: forged("ack"), reason: "bad signature" },
        { data: admin.button("way"), reason: "bad signature" },
        { data: admin.button("ack"), reason: "bad signature" }
      ]
      const since = fake.calls.length
      for (const { data } of attempts) {
        const { answer } = await press(viewer.tg, viewer.messageId, data)
        expect(answer.params.text).toBe(BUTTON_REFUSED)
      }
      // The bot handles updates one at a time: once this press has edited its message, the presses
      // before it have done all they were going to.
      const own = await press(viewer.tg, viewer.messageId, viewer.button("way"))
      expect(own.answer.params.text).toContain("on your way")
      const edit = await fake.waitFor((c) => c.method === "editMessageCaption" && toChat(viewer.tg.id)(c), { since: own.since })
      expect(edit.params.caption).toContain(viewer.alert.plate)

      const said = saidTo(viewer.tg.id, since)
      expect(said.filter((c) => c.method.startsWith("edit") || c.method.startsWith("send"))).toEqual([edit])
      const text = JSON.stringify(said.map((c) => c.params))
      expect(text).not.toContain(hidden.plate)
      expect(text).not.toContain(hidden.listName)
      expect(await alertRow(hidden.alertId)).toMatchObject({ status: "new", acknowledged_by: null, en_route_by_name: null })
      expect(await buttonAudit(viewer.user.userId)).toEqual(attempts.map(({ data, reason }) => ({
        target: `telegram_chat:${viewer.tg.id}`,
        reason,
        data,
        outcome: "denied"
      })))
    })

    it("a button the server signed stops working, and says nothing, once its list is private to someone else", async () => {
      const viewer = await withMessage("viewer")
      const owner = await server.signIn("operator")
      await server.db.query("UPDATE watchlists SET shared = false, owner_id = $2 WHERE id = $1", [viewer.alert.listId, owner.userId])
      const since = fake.calls.length
      for (const action of ["way", "ack"] as const) {
        const { answer } = await press(viewer.tg, viewer.messageId, viewer.button(action))
        expect(answer.params.text).toBe(BUTTON_REFUSED)
        expect(answer.params.show_alert).toBe(true)
      }
      expect(await alertRow(viewer.alert.alertId)).toMatchObject({ status: "new", en_route_by_name: null })

      // Shared again, the same button works.
      await server.db.query("UPDATE watchlists SET shared = true WHERE id = $1", [viewer.alert.listId])
      const again = await press(viewer.tg, viewer.messageId, viewer.button("way"))
      expect(again.answer.params.text).toContain("on your way")
      const edit = await fake.waitFor((c) => c.method === "editMessageCaption" && toChat(viewer.tg.id)(c), { since: again.since })
      expect(saidTo(viewer.tg.id, since).filter((c) => c.method.startsWith("edit"))).toEqual([edit])
      expect(await alertRow(viewer.alert.alertId)).toMatchObject({ en_route_by_name: viewer.user.username })
      expect(await buttonAudit(viewer.user.userId)).toEqual([
        { target: `alert:${viewer.alert.alertId}`, reason: "not visible", data: viewer.button("way"), outcome: "denied" },
        { target: `alert:${viewer.alert.alertId}`, reason: "not visible", data: viewer.button("ack"), outcome: "denied" }
      ])
    })
  })

  describe("the token", () => {
    it("TELEGRAM_BOT_USERNAME is read with or without the @, and anything that is no username is refused at start", async () => {
      const read = (name: string) =>
        Effect.runPromiseExit(appConfig.pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["TELEGRAM_BOT_USERNAME", name]])))))
      const ok = await read("@Chaverim_ALPR_bot")
      expect(Exit.isSuccess(ok) && ok.value.telegramBotUsername).toEqual(Option.some("Chaverim_ALPR_bot"))
      const empty = await read(" ")
      expect(Exit.isSuccess(empty) && empty.value.telegramBotUsername).toEqual(Option.none())
      for (const bad of ["ab", "chaverim alpr bot", "https://t.me/chaverim_bot", "bot_"]) {
        const exit = await read(bad)
        expect(Exit.isFailure(exit), bad).toBe(true)
        expect(String(Exit.isFailure(exit) && exit.cause)).toContain("a Telegram username")
      }
    })

    it("is scrubbed from any text", () => {
      const scrub = scrubToken(TOKEN)
      expect(scrub(`request to http://x/bot${TOKEN}/getMe failed`)).toBe("request to http://x/bot<redacted>/getMe failed")
      expect(scrub(`https://api.telegram.org/bot${encodeURIComponent(TOKEN)}/sendPhoto`)).not.toContain(TOKEN.split(":")[1])
    })

    it("backs off 5 s doubling to 10 min, jittered by ±20 %", () => {
      expect(retryDelayMs(1, 0.5)).toBe(5_000)
      expect(retryDelayMs(2, 0.5)).toBe(10_000)
      expect(retryDelayMs(3, 0)).toBe(16_000)
      expect(retryDelayMs(3, 1)).toBe(24_000)
      expect(retryDelayMs(8, 0.5)).toBe(600_000)
      expect(retryDelayMs(30, 1)).toBe(600_000)
    })

    it("never appears in logs, recorded errors or the audit log; the fake saw only the right one", async () => {
      expect(fake.wrongToken()).toBe(0)
      const logged = output.join("\n")
      // the failures above were logged, so the check looks at something
      expect(logged).toContain("telegram message")
      expect(logged).not.toContain(TOKEN)
      expect(logged).not.toContain(TOKEN.split(":")[1])
      const { rows } = await server.db.query(
        `SELECT (SELECT coalesce(string_agg(last_error, ' '), '') FROM telegram_deliveries) AS errors,
                (SELECT coalesce(string_agg(details::text, ' '), '') FROM audit_log) AS audit`
      )
      expect(rows[0].errors).not.toContain(TOKEN.split(":")[1])
      expect(rows[0].audit).not.toContain(TOKEN.split(":")[1])
    })
  })

  it("stops polling when the server shuts down", async () => {
    await server.stop()
    const stopped = fake.callsOf("getUpdates").length
    // bot.stop confirms the last update with one short getUpdates (no timeout)
    expect(fake.callsOf("getUpdates").at(-1)?.params.timeout).toBeUndefined()
    await sleep(1_500)
    expect(fake.callsOf("getUpdates")).toHaveLength(stopped)
  })
})
