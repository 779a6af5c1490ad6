import * as Schema from "effect/Schema"

/**
 * How a collector reaches a camera, as admins set it centrally (issue 19) and as the collector reports
 * what it runs. The same fields as a camera of the collector's own configuration (edge/src/config/
 * EdgeConfig.ts); never a password: a camera's password or API key is set on the device (its local page
 * or `edge camera-password`) and only whether one is there comes back.
 */

export const CAMERA_VENDORS = ["hikvision", "unifi", "axis", "genetec", "survision", "platerecognizer", "blueiris", "frigate", "generic"] as const
export type CameraVendor = typeof CAMERA_VENDORS[number]

/** push: the camera posts to the collector; pull: it reads the camera's events; poll: a Protect console; mqtt: Frigate's broker */
export const CAMERA_MODES = ["push", "pull", "poll", "mqtt"] as const
export type CameraMode = typeof CAMERA_MODES[number]

/** The camera's id on its collector: what its reads carry as `camera.id`. */
export const ExternalCameraId = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/, {
    message: () => "external_id is 1 to 200 letters, digits, '.', '_', ':' or '-', starting with a letter or digit"
  })
)

// Random text is almost never a URL or a time zone: property tests (and sample payloads) draw from real-looking ones.
const HttpUrl = (field: string) =>
  Schema.String.pipe(
    Schema.maxLength(500, { message: () => `${field} is at most 500 characters` }),
    Schema.filter((value) => {
      try {
        const url = new URL(value)
        return (url.protocol === "http:" || url.protocol === "https:") && url.username === "" && url.password === "" ||
          `${field} is an http(s) URL without credentials in it (the password is set on the device)`
      } catch {
        return `${field} is not a URL`
      }
    })
  ).annotations({
    arbitrary: () => (fc) =>
      fc.tuple(fc.constantFrom("http", "https"), fc.ipV4(), fc.constantFrom("", "/", "/ISAPI")).map(([scheme, host, path]) => `${scheme}://${host}${path}`)
  })

const MqttUrl = Schema.String.pipe(
  Schema.maxLength(500, { message: () => "mqtt_url is at most 500 characters" }),
  Schema.filter((value) => {
    try {
      const url = new URL(value)
      return ["mqtt:", "mqtts:", "ws:", "wss:"].includes(url.protocol) && url.username === "" && url.password === "" ||
        "mqtt_url is an mqtt://, mqtts://, ws:// or wss:// URL without credentials in it"
    } catch {
      return "mqtt_url is not a URL"
    }
  })
).annotations({ arbitrary: () => (fc) => fc.ipV4().map((host) => `mqtt://${host}:1883`) })

const Short = (field: string, max = 100) =>
  Schema.String.pipe(
    Schema.minLength(1, { message: () => `${field} must not be empty` }),
    Schema.maxLength(max, { message: () => `${field} is at most ${max} characters` }),
    Schema.filter((s) => !/[\u0000-\u001f]/.test(s) || `${field} has no control characters`)
  )

const isTimeZone = (zone: string) => {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone })
    return true
  } catch {
    return false
  }
}

/** An IPv4 or IPv6 address, or a CIDR range of them (the collector checks it fully again). */
const AddressRange = Schema.String.pipe(
  Schema.pattern(/^[0-9A-Fa-f:.]{2,45}(\/\d{1,3})?$/, { message: () => "push_from is an IP address or a CIDR range, e.g. 192.168.1.0/24" })
)

/** Which vendors each mode that the collector starts itself supports. */
export const MODE_VENDORS: Record<Exclude<CameraMode, "push">, CameraVendor> = { pull: "hikvision", poll: "unifi", mqtt: "frigate" }

export const CameraConnection = Schema.Struct({
  vendor: Schema.Literal(...CAMERA_VENDORS).annotations({
    message: () => ({ message: `vendor is one of ${CAMERA_VENDORS.join(", ")}`, override: true })
  }),
  mode: Schema.Literal(...CAMERA_MODES).annotations({
    message: () => ({ message: `mode is one of ${CAMERA_MODES.join(", ")}`, override: true })
  }),
  /** pull, poll: the camera's (or the Protect console's) base URL; mqtt: Frigate's HTTP API */
  url: Schema.optional(HttpUrl("url")),
  /** poll (Protect): which camera of the console, by its MAC address */
  mac: Schema.optional(Schema.String.pipe(
    Schema.pattern(/^[0-9A-Fa-f]{2}([:-]?[0-9A-Fa-f]{2}){5}$/, { message: () => "mac is a MAC address, e.g. AA:BB:CC:DD:EE:FF" })
  )),
  /** the camera's (or console's) account; Frigate: the broker's */
  username: Schema.optional(Short("username")),
  /** mqtt: the broker Frigate publishes to */
  mqtt_url: Schema.optional(MqttUrl),
  topic_prefix: Schema.optional(Short("topic_prefix")),
  frigate_camera: Schema.optional(Short("frigate_camera")),
  hold_seconds: Schema.optional(Schema.Number.pipe(Schema.between(1, 600, { message: () => "hold_seconds is 1 to 600" }))),
  /** pull (Hikvision): the video channel read for backfill */
  channel: Schema.optional(Schema.Int.pipe(Schema.between(1, 64, { message: () => "channel is 1 to 64" }))),
  backfill_max_hours: Schema.optional(Schema.Number.pipe(Schema.between(1, 168, { message: () => "backfill_max_hours is 1 to 168" }))),
  /** push: the address or range the camera's pushes must come from */
  push_from: Schema.optional(AddressRange),
  /** the camera clock's IANA time zone, for payloads whose times carry no offset */
  time_zone: Schema.optional(
    Short("time_zone", 64).pipe(Schema.filter((zone) => isTimeZone(zone) || `time_zone ${zone} is not an IANA time zone`)).annotations({
      arbitrary: () => (fc) => fc.constantFrom("UTC", "America/New_York", "Europe/London", "Asia/Jerusalem")
    })
  )
}).pipe(
  Schema.filter((c) => {
    if (c.mode === "push") return true
    if (c.vendor !== MODE_VENDORS[c.mode]) {
      return `mode ${c.mode} is for ${MODE_VENDORS[c.mode]} cameras (pull: hikvision; poll: unifi; mqtt: frigate); a ${c.vendor} camera pushes`
    }
    if (c.mode === "mqtt") return c.mqtt_url !== undefined || "an mqtt camera needs mqtt_url (the broker Frigate publishes to)"
    return c.url !== undefined || `a ${c.mode} camera needs url`
  })
)
export type CameraConnection = typeof CameraConnection.Type

/** Whether a camera of this connection logs in with a password the device must hold. */
export const needsPassword = (c: CameraConnection) =>
  c.mode === "pull" || c.mode === "poll" || (c.mode === "mqtt" && c.username !== undefined)

/** A camera as the collector runs it, in its heartbeats: its configuration as merged, and how its connection goes. */
export const DeviceCamera = Schema.Struct({
  id: Schema.String.pipe(Schema.maxLength(200)),
  name: Schema.optional(Schema.String.pipe(Schema.maxLength(200))),
  vendor: Schema.String.pipe(Schema.maxLength(40)),
  mode: Schema.String.pipe(Schema.maxLength(10)),
  url: Schema.optional(Schema.String.pipe(Schema.maxLength(500))),
  username: Schema.optional(Schema.String.pipe(Schema.maxLength(100))),
  mqtt_url: Schema.optional(Schema.String.pipe(Schema.maxLength(500))),
  /** a password or API key is stored on the device for it */
  password_set: Schema.Boolean,
  /** cameras the collector reads from: connecting, connected or error (with why) */
  connection: Schema.optional(Schema.Struct({
    state: Schema.Literal("connecting", "connected", "error"),
    message: Schema.optional(Schema.String.pipe(Schema.maxLength(500)))
  }))
})
export type DeviceCamera = typeof DeviceCamera.Type

const FIELDS = ["vendor", "mode", "url", "username", "mqtt_url"] as const

/**
 * What differs between a camera as admins set it and as the device runs it, each in a phrase an admin
 * reads ("url: https://a here, https://b on the device"); empty when they agree. Without a report
 * there is nothing to compare.
 */
export const cameraDrift = (
  set: { readonly connection: CameraConnection | null },
  device: DeviceCamera | null
): ReadonlyArray<string> => {
  const connection = set.connection
  if (connection === null) return []
  if (device === null) return ["not running on the device: push the cameras to its collector"]
  const out: Array<string> = []
  for (const field of FIELDS) {
    const here = connection[field]
    const there = device[field]
    if ((here ?? null) !== (there ?? null)) out.push(`${field}: ${here ?? "(none)"} here, ${there ?? "(none)"} on the device`)
  }
  if (needsPassword(connection) && !device.password_set) out.push("no password on the device: set it on the device's page or with edge camera-password")
  if (device.connection?.state === "error") out.push(`connection failing: ${device.connection.message ?? "error"}`)
  return out
}
