import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { connect, type MqttClient } from "mqtt"
import { randomBytes } from "node:crypto"
import { createServer } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createEntry, createList, latestRevision, matcherAt } from "./alertHarness"
import { checkHealth, detection, postBatch, postHeartbeat, type SignedIn, sleep, startServer, type TestServer, until } from "./harness"
import { type AlprClient, outcomeOf, rpcAs, rpcUrlOf } from "./rpcClient"

/**
 * MQTT end to end: the whole server against the machine's real Mosquitto (127.0.0.1:1883), each run
 * under topics of its own. Alerts are raised by the real engine from reads sent through the batch API.
 */

const BROKER = "mqtt://127.0.0.1:1883"
const RUN = randomBytes(4).toString("hex")
const PREFIX = `alprtest${RUN}/alpr`
const DISC = `hatest${RUN}`
const PUBLIC_URL = "https://alpr.example.org"

interface Message {
  readonly topic: string
  readonly payload: string
  readonly retain: boolean
  readonly at: number
}

/** A test client subscribed to `filters` that keeps everything it receives. */
const subscriber = async (filters: ReadonlyArray<string>) => {
  const client: MqttClient = connect(BROKER, { clientId: `test-${randomBytes(4).toString("hex")}`, reconnectPeriod: 0 })
  const messages: Array<Message> = []
  client.on("message", (topic, payload, packet) => messages.push({ topic, payload: payload.toString("utf8"), retain: packet.retain, at: Date.now() }))
  await new Promise<void>((resolve, reject) => {
    client.once("connect", () => resolve())
    client.once("error", reject)
  })
  await client.subscribeAsync([...filters], { qos: 1 })
  return { client, messages }
}



/** A port nothing listens on. */
const closedPort = () =>
  new Promise<number>((resolve) => {
    const probe = createServer()
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number }
      probe.close(() => resolve(port))
    })
  })

describe("MQTT and Home Assistant", () => {
  let server: TestServer
  let apiKey: string
  let admin: SignedIn
  let sub: Awaited<ReturnType<typeof subscriber>>
  let plates = 0

  const rpc = <A, E>(who: SignedIn, f: (client: AlprClient) => Effect.Effect<A, E>) => rpcAs(rpcUrlOf(server), who.cookie, f)
  const newPlate = () => `MQ${++plates}${randomBytes(2).toString("hex").toUpperCase()}`

  /** A read of `plate` through the batch API; its stored row. */
  const ingest = async (plate: string) => {
    const event = detection({ plate: { text: plate, confidence: 0.91 }, vehicle: { direction: "in", type: "car", color: "red", make: "Ford" } })
    const response = await postBatch(server, apiKey, [event])
    expect(response.status).toBe(200)
    const { rows: [row] } = await server.db.query(
      `SELECT d.id::text AS id, d.camera_id, d.detected_at, c.name AS camera_name FROM detections d JOIN cameras c ON c.id = d.camera_id
        WHERE d.detection_id = $1`,
      [event.detection_id]
    )
    return row as { id: string; camera_id: string; detected_at: Date; camera_name: string }
  }

  /** A list with an entry for a new plate, in force in the server's matcher. */
  const listFor = async (options: { readonly shared: boolean; readonly ownerId?: string }) => {
    const plate = newPlate()
    const list = await createList(server, { shared: options.shared, ownerId: options.ownerId ?? null, name: `MQTT list ${plate}` })
    await createEntry(server, list.id, "exact", plate)
    await matcherAt(server, await latestRevision(server.db))
    return { plate, listId: list.id, listName: `MQTT list ${plate}` }
  }

  const alertOf = (plate: string) =>
    until(async () => {
      const { rows } = await server.db.query("SELECT id::text AS id FROM alerts WHERE plate = $1", [plate])
      return rows[0]?.id as string | undefined
    }, `the alert for ${plate}`)

  const alertMessages = (alertId: string) =>
    sub.messages.filter((m) => m.topic === `${PREFIX}/alert` && (JSON.parse(m.payload) as { alert: { id: string } }).alert.id === alertId)

  const deliveries = async (alertId: string) =>
    (await server.db.query(
      "SELECT status, attempts, last_error FROM output_deliveries WHERE channel = 'mqtt' AND alert_id = $1 ORDER BY id",
      [alertId]
    )).rows as Array<{ status: string; attempts: number; last_error: string | null }>

  const update = (change: Parameters<AlprClient["mqtt"]["update"]>[0]) => rpc(admin, (client) => client.mqtt.update(change))

  const waitConnected = (connected: boolean) =>
    until(async () => ((await rpc(admin, (c) => c.mqtt.get())).connected === connected ? true : undefined), `connected = ${connected}`)

  let quietCollectorId: string

  beforeAll(async () => {
    server = await startServer({ publicUrl: Option.some(PUBLIC_URL) })
    const collector = await server.collector("MQTT site")
    apiKey = collector.apiKey
    // as a heartbeat would: the collector is online
    await server.db.query("UPDATE collectors SET last_seen_at = now() WHERE id = $1", [collector.collectorId])
    // claimed, and never heard from since: published offline (not a failed refresh)
    quietCollectorId = (await server.collector("Quiet site")).collectorId
    admin = await server.signIn("admin")
    sub = await subscriber([`${PREFIX}/#`, `${PREFIX}env/#`, `${DISC}/#`])
  })
  afterAll(async () => {
    // leave nothing retained on the machine's broker
    const retained = [...new Set(sub?.messages.filter((m) => m.retain || m.topic.includes("/config") || m.topic.endsWith("/status") || m.topic.includes("/state") || m.topic.includes("/read/")).map((m) => m.topic))]
    await server?.close()
    for (const topic of retained) await sub.client.publishAsync(topic, "", { qos: 1, retain: true })
    await sub?.client.endAsync()
  })

  it("is for admins only: operators and viewers are refused every procedure", async () => {
    for (const role of ["operator", "viewer"] as const) {
      const who = await server.signIn(role)
      const outcomes = await rpc(who, (client) =>
        Effect.all([
          Effect.exit(client.mqtt.get()),
          Effect.exit(client.mqtt.update({ url: BROKER })),
          Effect.exit(client.mqtt.test())
        ]))
      expect(outcomes.map(outcomeOf).map((o) => o.split(":")[0])).toEqual(["Forbidden", "Forbidden", "Forbidden"])
    }
    const { rows } = await server.db.query("SELECT url FROM mqtt_settings")
    expect(rows).toEqual([{ url: null }])
  })

  it("is off until a broker is set; the password is never shown and the change is audited", async () => {
    const before = await rpc(admin, (c) => c.mqtt.get())
    expect(before).toMatchObject({ url: null, password: "not set", topic_prefix: "alpr", publish_reads: false, discovery: true, discovery_prefix: "homeassistant", connected: false, from_environment: [] })
    const bad = await rpc(admin, (c) => Effect.exit(c.mqtt.update({ url: "http://127.0.0.1:1883" })))
    expect(outcomeOf(bad)).toMatch(/^BadRequest|ParseError|mqtt:\/\//)

    const after = await update({
      url: BROKER,
      username: "alpr",
      password: "s3cret-broker-password",
      topic_prefix: PREFIX,
      discovery_prefix: DISC,
      publish_reads: true
    })
    expect(after).toMatchObject({ url: BROKER, username: "alpr", password: "set", topic_prefix: PREFIX, discovery_prefix: DISC })
    expect(JSON.stringify(after)).not.toContain("s3cret")
    const { rows: audit } = await server.db.query("SELECT details::text AS details FROM audit_log WHERE action = 'mqtt.settings'")
    expect(audit).toHaveLength(1)
    expect(audit[0].details).toContain('"password": "changed"')
    expect(audit[0].details).not.toContain("s3cret")

    await waitConnected(true)
    await until(() => sub.messages.find((m) => m.topic === `${PREFIX}/status` && m.payload === "online"), "online on the status topic")
  })

  it("the test button publishes to <prefix>/test and says so", async () => {
    const result = await rpc(admin, (c) => c.mqtt.test())
    expect(result).toMatchObject({ ok: true, topic: `${PREFIX}/test` })
    await until(() => sub.messages.find((m) => m.topic === `${PREFIX}/test`), "the test message")
  })

  it("publishes an alert of a shared list on <prefix>/alert and its list's Home Assistant event, exactly", async () => {
    const { plate, listId, listName } = await listFor({ shared: true })
    const read = await ingest(plate)
    const alertId = await alertOf(plate)
    const message = await until(() => alertMessages(alertId)[0], "the alert on the broker")
    expect(JSON.parse(message.payload)).toEqual({
      event: "alert_raised",
      alert: {
        id: alertId,
        plate,
        status: "new",
        retro: false,
        seen_at: read.detected_at.toISOString(),
        list: { id: listId, name: listName, category: "stolen", priority: expect.any(Number) },
        camera: { id: read.camera_id, name: read.camera_name, site: null },
        location: { lat: 41.1, lon: -74.05 },
        url: `${PUBLIC_URL}/alerts/${alertId}`
      }
    })
    const hit = await until(() => sub.messages.find((m) => m.topic === `${PREFIX}/watchlist/${listId}/hit`), "the hit event")
    expect(JSON.parse(hit.payload)).toEqual({
      event_type: "hit",
      plate,
      camera: read.camera_name,
      seen_at: read.detected_at.toISOString(),
      url: `${PUBLIC_URL}/alerts/${alertId}`
    })
    await until(async () => ((await deliveries(alertId)).every((d) => d.status === "sent") ? true : undefined), "the delivery recorded")
    expect(await deliveries(alertId)).toEqual([{ status: "sent", attempts: 1, last_error: null }])
  })

  it("never publishes an alert of a private list", async () => {
    const owner = await server.signIn("operator")
    const { plate } = await listFor({ shared: false, ownerId: owner.userId })
    await ingest(plate)
    const alertId = await alertOf(plate)
    // taken off the outbox, owing nothing
    await until(async () => {
      const { rows } = await server.db.query("SELECT count(*)::int AS n FROM outbox WHERE channel = 'mqtt' AND alert_id = $1", [alertId])
      return rows[0].n === 0 ? true : undefined
    }, "the private alert taken off the outbox")
    // a shared alert raised after it arrives; the private one never does
    const shared = await listFor({ shared: true })
    await ingest(shared.plate)
    const sharedId = await alertOf(shared.plate)
    await until(() => alertMessages(sharedId)[0], "the shared alert")
    await sleep(500)
    expect(await deliveries(alertId)).toEqual([])
    expect(sub.messages.filter((m) => !m.topic.includes("/read/") && m.payload.includes(plate))).toEqual([])
  })

  it("publishes reads when on, and not when off", async () => {
    const plate = newPlate()
    const read = await ingest(plate)
    const message = await until(
      () => sub.messages.find((m) => m.topic === `${PREFIX}/read/${read.camera_id}` && m.payload.includes(plate)),
      "the read on the broker"
    )
    expect(JSON.parse(message.payload)).toEqual({
      plate,
      plate_text: plate,
      confidence: expect.closeTo(0.91, 5),
      time: read.detected_at.toISOString(),
      camera_id: read.camera_id,
      camera_name: read.camera_name,
      site: null,
      direction: "in",
      vehicle_type: "car",
      vehicle_color: "red",
      vehicle_make: "Ford"
    })

    await update({ publish_reads: false })
    // every server's client applies it when woken by the change
    await sleep(1_000)
    const quiet = newPlate()
    await ingest(quiet)
    // a read after it, on again, arrives: the quiet one was passed over, not late
    await update({ publish_reads: true })
    const loud = newPlate()
    await until(async () => {
      await ingest(loud)
      return sub.messages.find((m) => m.payload.includes(loud))
    }, "a read once on again", 30_000)
    expect(sub.messages.filter((m) => m.payload.includes(quiet))).toEqual([])
  })

  it("publishes each health alert raised and cleared on <prefix>/health", async () => {
    const { apiKey, collectorId } = await server.collector("MQTT clock site")
    const beat = (aheadMs: number) => postHeartbeat(server, apiKey, { device_time: new Date(Date.now() + aheadMs).toISOString() })
    const check = () => checkHealth(server)
    const ofSite = (event: string) => () =>
      sub.messages.find((m) => {
        if (m.topic !== `${PREFIX}/health`) return false
        const health = JSON.parse(m.payload) as { event: string; collector: { id: string } }
        return health.event === event && health.collector.id === collectorId
      })
    expect((await beat(7_000)).status).toBe(200)
    await check()
    const raised = JSON.parse((await until(ofSite("raised"), "the health alert raised")).payload)
    expect(raised).toMatchObject({
      event: "raised",
      kind: "collector_clock",
      collector: { id: collectorId, name: "MQTT clock site" },
      camera: null,
      cleared_at: null,
      message: expect.stringMatching(/^MQTT clock site: clock ahead by 7\.0 s$/)
    })
    expect((await beat(0)).status).toBe(200)
    await check()
    const cleared = JSON.parse((await until(ofSite("cleared"), "the health alert cleared")).payload)
    expect(cleared).toMatchObject({ event: "cleared", id: raised.id, cleared_at: expect.any(String), duration_s: expect.any(Number) })
  })

  it("keeps Home Assistant discovery configs retained, and clears a list's when it is made private", async () => {
    const { listId, listName } = await listFor({ shared: true })
    const { rows: [camera] } = await server.db.query("SELECT id, name FROM cameras LIMIT 1")
    const cameraTopic = `${DISC}/sensor/alpr_${String(camera.id).replaceAll("-", "")}/plate/config`
    const listTopic = `${DISC}/event/alpr_${listId}/hit/config`

    // a client that connects now gets them from the broker: retained
    const late = await until(async () => {
      const s = await subscriber([`${DISC}/#`])
      await sleep(300)
      if (s.messages.some((m) => m.topic === listTopic && m.retain) && s.messages.some((m) => m.topic === cameraTopic && m.retain)) return s
      await s.client.endAsync()
      return undefined
    }, "the discovery configs retained")
    const config = (topic: string) => JSON.parse(late.messages.find((m) => m.topic === topic && m.retain)!.payload)
    const hex = String(camera.id).replaceAll("-", "")
    expect(config(cameraTopic)).toEqual({
      name: "Last plate",
      unique_id: `alpr_${hex}_plate`,
      icon: "mdi:car",
      state_topic: `${PREFIX}/read/${camera.id}`,
      value_template: "{{ value_json.plate }}",
      json_attributes_topic: `${PREFIX}/read/${camera.id}`,
      availability_topic: `${PREFIX}/status`,
      payload_available: "online",
      payload_not_available: "offline",
      device: {
        identifiers: [`alpr_camera_${hex}`],
        name: camera.name,
        manufacturer: "Chaverim ALPR",
        model: "ALPR camera",
        via_device: `alpr_server_${PREFIX.replaceAll("/", "_")}`
      },
      origin: { name: "Chaverim ALPR" }
    })
    expect(config(listTopic)).toEqual({
      name: "Hit",
      unique_id: `alpr_${listId}_hit`,
      icon: "mdi:alert",
      state_topic: `${PREFIX}/watchlist/${listId}/hit`,
      event_types: ["hit"],
      availability_topic: `${PREFIX}/status`,
      payload_available: "online",
      payload_not_available: "offline",
      device: {
        identifiers: [`alpr_list_${listId}`],
        name: `Watchlist ${listName}`,
        manufacturer: "Chaverim ALPR",
        model: "Watchlist",
        via_device: `alpr_server_${PREFIX.replaceAll("/", "_")}`
      },
      origin: { name: "Chaverim ALPR" }
    })
    await late.client.endAsync()

    // health of the collector and the camera, retained
    const state = await until(() => sub.messages.find((m) => m.topic === `${PREFIX}/camera/${camera.id}/state`), "the camera's state")
    expect(JSON.parse(state.payload)).toMatchObject({ state: "online", name: camera.name, last_read: expect.any(String) })
    const quiet = await until(() => sub.messages.find((m) => m.topic === `${PREFIX}/collector/${quietCollectorId}/state`), "the quiet collector's state")
    expect(JSON.parse(quiet.payload)).toMatchObject({ state: "offline", name: "Quiet site", last_heartbeat: null })

    await server.db.query("UPDATE watchlists SET shared = false, owner_id = $2 WHERE id = $1", [listId, admin.userId])
    await until(() => sub.messages.find((m) => m.topic === listTopic && m.payload === ""), "the list's config cleared")
    const after = await subscriber([listTopic])
    await sleep(500)
    expect(after.messages).toEqual([])
    await after.client.endAsync()
  })

  it("keeps an alert while the broker is unreachable and publishes it once when it is back", async () => {
    const port = await closedPort()
    await update({ url: `mqtt://127.0.0.1:${port}` })
    await waitConnected(false)
    const tested = await rpc(admin, (c) => c.mqtt.test())
    expect(tested.ok).toBe(false)

    const { plate } = await listFor({ shared: true })
    await ingest(plate)
    const alertId = await alertOf(plate)
    const failed = await until(async () => {
      const rows = await deliveries(alertId)
      return rows.length === 1 && rows[0]!.attempts >= 1 ? rows : undefined
    }, "a failed attempt")
    expect(failed[0]).toMatchObject({ status: "pending", last_error: expect.stringContaining("not connected") })
    expect(alertMessages(alertId)).toEqual([])

    await update({ url: BROKER })
    await until(() => alertMessages(alertId)[0], "the alert once the broker is back")
    await until(async () => ((await deliveries(alertId))[0]?.status === "sent" ? true : undefined), "the delivery sent")
    await sleep(1_500)
    expect(alertMessages(alertId)).toHaveLength(1)
    expect((await deliveries(alertId)).map((d) => d.status)).toEqual(["sent"])
  })

  it("lets the server's MQTT_* settings override the panel, field by field", async () => {
    const envServer = await startServer({
      mqtt: {
        url: Option.some(BROKER),
        username: Option.none(),
        password: Option.none(),
        topicPrefix: Option.some(`${PREFIX}env`),
        publishReads: Option.none(),
        discovery: Option.some(false),
        discoveryPrefix: Option.none()
      }
    })
    try {
      const envAdmin = await envServer.signIn("admin")
      const call = <A, E>(f: (client: AlprClient) => Effect.Effect<A, E>) => rpcAs(rpcUrlOf(envServer), envAdmin.cookie, f)
      expect(await call((c) => c.mqtt.get())).toMatchObject({
        url: BROKER,
        topic_prefix: `${PREFIX}env`,
        discovery: false,
        publish_reads: false,
        from_environment: ["url", "topic_prefix", "discovery"]
      })
      const refused = await call((c) => Effect.exit(c.mqtt.update({ url: null })))
      expect(outcomeOf(refused)).toMatch(/^BadRequest: set by the server's environment \(MQTT_URL\)/)
      const { rows } = await envServer.db.query("SELECT url FROM mqtt_settings")
      expect(rows).toEqual([{ url: null }])
      expect(await call((c) => c.mqtt.update({ publish_reads: true }))).toMatchObject({ url: BROKER, publish_reads: true })
      await until(() => sub.messages.find((m) => m.topic === `${PREFIX}env/status` && m.payload === "online"), "the env server online")
    } finally {
      await envServer.close()
    }
  })
})
