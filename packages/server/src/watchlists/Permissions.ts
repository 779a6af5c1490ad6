import type { Role } from "@chaverim/domain/Auth"
import { BadRequest, Forbidden } from "@chaverim/domain/Errors"
import type * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"

/** Who may see a list and who may change it and its entries. */

/**
 * Who asks: a signed-in user (their role decides what they see and change), or the command line, which
 * acts for the organisation: it sees and changes every list, and the lists it makes have no owner.
 */
export type Caller =
  | {
    readonly _tag: "User"
    readonly userId: string
    readonly username: string
    readonly role: Role
    /** the client's address, for the audit log */
    readonly address?: string | undefined
  }
  | { readonly _tag: "Cli" }

export const cliCaller: Caller = { _tag: "Cli" }

const isAdmin = (caller: Caller) => caller._tag === "Cli" || caller.role === "admin"

/** Operators change the lists they own; admins and the command line every list; viewers none. */
export const canManage = (caller: Caller, list: { readonly owner_id: string | null }) =>
  isAdmin(caller) || (caller._tag === "User" && caller.role === "operator" && list.owner_id === caller.userId)

/** The name people write the author of a change under: the username, or "import" for the command line. */
export const authorName = (caller: Caller) => (caller._tag === "User" ? caller.username : "import")

/** Admins and the command line see every list; others the shared ones and their own (`w` is the list). */
export const visibleTo = (sql: SqlClient.SqlClient, caller: Caller) =>
  caller._tag === "User" && caller.role !== "admin" ? sql`(w.shared OR w.owner_id = ${caller.userId})` : sql`true`

/** A list the caller sees and may change: theirs to manage, and not retired. */
export const mayChange = <L extends { readonly name: string; readonly owner_id: string | null; readonly retired_at: string | null }>(
  caller: Caller,
  list: L
): Effect.Effect<L, Forbidden | BadRequest> => {
  if (!canManage(caller, list)) {
    return Effect.fail(
      new Forbidden({
        message: caller._tag === "User" && caller.role === "viewer"
          ? "viewers cannot change watchlists"
          : `only the owner of "${list.name}" or an admin may change it`
      })
    )
  }
  if (list.retired_at !== null) {
    return Effect.fail(new BadRequest({ message: `"${list.name}" is retired: it and its entries can no longer be changed` }))
  }
  return Effect.succeed(list)
}

/** Making a list: anyone but a viewer. */
export const mayCreate = (caller: Caller): Effect.Effect<void, Forbidden> =>
  caller._tag === "User" && caller.role === "viewer"
    ? Effect.fail(new Forbidden({ message: "viewers cannot make watchlists" }))
    : Effect.void
