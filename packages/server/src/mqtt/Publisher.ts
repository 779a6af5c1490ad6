import type { HealthAlert } from "@chaverim/domain/Health"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { WATCHLIST_CHANNEL } from "../alerts/MatcherCache"
import { decodeDetectionRows, detectionColumns, type DetectionRow } from "../alerts/Views"
import { isFor, PgListener } from "../db/Listener"
import { IsoTimeOrNull, orBug } from "../db/Rows"
import { decodeHealthRows, healthFrom, healthOf } from "../health/Health"
import { LIVE_EVENTS_CHANNEL } from "../live/Events"
import { MqttBroker, statusTopic } from "./Broker"
import type { MqttSettings } from "./Settings"
import { hitTopic } from "./Sender"

/**
 * What the broker is told besides alerts: reads (MQTT_PUBLISH_READS, best effort), the health of
 * collectors and cameras, and Home Assistant's discovery configs, all retained. Health and discovery
 * are published at every connection and every minute; a discovery config no longer wanted is cleared
 * (an empty retained message), remembered per broker in `mqtt_discovery_configs` (sql/0025).
 */

const REFRESH = Duration.seconds(60)
/** A collector whose last heartbeat is older than this is offline (the admin panel's "silent"). */
const SILENT_AFTER = "5 minutes"
const READS_PAGE = 500
const SAFETY_POLL = "5 seconds"

export const readTopic = (prefix: string, cameraId: string) => `${prefix}/read/${cameraId}`
/** Health alerts raised and cleared (QoS 1, not retained). */
export const healthTopic = (prefix: string) => `${prefix}/health`
export const collectorStateTopic = (prefix: string, id: string) => `${prefix}/collector/${id}/state`
export const cameraStateTopic = (prefix: string, id: string) => `${prefix}/camera/${id}/state`
export const cameraConfigTopic = (disc: string, cameraId: string) => `${disc}/sensor/alpr_${cameraId.replaceAll("-", "")}/plate/config`
export const listConfigTopic = (disc: string, listId: string) => `${disc}/event/alpr_${listId}/hit/config`

/** A read as `<prefix>/read/<camera id>` carries it: no photo, no link to one. */
export const readMessage = (row: DetectionRow) => ({
  plate: row.d_plate,
  plate_text: row.d_plate_text,
  confidence: row.d_confidence,
  time: row.d_detected_at,
  camera_id: row.c_id,
  camera_name: row.c_name,
  site: row.c_site,
  direction: row.d_direction,
  vehicle_type: row.d_vehicle_type,
  vehicle_color: row.d_vehicle_color,
  vehicle_make: row.d_vehicle_make
})

const ORIGIN = { name: "Chaverim ALPR" }
const serverDevice = (prefix: string) => ({
  identifiers: [`alpr_server_${prefix.replaceAll("/", "_")}`],
  name: "Chaverim ALPR",
  manufacturer: "Chaverim ALPR",
  model: "Central server"
})

/** Home Assistant's config of a camera's "last plate" sensor (MQTT discovery, component `sensor`). */
export const cameraConfig = (prefix: string, camera: { readonly id: string; readonly name: string | null; readonly site: string | null }) => {
  const hex = camera.id.replaceAll("-", "")
  const topic = readTopic(prefix, camera.id)
  return {
    name: "Last plate",
    unique_id: `alpr_${hex}_plate`,
    icon: "mdi:car",
    state_topic: topic,
    value_template: "{{ value_json.plate }}",
    json_attributes_topic: topic,
    availability_topic: statusTopic(prefix),
    payload_available: "online",
    payload_not_available: "offline",
    device: {
      identifiers: [`alpr_camera_${hex}`],
      name: [camera.name ?? `Camera ${camera.id.slice(0, 8)}`, camera.site].filter((p) => p !== null && p !== "").join(", "),
      manufacturer: "Chaverim ALPR",
      model: "ALPR camera",
      via_device: serverDevice(prefix).identifiers[0]
    },
    origin: ORIGIN
  }
}

/** Home Assistant's config of a shared list's "hit" event entity (MQTT discovery, component `event`). */
export const listConfig = (prefix: string, list: { readonly id: string; readonly name: string }) => ({
  name: "Hit",
  unique_id: `alpr_${list.id}_hit`,
  icon: "mdi:alert",
  state_topic: hitTopic(prefix, list.id),
  event_types: ["hit"],
  availability_topic: statusTopic(prefix),
  payload_available: "online",
  payload_not_available: "offline",
  device: {
    identifiers: [`alpr_list_${list.id}`],
    name: `Watchlist ${list.name}`,
    manufacturer: "Chaverim ALPR",
    model: "Watchlist",
    via_device: serverDevice(prefix).identifiers[0]
  },
  origin: ORIGIN
})

const CollectorRow = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  online: Schema.Boolean,
  last_heartbeat: IsoTimeOrNull
})
const CameraRow = Schema.Struct({
  id: Schema.String,
  collector_id: Schema.String,
  name: Schema.NullOr(Schema.String),
  site: Schema.NullOr(Schema.String),
  online: Schema.Boolean,
  last_read: IsoTimeOrNull
})
const ListRow = Schema.Struct({ id: Schema.String, name: Schema.String })
const EventRow = Schema.Struct({ id: Schema.NumberFromString, detection_id: Schema.String })
const HealthEventRow = Schema.Struct({ id: Schema.NumberFromString, health_alert_id: Schema.String })

/** A health alert as MQTT carries it: raised or cleared, what, where, since when and for how long. */
const healthMessage = (health: HealthAlert) => ({
  event: health.cleared_at === null ? "raised" : "cleared",
  ...health
})

export const runMqttPublisher: Effect.Effect<void, never, MqttBroker | PgListener | SqlClient.SqlClient | Scope.Scope> = Effect.gen(
  function*() {
    const sql = yield* SqlClient.SqlClient
    const broker = yield* MqttBroker
    const listener = yield* PgListener

    const collectors = SqlSchema.findAll({
      Request: Schema.Void,
      Result: CollectorRow,
      execute: () =>
        sql`
          SELECT id, name, status = 'active' AND coalesce(greatest(last_seen_at, last_upload_at) > now() - ${SILENT_AFTER}::interval, false) AS online,
                 last_seen_at AS last_heartbeat
            FROM collectors WHERE status <> 'pending' AND kind = 'site' ORDER BY id`
    })
    // The newest read of each camera: one step down its (camera_id, detected_at) index per partition.
    const cameras = SqlSchema.findAll({
      Request: Schema.Void,
      Result: CameraRow,
      execute: () =>
        sql`
          SELECT c.id, c.collector_id, c.name, c.site,
                 k.status = 'active' AND coalesce(greatest(k.last_seen_at, k.last_upload_at) > now() - ${SILENT_AFTER}::interval, false) AS online,
                 (SELECT d.detected_at FROM detections d WHERE d.camera_id = c.id ORDER BY d.detected_at DESC LIMIT 1) AS last_read
            FROM cameras c JOIN collectors k ON k.id = c.collector_id
           WHERE k.status <> 'pending' ORDER BY c.id`
    })
    const sharedLists = SqlSchema.findAll({
      Request: Schema.Void,
      Result: ListRow,
      execute: () => sql`SELECT id, name FROM watchlists WHERE shared AND deleted_at IS NULL ORDER BY id`
    })
    const publishedConfigs = SqlSchema.findAll({
      Request: Schema.String,
      Result: Schema.Struct({ topic: Schema.String }),
      execute: (brokerUrl) => sql`SELECT topic FROM mqtt_discovery_configs WHERE broker = ${brokerUrl}`
    })

    const retained = (topic: string, payload: unknown) =>
      broker.publish(topic, payload === "" ? "" : JSON.stringify(payload), { qos: 1, retain: true })

    const health = (settings: MqttSettings) =>
      Effect.gen(function*() {
        const prefix = settings.topicPrefix
        for (const c of yield* orBug(collectors(undefined))) {
          yield* retained(collectorStateTopic(prefix, c.id), {
            state: c.online ? "online" : "offline",
            name: c.name,
            last_heartbeat: c.last_heartbeat
          })
        }
        for (const c of yield* orBug(cameras(undefined))) {
          yield* retained(cameraStateTopic(prefix, c.id), {
            state: c.online ? "online" : "offline",
            name: c.name,
            site: c.site,
            collector_id: c.collector_id,
            last_read: c.last_read
          })
        }
      })

    /** The configs wanted now are published (and remembered); those remembered but not wanted are cleared. */
    const discovery = (settings: MqttSettings & { readonly url: string }) =>
      Effect.gen(function*() {
        const wanted = new Map<string, unknown>()
        if (settings.discovery) {
          for (const c of yield* orBug(cameras(undefined))) {
            wanted.set(cameraConfigTopic(settings.discoveryPrefix, c.id), cameraConfig(settings.topicPrefix, c))
          }
          for (const l of yield* orBug(sharedLists(undefined))) {
            wanted.set(listConfigTopic(settings.discoveryPrefix, l.id), listConfig(settings.topicPrefix, l))
          }
        }
        const before = (yield* orBug(publishedConfigs(settings.url))).map((r) => r.topic)
        for (const [topic, config] of wanted) {
          yield* retained(topic, config)
          if (!before.includes(topic)) {
            yield* sql`INSERT INTO mqtt_discovery_configs (broker, topic) VALUES (${settings.url}, ${topic}) ON CONFLICT DO NOTHING`
          }
        }
        for (const topic of before.filter((t) => !wanted.has(t))) {
          yield* retained(topic, "")
          yield* sql`DELETE FROM mqtt_discovery_configs WHERE broker = ${settings.url} AND topic = ${topic}`
        }
      })

    const refresh = Effect.gen(function*() {
      const now = yield* broker.connected
      if (now === undefined) return
      yield* health(now.settings)
      yield* discovery(now.settings)
    }).pipe(
      Effect.catchAllCause((cause) => Effect.logWarning("MQTT: publishing health and discovery failed", cause)),
      Effect.withSpan("MqttPublisher.refresh")
    )

    const refreshes = yield* Queue.sliding<void>(1)
    const connects = yield* broker.subscribeConnects
    // A list made, renamed, made private or deleted shows in Home Assistant within a second or two.
    const listChanges = yield* listener.subscribe(WATCHLIST_CHANNEL)
    yield* Stream.fromQueue(connects).pipe(
      Stream.merge(Stream.fromSchedule(Schedule.spaced(REFRESH))),
      Stream.merge(Stream.fromQueue(listChanges).pipe(Stream.filter(isFor(WATCHLIST_CHANNEL)), Stream.debounce("1 second"))),
      Stream.runForEach(() => Queue.offer(refreshes, undefined)),
      Effect.forkScoped
    )
    yield* Queue.take(refreshes).pipe(Effect.zipRight(refresh), Effect.forever, Effect.forkScoped)

    // Reads: the live feed's journal followed from its newest event at start, as LiveFeed.ts does;
    // what was appended while MQTT was off or away, or reads off, is skipped (QoS 0, best effort).
    const newest = SqlSchema.single({
      Request: Schema.Void,
      Result: Schema.Struct({ id: Schema.NumberFromString }),
      execute: () => sql`SELECT coalesce(max(id), 0)::text AS id FROM live_events`
    })(undefined).pipe(Effect.orDie, Effect.map((row) => row.id))
    let head = yield* newest
    // While reads are not published (MQTT off, away, or reads off) the journal is not read at all; when
    // they are again, it is followed from its newest event.
    let following = true
    const eventPage = SqlSchema.findAll({
      Request: Schema.Number,
      Result: EventRow,
      execute: (after) =>
        sql`
          SELECT id::text AS id, detection_id::text AS detection_id FROM live_events
           WHERE id > ${after} AND kind = 'detection' AND detection_id IS NOT NULL
           ORDER BY id LIMIT ${READS_PAGE}`
    })
    const reads = Effect.gen(function*() {
      while (true) {
        const now = yield* broker.connected
        if (now === undefined || !now.settings.publishReads) {
          following = false
          return
        }
        if (!following) {
          head = yield* newest
          following = true
        }
        const events = yield* orBug(eventPage(head))
        if (events.length === 0) return
        head = events[events.length - 1]!.id
        const rows = yield* sql`
          SELECT ${detectionColumns(sql)} FROM detections d JOIN cameras c ON c.id = d.camera_id
           WHERE d.id = ANY(string_to_array(${events.map((e) => e.detection_id).join(",")}, ',')::bigint[])
           ORDER BY d.id`
        for (const row of yield* orBug(decodeDetectionRows(rows))) {
          // the last read of each camera stays retained, so a Home Assistant that starts later shows it
          yield* broker.publish(readTopic(now.settings.topicPrefix, row.c_id), JSON.stringify(readMessage(row)), { qos: 0, retain: true }).pipe(
            Effect.ignore
          )
        }
      }
    })
    // Health alerts (health/Monitor.ts): each raised or cleared is published while the broker is there,
    // followed from the journal like the reads (what came while it was away is skipped), whatever
    // publish_reads says.
    let healthHead = head
    let healthFollowing = true
    const healthPage = SqlSchema.findAll({
      Request: Schema.Number,
      Result: HealthEventRow,
      execute: (after) =>
        sql`
          SELECT id::text AS id, health_alert_id::text AS health_alert_id FROM live_events
           WHERE id > ${after} AND kind = 'health' ORDER BY id LIMIT ${READS_PAGE}`
    })
    const healths = Effect.gen(function*() {
      while (true) {
        const now = yield* broker.connected
        if (now === undefined) {
          healthFollowing = false
          return
        }
        if (!healthFollowing) {
          healthHead = yield* newest
          healthFollowing = true
        }
        const events = yield* orBug(healthPage(healthHead))
        if (events.length === 0) return
        healthHead = events[events.length - 1]!.id
        const rows = yield* sql`
          ${healthFrom(sql)} WHERE h.id = ANY(string_to_array(${events.map((e) => e.health_alert_id).join(",")}, ',')::bigint[])`
        const byId = new Map((yield* orBug(decodeHealthRows(rows))).map((row) => [row.id, healthOf(row)]))
        for (const event of events) {
          const health = byId.get(event.health_alert_id)
          if (health === undefined) continue
          yield* broker.publish(healthTopic(now.settings.topicPrefix), JSON.stringify(healthMessage(health)), { qos: 1, retain: false }).pipe(
            Effect.ignore
          )
        }
      }
    })
    const journal = yield* listener.subscribe(LIVE_EVENTS_CHANNEL)
    const dirty = yield* Queue.sliding<void>(1)
    yield* Stream.fromQueue(journal).pipe(
      Stream.filter(isFor(LIVE_EVENTS_CHANNEL)),
      Stream.merge(Stream.fromSchedule(Schedule.spaced(SAFETY_POLL))),
      Stream.runForEach(() => Queue.offer(dirty, undefined)),
      Effect.forkScoped
    )
    yield* Queue.take(dirty).pipe(
      Effect.zipRight(reads),
      Effect.zipRight(healths),
      Effect.catchAllCause((cause) => Effect.logWarning("MQTT: publishing reads failed", cause).pipe(Effect.zipRight(Effect.sleep("2 seconds")))),
      Effect.forever,
      Effect.forkScoped
    )
  }
)
