/**
 * MQTT and Home Assistant, for admins: the broker's settings as the panel keeps them (each MQTT_*
 * setting of the server overrides its field), a change (audited), and a test publish.
 * The password never comes back: only whether one is set.
 */
import * as Rpc from "@effect/rpc/Rpc"
import * as RpcGroup from "@effect/rpc/RpcGroup"
import * as Schema from "effect/Schema"
import { BadRequest } from "../Errors"
import { RequiredRole, RpcSession } from "./Common"

export const MqttSettingName = Schema.Literal(
  "url",
  "username",
  "password",
  "topic_prefix",
  "publish_reads",
  "discovery",
  "discovery_prefix"
)
export type MqttSettingName = typeof MqttSettingName.Type

const MQTT_URL = /^mqtts?:\/\/[^\s/?#@]+(?::\d+)?\/?$/i

/** A broker's address: mqtt:// or mqtts://, host and port, without user:password@ (they have their fields). */
export const MqttUrl = Schema.String.pipe(
  Schema.maxLength(500, { message: () => "url is at most 500 characters" }),
  Schema.filter((url) => {
    if (!MQTT_URL.test(url)) return "url must be mqtt://host:port or mqtts://host:port (user name and password in their own fields)"
    try {
      new URL(url)
      return true
    } catch {
      return "url is not a valid URL"
    }
  })
)

/** A topic prefix: levels of letters, digits, _ and -, separated by /; no wildcards, no empty level. */
export const MqttTopicPrefix = (field: string) =>
  Schema.String.pipe(
    Schema.maxLength(100, { message: () => `${field} is at most 100 characters` }),
    Schema.pattern(/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/, {
      message: () => `${field} is letters, digits, _ and -, in levels separated by / (e.g. alpr or site/alpr)`
    })
  )

export const MqttSettingsView = Schema.Struct({
  /** the broker in force (none: MQTT is off) */
  url: Schema.NullOr(Schema.String),
  username: Schema.NullOr(Schema.String),
  password: Schema.Literal("set", "not set"),
  topic_prefix: Schema.String,
  publish_reads: Schema.Boolean,
  discovery: Schema.Boolean,
  discovery_prefix: Schema.String,
  /** fields the server's environment sets (MQTT_*): they override the panel, which cannot change them */
  from_environment: Schema.Array(MqttSettingName),
  /** whether this server's client is connected to the broker now */
  connected: Schema.Boolean,
  /** the last connection error of this server's client, if any since it last connected */
  last_error: Schema.NullOr(Schema.String),
  updated_at: Schema.NullOr(Schema.String)
})
export type MqttSettingsView = typeof MqttSettingsView.Type

export const MqttSettingsUpdate = Schema.Struct({
  /** null: off */
  url: Schema.optional(Schema.NullOr(MqttUrl)),
  username: Schema.optional(Schema.NullOr(Schema.String.pipe(
    Schema.minLength(1, { message: () => "username is 1 to 200 characters, or null" }),
    Schema.maxLength(200, { message: () => "username is 1 to 200 characters, or null" })
  ))),
  /** absent: kept; null: removed */
  password: Schema.optional(Schema.NullOr(Schema.String.pipe(
    Schema.minLength(1, { message: () => "password is 1 to 500 characters, or null" }),
    Schema.maxLength(500, { message: () => "password is 1 to 500 characters, or null" })
  ))),
  topic_prefix: Schema.optional(MqttTopicPrefix("topic_prefix")),
  publish_reads: Schema.optional(Schema.Boolean),
  discovery: Schema.optional(Schema.Boolean),
  discovery_prefix: Schema.optional(MqttTopicPrefix("discovery_prefix"))
})
export type MqttSettingsUpdate = typeof MqttSettingsUpdate.Type

/** What the test button found: connected and published to `<prefix>/test` (acknowledged), or why not. */
export const MqttTestResult = Schema.Struct({
  ok: Schema.Boolean,
  message: Schema.String,
  topic: Schema.NullOr(Schema.String),
  elapsed_ms: Schema.Number
})
export type MqttTestResult = typeof MqttTestResult.Type

export class MqttRpcs extends RpcGroup.make(
  Rpc.make("mqtt.get", { success: MqttSettingsView }),
  /** Changes the panel's values (a field the environment sets is refused); the client reconnects with them. */
  Rpc.make("mqtt.update", { payload: MqttSettingsUpdate, success: MqttSettingsView, error: BadRequest }),
  /** Connects with the settings in force and publishes to `<prefix>/test` with QoS 1. */
  Rpc.make("mqtt.test", { success: MqttTestResult })
).annotateRpcs(RequiredRole, "admin").middleware(RpcSession) {}
