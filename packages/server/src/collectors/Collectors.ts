import {
  type ClaimRequest,
  type CommandAck,
  type CommandName,
  type Heartbeat,
  type PendingCommand
} from "@chaverim/domain/Collector"
import { ClaimCodeExpired, ClaimCodeUnknown, ClaimCodeUsed, NotFound } from "@chaverim/domain/Errors"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { AppConfig } from "../Config"
import { canonicalClaimCode, newApiKey, newClaimCode, sha256Hex } from "../crypto/Tokens"

export interface CreatedCollector {
  readonly collector_id: string
  readonly claim_code: string
  readonly expires_at: string
}

export interface CollectorSummary {
  readonly id: string
  readonly name: string
  readonly status: string
  readonly hostname: string | null
  readonly edge_version: string | null
  readonly last_seen_at: string | null
  readonly queue_depth: number | null
  readonly cameras_online: number | null
  readonly disk_full: boolean | null
  readonly active_keys: number
}

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString())

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
        const [row] = yield* sql<{ expires_at: Date }>`
          INSERT INTO claim_codes (code_hash, collector_id, expires_at)
          VALUES (${sha256Hex(canonicalClaimCode(code))}, ${collectorId},
                  now() + make_interval(hours => ${config.claimCodeHours}))
          RETURNING expires_at`
        return { collector_id: collectorId, claim_code: code, expires_at: iso(row!.expires_at)! }
      })

    const create = Effect.fn("Collectors.create")(function*(name: string) {
      const trimmed = name.trim()
      return yield* sql.withTransaction(Effect.gen(function*() {
        const [row] = yield* sql<{ id: string }>`INSERT INTO collectors (name) VALUES (${trimmed}) RETURNING id`
        return yield* issueClaimCode(row!.id)
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
        const [row] = yield* sql<{ id: string }>`
          INSERT INTO api_keys (collector_id, prefix, key_hash)
          VALUES (${collectorId}, ${prefix}, ${sha256Hex(key)}) RETURNING id`
        return { id: row!.id, key }
      })

    const claim = Effect.fn("Collectors.claim")(function*(request: ClaimRequest, address: string) {
      const codeHash = sha256Hex(canonicalClaimCode(request.claim_code))
      return yield* sql.withTransaction(Effect.gen(function*() {
        const [code] = yield* sql<{ collector_id: string; used_at: Date | null; expired: boolean }>`
          SELECT collector_id, used_at, expires_at < now() AS expired
            FROM claim_codes WHERE code_hash = ${codeHash} FOR UPDATE`
        if (!code) {
          return yield* new ClaimCodeUnknown({ message: "this claim code is not known; check it for typing errors" })
        }
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

    /** The collector behind an API key, if the key is live and the collector enabled. */
    const authenticate = Effect.fn("Collectors.authenticate")(function*(apiKey: string) {
      if (!apiKey.startsWith("alpr_") || apiKey.length > 200) return Option.none()
      const [row] = yield* sql<{ id: string; collector_id: string; first_used_at: Date | null }>`
        SELECT k.id, k.collector_id, k.first_used_at
          FROM api_keys k JOIN collectors c ON c.id = k.collector_id
         WHERE k.key_hash = ${sha256Hex(apiKey)} AND k.revoked_at IS NULL AND c.status = 'active'`
      if (!row) return Option.none()
      if (row.first_used_at === null) {
        // First use of a rotated key: the key it replaces has done its job.
        yield* sql.withTransaction(Effect.all([
          sql`UPDATE api_keys SET first_used_at = now() WHERE id = ${row.id} AND first_used_at IS NULL`,
          sql`UPDATE api_keys SET revoked_at = now() WHERE replaced_by = ${row.id} AND revoked_at IS NULL`
        ]))
      }
      return Option.some({ collectorId: row.collector_id, keyId: row.id })
    })

    const heartbeat = Effect.fn("Collectors.heartbeat")(function*(
      collectorId: string,
      beat: Heartbeat,
      address: string
    ) {
      yield* sql`
        UPDATE collectors
           SET last_seen_at = now(), last_address = ${address}, uptime_seconds = ${beat.uptime_seconds},
               queue_depth = ${beat.queue_depth}, cameras_online = ${beat.cameras_online},
               config_version = ${beat.config_version}, edge_version = ${beat.edge_version},
               disk_used_bytes = ${beat.disk?.used_bytes ?? null}, disk_quota_bytes = ${beat.disk?.quota_bytes ?? null},
               disk_full = ${beat.disk?.full ?? null}
         WHERE id = ${collectorId}`
      // A command is offered until acknowledged, but not again while the collector may still be
      // carrying it out (a reboot takes longer than one heartbeat).
      const rows = yield* sql<{ id: string; cmd: CommandName; payload: unknown; created_at: Date }>`
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
      const pending: Array<PendingCommand> = [...rows]
        .sort((a, b) => new Date(a.created_at).getTime() - new Date(b.created_at).getTime())
        .map((r) => ({ id: r.id, cmd: r.cmd, payload: r.payload, created_at: iso(r.created_at)! }))
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
      const [row] = yield* sql<{ id: string }>`
        INSERT INTO collector_commands (collector_id, cmd, payload, created_by)
        VALUES (${collectorId}, ${cmd}, ${JSON.stringify(payload ?? {})}::jsonb, ${createdBy})
        RETURNING id`
      return row!.id
    })

    /** Idempotent: a second acknowledgement answers with the status first recorded. */
    const ack = Effect.fn("Collectors.ack")(function*(collectorId: string, commandId: string, body: CommandAck) {
      const [updated] = yield* sql<{ id: string; status: "done" | "failed" }>`
        UPDATE collector_commands
           SET status = ${body.status}, acked_at = now(), message = ${body.message ?? null}
         WHERE id = ${commandId} AND collector_id = ${collectorId} AND status = 'pending'
        RETURNING id, status`
      if (updated) return updated
      const [existing] = yield* sql<{ id: string; status: "done" | "failed" }>`
        SELECT id, status FROM collector_commands WHERE id = ${commandId} AND collector_id = ${collectorId}`
      if (!existing) return yield* new NotFound({ message: `no command ${commandId} for this collector` })
      return existing
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

    const list = Effect.fn("Collectors.list")(function*() {
      const rows = yield* sql<Omit<CollectorSummary, "last_seen_at"> & { last_seen_at: Date | null }>`
        SELECT c.id, c.name, c.status, c.hostname, c.edge_version, c.last_seen_at, c.queue_depth, c.cameras_online,
               c.disk_full, (SELECT count(*)::int FROM api_keys k WHERE k.collector_id = c.id AND k.revoked_at IS NULL) AS active_keys
          FROM collectors c ORDER BY c.name, c.id`
      return rows.map((r): CollectorSummary => ({ ...r, last_seen_at: iso(r.last_seen_at) }))
    })

    return { create, newCode, claim, authenticate, heartbeat, enqueueCommand, ack, rotateKey, revokeKeys, list }
  })
}) {}
