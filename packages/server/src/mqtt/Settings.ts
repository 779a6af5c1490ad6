import type { MqttSettingName, MqttSettingsUpdate } from "@chaverim/domain/rpc/Mqtt"
import { BadRequest } from "@chaverim/domain/Errors"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { Audit } from "../audit/Audit"
import type { Actor } from "../auth/Accounts"
import { AppConfig, type MqttEnvSettings } from "../Config"
import { IsoTimeOrNull, orBug } from "../db/Rows"

/**
 * The broker's settings in force: the admin panel's row (`mqtt_settings`, sql/0025), each field
 * overridden by its MQTT_* setting when the server's environment sets it. Read afresh by whoever needs
 * them (a change on one server reaches the others within a refresh); a change wakes them at once.
 */

/** Woken when an admin changes the settings, so that every server's client reconnects with them. */
export const MQTT_SETTINGS_CHANNEL = "mqtt_settings"

export const DEFAULT_TOPIC_PREFIX = "alpr"
export const DEFAULT_DISCOVERY_PREFIX = "homeassistant"

export interface MqttSettings {
  /** none: MQTT is off */
  readonly url: string | null
  readonly username: string | null
  readonly password: Redacted.Redacted | null
  readonly topicPrefix: string
  readonly publishReads: boolean
  readonly discovery: boolean
  readonly discoveryPrefix: string
  readonly fromEnvironment: ReadonlyArray<MqttSettingName>
  readonly updatedAt: string | null
}

const SettingsRow = Schema.Struct({
  url: Schema.NullOr(Schema.String),
  username: Schema.NullOr(Schema.String),
  password: Schema.NullOr(Schema.String),
  topic_prefix: Schema.String,
  publish_reads: Schema.Boolean,
  discovery: Schema.Boolean,
  discovery_prefix: Schema.String,
  updated_at: IsoTimeOrNull
})
type SettingsRow = typeof SettingsRow.Type

const environmentFields = (env: MqttEnvSettings): ReadonlyArray<MqttSettingName> => [
  ...(Option.isSome(env.url) ? ["url" as const] : []),
  ...(Option.isSome(env.username) ? ["username" as const] : []),
  ...(Option.isSome(env.password) ? ["password" as const] : []),
  ...(Option.isSome(env.topicPrefix) ? ["topic_prefix" as const] : []),
  ...(Option.isSome(env.publishReads) ? ["publish_reads" as const] : []),
  ...(Option.isSome(env.discovery) ? ["discovery" as const] : []),
  ...(Option.isSome(env.discoveryPrefix) ? ["discovery_prefix" as const] : [])
]

/** The environment over the panel's row; the defaults under both. */
export const resolveSettings = (env: MqttEnvSettings, row: SettingsRow | undefined): MqttSettings => ({
  url: Option.getOrElse(env.url, () => row?.url ?? null),
  username: Option.getOrElse(env.username, () => row?.username ?? null),
  password: Option.getOrElse(env.password, () => (row?.password == null ? null : Redacted.make(row.password))),
  topicPrefix: Option.getOrElse(env.topicPrefix, () => row?.topic_prefix ?? DEFAULT_TOPIC_PREFIX),
  publishReads: Option.getOrElse(env.publishReads, () => row?.publish_reads ?? false),
  discovery: Option.getOrElse(env.discovery, () => row?.discovery ?? true),
  discoveryPrefix: Option.getOrElse(env.discoveryPrefix, () => row?.discovery_prefix ?? DEFAULT_DISCOVERY_PREFIX),
  fromEnvironment: environmentFields(env),
  updatedAt: row?.updated_at ?? null
})

/** Who changes the settings and from where (recorded in the audit log). */
export interface ChangedBy {
  readonly actor: Actor
  readonly address?: string | undefined
}

export class MqttSettingsStore extends Effect.Service<MqttSettingsStore>()("@chaverim/server/MqttSettingsStore", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const config = yield* AppConfig
    const audit = yield* Audit
    const env = config.mqtt

    const row = SqlSchema.findOne({
      Request: Schema.Void,
      Result: SettingsRow,
      execute: () =>
        sql`SELECT url, username, password, topic_prefix, publish_reads, discovery, discovery_prefix, updated_at
              FROM mqtt_settings`
    })

    /** The settings in force now. */
    const current = Effect.map(orBug(row(undefined)), (r) => resolveSettings(env, Option.getOrUndefined(r))).pipe(
      Effect.withSpan("MqttSettings.current")
    )

    /**
     * Changes the panel's fields (one the environment sets is refused: it would not take effect) and
     * records what changed, the password only as "changed"; wakes every server's client, which
     * reconnects with them (and, once connected, sends what waited: Broker.ts).
     */
    const update = Effect.fn("MqttSettings.update")(function*(change: MqttSettingsUpdate, by: ChangedBy) {
      const given = (Object.keys(change) as Array<keyof MqttSettingsUpdate>).filter((k) => change[k] !== undefined)
      const fixed = given.filter((k) => environmentFields(env).includes(k))
      if (fixed.length > 0) {
        return yield* new BadRequest({
          message: `set by the server's environment (MQTT_${fixed.map((f) => f.toUpperCase()).join(", MQTT_")}), which overrides the panel`
        })
      }
      return yield* sql.withTransaction(Effect.gen(function*() {
        const before = Option.getOrUndefined(yield* orBug(row(undefined)))
        const set = (column: string, value: string | boolean | null | undefined) =>
          value === undefined ? sql`` : sql`, ${sql(column)} = ${value}`
        yield* sql`
          UPDATE mqtt_settings SET updated_at = now(), updated_by = ${by.actor.userId}
                 ${set("url", change.url)} ${set("username", change.username)} ${set("password", change.password)}
                 ${set("topic_prefix", change.topic_prefix)} ${set("publish_reads", change.publish_reads)}
                 ${set("discovery", change.discovery)} ${set("discovery_prefix", change.discovery_prefix)}`
        // MQTT carries a password only with a user name: a broker closes a connection that sends one alone.
        // Asked of a change to either (the environment may set one of them, and other changes must still go).
        const after = resolveSettings(env, Option.getOrUndefined(yield* orBug(row(undefined))))
        if ((change.password !== undefined || change.username !== undefined) && after.password !== null && after.username === null) {
          return yield* new BadRequest({ message: "a password needs a user name: MQTT sends a password only with one" })
        }
        const changes: Record<string, unknown> = {}
        for (const key of given) {
          if (key === "password") changes.password = change.password === null ? "removed" : "changed"
          else if (before === undefined || before[key] !== change[key]) changes[key] = { from: before?.[key] ?? null, to: change[key] }
        }
        yield* sql`SELECT pg_notify(${MQTT_SETTINGS_CHANNEL}, 'changed')`
        yield* audit.record({
          actor: by.actor,
          address: by.address,
          action: "mqtt.settings",
          target: "mqtt_settings",
          details: { via: "rpc", changes },
          outcome: "success"
        })
      }))
    }, (effect) => Effect.catchTag(effect, "SqlError", (error) => Effect.die(error)))

    return { current, update } as const
  })
}) {}
