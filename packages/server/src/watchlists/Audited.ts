import type { Forbidden } from "@chaverim/domain/Errors"
import * as Effect from "effect/Effect"
import type { AuditShape } from "../audit/Audit"
import type { Caller } from "./Permissions"

/** The audit log's records of watchlist changes, and of the refused ones. */

export interface WatchlistAudit {
  /** Records a change of the list (or of its entries) made by the caller; run it last in the change's transaction. */
  readonly record: (
    caller: Caller,
    action: string,
    listId: string,
    details: Record<string, unknown>,
    options?: { readonly reason?: string | undefined; readonly outcome?: "success" | "denied" }
  ) => Effect.Effect<void>
  /** A refusal is on the record too; it is written outside the refused change's transaction. */
  readonly deniedAudited: <A, E, R>(
    caller: Caller,
    action: string,
    listId: () => string,
    effect: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E, R>
}

export const watchlistAudit = (audit: AuditShape): WatchlistAudit => {
  const record: WatchlistAudit["record"] = (caller, action, listId, details, options = {}) =>
    audit.record({
      actor: caller._tag === "User" ? { userId: caller.userId, username: caller.username } : undefined,
      address: caller._tag === "User" ? caller.address : undefined,
      action,
      target: `watchlist:${listId}`,
      reason: options.reason,
      details: caller._tag === "Cli" ? { ...details, via: "cli" } : details,
      outcome: options.outcome ?? "success"
    })

  const deniedAudited: WatchlistAudit["deniedAudited"] = (caller, action, listId, effect) =>
    Effect.tapError(effect, (e) =>
      (e as { readonly _tag?: string })._tag === "Forbidden"
        ? record(caller, action, listId(), { refused: (e as Forbidden).message }, { outcome: "denied" })
        : Effect.void)

  return { record, deniedAudited }
}
