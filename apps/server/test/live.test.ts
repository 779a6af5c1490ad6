import { LIVE_REPLAY_DEFAULT, LIVE_REPLAY_MAX, type LiveMessage } from "@chaverim/domain/Alerts"
import { LiveFeed } from "@chaverim/server"
import * as Effect from "effect/Effect"
import type { IncomingMessage } from "node:http"
import WebSocket from "ws"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  createEntry,
  createList,
  drained,
  isAlertFor,
  isDetectionOf,
  latestRevision,
  LiveClient,
  liveUrl,
  matcherAt,
  upgradeOutcome
} from "./alertHarness"
import { detection, postBatch, type SignedIn, startServer, type TestServer } from "./harness"
import { rpcAs, rpcUrlOf } from "./rpcClient"

const read = (plate: string, extra: Record<string, unknown> = {}) => ({ plate: { text: plate, confidence: 0.9 }, ...extra })
const isHello = (m: LiveMessage): m is Extract<LiveMessage, { type: "hello" }> => m.type === "hello"
const isResync = (m: LiveMessage): m is Extract<LiveMessage, { type: "resync" }> => m.type === "resync"
type Detection = Extract<LiveMessage, { type: "detection" }>
const isReplayed = (m: LiveMessage): m is Detection => m.type === "detection" && m.replayed === true
/** Event numbers of what happened while connected: the replayed reads (from before) left out. */
const liveIds = (client: { readonly messages: ReadonlyArray<LiveMessage> }) =>
  client.messages.flatMap((m) => ((m.type === "detection" && m.replayed !== true) || m.type === "alert" ? [m.event_id] : []))

/**
 * A feed opened with a query of its own (`replay`, and `after` with it), keeping every message in
 * order as LiveClient does.
 */
const openFeed = (server: TestServer, cookie: string, query: Record<string, string>) =>
  new Promise<{
    readonly messages: Array<LiveMessage>
    readonly until: (predicate: (m: LiveMessage) => boolean, timeoutMs?: number) => Promise<void>
    readonly close: () => void
  }>((resolve, reject) => {
    const socket = new WebSocket(`${liveUrl(server)}?${new URLSearchParams(query)}`, undefined, { headers: { cookie } })
    const messages: Array<LiveMessage> = []
    const waiting = new Set<() => void>()
    socket.on("message", (data: Buffer) => {
      messages.push(JSON.parse(data.toString("utf8")) as LiveMessage)
      waiting.forEach((check) => check())
    })
    socket.on("error", reject)
    socket.on("open", () =>
      resolve({
        messages,
        until: (predicate, timeoutMs = 20_000) =>
          new Promise<void>((done, fail) => {
            const timer = setTimeout(() => fail(new Error(`no such live message within ${timeoutMs} ms`)), timeoutMs)
            const check = () => {
              if (!messages.some(predicate)) return
              clearTimeout(timer)
              waiting.delete(check)
              done()
            }
            waiting.add(check)
            check()
          }),
        close: () => socket.close()
      })
    )
  })

/** How the server refuses an upgrade: its status and the reason it gives. */
const refusal = (url: string, cookie: string) =>
  new Promise<{ readonly status: number; readonly message: string }>((resolve, reject) => {
    const socket = new WebSocket(url, undefined, { headers: { cookie } })
    socket.on("open", () => {
      socket.close()
      reject(new Error(`${url} was accepted`))
    })
    socket.on("unexpected-response", (_request: unknown, response: IncomingMessage) => {
      let body = ""
      response.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")))
      response.on("end", () => resolve({ status: response.statusCode ?? 0, message: (JSON.parse(body) as { message: string }).message }))
    })
    socket.on("error", reject)
  })

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/** How long a change to a user may take to reach their open feeds. */
const CHANGE_REACHES_FEED_MS = 5_000

/** How the feed closed, and how long after `since` (performance.now()) it did; fails after the limit. */
const closedWithin = async (client: LiveClient, since: number, limitMs = CHANGE_REACHES_FEED_MS + 1_000) => {
  const closed = await Promise.race([
    client.closed,
    new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), limitMs))
  ])
  if (closed === undefined) throw new Error(`the feed was still open ${limitMs} ms later`)
  return { ...closed, afterMs: performance.now() - since }
}

describe("live feed at /api/v1/live", () => {
  let server: TestServer
  let apiKey: string
  let admin: SignedIn

  const ingest = async (events: ReadonlyArray<Record<string, unknown>>) => {
    const built = events.map((e) => detection(e))
    const response = await postBatch(server, apiKey, built)
    expect(response.status).toBe(200)
    expect(((await response.json()) as { accepted: number }).accepted).toBe(events.length)
    return built
  }
  const upToDate = async () => matcherAt(server, await latestRevision(server.db))
  /** Every event number in the table after `after`, oldest first. */
  const eventsAfter = async (after: number) =>
    (await server.db.query<{ id: string }>("SELECT id::text AS id FROM live_events WHERE id > $1 ORDER BY live_events.id", [after])).rows
      .map((r) => Number(r.id))

  beforeAll(async () => {
    server = await startServer()
    apiKey = (await server.collector("Live site")).apiKey
    admin = await server.signIn("admin")
  })
  afterAll(() => server?.close())

  it("refuses no session (401), a foreign origin (403), a bad resume point (400) and plain HTTP (426)", async () => {
    const expired = await server.signIn("viewer", { expired: true })
    const viewer = await server.signIn("viewer")
    expect(await upgradeOutcome(liveUrl(server), {})).toBe(401)
    expect(await upgradeOutcome(liveUrl(server), { cookie: expired.cookie })).toBe(401)
    expect(await upgradeOutcome(liveUrl(server), { cookie: viewer.cookie, origin: "https://evil.example" })).toBe(403)
    expect(await upgradeOutcome(`${liveUrl(server)}?after=soon`, { cookie: viewer.cookie })).toBe(400)
    expect(await upgradeOutcome(`${liveUrl(server)}?only=reads`, { cookie: viewer.cookie })).toBe(400)
    expect(await upgradeOutcome(liveUrl(server), { cookie: viewer.cookie, origin: server.url })).toBe("open")
    expect((await fetch(`${server.url}/api/v1/live`, { headers: { cookie: viewer.cookie } })).status).toBe(426)
  })

  it("says hello with the head, then sends each read and each alert as it is stored", async () => {
    const list = await createList(server)
    await createEntry(server, list.id, "wildcard", "LIV*")
    await upToDate()
    const client = await LiveClient.open(server, admin.cookie)
    const hello = await client.next(isHello)

    const latencies: Array<number> = []
    for (let i = 0; i < 10; i++) {
      const [sent] = await ingest([read(`LIV-${i}`)])
      const answered = performance.now()
      const alert = await client.next(isAlertFor(`LIV${i}`))
      latencies.push(client.arrivals[client.messages.indexOf(alert)]! - answered)
      const seen = client.messages.find(isDetectionOf(sent!.detection_id as string))!
      expect(seen.event_id).toBeLessThan(alert.event_id)
      expect(seen.detection).toMatchObject({ plate: `LIV${i}`, plate_text: `LIV-${i}`, camera: { name: "Main St northbound" } })
      expect(alert.alert).toMatchObject({ status: "new", watchlist: { id: list.id }, detection: { id: seen.detection.id } })
    }
    console.log(`ingest answer -> alert on the WebSocket: median ${median(latencies).toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms`)
    expect(liveIds(client)[0]).toBe(hello.last_event_id + 1)
    expect(liveIds(client)).toEqual(await eventsAfter(hello.last_event_id))
    await client.close()
  })

  /** The latest `count` reads' event numbers in the journal up to `upTo`, oldest first. */
  const latestReadEvents = async (upTo: number, count: number) =>
    (await server.db.query<{ id: string }>(
      "SELECT id::text AS id FROM live_events WHERE kind = 'detection' AND id <= $1 ORDER BY live_events.id DESC LIMIT $2",
      [upTo, count]
    )).rows.map((r) => Number(r.id)).reverse()
  /** Ingests reads and waits until the feed has handed them to its clients. */
  const ingestSeen = async (events: ReadonlyArray<Record<string, unknown>>) => {
    const watcher = await LiveClient.open(server, admin.cookie, undefined, "alerts")
    const hello = await watcher.next(isHello)
    const sent = await ingest(events)
    const last = sent.at(-1)!.detection_id as string
    const resumed = await LiveClient.open(server, admin.cookie, hello.last_event_id)
    await resumed.next(isDetectionOf(last))
    await Promise.all([watcher.close(), resumed.close()])
    return sent
  }

  it("a new connection starts with the latest reads, oldest first and marked replayed, then the live ones, none twice", async () => {
    const list = await createList(server)
    await createEntry(server, list.id, "wildcard", "RPL*")
    await upToDate()
    // One batch: its reads' events are numbered in the batch's order.
    const before = await ingestSeen(Array.from({ length: 60 }, (_, i) => read(`RPL-${String(i).padStart(2, "0")}`)))
    const client = await LiveClient.open(server, admin.cookie)
    const hello = await client.next(isHello)
    const live = await ingest([read("NEW-1"), read("NEW-2")])
    await client.next(isDetectionOf(live[1]!.detection_id as string))

    const replayed = client.messages.filter(isReplayed)
    expect(replayed).toHaveLength(LIVE_REPLAY_DEFAULT)
    // Right after hello and the connection's photo view, before anything live; the latest 50 reads of
    // the journal, oldest first.
    expect(client.messages[1]).toMatchObject({ type: "view", token: expect.stringMatching(/^\d+\.[A-Za-z0-9_-]{43}$/) })
    expect(client.messages.slice(2, 2 + LIVE_REPLAY_DEFAULT)).toEqual(replayed)
    expect(replayed.map((m) => m.event_id)).toEqual(await latestReadEvents(hello.last_event_id, LIVE_REPLAY_DEFAULT))
    expect(replayed.map((m) => m.detection.plate_text)).toEqual(before.slice(-LIVE_REPLAY_DEFAULT).map((e) => (e.plate as { text: string }).text))
    expect(replayed.every((m) => m.event_id <= hello.last_event_id)).toBe(true)
    // Replayed reads are reads as the live ones are: camera, photos' links and all.
    expect(replayed.at(-1)!.detection).toMatchObject({ plate: "RPL59", camera: { name: "Main St northbound" } })
    // The alerts those reads raised are not replayed (the alert list loads them, by who may see them).
    expect(client.messages.slice(0, 2 + LIVE_REPLAY_DEFAULT).some((m) => m.type === "alert")).toBe(false)
    // Then the live ones: after hello's number, in order, none of them replayed, none seen twice.
    const after = client.messages.slice(2 + LIVE_REPLAY_DEFAULT)
    expect(after.some(isReplayed)).toBe(false)
    expect(liveIds(client)).toEqual(await eventsAfter(hello.last_event_id))
    const ids = client.eventIds
    expect(new Set(ids).size).toBe(ids.length)
    expect([...ids].sort((a, b) => a - b)).toEqual(ids)
    await client.close()
  })

  it("?replay=N asks for N reads (0 to 200); another value is refused with the reason; a resume replays nothing", async () => {
    await ingestSeen(Array.from({ length: 12 }, (_, i) => read(`RPN-${i}`)))
    const few = await openFeed(server, admin.cookie, { replay: "5" })
    const none = await openFeed(server, admin.cookie, { replay: "0" })
    const most = await openFeed(server, admin.cookie, { replay: String(LIVE_REPLAY_MAX) })
    // A resume gets what it missed and nothing replayed, whatever `replay` says.
    const head = await server.runtime.runPromise(Effect.flatMap(LiveFeed, (feed) => feed.head))
    const resumed = await openFeed(server, admin.cookie, { after: String(head), replay: "50" })
    const feeds = [few, none, most, resumed]
    await Promise.all(feeds.map((f) => f.until((m) => m.type === "hello")))
    const [marker] = await ingest([read("RPN-MARK")])
    const isMarker = isDetectionOf(marker!.detection_id as string)
    await Promise.all(feeds.map((f) => f.until(isMarker)))

    const helloOf = (f: (typeof feeds)[number]) => f.messages.find(isHello)!
    const replayedIn = (f: (typeof feeds)[number]) => f.messages.filter(isReplayed).map((m) => m.event_id)
    expect(replayedIn(few)).toEqual(await latestReadEvents(helloOf(few).last_event_id, 5))
    expect(few.messages.filter(isReplayed).map((m) => m.detection.plate)).toEqual(["RPN7", "RPN8", "RPN9", "RPN10", "RPN11"])
    expect(replayedIn(none)).toEqual([])
    const journal = await latestReadEvents(helloOf(most).last_event_id, LIVE_REPLAY_MAX)
    expect(journal.length).toBeGreaterThan(LIVE_REPLAY_DEFAULT)
    expect(replayedIn(most)).toEqual(journal)
    expect(replayedIn(resumed)).toEqual([])
    expect(resumed.messages.map((m) => m.type)).toEqual(["hello", "view", "detection"])
    expect(resumed.messages.find(isMarker)!.event_id).toBeGreaterThan(head)
    // Each: hello, the view, the replayed reads, then the marker read live.
    for (const feed of [few, none, most]) {
      expect(feed.messages.findIndex(isMarker)).toBe(2 + replayedIn(feed).length)
      expect(feed.messages.find(isMarker)).not.toHaveProperty("replayed")
    }
    feeds.forEach((f) => f.close())

    for (const bad of ["201", "-1", "ten", "2.5", ""]) {
      expect(await refusal(`${liveUrl(server)}?replay=${bad}`, admin.cookie)).toEqual({
        status: 400,
        message: `replay is a number of reads, 0 to ${LIVE_REPLAY_MAX}`
      })
    }
  })

  it("replays only what the user may receive: no reads with ?only=alerts, and never another user's alerts", async () => {
    const owner = await server.signIn("operator")
    const viewer = await server.signIn("viewer")
    const hidden = await createList(server, { shared: false, ownerId: owner.userId })
    await createEntry(server, hidden.id, "exact", "RPH777")
    await upToDate()
    const [privateRead] = await ingestSeen([read("RPH777"), read("RPV-1")])
    const owning = await openFeed(server, owner.cookie, { replay: "10" })
    const watching = await openFeed(server, viewer.cookie, { replay: "10" })
    const alertsOnly = await openFeed(server, viewer.cookie, { replay: "10", only: "alerts" })
    const feeds = [owning, watching, alertsOnly]
    await Promise.all(feeds.map((f) => f.until((m) => m.type === "hello")))
    const [marker] = await ingest([read("RPH777")])
    // The owner's feed gets the new read's alert live; the viewer's gets the read only (no secret).
    await owning.until((m) => m.type === "alert" && m.alert.detection.detection_id === marker!.detection_id)
    await watching.until(isDetectionOf(marker!.detection_id as string))

    // The read of the private list's plate is replayed to the viewer (reads are for everyone) ...
    expect(watching.messages.filter(isReplayed).map((m) => m.detection.detection_id)).toContain(privateRead!.detection_id)
    // ... but no alert of that list reaches them, replayed or live.
    expect(watching.messages.some((m) => m.type === "alert" && m.alert.watchlist.id === hidden.id)).toBe(false)
    // With only=alerts nothing is replayed at all.
    expect(alertsOnly.messages.filter((m) => m.type === "detection")).toEqual([])
    expect(alertsOnly.messages.map((m) => m.type)).toEqual(["hello"])
    feeds.forEach((f) => f.close())
  })

  it("sends every read of a batch whose times span months, partitions and the default partition alike", async () => {
    // The feed looks reads up by id within the span of their times (sql/0021): a span crossing
    // months, down to the millisecond at its edges, must still find each one.
    const client = await LiveClient.open(server, admin.cookie)
    await client.next(isHello)
    const now = new Date()
    const monthStart = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)
    const times = [
      new Date(monthStart - 1), // the last millisecond of last month
      new Date(monthStart), // the first of this one
      new Date(monthStart - 40 * 86_400_000 + 123), // the month before
      new Date(Date.UTC(2019, 4, 31, 23, 59, 59, 999)) // kept in the default partition
    ].filter((t) => t.getTime() < now.getTime())
    const sent = await ingest(times.map((t, i) => read(`SPAN${i}`, { timestamp: t.toISOString() })))
    for (const [i, event] of sent.entries()) {
      const seen = await client.next(isDetectionOf(event.detection_id as string))
      expect(seen.detection).toMatchObject({ plate: `SPAN${i}` })
      expect(new Date(seen.detection.detected_at).getTime()).toBe(times[i]!.getTime())
    }
    await client.close()
  })

  it("with ?only=alerts sends the alerts and leaves out the reads, live and on resuming", async () => {
    const list = await createList(server)
    await createEntry(server, list.id, "wildcard", "ONL*")
    await upToDate()
    const everything = await LiveClient.open(server, admin.cookie)
    const alerts = await LiveClient.open(server, admin.cookie, undefined, "alerts")
    const hello = await alerts.next(isHello)
    await ingest([read("ONL-1"), read("OFF-1"), read("ONL-2")])
    await alerts.next(isAlertFor("ONL2"))
    await everything.next(isAlertFor("ONL2"))
    await alerts.close()
    // Missed while away: one alert and a read; resuming with both parameters replays the alert only.
    await ingest([read("OFF-2"), read("ONL-3")])
    await everything.next(isAlertFor("ONL3"))
    const resumed = await LiveClient.open(server, admin.cookie, Math.max(...alerts.eventIds), "alerts")
    await resumed.next(isAlertFor("ONL3"))

    const alertIds = everything.messages.flatMap((m) => (m.type === "alert" ? [m.event_id] : []))
    expect(everything.messages.filter((m) => m.type === "detection" && !isReplayed(m))).toHaveLength(5)
    expect(alerts.messages.map((m) => m.type)).toEqual(["hello", "alert", "alert"])
    expect(resumed.messages.map((m) => m.type)).toEqual(["hello", "alert"])
    expect([...alerts.eventIds, ...resumed.eventIds]).toEqual(alertIds)
    expect(alerts.eventIds[0]).toBeGreaterThan(hello.last_event_id)
    await Promise.all([resumed.close(), everything.close()])
  })

  it("a client reconnecting with ?after misses nothing and gets nothing twice", async () => {
    const watcher = await LiveClient.open(server, admin.cookie)
    const first = await LiveClient.open(server, admin.cookie)
    const hello = await first.next(isHello)
    let ingesting = true
    const background = (async () => {
      for (let n = 0; ingesting && n < 200; n++) await ingest(Array.from({ length: 10 }, (_, i) => read(`RCN${n}X${i}`)))
    })()
    try {
      await first.next((m) => m.type === "detection" && m.event_id >= hello.last_event_id + 50)
      await first.close()
      const last = Math.max(...first.eventIds)
      // Events the first connection never saw are out before the second one starts: they must be replayed.
      const [gap] = await ingest([read("RCNGAP")])
      await watcher.next(isDetectionOf(gap!.detection_id as string))
      const second = await LiveClient.open(server, admin.cookie, last)
      const secondHello = await second.next(isHello)
      expect(secondHello.last_event_id).toBeGreaterThan(last)
      await second.next((m) => m.type === "detection" && m.event_id > secondHello.last_event_id + 30)
      ingesting = false
      await background
      await drained(server.databaseUrl)
      const expected = await eventsAfter(hello.last_event_id)
      await second.next((m) => m.type === "detection" && m.event_id === expected.at(-1))

      // The resume replays no reads of its own: what it gets is exactly what the first one missed.
      expect([...liveIds(first), ...second.eventIds]).toEqual(expected)
      await Promise.all([second.close(), watcher.close()])
    } finally {
      ingesting = false
      await background
    }
  })

  it("a client that stops reading is told to resync and delays no one", async () => {
    const fast = await LiveClient.open(server, admin.cookie)
    const slow = await LiveClient.open(server, admin.cookie)
    const hello = await fast.next(isHello)
    await slow.next(isHello)
    slow.socket.pause()

    // Reads until the slow client's outbox overflows: first the socket buffers between them fill
    // (how much they take is the kernel's business), then its outbox of 1,000 messages.
    const overflows = async () =>
      Number(/^alpr_live_overflows_total(?:\{[^}]*\})? (\d+)/m.exec(await server.metrics())?.[1] ?? 0)
    const before = await overflows()
    for (let n = 0; (await overflows()) === before; n++) {
      expect(n, "the slow client never overflowed").toBeLessThan(100)
      await Promise.all(Array.from({ length: 4 }, (_, k) => ingest(Array.from({ length: 100 }, (_, i) => read(`SLW${n}X${k}X${i}`)))))
      await drained(server.databaseUrl)
    }
    const expected = await eventsAfter(hello.last_event_id)
    // The fast client has everything while the slow one still reads nothing.
    await fast.next((m) => m.type === "detection" && m.event_id === expected.at(-1), 60_000)
    expect(liveIds(fast)).toEqual(expected)

    slow.socket.resume()
    const resync = await slow.next(isResync, 60_000)
    expect(resync.reason).toBe("overflow")
    expect(resync.last_event_id).toBeGreaterThanOrEqual(expected.at(-1)!)
    expect((await slow.closed).code).toBe(4000)
    // What it did get is the feed up to some point, in order, without a gap.
    expect(liveIds(slow).length).toBeLessThan(expected.length)
    expect(liveIds(slow)).toEqual(expected.slice(0, liveIds(slow).length))
    expect(slow.messages.at(-1)).toEqual(resync)
    await fast.close()
  }, 180_000)

  it("a viewer does not receive alerts of another user's private list", async () => {
    const owner = await server.signIn("operator")
    const viewer = await server.signIn("viewer")
    const hidden = await createList(server, { shared: false, ownerId: owner.userId })
    await createEntry(server, hidden.id, "exact", "PRV777")
    const open = await createList(server)
    await createEntry(server, open.id, "exact", "PUB777")
    await upToDate()
    const watching = await LiveClient.open(server, viewer.cookie)
    const owning = await LiveClient.open(server, owner.cookie)
    const hello = await watching.next(isHello)

    const [privateRead] = await ingest([read("PRV777")])
    await ingest([read("PUB777")])
    await owning.next(isAlertFor("PRV777"))
    await owning.next(isAlertFor("PUB777"))
    // Events arrive in order: once the later alert is here, the earlier one would have been too.
    await watching.next(isAlertFor("PUB777"))
    expect(watching.alerts().map((a) => a.plate)).toEqual(["PUB777"])
    // The read itself is no secret.
    expect(watching.messages.some(isDetectionOf(privateRead!.detection_id as string))).toBe(true)

    // Nor is it replayed to them.
    const replay = await LiveClient.open(server, viewer.cookie, hello.last_event_id)
    await replay.next(isAlertFor("PUB777"))
    expect(replay.alerts().map((a) => a.plate)).toEqual(["PUB777"])
    await Promise.all([watching.close(), owning.close(), replay.close()])
  })

  it("a demoted user's open feed stops sending alerts of lists they may no longer see, within 5 s", async () => {
    const owner = await server.signIn("operator")
    const demoted = await server.signIn("admin")
    const hidden = await createList(server, { shared: false, ownerId: owner.userId })
    await createEntry(server, hidden.id, "wildcard", "DMP*")
    const open = await createList(server)
    await createEntry(server, open.id, "wildcard", "DMS*")
    await upToDate()
    const feed = await LiveClient.open(server, demoted.cookie)
    await ingest([read("DMP-0"), read("DMS-0")])
    // An admin sees every list, private ones included.
    await feed.next(isAlertFor("DMS0"))
    expect(feed.alerts().map((a) => a.plate)).toEqual(["DMP0", "DMS0"])

    await rpcAs(rpcUrlOf(server), admin.cookie, (c) => c.users.setRole({ user_id: demoted.userId, role: "viewer" }))
    const demotedAt = performance.now()
    // Pairs of reads, the private list's first: once the shared alert is here the private one would be too.
    let pairs = 0
    for (; ; pairs++) {
      await ingest([read(`DMP-${pairs + 1}`), read(`DMS-${pairs + 1}`)])
      await feed.next(isAlertFor(`DMS${pairs + 1}`))
      if (!feed.alerts().some((a) => a.plate === `DMP${pairs + 1}`)) break
      expect(performance.now() - demotedAt, "still sent private alerts after the demotion").toBeLessThan(CHANGE_REACHES_FEED_MS)
    }
    // From then on, none; the feed itself goes on.
    await ingest([read("DMP-X"), read("DMS-X")])
    await feed.next(isAlertFor("DMSX"))
    expect(feed.alerts().filter((a) => a.plate === "DMPX" || a.plate === `DMP${pairs + 1}`)).toEqual([])
    await feed.close()
  })

  it("a disabled user's feed, and the feeds of a user whose password an admin reset, close within 5 s", async () => {
    const disabled = await server.signIn("operator")
    const reset = await server.signIn("viewer")
    const feeds = await Promise.all([LiveClient.open(server, disabled.cookie), LiveClient.open(server, reset.cookie)])
    await Promise.all(feeds.map((f) => f.next(isHello)))

    const disabledAt = performance.now()
    await rpcAs(rpcUrlOf(server), admin.cookie, (c) => c.users.disable({ user_id: disabled.userId }))
    expect(await closedWithin(feeds[0], disabledAt)).toMatchObject({ code: 4401, reason: "the session has ended" })

    const resetAt = performance.now()
    await rpcAs(rpcUrlOf(server), admin.cookie, (c) => c.users.resetPassword({ user_id: reset.userId }))
    expect(await closedWithin(feeds[1], resetAt)).toMatchObject({ code: 4401 })
  })

  it("a revoked wall display's feed closes within 5 s", async () => {
    const made = await rpcAs(rpcUrlOf(server), admin.cookie, (c) => c.displays.create({ name: "Live wall" }))
    const paired = await fetch(`${server.url}/api/v1/auth/pair`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ code: made.code })
    })
    expect(paired.status).toBe(200)
    const cookie = paired.headers.getSetCookie().find((c) => c.startsWith("alpr_session="))!.split(";")[0]!
    const wall = await LiveClient.open(server, cookie)
    await wall.next(isHello)
    const [sent] = await ingest([read("WAL-1")])
    await wall.next(isDetectionOf(sent!.detection_id as string))

    const revokedAt = performance.now()
    await rpcAs(rpcUrlOf(server), admin.cookie, (c) => c.displays.revoke({ display_id: made.display_id }))
    expect(await closedWithin(wall, revokedAt)).toMatchObject({ code: 4401 })
    expect(await upgradeOutcome(liveUrl(server), { cookie })).toBe(401)
  })

  it("closes the feed (1011) when checking its session fails in the database, rather than counting it as signed in", async () => {
    const viewer = await server.signIn("viewer")
    const feed = await LiveClient.open(server, viewer.cookie)
    await feed.next(isHello)
    // The session's table is gone for a moment: the check's query fails in PostgreSQL itself.
    await server.db.query("ALTER TABLE sessions RENAME TO sessions_away")
    try {
      const failingAt = performance.now()
      // What a change to the user announces, so the feed checks now rather than within the minute.
      await server.db.query("SELECT pg_notify('session_changed', $1)", [viewer.userId])
      expect(await closedWithin(feed, failingAt)).toMatchObject({ code: 1011, reason: expect.stringMatching(/could not be checked/) })
    } finally {
      await server.db.query("ALTER TABLE sessions_away RENAME TO sessions")
    }
    // Once the database answers again, so does the feed.
    const again = await LiveClient.open(server, viewer.cookie)
    await again.next(isHello)
    await again.close()
  })

  it("a resume point older than the events kept, or never given out, gets resync", async () => {
    await ingest([read("OLD111"), read("OLD112")])
    await drained(server.databaseUrl)
    const [{ max }] = (await server.db.query<{ max: string }>("SELECT max(id)::text AS max FROM live_events")).rows as [{ max: string }]
    await server.db.query("UPDATE live_events SET created_at = now() - interval '2 days'")
    await server.runtime.runPromise(Effect.flatMap(LiveFeed, (feed) => feed.prune))
    // The newest event is always kept, so the numbering stays known.
    expect((await server.db.query("SELECT id::text AS id FROM live_events")).rows).toEqual([{ id: max }])

    const tooOld = await LiveClient.open(server, admin.cookie, 1)
    expect(await tooOld.next(isResync)).toMatchObject({ reason: "too_old", last_event_id: Number(max) })
    expect((await tooOld.closed).code).toBe(4000)
    const unknown = await LiveClient.open(server, admin.cookie, Number(max) + 1_000)
    expect(await unknown.next(isResync)).toMatchObject({ reason: "unknown" })
    const current = await LiveClient.open(server, admin.cookie, Number(max))
    await ingest([read("OLD113")])
    expect((await current.next((m) => m.type === "detection")).event_id).toBeGreaterThan(Number(max))
    await current.close()
  })
})
