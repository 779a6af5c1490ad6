import type { OutputDelivery } from "@chaverim/domain/Outputs"
import * as Option from "effect/Option"
import { randomBytes } from "node:crypto"
import * as Net from "node:net"
import { SMTPServer } from "smtp-server"
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest"
import { createEntry, createList, latestRevision, matcherAt } from "./alertHarness"
import { checkHealth, detection, fakeJpeg, postHeartbeat, type SignedIn, sleep, startServer, type TestServer, until } from "./harness"
import { outcomeOf, rpcFor } from "./rpcClient"

/**
 * E-mail end to end: alerts raised by the real engine from reads through the real ingest API, owed
 * through the outbox, batched per person and sent by the server's sender to a real local SMTP server
 * (smtp-server, with AUTH required) that keeps every message as it arrived.
 */

const SMTP_USER = "alpr-mailer"
const SMTP_PASSWORD = `pw-${randomBytes(12).toString("hex")}`
/** the window the tests run with (EMAIL_BATCH_SECONDS, from the environment) */
const BATCH_SECONDS = 2

interface Received {
  readonly from: string
  readonly to: ReadonlyArray<string>
  readonly raw: string
  readonly at: number
}

const received: Array<Received> = []
const logins: Array<{ readonly username: string; readonly password: string }> = []
/** Everything the server logged or printed while the tests ran. */
const output: Array<string> = []

/** A real SMTP server: AUTH required, 550 for any address starting with "nobody". */
const startSmtp = (port = 0) =>
  new Promise<{ readonly smtp: SMTPServer; readonly port: number }>((resolve, reject) => {
    const smtp = new SMTPServer({
      disabledCommands: ["STARTTLS"],
      allowInsecureAuth: true,
      authMethods: ["PLAIN", "LOGIN"],
      logger: false,
      onAuth(auth, _session, callback) {
        logins.push({ username: auth.username ?? "", password: auth.password ?? "" })
        if (auth.username === SMTP_USER && auth.password === SMTP_PASSWORD) callback(null, { user: SMTP_USER })
        else callback(Object.assign(new Error("Invalid username or password"), { responseCode: 535 }))
      },
      onRcptTo(address, _session, callback) {
        if (address.address.startsWith("nobody")) {
          callback(Object.assign(new Error(`5.1.1 <${address.address}>: mailbox unavailable`), { responseCode: 550 }))
        } else callback()
      },
      onData(stream, session, callback) {
        const chunks: Array<Buffer> = []
        stream.on("data", (c: Buffer) => chunks.push(c))
        stream.on("end", () => {
          received.push({
            from: session.envelope.mailFrom === false ? "" : session.envelope.mailFrom.address,
            to: session.envelope.rcptTo.map((r) => r.address),
            raw: Buffer.concat(chunks).toString("latin1"),
            at: Date.now()
          })
          callback()
        })
      }
    })
    smtp.on("error", () => undefined)
    smtp.server.once("error", reject)
    smtp.listen(port, "127.0.0.1", () => resolve({ smtp, port: (smtp.server.address() as Net.AddressInfo).port }))
  })

const closeSmtp = (smtp: SMTPServer | undefined) => new Promise<void>((resolve) => (smtp === undefined ? resolve() : smtp.close(() => resolve())))

/** A port nothing listens on (yet). */
const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = Net.createServer()
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as Net.AddressInfo
      probe.close(() => resolve(port))
    })
  })

// ---------------------------------------------------------------------------------------------------
// MIME, enough to read what nodemailer writes

interface Part {
  readonly headers: Record<string, string>
  readonly body: string
}

const headersOf = (block: string) =>
  Object.fromEntries(
    block.replace(/\r\n[ \t]+/g, " ").split("\r\n").filter((l) => l.includes(":")).map((l) => {
      const i = l.indexOf(":")
      return [l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim()]
    })
  )

/** The leaves of a message: every part that is not multipart. */
const partsOf = (raw: string): ReadonlyArray<Part> => {
  const split = raw.indexOf("\r\n\r\n")
  const headers = headersOf(raw.slice(0, split))
  const body = raw.slice(split + 4)
  const boundary = /boundary="?([^";]+)"?/i.exec(headers["content-type"] ?? "")?.[1]
  if (!/^multipart\//i.test(headers["content-type"] ?? "") || boundary === undefined) return [{ headers, body }]
  const sections = body.split(`--${boundary}`).slice(1)
  return sections.filter((s) => !s.startsWith("--")).flatMap((s) => partsOf(s.replace(/^\r\n/, "")))
}

const decoded = (part: Part): Buffer => {
  const encoding = (part.headers["content-transfer-encoding"] ?? "").toLowerCase()
  if (encoding === "base64") return Buffer.from(part.body.replace(/\s+/g, ""), "base64")
  if (encoding === "quoted-printable") {
    const soft = part.body.replace(/=\r\n/g, "")
    return Buffer.from(soft.replace(/=([0-9A-F]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))), "latin1")
  }
  return Buffer.from(part.body, "latin1")
}

const textOf = (message: Received, type: "text/plain" | "text/html") => {
  const part = partsOf(message.raw).find((p) => (p.headers["content-type"] ?? "").toLowerCase().startsWith(type))
  return part === undefined ? undefined : decoded(part).toString("utf8")
}

const subjectOf = (message: Received) => headersOf(message.raw.slice(0, message.raw.indexOf("\r\n\r\n"))).subject ?? ""

// ---------------------------------------------------------------------------------------------------

let smtpUp: { readonly smtp: SMTPServer; readonly port: number }
let smtpLater: SMTPServer | undefined
let server: TestServer
let admin: SignedIn
let apiKey: string


const { rpc, rpcExit } = rpcFor(() => server)

const useSmtp = (port: number, password = SMTP_PASSWORD) =>
  rpc(admin, (client) =>
    client.email.updateSettings({
      smtp_url: `smtp://127.0.0.1:${port}`,
      smtp_username: SMTP_USER,
      smtp_password: password,
      from: "Chaverim ALPR <alerts@alpr.example.org>"
    }))

let seq = 0
const unique = () => `${++seq}${randomBytes(3).toString("hex")}`

/** A person of the role with an address of their own, subscribed to `to`. */
const subscriber = async (
  role: "admin" | "operator" | "viewer",
  to: { readonly watchlist_id: string } | { readonly category: "stolen" | "bolo" | "missing_person" | "of_interest" },
  local = `person${unique()}`
) => {
  const user = await server.signIn(role)
  const address = `${local}@example.org`
  const me = await rpc(user, (client) => client.email.setAddress({ address }))
  expect(me.address).toBe(address)
  await rpc(user, (client) => client.email.subscribe(to))
  return { user, address }
}

/** A plate on a new list, an entry for it, and the matcher up to date. */
const watched = async (options: { readonly category?: "stolen" | "bolo" | "missing_person" | "of_interest"; readonly ownerId?: string; readonly name?: string } = {}) => {
  const plate = `EM${unique().toUpperCase()}`
  const list = await createList(server, {
    category: options.category ?? "bolo",
    shared: options.ownerId === undefined,
    ownerId: options.ownerId ?? null,
    ...(options.name === undefined ? {} : { name: options.name })
  })
  await createEntry(server, list.id, "exact", plate)
  await matcherAt(server, await latestRevision(server.db))
  return { plate, listId: list.id }
}

/** Reads of the plates in one batch through the real API, each with a plate crop; the engine raises the alerts. */
const sight = async (plates: ReadonlyArray<string>) => {
  const form = new FormData()
  const crops = new Map<string, Uint8Array>()
  const events = plates.map((plate) => detection({ plate: { text: plate, confidence: 0.95 }, location: { lat: 41.1135, lon: -74.0457 } }))
  form.append("batch", JSON.stringify({ events }))
  events.forEach((event, i) => {
    const jpeg = fakeJpeg(2_000 + i * 7 + seq, seq + i)
    crops.set(plates[i]!, jpeg)
    form.append(`plate:${event.detection_id}`, new Blob([jpeg], { type: "image/jpeg" }), "plate.jpg")
  })
  const response = await fetch(`${server.url}/api/v1/detections/batch`, {
    method: "POST",
    headers: { authorization: `Bearer ${apiKey}` },
    body: form
  })
  expect(await response.json()).toMatchObject({ accepted: plates.length })
  const alerts = await until(async () => {
    const { rows } = await server.db.query<{ id: string; plate: string }>(
      "SELECT id::text AS id, plate FROM alerts WHERE plate = ANY($1)",
      [plates]
    )
    return rows.length === plates.length ? rows : undefined
  }, "the alerts")
  return { alerts: new Map(alerts.map((a) => [a.plate, a.id])), crops }
}

const mailTo = (address: string) => received.filter((m) => m.to.includes(address))

const deliveriesTo = async (userId: string) =>
  (await server.db.query<{ alert_id: string; status: string; attempts: number; last_error: string | null }>(
    "SELECT alert_id::text AS alert_id, status, attempts, last_error FROM output_deliveries WHERE channel = 'email' AND target = $1 ORDER BY id",
    [userId]
  )).rows

beforeAll(async () => {
  for (const method of ["log", "info", "warn", "error", "debug"] as const) {
    const original = console[method].bind(console)
    vi.spyOn(console, method).mockImplementation((...args: Array<unknown>) => {
      output.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a) ?? String(a))).join(" "))
      original(...args)
    })
  }
  smtpUp = await startSmtp()
  server = await startServer({
    publicUrl: Option.some("https://alpr.example.org"),
    email: {
      smtpUrl: Option.none(),
      smtpUsername: Option.none(),
      smtpPassword: Option.none(),
      smtpFrom: Option.none(),
      batchSeconds: Option.some(BATCH_SECONDS)
    }
  })
  admin = await server.signIn("admin")
  apiKey = (await server.collector("E-mail site")).apiKey
})

afterAll(async () => {
  await server?.close()
  await closeSmtp(smtpUp?.smtp)
  await closeSmtp(smtpLater)
  vi.restoreAllMocks()
})

describe("e-mail", () => {
  it("keeps owed e-mail while SMTP is not configured, then the admin panel's settings send it", async () => {
    const before = await rpc(admin, (client) => client.email.settings())
    expect(before).toMatchObject({ enabled: false, smtp_url: null, smtp_password: "not set", batch_seconds: BATCH_SECONDS })
    expect(before.sources).toMatchObject({ smtp_url: "unset", batch_seconds: "environment" })

    const { plate } = await watched({ category: "missing_person" })
    const { address, user } = await subscriber("viewer", { category: "missing_person" })
    const { alerts } = await sight([plate])
    const owed = await until(async () => {
      const rows = await deliveriesTo(user.userId)
      return rows.length === 1 ? rows : undefined
    }, "the delivery owed")
    expect(owed[0]).toMatchObject({ alert_id: alerts.get(plate), status: "pending", attempts: 0 })
    await sleep(BATCH_SECONDS * 1000 + 1_000)
    expect(mailTo(address)).toHaveLength(0)
    expect((await deliveriesTo(user.userId))[0]).toMatchObject({ status: "pending", attempts: 0 })

    const after = await useSmtp(smtpUp.port)
    expect(after).toMatchObject({
      enabled: true,
      smtp_url: `smtp://127.0.0.1:${smtpUp.port}`,
      smtp_username: SMTP_USER,
      smtp_password: "set",
      from: "Chaverim ALPR <alerts@alpr.example.org>"
    })
    expect(after.sources).toMatchObject({ smtp_url: "admin", smtp_password: "admin", batch_seconds: "environment" })
    expect(JSON.stringify(after)).not.toContain(SMTP_PASSWORD)
    const [mail] = await until(() => (mailTo(address).length > 0 ? mailTo(address) : undefined), "the e-mail")
    expect(subjectOf(mail!)).toContain(plate)
    expect(logins.at(-1)).toEqual({ username: SMTP_USER, password: SMTP_PASSWORD })

    const { rows: audit } = await server.db.query(
      "SELECT actor_id, details FROM audit_log WHERE action = 'email.settings' ORDER BY id DESC LIMIT 1"
    )
    expect(audit[0].actor_id).toBe(admin.userId)
    expect(audit[0].details).toMatchObject({ smtp_password: "set", smtp_url: `smtp://127.0.0.1:${smtpUp.port}` })
    expect(JSON.stringify(audit)).not.toContain(SMTP_PASSWORD)
  }, 60_000)

  it("sends a subscriber one e-mail with text, HTML and the plate crop inline", async () => {
    const { listId, plate } = await watched({ name: `Stolen <b>cars</b> & co ${unique()}` })
    const { address, user } = await subscriber("operator", { watchlist_id: listId })
    const started = Date.now()
    const { alerts, crops } = await sight([plate])
    const alertId = alerts.get(plate)!
    const [mail] = await until(() => (mailTo(address).length > 0 ? mailTo(address) : undefined), "the e-mail")
    // held for the batch window, then sent
    expect(mail!.at - started).toBeGreaterThanOrEqual(BATCH_SECONDS * 1000 - 500)
    expect(mail!.from).toBe("alerts@alpr.example.org")

    const text = textOf(mail!, "text/plain")!
    expect(text).toContain(plate)
    expect(text).toContain("Stolen <b>cars</b> & co")
    expect(text).toContain("Main St northbound")
    expect(text).toContain(`https://alpr.example.org/alerts/${alertId}`)
    const html = textOf(mail!, "text/html")!
    expect(html).toContain(plate)
    // names from people are escaped in the HTML
    expect(html).toContain("Stolen &lt;b&gt;cars&lt;/b&gt; &amp; co")
    expect(html).not.toContain("<b>cars</b>")
    expect(html).toContain(`href="https://alpr.example.org/alerts/${alertId}"`)
    expect(html).toContain(`src="cid:plate-${alertId}@alpr.chaverim"`)

    const image = partsOf(mail!.raw).find((p) => (p.headers["content-type"] ?? "").startsWith("image/jpeg"))!
    expect(image.headers["content-id"]).toBe(`<plate-${alertId}@alpr.chaverim>`)
    expect(image.headers["content-disposition"]).toMatch(/^inline/)
    expect(new Uint8Array(decoded(image))).toEqual(crops.get(plate))

    await sleep(BATCH_SECONDS * 1000 + 500)
    expect(mailTo(address)).toHaveLength(1)
    expect(await deliveriesTo(user.userId)).toEqual([{ alert_id: alertId, status: "sent", attempts: 1, last_error: null }])
  }, 60_000)

  it("puts three alerts in a burst for one person in ONE e-mail naming all three", async () => {
    const lists = [await watched({ category: "stolen" }), await watched({ category: "stolen" }), await watched({ category: "stolen" })]
    const { address, user } = await subscriber("viewer", { category: "stolen" })
    const plates = lists.map((l) => l.plate)
    // three reads in three batches, one after the other: three transactions owe three rows
    const alerts = new Map<string, string>()
    for (const plate of plates) for (const [p, id] of (await sight([plate])).alerts) alerts.set(p, id)
    const [mail] = await until(() => (mailTo(address).length > 0 ? mailTo(address) : undefined), "the e-mail")
    await sleep(BATCH_SECONDS * 1000 + 1_000)
    expect(mailTo(address)).toHaveLength(1)
    expect(subjectOf(mail!)).toMatch(/^3 ALPR alerts/)
    const text = textOf(mail!, "text/plain")!
    const html = textOf(mail!, "text/html")!
    for (const plate of plates) {
      expect(text).toContain(plate)
      expect(html).toContain(plate)
      expect(html).toContain(`cid:plate-${alerts.get(plate)}@alpr.chaverim`)
    }
    expect(partsOf(mail!.raw).filter((p) => (p.headers["content-type"] ?? "").startsWith("image/jpeg"))).toHaveLength(3)
    const rows = await deliveriesTo(user.userId)
    expect(rows.map((r) => r.status)).toEqual(["sent", "sent", "sent"])
  }, 60_000)

  it("sends nothing to a person who may not see a private list; its owner gets it", async () => {
    const owner = await server.signIn("operator")
    const { listId, plate } = await watched({ category: "of_interest", ownerId: owner.userId })
    // Subscribing to another's private list is refused and audited.
    const other = await server.signIn("operator")
    const refused = await rpcExit(other, (client) => client.email.subscribe({ watchlist_id: listId }))
    expect(outcomeOf(refused)).toMatch(/^Forbidden/)
    const { rows: denied } = await server.db.query(
      "SELECT outcome FROM audit_log WHERE action = 'email.subscribe' AND actor_id = $1",
      [other.userId]
    )
    expect(denied).toEqual([{ outcome: "denied" }])
    // A category subscription does not reach it either.
    const outsider = await subscriber("operator", { category: "of_interest" })
    const ownerAddress = `owner${unique()}@example.org`
    await rpc(owner, (client) => client.email.setAddress({ address: ownerAddress }))
    await rpc(owner, (client) => client.email.subscribe({ category: "of_interest" }))

    await sight([plate])
    const [mail] = await until(() => (mailTo(ownerAddress).length > 0 ? mailTo(ownerAddress) : undefined), "the owner's e-mail")
    expect(subjectOf(mail!)).toContain(plate)
    await sleep(1_000)
    expect(mailTo(outsider.address)).toHaveLength(0)
    expect(await deliveriesTo(outsider.user.userId)).toEqual([])
  }, 60_000)

  it("re-checks visibility when sending: a list made private before the e-mail goes is not sent", async () => {
    const { listId, plate } = await watched({ category: "bolo" })
    const { address, user } = await subscriber("viewer", { watchlist_id: listId })
    await sight([plate])
    await until(async () => ((await deliveriesTo(user.userId)).length === 1 ? true : undefined), "the delivery owed")
    // within the batch window: the list is made private to someone else
    const owner = await server.signIn("operator")
    await server.db.query("UPDATE watchlists SET shared = false, owner_id = $2 WHERE id = $1", [listId, owner.userId])
    const [row] = await until(async () => {
      const rows = await deliveriesTo(user.userId)
      return rows[0]?.status === "failed" ? rows : undefined
    }, "the delivery given up")
    expect(row!.last_error).toContain("may no longer see")
    expect(row!.attempts).toBe(0)
    expect(mailTo(address)).toHaveLength(0)
  }, 60_000)

  it("tells admins with an address of a health alert raised and cleared, in e-mails of their own, and no one else", async () => {
    await useSmtp(smtpUp.port)
    const { address: adminAddress, user: fleetAdmin } = await subscriber("admin", { category: "of_interest" })
    const { address: operatorAddress } = await subscriber("operator", { category: "of_interest" })
    const site = `Clock site ${unique()}`
    const { apiKey: siteKey } = await server.collector(site)
    const about = (address: string) => mailTo(address).filter((m) => textOf(m, "text/plain")?.includes(site))

    expect((await postHeartbeat(server, siteKey, { device_time: new Date(Date.now() + 6_000).toISOString() })).status).toBe(200)
    await checkHealth(server)
    const [raised] = await until(() => (about(adminAddress).length > 0 ? about(adminAddress) : undefined), "the health e-mail")
    expect(subjectOf(raised!)).toBe(`ALPR health: Collector clock off (${site})`)
    expect(textOf(raised!, "text/plain")).toContain(`${site}: clock ahead by 6.0 s`)
    expect(textOf(raised!, "text/html")).toContain("Collector clock off")

    expect((await postHeartbeat(server, siteKey)).status).toBe(200)
    await checkHealth(server)
    const cleared = await until(() => (about(adminAddress).length > 1 ? about(adminAddress)[1] : undefined), "the clearing's e-mail")
    expect(subjectOf(cleared)).toBe(`ALPR health: Collector clock off: cleared (${site})`)
    expect(textOf(cleared, "text/plain")).toMatch(/Lasted 1 min, from \d{4}-\d\d-\d\d \d\d:\d\d:\d\d to /)
    await sleep(BATCH_SECONDS * 1000 + 500)
    expect(about(adminAddress)).toHaveLength(2)
    expect(about(operatorAddress)).toEqual([])
    const { rows } = await server.db.query<{ event: string; status: string }>(
      "SELECT event, status FROM output_deliveries WHERE channel = 'email' AND target = $1 AND health_alert_id IS NOT NULL ORDER BY id",
      [fleetAdmin.userId])
    expect(rows).toEqual([{ event: "health_raised", status: "sent" }, { event: "health_cleared", status: "sent" }])
  }, 60_000)

  it("re-checks the role when sending: an admin demoted before the health e-mail goes is not told", async () => {
    await useSmtp(smtpUp.port)
    const { address, user } = await subscriber("admin", { category: "of_interest" })
    const site = `Demoted site ${unique()}`
    const { apiKey: siteKey } = await server.collector(site)
    expect((await postHeartbeat(server, siteKey, { device_time: new Date(Date.now() + 6_000).toISOString() })).status).toBe(200)
    await checkHealth(server)
    const owed = () => server.db.query<{ status: string; last_error: string | null; attempts: number }>(
      "SELECT status, last_error, attempts FROM output_deliveries WHERE channel = 'email' AND target = $1 AND health_alert_id IS NOT NULL",
      [user.userId])
    await until(async () => ((await owed()).rows.length === 1 ? true : undefined), "the health delivery owed")
    // within the batch window: the admin becomes an operator
    await server.db.query("UPDATE users SET role = 'operator' WHERE id = $1", [user.userId])
    const [row] = await until(async () => {
      const { rows } = await owed()
      return rows[0]?.status === "failed" ? rows : undefined
    }, "the delivery given up")
    expect(row!.last_error).toBe("the person is no longer an admin")
    expect(row!.attempts).toBe(0)
    expect(mailTo(address).filter((m) => textOf(m, "text/plain")?.includes(site))).toEqual([])
  }, 60_000)

  it("SMTP down, then up: the e-mail arrives after all, once", async () => {
    const port = await freePort()
    await useSmtp(port)
    const { plate } = await watched({ category: "bolo" })
    const { address, user } = await subscriber("viewer", { category: "bolo" })
    await sight([plate])
    const [failed] = await until(async () => {
      const rows = await deliveriesTo(user.userId)
      return rows[0]?.attempts === 1 ? rows : undefined
    }, "a failed attempt")
    expect(failed).toMatchObject({ status: "pending" })
    expect(failed!.last_error).toMatch(/ECONNREFUSED|ECONNECTION/)
    expect(mailTo(address)).toHaveLength(0)

    smtpLater = (await startSmtp(port)).smtp
    const [mail] = await until(() => (mailTo(address).length > 0 ? mailTo(address) : undefined), "the e-mail once SMTP is up")
    expect(subjectOf(mail!)).toContain(plate)
    await sleep(BATCH_SECONDS * 1000 + 1_000)
    expect(mailTo(address)).toHaveLength(1)
    expect(await deliveriesTo(user.userId)).toEqual([expect.objectContaining({ status: "sent", attempts: 2, last_error: null })])
    await useSmtp(smtpUp.port)
  }, 60_000)

  it("fails the delivery for good on a 550 answer, with the server's message in the deliveries list", async () => {
    const { plate } = await watched({ category: "bolo" })
    const { user } = await subscriber("viewer", { category: "bolo" }, `nobody${unique()}`)
    const { alerts } = await sight([plate])
    const alertId = alerts.get(plate)!
    await until(async () => ((await deliveriesTo(user.userId))[0]?.status === "failed" ? true : undefined), "the failed delivery")
    const page = await rpc(admin, (client) => client.outputs.deliveries({ channel: "email", status: "failed" }))
    const item = page.items.find((d: OutputDelivery) => d.alert_id === alertId && d.target === user.userId)!
    expect(item).toMatchObject({ channel: "email", plate, status: "failed", attempts: 1 })
    expect(item.last_error).toContain("550")
    expect(item.last_error).toContain("mailbox unavailable")
  }, 60_000)

  it("sends the admin's test message and says what the server answered", async () => {
    const to = `test${unique()}@example.org`
    const result = await rpc(admin, (client) => client.email.test({ to }))
    expect(result.ok).toBe(true)
    expect(result.message).toMatch(/^250/)
    const [mail] = await until(() => (mailTo(to).length > 0 ? mailTo(to) : undefined), "the test message")
    expect(subjectOf(mail!)).toBe("ALPR e-mail test")

    const refused = await rpc(admin, (client) => client.email.test({ to: `nobody${unique()}@example.org` }))
    expect(refused.ok).toBe(false)
    expect(refused.message).toContain("550")

    // A wrong password: the server's 535, and the password nowhere.
    const wrong = `wrong-${randomBytes(8).toString("hex")}`
    await useSmtp(smtpUp.port, wrong)
    const denied = await rpc(admin, (client) => client.email.test({ to }))
    expect(denied.ok).toBe(false)
    expect(denied.message).toContain("535")
    expect(denied.message).not.toContain(wrong)
    await useSmtp(smtpUp.port)
    const { rows } = await server.db.query("SELECT details FROM audit_log WHERE action = 'email.test' AND actor_id = $1", [admin.userId])
    expect(rows.length).toBe(3)
    expect(JSON.stringify(rows)).not.toContain(wrong)
  }, 60_000)

  it("checks roles and input on the procedures", async () => {
    for (const role of ["viewer", "operator"] as const) {
      const user = await server.signIn(role)
      const outcomes = [
        await rpcExit(user, (client) => client.email.settings()),
        await rpcExit(user, (client) => client.email.updateSettings({ smtp_url: "smtp://evil.example.org:25" })),
        await rpcExit(user, (client) => client.email.test({ to: "someone@example.org" }))
      ]
      expect(outcomes.map(outcomeOf).map((o) => o.split(":")[0])).toEqual(["Forbidden", "Forbidden", "Forbidden"])
      expect(outcomeOf(await rpcExit(user, (client) => client.email.me()))).toBe("success")
    }
    const signedOut = await server.signIn("viewer", { expired: true })
    expect(outcomeOf(await rpcExit(signedOut, (client) => client.email.me())).split(":")[0]).toBe("Unauthorized")
    const viewer = await server.signIn("viewer")
    const bad = await rpcExit(viewer, (client) => client.email.setAddress({ address: "someone@example.org\r\nBcc: x@evil.org" }))
    expect(outcomeOf(bad)).not.toBe("success")
    const { rows: [row] } = await server.db.query("SELECT email FROM users WHERE id = $1", [viewer.userId])
    expect(row.email).toBeNull()
    // Unsubscribing stops what is owed from then on.
    const { plate } = await watched({ category: "missing_person" })
    const { address, user } = await subscriber("viewer", { category: "missing_person" })
    const me = await rpc(user, (client) => client.email.unsubscribe({ category: "missing_person" }))
    expect(me.categories).toEqual([])
    await sight([plate])
    await sleep(BATCH_SECONDS * 1000 + 1_000)
    expect(await deliveriesTo(user.userId)).toEqual([])
    expect(mailTo(address)).toHaveLength(0)
    // the settings' password never reached the logs
    expect(output.join("\n")).not.toContain(SMTP_PASSWORD)
  }, 60_000)
})
