import * as Effect from "effect/Effect"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Yaml from "yaml"
import { type CameraContext, VENDORS } from "../adapters/CameraRead"
import { parseAddressRange } from "./AddressRange"
import { checkCentralUrl } from "./CentralUrl"

/**
 * The collector's configuration, in three YAML layers merged in order, later winning:
 *   1. `config.yaml`   the base, written at installation
 *   2. `central.yaml`  pushed by the central server (`config_update` / `update_cameras` commands)
 *   3. `local.yaml`    local overrides made on site, which central pushes never overwrite
 * Objects merge key by key; lists and plain values replace, except `cameras`, which merge by camera
 * `id`: a later layer's camera with the id of an earlier one is merged over it (key by key), the others
 * are kept, the earlier layers' first, in their order, then the new ones in theirs. So a camera added
 * or changed on site (local.yaml) leaves every camera the central server pushed in place; a layer
 * cannot remove an earlier layer's camera. Secrets never live here (see Secrets.ts).
 */

export const CameraConfig = Schema.Struct({
  id: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200)),
  vendor: Schema.Literal(...VENDORS),
  name: Schema.optional(Schema.String),
  mac: Schema.optional(Schema.String),
  /**
   * push: the camera posts to the collector; pull: the collector reads the camera's event stream;
   * mqtt: the collector subscribes to what the camera's NVR (Frigate) publishes on an MQTT broker
   */
  mode: Schema.optionalWith(Schema.Literal("push", "pull", "poll", "mqtt"), { default: () => "push" as const }),
  /** base URL of the camera (or the Protect console) for pull and poll; Frigate's HTTP API for mqtt */
  url: Schema.optional(Schema.String),
  /** mqtt (Frigate): the broker Frigate publishes to, e.g. mqtt://192.168.1.20:1883 */
  mqtt_url: Schema.optional(Schema.String),
  /** mqtt (Frigate): Frigate's `mqtt.topic_prefix` (frigate) */
  topic_prefix: Schema.optional(Schema.String.pipe(Schema.minLength(1))),
  /** mqtt (Frigate): only the reads of this Frigate camera (all of the Frigate's, when absent) */
  frigate_camera: Schema.optional(Schema.String.pipe(Schema.minLength(1))),
  /** mqtt (Frigate): how long an object's best read waits for another update before it is stored, in seconds (30) */
  hold_seconds: Schema.optional(Schema.Number.pipe(Schema.positive())),
  username: Schema.optional(Schema.String),
  location: Schema.optional(Schema.Struct({ lat: Schema.Number, lon: Schema.Number })),
  /** IANA time zone of the camera's clock, for payloads whose times carry no offset (else UTC) */
  time_zone: Schema.optional(Schema.String),
  /** pull (Hikvision): the video channel whose plate list is read for backfill (1) */
  channel: Schema.optional(Schema.Int.pipe(Schema.positive())),
  /** pull (Hikvision): how far back, at most, a backfill fetches missed reads, in hours (24) */
  backfill_max_hours: Schema.optional(Schema.Number.pipe(Schema.positive())),
  /** push: the address or CIDR range the camera's pushes must come from (any, when absent) */
  push_from: Schema.optional(Schema.String.pipe(
    Schema.filter((value) => parseAddressRange(value) !== undefined || "an IP address or a CIDR range, e.g. 192.168.1.0/24")
  ))
})
export type CameraConfig = typeof CameraConfig.Type

/** What the adapters know of a configured camera. */
export const cameraContext = (camera: CameraConfig): CameraContext => ({
  cameraId: camera.id,
  ...(camera.name === undefined ? {} : { cameraName: camera.name }),
  ...(camera.mac === undefined ? {} : { mac: camera.mac }),
  ...(camera.location === undefined ? {} : { location: camera.location }),
  ...(camera.time_zone === undefined ? {} : { timeZone: camera.time_zone })
})

const PositiveInt = Schema.Int.pipe(Schema.positive())

export const EdgeConfig = Schema.Struct({
  central_url: Schema.optional(Schema.String),
  /** the central server is on a trusted local network: `central_url` may be http to a private address */
  central_insecure_local: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  listen: Schema.optionalWith(
    Schema.Struct({
      host: Schema.optionalWith(Schema.String, { default: () => "0.0.0.0" }),
      port: Schema.optionalWith(Schema.Int.pipe(Schema.between(0, 65535)), { default: () => 8090 }),
      /** `POST /vendors/<vendor>` takes reads from any camera on the network, without credentials */
      unauthenticated_vendor_routes: Schema.optionalWith(Schema.Boolean, { default: () => false })
    }),
    { default: () => ({ host: "0.0.0.0", port: 8090, unauthenticated_vendor_routes: false }) }
  ),
  upload: Schema.optionalWith(
    Schema.Struct({
      window_seconds: Schema.optionalWith(Schema.Number.pipe(Schema.between(0, 30)), { default: () => 5 }),
      max_events: Schema.optionalWith(PositiveInt.pipe(Schema.lessThanOrEqualTo(100)), { default: () => 50 }),
      max_bytes: Schema.optionalWith(PositiveInt.pipe(Schema.lessThanOrEqualTo(5 * 1024 * 1024)), {
        default: () => 5 * 1024 * 1024
      }),
      concurrency: Schema.optionalWith(PositiveInt.pipe(Schema.lessThanOrEqualTo(8)), { default: () => 4 }),
      max_backoff_seconds: Schema.optionalWith(PositiveInt, { default: () => 300 })
    }),
    { default: () => ({ window_seconds: 5, max_events: 50, max_bytes: 5 * 1024 * 1024, concurrency: 4, max_backoff_seconds: 300 }) }
  ),
  retention_days: Schema.optionalWith(Schema.Number.pipe(Schema.positive()), { default: () => 7 }),
  quota_mb: Schema.optionalWith(Schema.Number.pipe(Schema.positive()), { default: () => 4096 }),
  heartbeat_seconds: Schema.optionalWith(Schema.Number.pipe(Schema.positive()), { default: () => 60 }),
  cameras: Schema.optionalWith(Schema.Array(CameraConfig), { default: () => [] }),
  /** identifies the central layer in heartbeats */
  config_version: Schema.optionalWith(Schema.String, { default: () => "0" })
})
export type EdgeConfig = typeof EdgeConfig.Type

export const LAYERS = ["config.yaml", "central.yaml", "local.yaml"] as const

export class ConfigError extends Schema.TaggedError<ConfigError>()("ConfigError", {
  message: Schema.String
}) {}

type Plain = Record<string, unknown>
const isPlain = (v: unknown): v is Plain => typeof v === "object" && v !== null && !Array.isArray(v)

/** Merges `over` into `base`: objects key by key, anything else replaced. */
export const merge = (base: unknown, over: unknown): unknown => {
  if (!isPlain(base) || !isPlain(over)) return over === undefined ? base : over
  const out: Plain = { ...base }
  for (const [key, value] of Object.entries(over)) out[key] = merge(base[key], value)
  return out
}

const cameraId = (camera: unknown) => isPlain(camera) && typeof camera["id"] === "string" ? camera["id"] : undefined

/** Two layers' camera lists, merged by camera id; anything but two lists is merged as any other value. */
const mergeCameras = (base: unknown, over: unknown): unknown => {
  if (!Array.isArray(base) || !Array.isArray(over)) return merge(base, over)
  const out: Array<unknown> = [...base]
  for (const camera of over) {
    const id = cameraId(camera)
    const at = id === undefined ? -1 : out.findIndex((c) => cameraId(c) === id)
    if (at === -1) out.push(camera)
    else out[at] = merge(out[at], camera)
  }
  return out
}

/** Merges a configuration layer over the ones before it: `merge`, with `cameras` merged by id. */
export const mergeLayer = (base: unknown, over: unknown): unknown => {
  const merged = merge(base, over)
  if (!isPlain(merged) || !isPlain(base) || !isPlain(over) || !("cameras" in over)) return merged
  return { ...merged, cameras: mergeCameras(base["cameras"], over["cameras"]) }
}

/** One layer's mapping as written (empty when the file does not exist). */
export const readLayer = (dir: string, name: typeof LAYERS[number]) =>
  Effect.try({
    try: () => {
      const file = Path.join(dir, name)
      if (!Fs.existsSync(file)) return {}
      const value = Yaml.parse(Fs.readFileSync(file, "utf8")) as unknown
      if (value === null || value === undefined) return {}
      if (!isPlain(value)) throw new Error("expected a mapping at the top level")
      return value
    },
    catch: (cause) => new ConfigError({ message: `${Path.join(dir, name)}: ${cause instanceof Error ? cause.message : String(cause)}` })
  })

/**
 * Reads and merges the layers of `dir`, and validates the result. `replace` stands in for layers as
 * they would be after a change, to validate a change before it is written.
 */
export const loadConfig = (dir: string, replace: Partial<Record<typeof LAYERS[number], Plain>> = {}) =>
  Effect.gen(function*() {
    let merged: unknown = {}
    for (const name of LAYERS) {
      const layer = replace[name] ?? (yield* readLayer(dir, name))
      if (name === "local.yaml") yield* checkLocalLayer(layer)
      merged = mergeLayer(merged, layer)
    }
    const config = yield* Schema.decodeUnknown(EdgeConfig)(merged).pipe(
      Effect.mapError((e) =>
        new ConfigError({ message: `configuration in ${dir}: ${ParseResult.TreeFormatter.formatErrorSync(e)}` })
      )
    )
    if (config.central_url !== undefined) {
      yield* checkCentralUrl(config.central_url, config.central_insecure_local, (message) =>
        new ConfigError({ message: `configuration in ${dir}: ${message}` }))
    }
    return config
  })

/**
 * Keys the on-site layer may not set. Whoever learns the status page PIN must not be able to send
 * the API key elsewhere: where the collector uploads is decided at claim and by the central server.
 */
export const CENTRAL_ONLY_KEYS = ["central_url", "central_insecure_local"] as const

/**
 * Settings below the top level that the on-site layer may not set either: opening the camera
 * network's unauthenticated vendor routes would let anyone there write evidence.
 */
const SITE_LOCKED_PATHS = [["listen", "unauthenticated_vendor_routes"]] as const

/** The keys of `layer` (a local.yaml) that only config.yaml or the central server may set. */
export const lockedLocalKeys = (layer: Plain): ReadonlyArray<string> => [
  ...CENTRAL_ONLY_KEYS.filter((key) => key in layer),
  ...SITE_LOCKED_PATHS.filter(([section, key]) => {
    const value = layer[section]
    return typeof value === "object" && value !== null && key in value
  }).map((path) => path.join("."))
]

export const checkLocalLayer = (layer: Plain) => {
  const refused = lockedLocalKeys(layer)
  return refused.length === 0 ? Effect.void : Effect.fail(
    new ConfigError({
      message: `local.yaml may not set ${refused.join(", ")}: they are set by \`edge claim\`, config.yaml or the central server`
    })
  )
}

/** Replaces one layer (central pushes write `central.yaml`), atomically. */
export const writeLayer = (dir: string, name: typeof LAYERS[number], value: Plain) =>
  Effect.try({
    try: () => {
      Fs.mkdirSync(dir, { recursive: true })
      const file = Path.join(dir, name)
      Fs.writeFileSync(`${file}.tmp`, Yaml.stringify(value))
      Fs.renameSync(`${file}.tmp`, file)
    },
    catch: (cause) => new ConfigError({ message: `cannot write ${name}: ${String(cause)}` })
  })
