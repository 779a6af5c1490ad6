import {
  type ClaimRequest,
  type CommandAck,
  CommandAckResponse,
  type CommandName,
  type Heartbeat,
  PendingCommand
} from "@chaverim/domain/Collector"
import { ClaimCodeExpired, ClaimCodeUnknown, ClaimCodeUsed, NotFound } from "@chaverim/domain/Errors"
import { type ClaimCode, CollectorSummary as CollectorListItem } from "@chaverim/domain/rpc/Collectors"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Arr from "effect/Array"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Order from "effect/Order"
import * as Schema from "effect/Schema"
import { AppConfig } from "../Config"
import { canonicalClaimCode, newApiKey, newClaimCode, sha256Hex } from "../crypto/Tokens"
import { IsoTime, IsoTimeOrNull, orBug } from "../db/Rows"

export type CreatedCollector = typeof ClaimCode.Type

/** How stale a collector's last upload may be noted (a busy site uploads many times a second). */
export const UPLOAD_NOTE_SECONDS = 5

/**
 * A row of `collectors` with its count of live keys, as the admins' list shows it; `id` here, which
 * the RPC contract calls `collector_id`.
 */
const CollectorRow = Schema.Struct({
  id: Schema.String,
  ...CollectorListItem.omit("collector_id").fields,
  last_seen_at: IsoTimeOrNull,
  last_heartbeat_at: IsoTimeOrNull,
  last_upload_at: IsoTimeOrNull
})
export type CollectorSummary = typeof CollectorRow.Type

/** A row of `collector_commands` as a heartbeat's answer carries it. */
const CommandRow = Schema.Struct({ ...PendingCommand.fields, created_at: IsoTime })

/** What a claim needs of a `claim_codes` row. */
const ClaimCodeRow = Schema.Struct({
  collector_id: Schema.String,
  used_at: Schema.NullOr(Schema.DateFromSelf),
  expired: Schema.Boolean
})

/** A live `api_keys` row of an enabled collector. */
const KeyRow = Schema.Struct({
  id: Schema.String,
  collector_id: Schema.String,
  first_used_at: Schema.NullOr(Schema.DateFromSelf)
})

/** The id an INSERT ... RETURNING gives; no row back would be a bug of ours (a defect). */
const IdRow = Schema.Struct({ id: Schema.String })

/**
 * Collector provisioning and steering: claim codes exchanged once for an API key, key checks for
 * every collector request, heartbeats that record health and carry pending commands.
 */
export class Collectors extends Effect.Service<Collectors>()("@chaverim/server/Collectors", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const config = yield* AppConfig

    const issueClaimCode = (collectorId: string) =>
      Effect.gen(function*() {
        const code = newClaimCode()
        const row = yield* SqlSchema.single({
          Request: Schema.Void,
          Result: Schema.Struct({ expires_at: IsoTime }),
          execute: () =>
            sql`
              INSERT INTO claim_codes (code_hash, collector_id, expires_at)
              VALUES (${sha256Hex(canonicalClaimCode(code))}, ${collectorId},
                      now() + make_interval(hours => ${config.claimCodeHours}))
              RETURNING expires_at`
        })(undefined).pipe(orBug, Effect.catchTag("NoSuchElementException", Effect.die))
        return { collector_id: collectorId, claim_code: code, expires_at: row.expires_at } satisfies CreatedCollector
      })

    const insertCollector = SqlSchema.single({
      Request: Schema.String,
      Result: IdRow,
      execute: (name) => sql`INSERT INTO collectors (name) VALUES (${name}) RETURNING id`
    })

    const create = Effect.fn("Collectors.create")(function*(name: string) {
      const trimmed = name.trim()
      return yield* sql.withTransaction(Effect.gen(function*() {
        const row = yield* insertCollector(trimmed).pipe(orBug, Effect.catchTag("NoSuchElementException", Effect.die))
        return yield* issueClaimCode(row.id)
      }))
    })

    /** A fresh claim code for an existing collector, to re-provision a replaced device. */
    const newCode = Effect.fn("Collectors.newCode")(function*(collectorId: string) {
      const found = yield* sql`SELECT 1 FROM collectors WHERE id = ${collectorId}`
      if (found.length === 0) return yield* new NotFound({ message: `no collector ${collectorId}` })
      return yield* issueClaimCode(collectorId)
    })

    const insertKey = (collectorId: string) =>
      Effect.gen(function*() {
        const { key, prefix } = newApiKey()
        const row = yield* SqlSchema.single({
          Request: Schema.Void,
          Result: IdRow,
          execute: () =>
            sql`
              INSERT INTO api_keys (collector_id, prefix, key_hash)
              VALUES (${collectorId}, ${prefix}, ${sha256Hex(key)}) RETURNING id`
        })(undefined).pipe(orBug, Effect.catchTag("NoSuchElementException", Effect.die))
        return { id: row.id, key }
      })

    const claimCodeOf = SqlSchema.findOne({
      Request: Schema.String,
      Result: ClaimCodeRow,
      execute: (codeHash) =>
        sql`
          SELECT collector_id, used_at, expires_at < now() AS expired
            FROM claim_codes WHERE code_hash = ${codeHash} FOR UPDATE`
    })

    const claim = Effect.fn("Collectors.claim")(function*(request: ClaimRequest, address: string) {
      const codeHash = sha256Hex(canonicalClaimCode(request.claim_code))
      return yield* sql.withTransaction(Effect.gen(function*() {
        const found = yield* orBug(claimCodeOf(codeHash))
        if (Option.isNone(found)) {
          return yield* new ClaimCodeUnknown({ message: "this claim code is not known; check it for typing errors" })
        }
        const code = found.value
        if (code.used_at !== null) {
          return yield* new ClaimCodeUsed({
            message: "this claim code was already used; ask an admin for a new one"
          })
        }
        if (code.expired) {
          return yield* new ClaimCodeExpired({ message: "this claim code has expired; ask an admin for a new one" })
        }
        yield* sql`UPDATE claim_codes SET used_at = now(), used_by = ${request.hardware_id} WHERE code_hash = ${codeHash}`
        // A claim provisions a device afresh: keys held by any earlier device stop working.
        yield* sql`UPDATE api_keys SET revoked_at = now() WHERE collector_id = ${code.collector_id} AND revoked_at IS NULL`
        yield* sql`
          UPDATE collectors
             SET status = 'active', claimed_at = now(), hardware_id = ${request.hardware_id},
                 hostname = ${request.hostname ?? null}, edge_version = ${request.edge_version ?? null},
                 last_address = ${address}
           WHERE id = ${code.collector_id}`
        const key = yield* insertKey(code.collector_id)
        return { collector_id: code.collector_id, api_key: key.key }
      }))
    })

    const liveKey = SqlSchema.findOne({
      Request: Schema.String,
      Result: KeyRow,
      execute: (keyHash) =>
        sql`
          SELECT k.id, k.collector_id, k.first_used_at
            FROM api_keys k JOIN collectors c ON c.id = k.collector_id
           WHERE k.key_hash = ${keyHash} AND k.revoked_at IS NULL AND c.status = 'active'`
    })

    /** The collector behind an API key, if the key is live and the collector enabled. */
    const authenticate = Effect.fn("Collectors.authenticate")(function*(apiKey: string) {
      if (!apiKey.startsWith("alpr_") || apiKey.length > 200) return Option.none()
      const found = yield* orBug(liveKey(sha256Hex(apiKey)))
      if (Option.isNone(found)) return Option.none()
      const row = found.value
      if (row.first_used_at === null) {
        // First use of a rotated key: the key it replaces has done its job.
        yield* sql.withTransaction(Effect.all([
          sql`UPDATE api_keys SET first_used_at = now() WHERE id = ${row.id} AND first_used_at IS NULL`,
          sql`UPDATE api_keys SET revoked_at = now() WHERE replaced_by = ${row.id} AND revoked_at IS NULL`
        ]))
      }
      return Option.some({ collectorId: row.collector_id, keyId: row.id })
    })

    const deliver = SqlSchema.findAll({
      Request: Schema.String,
      Result: CommandRow,
      execute: (collectorId) =>
        sql`
          UPDATE collector_commands
             SET delivered_at = now(), delivery_count = delivery_count + 1
           WHERE id IN (
             SELECT id FROM collector_commands
              WHERE collector_id = ${collectorId} AND status = 'pending'
                AND (delivered_at IS NULL
                     OR delivered_at < now() - make_interval(secs => ${config.commandRedeliverySeconds}))
              ORDER BY created_at
              FOR UPDATE SKIP LOCKED)
          RETURNING id, cmd, payload, created_at`
    })
    const byCreatedAt = Order.mapInput(Order.string, (command: PendingCommand) => command.created_at)

    const heartbeat = Effect.fn("Collectors.heartbeat")(function*(
      collectorId: string,
      beat: Heartbeat,
      address: string
    ) {
      // The collector's clock against ours as the heartbeat arrives (its time in transit is counted as
      // skew: a few milliseconds, well under what is alerted on).
      const skewMs = beat.device_time === undefined ? null : Date.parse(beat.device_time) - Date.now()
      yield* sql`
        UPDATE collectors
           SET last_seen_at = now(), last_address = ${address}, uptime_seconds = ${beat.uptime_seconds},
               clock_skew_ms = coalesce(${skewMs}::bigint, clock_skew_ms),
               heartbeat_seconds = coalesce(${beat.heartbeat_seconds ?? null}::int, heartbeat_seconds),
               queue_depth = ${beat.queue_depth}, cameras_online = ${beat.cameras_online},
               config_version = ${beat.config_version}, edge_version = ${beat.edge_version},
               disk_used_bytes = ${beat.disk?.used_bytes ?? null}, disk_quota_bytes = ${beat.disk?.quota_bytes ?? null},
               disk_full = ${beat.disk?.full ?? null},
               reported_cameras = coalesce(${beat.cameras === undefined ? null : JSON.stringify(beat.cameras)}::jsonb, reported_cameras),
               cameras_reported_at = CASE WHEN ${beat.cameras !== undefined} THEN now() ELSE cameras_reported_at END
         WHERE id = ${collectorId}`
      // A command is offered until acknowledged, but not again while the collector may still be
      // carrying it out (a reboot takes longer than one heartbeat).
      const rows = yield* orBug(deliver(collectorId))
      // RETURNING keeps no order; ISO times of one format sort as text.
      const pending: ReadonlyArray<PendingCommand> = Arr.sort(rows, byCreatedAt)
      return { status: "ok" as const, server_time: new Date().toISOString(), pending_commands: pending }
    })

    const enqueueCommand = Effect.fn("Collectors.enqueueCommand")(function*(
      collectorId: string,
      cmd: CommandName,
      payload: unknown,
      createdBy: string
    ) {
      const found = yield* sql`SELECT 1 FROM collectors WHERE id = ${collectorId}`
      if (found.length === 0) return yield* new NotFound({ message: `no collector ${collectorId}` })
      const row = yield* SqlSchema.single({
        Request: Schema.Void,
        Result: IdRow,
        execute: () =>
          sql`
            INSERT INTO collector_commands (collector_id, cmd, payload, created_by)
            VALUES (${collectorId}, ${cmd}, ${JSON.stringify(payload ?? {})}::jsonb, ${createdBy})
            RETURNING id`
      })(undefined).pipe(orBug, Effect.catchTag("NoSuchElementException", Effect.die))
      return row.id
    })

    /** Idempotent: a second acknowledgement answers with the status first recorded. */
    const ack = Effect.fn("Collectors.ack")(function*(collectorId: string, commandId: string, body: CommandAck) {
      const updated = yield* SqlSchema.findOne({
        Request: Schema.Void,
        Result: CommandAckResponse,
        execute: () =>
          sql`
            UPDATE collector_commands
               SET status = ${body.status}, acked_at = now(), message = ${body.message ?? null}
             WHERE id = ${commandId} AND collector_id = ${collectorId} AND status = 'pending'
            RETURNING id, status`
      })(undefined).pipe(orBug)
      if (Option.isSome(updated)) return updated.value
      const existing = yield* SqlSchema.findOne({
        Request: Schema.Void,
        Result: CommandAckResponse,
        execute: () => sql`SELECT id, status FROM collector_commands WHERE id = ${commandId} AND collector_id = ${collectorId}`
      })(undefined).pipe(orBug)
      if (Option.isNone(existing)) return yield* new NotFound({ message: `no command ${commandId} for this collector` })
      return existing.value
    })

    /**
     * A new key for the calling collector. The key used to ask keeps working until the new one is
     * first used, so an answer lost on the way never locks the collector out.
     */
    const rotateKey = Effect.fn("Collectors.rotateKey")(function*(collectorId: string, currentKeyId: string) {
      return yield* sql.withTransaction(Effect.gen(function*() {
        const key = yield* insertKey(collectorId)
        yield* sql`UPDATE api_keys SET replaced_by = ${key.id} WHERE id = ${currentKeyId}`
        return { api_key: key.key }
      }))
    })

    /** Revokes every key of a collector at once; its next request gets 401. */
    const revokeKeys = Effect.fn("Collectors.revokeKeys")(function*(collectorId: string) {
      const rows = yield* sql`
        UPDATE api_keys SET revoked_at = now() WHERE collector_id = ${collectorId} AND revoked_at IS NULL RETURNING id`
      return rows.length
    })

    const all = SqlSchema.findAll({
      Request: Schema.Void,
      Result: CollectorRow,
      execute: () =>
        sql`
          SELECT c.id, c.name, c.status, c.hostname, c.edge_version,
                 -- greatest() ignores a NULL: either sign of life counts
                 greatest(c.last_seen_at, c.last_upload_at) AS last_seen_at, c.last_seen_at AS last_heartbeat_at,
                 c.last_upload_at, c.queue_depth, c.cameras_online,
                 c.disk_full, (SELECT count(*)::int FROM api_keys k WHERE k.collector_id = c.id AND k.revoked_at IS NULL) AS active_keys,
                 round(c.clock_skew_ms / 1000.0, 3)::float8 AS clock_skew_s
            FROM collectors c WHERE c.kind = 'site' ORDER BY c.name, c.id`
    })

    const list = Effect.fn("Collectors.list")(function*() {
      return yield* orBug(all(undefined))
    })

    /**
     * An upload is a sign of life as much as a heartbeat: noted at most every UPLOAD_NOTE_SECONDS per
     * collector, so a busy site does not write its row for every batch.
     */
    const notedAt = new Map<string, number>()
    const uploaded = (collectorId: string) =>
      Effect.suspend(() => {
        // this server noted it within the period: not even a round trip to find that out
        const now = Date.now()
        if (now - (notedAt.get(collectorId) ?? 0) < UPLOAD_NOTE_SECONDS * 1000) return Effect.void
        if (notedAt.size > 10_000) notedAt.clear()
        notedAt.set(collectorId, now)
        return sql`
          UPDATE collectors SET last_upload_at = now()
           WHERE id = ${collectorId}
             AND (last_upload_at IS NULL OR last_upload_at < now() - make_interval(secs => ${UPLOAD_NOTE_SECONDS}))`.pipe(
          Effect.asVoid,
          orBug,
          Effect.tapErrorCause(() => Effect.sync(() => notedAt.delete(collectorId)))
        )
      })

    return { create, newCode, claim, authenticate, heartbeat, enqueueCommand, ack, rotateKey, revokeKeys, list, uploaded }
  })
}) {}
