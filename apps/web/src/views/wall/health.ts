import type { CollectorSummary } from "@chaverim/domain/Rpc"

/** A collector sends a heartbeat every minute: five minutes of silence is a site down. */
export const SILENT_MS = 5 * 60_000

export const onlineOf = (c: CollectorSummary, now = Date.now()) =>
  c.status === "active" && c.last_seen_at !== null && now - new Date(c.last_seen_at).getTime() < SILENT_MS
