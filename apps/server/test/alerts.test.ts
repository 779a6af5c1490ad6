import type { Alert, AlertPage } from "@chaverim/domain/Alerts"
import { Alerts } from "@chaverim/server"
import * as Effect from "effect/Effect"
import pg from "pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  alertsOf,
  createCamera,
  createEntry,
  createList,
  drained,
  isAlertFor,
  latestRevision,
  LiveClient,
  matcherAt,
  minutesAgo,
  queueRetro
} from "./alertHarness"
import { detection, postBatch, refuseInserts, type SignedIn, startServer, type TestServer } from "./harness"

const read = (plate: string, extra: Record<string, unknown> = {}) => ({ plate: { text: plate, confidence: 0.9 }, ...extra })

const ingestTo = async (server: TestServer, apiKey: string, events: ReadonlyArray<Record<string, unknown>>) => {
  const built = events.map((e) => detection(e))
  const response = await postBatch(server, apiKey, built)
  const body = (await response.json()) as { accepted: number }
  expect(response.status, JSON.stringify(body)).toBe(200)
  expect(body.accepted).toBe(events.length)
  return built
}

describe("alert engine and alerts API", () => {
  let server: TestServer
  let apiKey: string
  let collectorId: string

  const ingest = (events: ReadonlyArray<Record<string, unknown>>) => ingestTo(server, apiKey, events)
  const settle = () => drained(server.databaseUrl)
  const upToDate = async () => matcherAt(server, await latestRevision(server.db))

  const api = (path: string, user: SignedIn, init: { method?: string; body?: unknown; csrf?: boolean } = {}) =>
    fetch(`${server.url}${path}`, {
      method: init.method ?? "GET",
      headers: {
        cookie: user.cookie,
        ...(init.csrf === false ? {} : { "x-csrf-token": user.csrf }),
        ...(init.body === undefined ? {} : { "content-type": "application/json" })
      },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) })
    })

  beforeAll(async () => {
    server = await startServer({ alertCooldownSeconds: 600, retroAlertDays: 7 })
    const claimed = await server.collector("Alert site")
    apiKey = claimed.apiKey
    collectorId = claimed.collectorId
  })
  afterAll(() => server?.close())

  it("wakes the engines after the commit that stored the reads, not at their safety poll", async () => {
    const list = await createList(server)
    await createEntry(server, list.id, "exact", "BELL01")
    await upToDate()
    const listener = new pg.Client({ connectionString: server.databaseUrl })
    await listener.connect()
    try {
      await listener.query("LISTEN alert_work")
      const woken = new Promise<void>((resolve, reject) => {
        listener.once("notification", () => resolve())
        setTimeout(() => reject(new Error("no NOTIFY alert_work within 2 s of the batch")), 2_000)
      })
      await ingest([read("BELL01")])
      await woken
      // The engine's safety poll is 5 s: raised well before it.
      await expect.poll(async () => (await alertsOf(server.db, list.id)).length, { timeout: 2_000, interval: 50 }).toBe(1)
    } finally {
      await listener.end()
    }
  })

  it("matches every entry kind through real ingest, and nothing else", async () => {
    const list = await createList(server, { category: "stolen" })
    const exact = await createEntry(server, list.id, "exact", "KND100", { note: "blue Civic" })
    const ocr = await createEntry(server, list.id, "ocr", "B0S5KN")
    const wildcard = await createEntry(server, list.id, "wildcard", "KN*77")
    const regex = await createEntry(server, list.id, "regex", "RX[0-9]{3}")
    await createEntry(server, list.id, "exact", "KNEXP1", { expiresAt: new Date(Date.now() - 3_600_000) })
    const removed = await createEntry(server, list.id, "exact", "KNREM1")
    await server.db.query("UPDATE watchlist_entries SET removed_at = now(), removed_by_name = 'test' WHERE id = $1", [removed.id])
    const inactive = await createList(server, { active: false })
    await createEntry(server, inactive.id, "exact", "KNOFF1")
    const retired = await createList(server)
    await createEntry(server, retired.id, "exact", "KNDEL1")
    await server.db.query("UPDATE watchlists SET deleted_at = now() WHERE id = $1", [retired.id])
    await upToDate()

    await ingest([
      // matches
      read("KND-100"), read("BOS5KN"), read("8OSSKN"), read("KN1277"), read("KN77"), read("RX123"),
      // near misses
      read("KND101"), read("BOS6KN"), read("KN1278"), read("XKN177"), read("RX1234"), read("RXA12"),
      // expired, removed, on an inactive list, on a retired list
      read("KNEXP1"), read("KNREM1"), read("KNOFF1"), read("KNDEL1")
    ])
    await settle()

    const raised = (await alertsOf(server.db)).filter((a) => [list.id, inactive.id, retired.id].includes(a.watchlist_id))
    expect(raised.map((a) => [a.entry_id, a.plate, a.sightings, a.retro]).sort()).toEqual([
      [exact.id, "KND100", 1, false],
      [ocr.id, "8OSSKN", 1, false],
      [ocr.id, "BOS5KN", 1, false],
      [regex.id, "RX123", 1, false],
      [wildcard.id, "KN1277", 1, false],
      [wildcard.id, "KN77", 1, false]
    ].sort())

    // As the API shows them: the list, the entry and the latest sighting with its camera.
    const admin = await server.signIn("admin")
    const response = await api(`/api/v1/alerts?watchlist_id=${list.id}&plate=KND-100`, admin)
    expect(response.status).toBe(200)
    const page = (await response.json()) as AlertPage
    expect(page.items).toHaveLength(1)
    const alert = page.items[0]!
    expect(alert).toMatchObject({
      status: "new",
      plate: "KND100",
      retro: false,
      not_on_allow_list: false,
      sightings: 1,
      watchlist: { id: list.id, category: "stolen", priority: 3, colour: "#d32f2f" },
      entry: { id: exact.id, kind: "exact", value: "KND100", note: "blue Civic" },
      detection: { plate: "KND100", plate_text: "KND-100", camera: { name: "Main St northbound" } },
      acknowledged_by: null,
      resolved_at: null
    })

    // An entry removed while the server runs stops matching as soon as the change is applied.
    await server.db.query("UPDATE watchlist_entries SET removed_at = now(), removed_by_name = 'test' WHERE id = $1", [exact.id])
    await upToDate()
    await ingest([read("KND100")])
    await settle()
    expect((await alertsOf(server.db, list.id)).find((a) => a.plate === "KND100")!.sightings).toBe(1)
  })

  it("an allow list alerts for a plate not on it at its cameras, and nowhere else", async () => {
    const gate = await createCamera(server, collectorId, "gate-1")
    await createCamera(server, collectorId, "street-1")
    const list = await createList(server, { category: "allow", cameraIds: [gate] })
    await createEntry(server, list.id, "exact", "RES001")
    await createEntry(server, list.id, "wildcard", "STAFF*")
    await upToDate()

    const atGate = { camera: { id: "gate-1", mac: "AA:BB:CC:00:00:01", name: "Gate" } }
    const atStreet = { camera: { id: "street-1", mac: "AA:BB:CC:00:00:02", name: "Street" } }
    await ingest([
      read("RES-001", atGate), read("STAFF9", atGate), read("VIS001", atGate),
      read("VIS002", atStreet), read("RES001", atStreet)
    ])
    await settle()

    const raised = await alertsOf(server.db, list.id)
    expect(raised.map((a) => [a.plate, a.entry_id])).toEqual([["VIS001", null]])
    const admin = await server.signIn("admin")
    const alert = (await (await api(`/api/v1/alerts/${raised[0]!.id}`, admin)).json()) as Alert
    expect(alert).toMatchObject({ not_on_allow_list: true, entry: null, watchlist: { category: "allow" }, detection: { camera: { id: gate } } })
  })

  it("repeated sightings within the cooldown update one open alert; a resolved one takes no more", async () => {
    const list = await createList(server, { category: "bolo" })
    await createEntry(server, list.id, "exact", "CDN001")
    await upToDate()

    await ingest([read("CDN001", { timestamp: minutesAgo(30) }), read("CDN001", { timestamp: minutesAgo(25) })])
    await ingest([read("CDN001", { timestamp: minutesAgo(21) })])
    await settle()
    let raised = await alertsOf(server.db, list.id)
    expect(raised.map((a) => a.sightings)).toEqual([3])
    const { rows: [seen] } = await server.db.query<{ first: Date; last: Date }>(
      "SELECT first_seen_at AS first, last_seen_at AS last FROM alerts WHERE id = $1",
      [raised[0]!.id]
    )
    expect(Date.now() - seen!.first.getTime()).toBeGreaterThan(29 * 60_000)
    expect(Date.now() - seen!.last.getTime()).toBeLessThan(22 * 60_000)

    // Sixteen minutes after the last sighting: past the ten-minute cooldown, a new alert.
    await ingest([read("CDN001", { timestamp: minutesAgo(5) })])
    await settle()
    raised = await alertsOf(server.db, list.id)
    expect(raised.map((a) => a.sightings)).toEqual([3, 1])

    const operator = await server.signIn("operator")
    expect((await api(`/api/v1/alerts/${raised[1]!.id}/resolve`, operator, { method: "POST", body: { note: "gone" } })).status).toBe(200)
    await ingest([read("CDN001", { timestamp: minutesAgo(4) })])
    await settle()
    raised = await alertsOf(server.db, list.id)
    expect(raised.map((a) => [a.sightings, a.status])).toEqual([[3, "new"], [1, "resolved"], [1, "new"]])
    const { rows: [counted] } = await server.db.query<{ n: string }>(
      "SELECT count(*)::text AS n FROM alert_sightings WHERE watchlist_id = $1",
      [list.id]
    )
    expect(Number(counted!.n)).toBe(5)
  })

  it("a retro item raises retro alerts from the reads of the last days, once", async () => {
    const days = (n: number) => minutesAgo(n * 24 * 60)
    await ingest([
      read("RETRO1", { timestamp: days(2) }),
      read("RETRO1", { timestamp: days(10) }),
      read("RTX779", { timestamp: days(3) }),
      read("RTX77", { timestamp: days(1) }),
      read("R3TRO1", { timestamp: days(1) })
    ])
    await settle()
    const list = await createList(server, { category: "missing_person" })
    const exact = await createEntry(server, list.id, "exact", "RETRO1")
    const wildcard = await createEntry(server, list.id, "wildcard", "RTX?79")
    const { rows: [before] } = await server.db.query<{ id: string }>("SELECT coalesce(max(id), 0)::text AS id FROM live_events")

    await queueRetro(server.db, [exact.id, wildcard.id])
    await settle()
    const raised = await alertsOf(server.db, list.id)
    expect(raised.map((a) => [a.entry_id, a.plate, a.sightings, a.retro]).sort()).toEqual([
      [exact.id, "RETRO1", 1, true],
      [wildcard.id, "RTX779", 1, true]
    ].sort())
    // Retro alerts reach the live feed as alerts; their reads are old news, not new detections.
    const { rows: kinds } = await server.db.query<{ kind: string }>(
      "SELECT DISTINCT kind FROM live_events WHERE id > $1",
      [before!.id]
    )
    expect(kinds.map((k) => k.kind)).toEqual(["alert"])

    // The same check again (a retried item, a second server): nothing more.
    await queueRetro(server.db, [exact.id, wildcard.id])
    await settle()
    expect((await alertsOf(server.db, list.id)).map((a) => a.sightings)).toEqual([1, 1])
  })

  it("acknowledge, on my way and resolve: state, audit, live events; viewers may look but not act", async () => {
    const list = await createList(server)
    await createEntry(server, list.id, "exact", "WFL001")
    await upToDate()
    const operator = await server.signIn("operator")
    const viewer = await server.signIn("viewer")
    const live = await LiveClient.open(server, operator.cookie)
    await ingest([read("WFL001")])
    const raised = (await live.next(isAlertFor("WFL001"))).alert
    expect(raised.status).toBe("new")
    const id = raised.id

    expect((await api(`/api/v1/alerts/${id}`, viewer)).status).toBe(200)
    expect((await api(`/api/v1/alerts/${id}/acknowledge`, viewer, { method: "POST" })).status).toBe(403)
    expect((await api(`/api/v1/alerts/${id}/acknowledge`, operator, { method: "POST", csrf: false })).status).toBe(403)

    const acknowledged = await api(`/api/v1/alerts/${id}/acknowledge`, operator, { method: "POST" })
    expect(acknowledged.status).toBe(200)
    expect(await acknowledged.json()).toMatchObject({ status: "acknowledged", acknowledged_by: operator.username })
    const again = await api(`/api/v1/alerts/${id}/acknowledge`, operator, { method: "POST" })
    expect(again.status).toBe(200)
    expect(await again.json()).toMatchObject({ status: "acknowledged", acknowledged_by: operator.username })

    // "On my way" from Telegram goes through the service.
    const volunteer = await server.signIn("operator")
    const enRoute = await server.runtime.runPromise(Effect.flatMap(Alerts, (alerts) =>
      alerts.enRoute({
        alertId: id,
        actor: { userId: volunteer.userId, username: volunteer.username, role: "operator" },
        via: "telegram"
      })))
    expect(enRoute).toMatchObject({ status: "acknowledged", acknowledged_by: operator.username, en_route_by: volunteer.username })

    const resolved = await api(`/api/v1/alerts/${id}/resolve`, operator, { method: "POST", body: { note: "recovered by police" } })
    expect(resolved.status).toBe(200)
    expect(await resolved.json()).toMatchObject({ status: "resolved", resolved_by: operator.username, resolution_note: "recovered by police" })

    const late = await api(`/api/v1/alerts/${id}/acknowledge`, operator, { method: "POST" })
    expect(late.status).toBe(409)
    expect(await late.json()).toMatchObject({ _tag: "AlertStateConflict", status: "resolved" })
    expect((await api(`/api/v1/alerts/${id}/resolve`, operator, { method: "POST", body: {} })).status).toBe(409)
    expect((await api("/api/v1/alerts/987654321/acknowledge", operator, { method: "POST" })).status).toBe(404)
    expect((await api(`/api/v1/alerts/${id}/resolve`, operator, { method: "POST", body: { note: "x".repeat(1001) } })).status).toBe(400)

    const { rows: audited } = await server.db.query<{ action: string; outcome: string; actor_username: string; details: Record<string, unknown> }>(
      "SELECT action, outcome, actor_username, details FROM audit_log WHERE target = $1 ORDER BY id",
      [`alert:${id}`]
    )
    expect(audited.map((a) => [a.action, a.outcome, a.actor_username, a.details["via"], a.details["changed"] ?? null])).toEqual([
      ["alert.acknowledge", "success", operator.username, "web", true],
      ["alert.acknowledge", "success", operator.username, "web", false],
      ["alert.en_route", "success", volunteer.username, "telegram", true],
      ["alert.resolve", "success", operator.username, "web", true],
      ["alert.acknowledge", "failure", operator.username, "web", null],
      ["alert.resolve", "failure", operator.username, "web", null]
    ])

    // Each change reached the live feed, in order; the unchanged acknowledgement did not.
    await live.next((m) => m.type === "alert" && m.alert.id === id && m.alert.status === "resolved")
    expect(live.alerts().filter((a) => a.id === id).map((a) => [a.status, a.en_route_by !== null])).toEqual([
      ["new", false],
      ["acknowledged", false],
      ["acknowledged", true],
      ["resolved", true]
    ])
    await live.close()
  })

  it("a channel added by its own migration hears every change of an alert; the engine and the alert service name none", async () => {
    // What a new channel's migration does: one row naming the events it takes.
    await server.db.query(`INSERT INTO outbound_channels (name, events)
      VALUES ('test_all', ARRAY['alert_raised', 'alert_updated', 'alert_acknowledged', 'alert_en_route', 'alert_resolved'])`)
    try {
      const list = await createList(server)
      await createEntry(server, list.id, "exact", "OBX001")
      await upToDate()
      const operator = await server.signIn("operator")
      await ingest([read("OBX001", { timestamp: minutesAgo(2) })])
      await ingest([read("OBX001", { timestamp: minutesAgo(1) })])
      await settle()
      const [alert] = await alertsOf(server.db, list.id)
      for (const action of ["acknowledge", "en-route", "resolve"]) {
        const init = action === "resolve" ? { method: "POST", body: {} } : { method: "POST" }
        expect((await api(`/api/v1/alerts/${alert!.id}/${action}`, operator, init)).status).toBe(200)
      }
      // Refused (already resolved): nothing happened, so nothing is published.
      expect((await api(`/api/v1/alerts/${alert!.id}/acknowledge`, operator, { method: "POST" })).status).toBe(409)
      const { rows } = await server.db.query<{ event: string }>(
        "SELECT event FROM outbox WHERE channel = 'test_all' AND alert_id = $1 ORDER BY id",
        [alert!.id]
      )
      expect(rows.map((row) => row.event)).toEqual([
        "alert_raised",
        "alert_updated",
        "alert_acknowledged",
        "alert_en_route",
        "alert_resolved"
      ])
    } finally {
      await server.db.query("DELETE FROM outbox WHERE channel = 'test_all'; DELETE FROM outbound_channels WHERE name = 'test_all'")
    }
  })

  it("On my way over HTTP: anyone who may see the alert; a viewer's leaves it new, an operator's acknowledges", async () => {
    const list = await createList(server)
    await createEntry(server, list.id, "exact", "WAY001")
    await createEntry(server, list.id, "exact", "WAY002")
    await upToDate()
    const viewer = await server.signIn("viewer")
    const operator = await server.signIn("operator")
    const live = await LiveClient.open(server, operator.cookie)
    await ingest([read("WAY001"), read("WAY002")])
    const first = (await live.next(isAlertFor("WAY001"))).alert.id
    const second = (await live.next(isAlertFor("WAY002"))).alert.id

    expect((await api(`/api/v1/alerts/${first}/en-route`, viewer, { method: "POST", csrf: false })).status).toBe(403)
    const byViewer = await api(`/api/v1/alerts/${first}/en-route`, viewer, { method: "POST" })
    expect(byViewer.status).toBe(200)
    expect(await byViewer.json()).toMatchObject({ status: "new", acknowledged_by: null, en_route_by: viewer.username })
    // The change reaches the live feed as every change of an alert does.
    await live.next((m) => m.type === "alert" && m.alert.id === first && m.alert.en_route_by === viewer.username)

    const byOperator = await api(`/api/v1/alerts/${second}/en-route`, operator, { method: "POST" })
    expect(await byOperator.json()).toMatchObject({ status: "acknowledged", acknowledged_by: operator.username, en_route_by: operator.username })

    await api(`/api/v1/alerts/${second}/resolve`, operator, { method: "POST", body: {} })
    expect((await api(`/api/v1/alerts/${second}/en-route`, viewer, { method: "POST" })).status).toBe(409)
    expect((await api("/api/v1/alerts/987654321/en-route", viewer, { method: "POST" })).status).toBe(404)
    const { rows } = await server.db.query(
      "SELECT actor_username, details->>'via' AS via, details->>'acknowledged' AS acknowledged FROM audit_log WHERE action = 'alert.en_route' AND outcome = 'success' AND target = $1",
      [`alert:${first}`])
    expect(rows).toEqual([{ actor_username: viewer.username, via: "web", acknowledged: "false" }])
    await live.close()
  })

  it("people see alerts of shared lists and of their own; admins see all", async () => {
    const owner = await server.signIn("operator")
    const other = await server.signIn("operator")
    const viewer = await server.signIn("viewer")
    const admin = await server.signIn("admin")
    const mine = await createList(server, { shared: false, ownerId: owner.userId })
    await createEntry(server, mine.id, "exact", "PRV001")
    await upToDate()
    await ingest([read("PRV001")])
    await settle()
    const [alert] = await alertsOf(server.db, mine.id)

    const listed = async (user: SignedIn) => {
      const response = await api(`/api/v1/alerts?plate=PRV001&status=open`, user)
      expect(response.status).toBe(200)
      return ((await response.json()) as AlertPage).items.map((a) => a.id)
    }
    expect(await listed(owner)).toEqual([alert!.id])
    expect(await listed(admin)).toEqual([alert!.id])
    expect(await listed(viewer)).toEqual([])
    expect(await listed(other)).toEqual([])
    expect((await api(`/api/v1/alerts/${alert!.id}`, viewer)).status).toBe(404)
    expect((await api(`/api/v1/alerts/${alert!.id}/acknowledge`, other, { method: "POST" })).status).toBe(404)
    expect((await api(`/api/v1/alerts/${alert!.id}`, owner)).status).toBe(200)
  })

  it("pages alerts newest first with a cursor, and filters them", async () => {
    const list = await createList(server)
    await createEntry(server, list.id, "wildcard", "PGN*")
    await upToDate()
    await ingest(Array.from({ length: 7 }, (_, i) => read(`PGN${i}`)))
    await settle()
    const admin = await server.signIn("admin")
    const seen: Array<string> = []
    let cursor: string | null = null
    do {
      const query: string = `/api/v1/alerts?watchlist_id=${list.id}&limit=3${cursor === null ? "" : `&cursor=${cursor}`}`
      const page = (await (await api(query, admin)).json()) as AlertPage
      seen.push(...page.items.map((a) => a.id))
      cursor = page.next_cursor
    } while (cursor !== null)
    const ids = (await alertsOf(server.db, list.id)).map((a) => a.id)
    expect(seen).toEqual([...ids].reverse())
    expect((await api(`/api/v1/alerts?cursor=nonsense`, admin)).status).toBe(400)
    const resolvedOnly = (await (await api(`/api/v1/alerts?watchlist_id=${list.id}&status=resolved`, admin)).json()) as AlertPage
    expect(resolvedOnly.items).toEqual([])
  })

  it("new alerts owe a Telegram message to each linked, enabled subscriber who may see the list", async () => {
    const person = async (role: "operator" | "viewer", chatId: number, subscribe: { category?: string; watchlistId?: string }) => {
      const user = await server.signIn(role)
      await server.db.query("INSERT INTO telegram_links (user_id, chat_id) VALUES ($1, $2)", [user.userId, chatId])
      await server.db.query(
        "INSERT INTO telegram_subscriptions (user_id, watchlist_id, category) VALUES ($1, $2, $3)",
        [user.userId, subscribe.watchlistId ?? null, subscribe.category ?? null]
      )
      return user
    }
    const shared = await createList(server, { category: "of_interest" })
    const owner = await server.signIn("operator")
    const hidden = await createList(server, { category: "of_interest", shared: false, ownerId: owner.userId })
    await createEntry(server, shared.id, "exact", "TGM001")
    await createEntry(server, hidden.id, "exact", "TGM002")
    const byCategory = await person("viewer", 9001, { category: "of_interest" })
    const byList = await person("operator", 9002, { watchlistId: shared.id })
    const disabled = await person("operator", 9003, { category: "of_interest" })
    await server.db.query("UPDATE users SET disabled_at = now() WHERE id = $1", [disabled.userId])
    await person("operator", 9004, { category: "stolen" })
    const notLinked = await server.signIn("operator")
    await server.db.query("INSERT INTO telegram_subscriptions (user_id, category) VALUES ($1, 'of_interest')", [notLinked.userId])
    await server.db.query("INSERT INTO telegram_links (user_id, chat_id) VALUES ($1, 9005)", [owner.userId])
    await server.db.query("INSERT INTO telegram_subscriptions (user_id, watchlist_id) VALUES ($1, $2)", [owner.userId, hidden.id])
    await upToDate()

    // The second sighting of TGM001 updates the alert and owes nothing more.
    await ingest([read("TGM001", { timestamp: minutesAgo(3) }), read("TGM002")])
    await ingest([read("TGM001", { timestamp: minutesAgo(1) })])
    await settle()
    const { rows } = await server.db.query<{ plate: string; chat_id: string; status: string }>(
      `SELECT a.plate, t.chat_id::text AS chat_id, t.status FROM telegram_deliveries t JOIN alerts a ON a.id = t.alert_id
        WHERE a.plate IN ('TGM001', 'TGM002') ORDER BY a.plate, t.chat_id`
    )
    expect(rows.map((r) => [r.plate, r.chat_id])).toEqual([
      ["TGM001", "9001"],
      ["TGM001", "9002"],
      ["TGM002", "9005"]
    ])
    expect(byCategory.userId).not.toBe(byList.userId)
  })

  it("keeps working across a cut LISTEN connection: what changed meanwhile is picked up on reconnect", async () => {
    const list = await createList(server)
    await upToDate()
    const { rows: cut } = await server.db.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = 'chaverim-alpr-listen'`
    )
    expect(cut).toHaveLength(1)
    // Added while the server is (most likely) still reconnecting: its notification is lost, the re-sync is not.
    const entry = await createEntry(server, list.id, "exact", "LSN001")
    await matcherAt(server, entry.revision)
    await ingest([read("LSN001")])
    await settle()
    expect((await alertsOf(server.db, list.id)).map((a) => [a.plate, a.sightings])).toEqual([["LSN001", 1]])
  })

  it("a failing item stays queued, is retried after a backoff and then alerts exactly once", async () => {
    const failures = async () => {
      const text = await server.metrics()
      return Number(/^alpr_alert_work_failed_total(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1] ?? 0)
    }
    const list = await createList(server)
    await createEntry(server, list.id, "wildcard", "FLK*")
    await upToDate()
    const allow = await refuseInserts(server.db, "alerts", "FLK002")
    const before = await failures()
    try {
      await ingest([read("FLK001"), read("FLK002")])
      // The attempt leaves nothing behind but the item and the metric, so the metric is watched.
      const deadline = Date.now() + 20_000
      while ((await failures()) <= before) {
        if (Date.now() > deadline) throw new Error("the item was never attempted")
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      const { rows: [queued] } = await server.db.query<{ n: string }>("SELECT count(*)::text AS n FROM alert_work")
      expect(Number(queued!.n)).toBeGreaterThan(0)
      expect(await alertsOf(server.db, list.id)).toEqual([])
    } finally {
      await allow()
    }
    await settle()
    expect((await alertsOf(server.db, list.id)).map((a) => [a.plate, a.sightings])).toEqual([["FLK001", 1], ["FLK002", 1]])
  })
})

describe("alerts are never lost or doubled", () => {
  /** Every read of the plates matching `like` has exactly one sighting per entry it matches. */
  const checkExactlyOnce = async (server: TestServer, like: string, entriesPerRead: (plate: string) => number) => {
    const { rows } = await server.db.query<{ id: string; plate: string; sightings: string }>(
      `SELECT d.id::text AS id, d.plate, count(s.alert_id)::text AS sightings
         FROM detections d LEFT JOIN alert_sightings s ON s.detection_id = d.id
        WHERE d.plate LIKE $1 GROUP BY d.id, d.plate`,
      [like]
    )
    const wrong = rows.filter((r) => Number(r.sightings) !== entriesPerRead(r.plate))
    expect(wrong, "reads with a wrong number of sightings").toEqual([])
    const { rows: [totals] } = await server.db.query<{ sightings: string; counted: string }>(
      `SELECT (SELECT count(*) FROM alert_sightings)::text AS sightings, (SELECT coalesce(sum(sightings), 0) FROM alerts)::text AS counted`
    )
    expect(totals!.counted, "alerts count exactly the sightings they stand for").toBe(totals!.sightings)
    return rows.length
  }

  /** A volunteer with a linked chat, subscribed to the list on Telegram. */
  const subscribed = async (server: TestServer, listId: string, chatId: number) => {
    const user = await server.signIn("operator")
    await server.db.query("INSERT INTO telegram_links (user_id, chat_id) VALUES ($1, $2)", [user.userId, chatId])
    await server.db.query("INSERT INTO telegram_subscriptions (user_id, watchlist_id) VALUES ($1, $2)", [user.userId, listId])
    return user.userId
  }

  /** Every alert of the list owes the volunteer exactly one Telegram message, and the outbox is empty. */
  const checkOneMessageEach = async (server: TestServer, listId: string, userId: string) => {
    const { rows: [owed] } = await server.db.query<{ alerts: string; messages: string; alerts_messaged: string; outbox: string }>(
      `SELECT (SELECT count(*) FROM alerts WHERE watchlist_id = $1)::text AS alerts,
              (SELECT count(*) FROM telegram_deliveries t JOIN alerts a ON a.id = t.alert_id
                WHERE a.watchlist_id = $1 AND t.user_id = $2)::text AS messages,
              (SELECT count(DISTINCT t.alert_id) FROM telegram_deliveries t JOIN alerts a ON a.id = t.alert_id
                WHERE a.watchlist_id = $1 AND t.user_id = $2)::text AS alerts_messaged,
              (SELECT count(*) FROM outbox)::text AS outbox`,
      [listId, userId]
    )
    expect(Number(owed!.alerts)).toBeGreaterThan(0)
    expect(owed).toEqual({ alerts: owed!.alerts, messages: owed!.alerts, alerts_messaged: owed!.alerts, outbox: "0" })
  }

  it("a server stopped in the middle of a burst loses no alert: the next one finishes the queue", async () => {
    const first = await startServer({ alertWorkers: 1 })
    let second: TestServer | undefined
    try {
      const { apiKey } = await first.collector("Burst site")
      const list = await createList(first)
      await createEntry(first, list.id, "wildcard", "BRS*")
      const volunteer = await subscribed(first, list.id, 7001)
      await matcherAt(first, await latestRevision(first.db))
      // Every read matches, each its own plate: the engine has real work per read.
      const batch = (n: number) =>
        Array.from({ length: 100 }, (_, i) => read(i % 5 === 4 ? `NOP${n}X${i}` : `BRS${n}X${i}`))
      await Promise.all(Array.from({ length: 12 }, (_, n) => ingestTo(first, apiKey, batch(n))))
      await first.stop()
      const { rows: [left] } = await first.db.query<{ n: string }>("SELECT count(*)::text AS n FROM alert_work")
      expect(Number(left!.n), "the stop came before the engine caught up").toBeGreaterThan(0)

      second = await startServer({ alertWorkers: 2 }, { databaseUrl: first.databaseUrl })
      await Promise.all(Array.from({ length: 6 }, (_, n) => ingestTo(second!, apiKey, batch(100 + n))))
      await drained(second.databaseUrl)
      const reads = await checkExactlyOnce(second, "BRS%", () => 1)
      expect(reads).toBe(18 * 80)
      expect(await checkExactlyOnce(second, "NOP%", () => 0)).toBe(18 * 20)
      // Every read reached the live feed once.
      const { rows: [events] } = await second.db.query<{ events: string; distinct: string; reads: string }>(
        `SELECT count(*)::text AS events, count(DISTINCT detection_id)::text AS distinct,
                (SELECT count(*) FROM detections)::text AS reads
           FROM live_events WHERE kind = 'detection'`
      )
      expect(events).toEqual({ events: events!.reads, distinct: events!.reads, reads: String(18 * 100) })
      await checkOneMessageEach(second, list.id, volunteer)
    } finally {
      await second?.close()
      await first.close()
    }
  })

  it("two servers on one database never alert twice for one read", async () => {
    const a = await startServer({ alertWorkers: 2 })
    const b = await startServer({ alertWorkers: 2 }, { databaseUrl: a.databaseUrl })
    try {
      const keyA = (await a.collector("Site A")).apiKey
      const keyB = (await b.collector("Site B")).apiKey
      const list = await createList(a)
      const volunteer = await subscribed(a, list.id, 7002)
      const wildcard = await createEntry(a, list.id, "wildcard", "DUO*")
      const exact = await createEntry(a, list.id, "exact", "DUO7")
      const revision = await latestRevision(a.db)
      await Promise.all([matcherAt(a, revision), matcherAt(b, revision)])

      // The same ten plates read at both sites at once: every sighting contends for the same alerts.
      const batch = (n: number) =>
        Array.from({ length: 50 }, (_, i) => read(`DUO${i % 10}`, { timestamp: minutesAgo(5 - (n * 50 + i) / 1000) }))
      await Promise.all(Array.from({ length: 8 }, (_, n) => ingestTo(n % 2 === 0 ? a : b, n % 2 === 0 ? keyA : keyB, batch(n))))
      await drained(a.databaseUrl)
      // The same reads queued again, twice over: both servers take them at once and must add nothing.
      await a.db.query(
        `INSERT INTO alert_work (detection_ids)
         SELECT array_agg(id ORDER BY id) FROM detections, generate_series(1, 2) AS copy GROUP BY copy, id % 8`
      )
      await a.db.query("NOTIFY alert_work")
      await drained(a.databaseUrl)

      expect(await checkExactlyOnce(a, "DUO%", (plate) => (plate === "DUO7" ? 2 : 1))).toBe(400)
      // One alert per plate and entry (all within the cooldown), counting every read.
      const raised = await alertsOf(a.db, list.id)
      expect(raised.map((r) => [r.entry_id, r.plate, r.sightings]).sort()).toEqual([
        ...Array.from({ length: 10 }, (_, i) => [wildcard.id, `DUO${i}`, 40]),
        [exact.id, "DUO7", 40]
      ].sort())
      await checkOneMessageEach(a, list.id, volunteer)
    } finally {
      await b.close()
      await a.close()
    }
  })

  it("items queued behind a busy engine are taken together, and one that fails does not hold back the rest", async () => {
    const server = await startServer({ alertWorkers: 1 })
    const locker = new pg.Client({ connectionString: server.databaseUrl })
    await locker.connect()
    try {
      const { apiKey } = await server.collector("Queue site")
      const list = await createList(server)
      await createEntry(server, list.id, "wildcard", "QBT*")
      await matcherAt(server, await latestRevision(server.db))
      const allow = await refuseInserts(server.db, "alerts", "QBT003")
      // The engine's one worker is held inside its first item (raising its alert waits on the table)...
      await locker.query("BEGIN")
      await locker.query("LOCK TABLE alerts IN EXCLUSIVE MODE")
      await ingestTo(server, apiKey, [read("QBT001")])
      const waitingOnAlerts = async () =>
        (await server.db.query("SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND relation = 'alerts'::regclass")).rows[0].n > 0
      for (const deadline = Date.now() + 20_000; !(await waitingOnAlerts());) {
        if (Date.now() > deadline) throw new Error("the engine never reached the alerts table")
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      // ... while three more batches queue up behind it, one of them with a read whose alert will fail
      for (const plate of ["QBT002", "QBT003", "QBT004"]) await ingestTo(server, apiKey, [read(plate)])
      // (the held item's claim is not yet committed: it is still counted)
      expect((await server.db.query("SELECT count(*)::int AS n FROM alert_work")).rows[0].n).toBe(4)
      await locker.query("COMMIT")
      // Taken together, the three fail as one; taken again one at a time, only QBT003 stays queued.
      const alerted = async () => (await alertsOf(server.db, list.id)).map((a) => a.plate).sort()
      for (const deadline = Date.now() + 20_000; (await alerted()).length < 3;) {
        if (Date.now() > deadline) throw new Error(`the others were held back: ${(await alerted()).join(", ")}`)
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      expect(await alerted()).toEqual(["QBT001", "QBT002", "QBT004"])
      expect((await server.db.query("SELECT count(*)::int AS n FROM alert_work")).rows[0].n).toBe(1)
      await allow()
      await drained(server.databaseUrl)
      expect((await alertsOf(server.db, list.id)).map((a) => [a.plate, a.sightings])).toEqual([
        ["QBT001", 1], ["QBT002", 1], ["QBT004", 1], ["QBT003", 1]
      ])
    } finally {
      await locker.end()
      await server.close()
    }
  })
})
