import type { AlertNotice, DeliveryEvent, HealthNotice } from "@chaverim/domain/Outputs"
import { REPLAY_WINDOW_SECONDS, signature, verifySignature } from "@chaverim/server/webhooks/Signature"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Https from "node:https"
import type { AddressInfo } from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createEntry, createList, drained, latestRevision, matcherAt } from "./alertHarness"
import { checkHealth, detection, postBatch, postHeartbeat, type SignedIn, sleep, startServer, type TestServer, until } from "./harness"
import { outcomeOf, rpcFor } from "./rpcClient"

/**
 * Webhooks end to end: alerts raised by the real engine from reads through the real ingest API, owed
 * through the outbox, POSTed by the server's sender to a local HTTPS receiver (a certificate of its
 * own, trusted through WEBHOOK_CA_FILE), which checks every signature as a receiver would.
 */

interface Received {
  /** the path the receiver was sent to (each webhook of a test has its own) */
  readonly path: string
  readonly headers: Record<string, string | Array<string> | undefined>
  readonly body: string
  readonly at: number
}

/** What the receiver answers next: a status (and headers), or the default 200. */
type Answer = { readonly status: number; readonly headers?: Record<string, string>; readonly body?: string }

const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "alpr-webhook-"))
const keyFile = Path.join(dir, "key.pem")
const certFile = Path.join(dir, "cert.pem")

let receiver: Https.Server
let receiverUrl: string
const received: Array<Received> = []
let answers: Array<Answer> = []
let server: TestServer
let admin: SignedIn
let apiKey: string
/** the second server of the last test, on the first one's database */
let survivor: TestServer | undefined


const { rpc, rpcExit } = rpcFor(() => server)

let plates = 0
/** A plate on a new list (shared unless told), an entry for it, and the matcher up to date. */
const watched = async (options: { readonly shared?: boolean; readonly category?: "stolen" | "bolo" } = {}) => {
  const plate = `WH${++plates}${Math.random().toString(36).slice(2, 6).toUpperCase()}`
  const list = await createList(server, { shared: options.shared ?? true, category: options.category ?? "stolen", ownerId: options.shared === false ? admin.userId : null })
  await createEntry(server, list.id, "exact", plate)
  await matcherAt(server, await latestRevision(server.db))
  return { plate, listId: list.id }
}

/** A read of the plate through the real batch API; the engine raises the alert. */
const sight = async (plate: string) => {
  const response = await postBatch(server, apiKey, [detection({ plate: { text: plate, confidence: 0.94 } })])
  expect(response.status).toBe(200)
  await drained(server.databaseUrl)
  const { rows } = await server.db.query<{ id: string }>("SELECT id::text AS id FROM alerts WHERE plate = $1", [plate])
  expect(rows).toHaveLength(1)
  return rows[0]!.id
}

const notices = (plate: string) =>
  received.filter((r) => r.body.includes(`"plate":"${plate}"`)).map((r) => ({ ...r, notice: JSON.parse(r.body) as AlertNotice }))

const deliveriesOf = async (alertId: string) =>
  (await server.db.query<{ target: string; status: string; attempts: number; last_error: string | null; event: string }>(
    "SELECT target, status, attempts, last_error, event FROM output_deliveries WHERE channel = 'webhook' AND alert_id = $1 ORDER BY id",
    [alertId]
  )).rows

const makeWebhook = (fields: { name?: string; url?: string; watchlist_id?: string | null; category?: "stolen" | "bolo" | null; events?: ReadonlyArray<DeliveryEvent>; format?: "json" | "ntfy" } = {}) =>
  rpc(admin, (client) =>
    client.webhooks.create({
      name: fields.name ?? "receiver",
      url: fields.url ?? `${receiverUrl}/hook`,
      ...(fields.format === undefined ? {} : { format: fields.format }),
      ...(fields.watchlist_id === undefined ? {} : { watchlist_id: fields.watchlist_id }),
      ...(fields.category === undefined ? {} : { category: fields.category }),
      ...(fields.events === undefined ? {} : { events: fields.events })
    }))

/** Webhooks made by earlier tests are switched off, so each test sees only its own. */
const onlyThese = async (ids: ReadonlyArray<string>) => {
  await server.db.query("UPDATE webhooks SET enabled = (id = ANY($1::uuid[]))", [ids])
}

beforeAll(async () => {
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", keyFile, "-out", certFile, "-days", "2",
    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"
  ], { stdio: "ignore" })
  receiver = Https.createServer({ key: Fs.readFileSync(keyFile), cert: Fs.readFileSync(certFile) }, (req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      received.push({ path: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString("utf8"), at: Date.now() })
      const answer = answers.shift() ?? { status: 200 }
      res.writeHead(answer.status, answer.headers ?? {})
      res.end(answer.body ?? "ok")
    })
  })
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve))
  receiverUrl = `https://127.0.0.1:${(receiver.address() as AddressInfo).port}`
  server = await startServer({ webhookCaFile: Option.some(certFile), publicUrl: Option.some("https://alpr.example.org") })
  admin = await server.signIn("admin")
  apiKey = (await server.collector("Webhook site")).apiKey
})

afterAll(async () => {
  await survivor?.close()
  await server?.close()
  await new Promise((resolve) => receiver?.close(resolve))
  Fs.rmSync(dir, { recursive: true, force: true })
})

describe("webhooks", () => {
  it("POSTs one signed, versioned notice per raised alert, with the alert's facts", async () => {
    const made = await makeWebhook({ name: "control room" })
    expect(made.secret).toMatch(/^[0-9a-f]{64}$/)
    await onlyThese([made.webhook.id])
    const listed = await rpc(admin, (client) => client.webhooks.list())
    expect(listed.find((w) => w.id === made.webhook.id)).toMatchObject({ name: "control room", enabled: true, events: ["alert_raised"] })
    expect(JSON.stringify(listed)).not.toContain(made.secret)

    const { plate, listId } = await watched()
    const alertId = await sight(plate)
    const [got] = await until(() => (notices(plate).length > 0 ? notices(plate) : undefined), "the webhook's POST")
    const { notice, headers, body } = got!
    expect(notice).toMatchObject({
      version: 1,
      event: "alert_raised",
      alert: {
        id: alertId,
        plate,
        status: "new",
        retro: false,
        list: { id: listId, category: "stolen", priority: 3 },
        camera: { name: "Main St northbound" },
        location: { lat: 41.1, lon: -74.05 },
        url: `https://alpr.example.org/alerts/${alertId}`
      }
    })
    expect(headers["content-type"]).toBe("application/json")
    expect(headers["x-chaverim-event"]).toBe("alert_raised")
    expect(headers["x-chaverim-delivery"]).toBe(notice.id)
    const check = verifySignature({
      secret: made.secret,
      body,
      timestamp: headers["x-chaverim-timestamp"] as string,
      signature: headers["x-chaverim-signature"] as string,
      nowSeconds: Math.floor(Date.now() / 1000)
    })
    expect(check).toEqual({ ok: true })
    // a different secret, or a changed body, does not verify
    expect(verifySignature({ secret: "0".repeat(64), body, timestamp: headers["x-chaverim-timestamp"] as string, signature: headers["x-chaverim-signature"] as string, nowSeconds: Math.floor(Date.now() / 1000) }).ok).toBe(false)
    expect(verifySignature({ secret: made.secret, body: body.replace(plate, "XXX111"), timestamp: headers["x-chaverim-timestamp"] as string, signature: headers["x-chaverim-signature"] as string, nowSeconds: Math.floor(Date.now() / 1000) }).ok).toBe(false)

    await until(async () => ((await deliveriesOf(alertId))[0]?.status === "sent" ? true : undefined), "the delivery marked sent")
    await sleep(1_000)
    expect(notices(plate)).toHaveLength(1)
    expect(await deliveriesOf(alertId)).toEqual([{ target: made.webhook.id, status: "sent", attempts: 1, last_error: null, event: "alert_raised" }])
  })

  it("a signature outside the replay window is refused, whatever it signs", () => {
    const now = 1_800_000_000
    const body = "{\"version\":1}"
    const old = now - REPLAY_WINDOW_SECONDS - 1
    expect(verifySignature({ secret: "s".repeat(64), body, timestamp: String(old), signature: signature("s".repeat(64), old, body), nowSeconds: now }))
      .toEqual({ ok: false, reason: "outside the replay window" })
    const fresh = now - 10
    expect(verifySignature({ secret: "s".repeat(64), body, timestamp: String(fresh), signature: signature("s".repeat(64), fresh, body), nowSeconds: now }))
      .toEqual({ ok: true })
  })

  it("keeps private lists to webhooks that name them, and categories to their own", async () => {
    const everything = await makeWebhook({ name: "everything", url: `${receiverUrl}/all` })
    const bolo = await makeWebhook({ name: "bolo only", url: `${receiverUrl}/bolo`, category: "bolo" })
    const privateList = await watched({ shared: false })
    const named = await makeWebhook({ name: "named", url: `${receiverUrl}/named`, watchlist_id: privateList.listId })
    await onlyThese([everything.webhook.id, bolo.webhook.id, named.webhook.id])
    const stolen = await watched({ category: "stolen" })

    const privateAlert = await sight(privateList.plate)
    const stolenAlert = await sight(stolen.plate)
    await until(async () => (await deliveriesOf(privateAlert)).every((d) => d.status === "sent") && (await deliveriesOf(stolenAlert)).every((d) => d.status === "sent") ? true : undefined, "deliveries sent")
    expect((await deliveriesOf(privateAlert)).map((d) => d.target)).toEqual([named.webhook.id])
    expect((await deliveriesOf(stolenAlert)).map((d) => d.target)).toEqual([everything.webhook.id])
    const paths = (plate: string) => received.filter((r) => r.body.includes(plate)).map((r) => r.headers["x-chaverim-delivery"])
    expect(paths(privateList.plate)).toHaveLength(1)
    expect(paths(stolen.plate)).toHaveLength(1)
  })

  it("sends a health alert's raising and clearing, signed, to the webhooks that take them, and to no other", async () => {
    const fleet = await makeWebhook({ name: "fleet", url: `${receiverUrl}/fleet`, events: ["alert_raised", "health_raised", "health_cleared"] })
    const phone = await makeWebhook({ name: "on call", url: `${receiverUrl}/ntfy`, format: "ntfy", events: ["health_raised"] })
    const alertsOnly = await makeWebhook({ name: "alerts only", url: `${receiverUrl}/alerts-only` })
    await onlyThese([fleet.webhook.id, phone.webhook.id, alertsOnly.webhook.id])
    const site = `Clock site ${Math.random().toString(36).slice(2, 7)}`
    const { apiKey: siteKey } = await server.collector(site)
    const at = (path: string) => received.filter((r) => r.path === path && r.body.includes(site))

    expect((await postHeartbeat(server, siteKey, { device_time: new Date(Date.now() + 6_000).toISOString() })).status).toBe(200)
    await checkHealth(server)
    const [raised] = await until(() => (at("/fleet").length > 0 && at("/ntfy").length > 0 ? at("/fleet") : undefined), "the health alert's POSTs")
    const notice = JSON.parse(raised!.body) as HealthNotice
    expect(notice).toMatchObject({
      version: 1,
      event: "health_raised",
      health: { kind: "collector_clock", collector: { name: site }, camera: null, cleared_at: null, message: `${site}: clock ahead by 6.0 s` }
    })
    expect(raised!.headers["x-chaverim-event"]).toBe("health_raised")
    expect(verifySignature({
      secret: fleet.secret,
      body: raised!.body,
      timestamp: raised!.headers["x-chaverim-timestamp"] as string,
      signature: raised!.headers["x-chaverim-signature"] as string,
      nowSeconds: Math.floor(Date.now() / 1000)
    })).toEqual({ ok: true })
    const [pushed] = at("/ntfy")
    expect(pushed!.body).toBe(`${site}: clock ahead by 6.0 s`)
    expect(pushed!.headers["title"]).toBe("Collector clock off")

    expect((await postHeartbeat(server, siteKey)).status).toBe(200)
    await checkHealth(server)
    const cleared = await until(() => (at("/fleet").length > 1 ? at("/fleet")[1] : undefined), "the clearing's POST")
    expect(JSON.parse(cleared.body)).toMatchObject({ event: "health_cleared", health: { id: notice.health.id, kind: "collector_clock" } })
    expect((JSON.parse(cleared.body) as HealthNotice).health.cleared_at).not.toBeNull()
    await until(async () => {
      const { rows } = await server.db.query<{ status: string }>(
        "SELECT status FROM output_deliveries WHERE health_alert_id = $1 AND channel = 'webhook'", [notice.health.id])
      return rows.length === 3 && rows.every((r) => r.status === "sent") ? true : undefined
    }, "the health deliveries sent")
    await sleep(500)
    // the phone took only raisings; the alerts-only webhook heard nothing of it
    expect(at("/ntfy")).toHaveLength(1)
    expect(at("/fleet")).toHaveLength(2)
    expect(at("/alerts-only")).toEqual([])
    // the failed deliveries list tells a health alert's delivery by its id
    const { rows: [row] } = await server.db.query<{ id: string }>(
      "SELECT id::text AS id FROM output_deliveries WHERE health_alert_id = $1 ORDER BY id LIMIT 1", [notice.health.id])
    await server.db.query("UPDATE output_deliveries SET status = 'failed', last_error = 'test' WHERE id = $1", [row!.id])
    const failed = await rpc(admin, (client) => client.outputs.deliveries({ channel: "webhook", status: "failed" }))
    expect(failed.items.find((d) => d.id === row!.id)).toMatchObject({ alert_id: null, plate: null, health_alert_id: notice.health.id })
  })

  it("retries a 503 after the receiver's Retry-After, and delivers once", async () => {
    const made = await makeWebhook({ name: "flaky" })
    await onlyThese([made.webhook.id])
    answers = [{ status: 503, headers: { "retry-after": "1" }, body: "busy" }, { status: 503, headers: { "retry-after": "1" } }]
    const { plate } = await watched()
    const alertId = await sight(plate)
    await until(async () => ((await deliveriesOf(alertId))[0]?.status === "sent" ? true : undefined), "the delivery after two 503s")
    const attempts = notices(plate)
    expect(attempts).toHaveLength(3)
    // the same delivery id on every attempt (a receiver drops repeats), each signed afresh
    expect(new Set(attempts.map((a) => a.notice.id)).size).toBe(1)
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(900)
    expect(await deliveriesOf(alertId)).toEqual([{ target: made.webhook.id, status: "sent", attempts: 3, last_error: null, event: "alert_raised" }])
  })

  it("fails a 4xx for good with what the receiver said, shows it to admins, and sends it again on request", async () => {
    const made = await makeWebhook({ name: "refusing" })
    await onlyThese([made.webhook.id])
    answers = [{ status: 400, body: "unknown field in body" }]
    const { plate } = await watched()
    const alertId = await sight(plate)
    const [failed] = await until(async () => {
      const rows = await deliveriesOf(alertId)
      return rows[0]?.status === "failed" ? rows : undefined
    }, "the delivery failed")
    expect(failed).toMatchObject({ status: "failed", attempts: 1, last_error: "HTTP 400: unknown field in body" })
    const page = await rpc(admin, (client) => client.outputs.deliveries({ channel: "webhook", status: "failed" }))
    const shown = page.items.find((d) => d.alert_id === alertId)
    expect(shown).toMatchObject({ channel: "webhook", target: made.webhook.id, plate, last_error: "HTTP 400: unknown field in body" })
    const listed = (await rpc(admin, (client) => client.webhooks.list())).find((w) => w.id === made.webhook.id)
    expect(listed).toMatchObject({ last_status: "failed", last_error: "HTTP 400: unknown field in body", failed: 1 })

    await rpc(admin, (client) => client.outputs.retry({ id: shown!.id }))
    await until(async () => ((await deliveriesOf(alertId))[0]?.status === "sent" ? true : undefined), "the retried delivery")
    expect(notices(plate)).toHaveLength(2)
  })

  it("the test button sends a signed test notice and tells what the endpoint answered", async () => {
    const made = await makeWebhook({ name: "tested", url: `${receiverUrl}/test` })
    const before = received.length
    const result = await rpc(admin, (client) => client.webhooks.test({ id: made.webhook.id }))
    expect(result).toMatchObject({ ok: true, status: 200, message: "HTTP 200: ok" })
    const got = received.slice(before).find((r) => r.headers["x-chaverim-event"] === "test")!
    expect(JSON.parse(got.body)).toMatchObject({ version: 1, event: "test" })
    expect(verifySignature({ secret: made.secret, body: got.body, timestamp: got.headers["x-chaverim-timestamp"] as string, signature: got.headers["x-chaverim-signature"] as string, nowSeconds: Math.floor(Date.now() / 1000) })).toEqual({ ok: true })
    // a new secret signs from now on; the old one no longer verifies
    const rotated = await rpc(admin, (client) => client.webhooks.rotateSecret({ id: made.webhook.id }))
    expect(rotated.secret).not.toBe(made.secret)
    const mark = received.length
    await rpc(admin, (client) => client.webhooks.test({ id: made.webhook.id }))
    const next = received[mark]!
    const args = { body: next.body, timestamp: next.headers["x-chaverim-timestamp"] as string, signature: next.headers["x-chaverim-signature"] as string, nowSeconds: Math.floor(Date.now() / 1000) }
    expect(verifySignature({ secret: rotated.secret, ...args }).ok).toBe(true)
    expect(verifySignature({ secret: made.secret, ...args }).ok).toBe(false)
    // an endpoint nothing listens on: the answer says so, and nothing fails on the server
    const dead = await makeWebhook({ name: "dead", url: "https://127.0.0.1:9/hook" })
    const unreachable = await rpc(admin, (client) => client.webhooks.test({ id: dead.webhook.id }))
    expect(unreachable).toMatchObject({ ok: false, status: null })
    expect(unreachable.message).toMatch(/ECONNREFUSED/)
  })

  it("is for admins only, refuses plain http and bad input with a reason, and audits changes without the secret", async () => {
    const operator = await server.signIn("operator")
    expect(outcomeOf(await rpcExit(operator, (client) => client.webhooks.list()))).toMatch(/^Forbidden/)
    expect(outcomeOf(await rpcExit(operator, (client) => client.outputs.deliveries({})))).toMatch(/^Forbidden/)
    expect(outcomeOf(await rpcExit(admin, (client) => client.webhooks.create({ name: "plain", url: "http://127.0.0.1:8/x" }))))
      .toMatch(/^BadRequest: url must be https:\/\//)
    // never the cloud metadata service or this machine's unspecified address, written as an IP in any form
    for (const [url, why] of [
      ["https://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"],
      ["https://[fe80::1]/x", "fe80::1 is a link-local address"],
      ["https://[::ffff:169.254.169.254]/x", "169.254.169.254 is a link-local address"],
      ["https://0.0.0.0:8443/x", "0.0.0.0 is the unspecified address"]
    ] as const) {
      expect(outcomeOf(await rpcExit(admin, (client) => client.webhooks.create({ name: "metadata", url })))).toContain(`BadRequest: url may not point at ${why}`)
    }
    const badUrl = await rpcExit(admin, (client) => client.webhooks.create({ name: "ftp", url: "ftp://example.org/x" }))
    expect(Exit.isFailure(badUrl)).toBe(true)
    expect(outcomeOf(await rpcExit(admin, (client) => client.webhooks.create({ name: "creds", url: "https://user:pw@example.org/x" })))).not.toBe("success")
    expect(outcomeOf(await rpcExit(admin, (client) => client.webhooks.create({ name: "ghost", url: `${receiverUrl}/x`, watchlist_id: "00000000-0000-4000-8000-000000000000" }))))
      .toMatch(/^BadRequest: there is no watchlist/)
    const made = await makeWebhook({ name: "audited", url: `${receiverUrl}/audited?token=abc` })
    await rpc(admin, (client) => client.webhooks.update({ id: made.webhook.id, enabled: false, events: ["alert_raised", "alert_resolved"] }))
    await rpc(admin, (client) => client.webhooks.remove({ id: made.webhook.id }))
    const { rows } = await server.db.query<{ action: string; details: unknown }>(
      "SELECT action, details FROM audit_log WHERE target = $1 ORDER BY id",
      [`webhook:${made.webhook.id}`]
    )
    expect(rows.map((r) => r.action)).toEqual(["webhook.create", "webhook.update", "webhook.remove"])
    const text = JSON.stringify(rows)
    expect(text).not.toContain(made.secret)
    expect(text).not.toContain("token=abc")
    expect(outcomeOf(await rpcExit(admin, (client) => client.webhooks.remove({ id: made.webhook.id })))).toMatch(/^NotFound/)
  })
  it("loses nothing across a server stop: a second server on the same database delivers what was owed", async () => {
    const made = await makeWebhook({ name: "across a stop" })
    await onlyThese([made.webhook.id])
    // the receiver is away (503, come back in 2 s) when the first server stops
    answers = [{ status: 503, headers: { "retry-after": "2" } }]
    const { plate } = await watched()
    const alertId = await sight(plate)
    await until(async () => ((await deliveriesOf(alertId))[0]?.attempts === 1 ? true : undefined), "the first attempt")
    const databaseUrl = server.databaseUrl
    // the last test: the suite closes both servers
    await server.stop()
    survivor = await startServer({ webhookCaFile: Option.some(certFile) }, { databaseUrl })
    const second = survivor
    await until(async () => {
      const { rows } = await second.db.query("SELECT status FROM output_deliveries WHERE alert_id = $1", [alertId])
      return rows[0]?.status === "sent" ? true : undefined
    }, "the delivery by the second server")
    expect(notices(plate)).toHaveLength(2)
  })

})
