/** The displays procedures: wall screens an admin pairs and revokes. */
import * as Rpc from "@effect/rpc/Rpc"
import * as RpcGroup from "@effect/rpc/RpcGroup"
import * as Schema from "effect/Schema"
import { BadRequest, NotFound } from "../Errors"
import { Label, RequiredRole, RpcSession, uuid } from "./Common"

/**
 * A wall screen, paired once with a code an admin made, then signed in as its own viewer-level
 * account for DISPLAY_SESSION_DAYS with no one at the keyboard. Revoking ends its session at once.
 */
export const DisplaySummary = Schema.Struct({
  display_id: Schema.String,
  name: Schema.String,
  created_at: Schema.String,
  created_by: Schema.NullOr(Schema.String),
  /** when the screen last paired */
  paired_at: Schema.NullOr(Schema.String),
  /** when the screen's session ends; null when it has none (not paired yet, ended or revoked) */
  session_expires_at: Schema.NullOr(Schema.String),
  /** when the screen last asked for the wall's status (every 15 s while it shows the wall) */
  last_seen_at: Schema.NullOr(Schema.String),
  /** until when an unused pairing code works; null when none is open */
  code_expires_at: Schema.NullOr(Schema.String),
  revoked_at: Schema.NullOr(Schema.String)
})
export type DisplaySummary = typeof DisplaySummary.Type

/** A pairing code, shown once: typed on the wall screen at `/pair`. */
export const DisplayCode = Schema.Struct({
  display_id: Schema.String,
  name: Schema.String,
  code: Schema.String,
  expires_at: Schema.String
})
export type DisplayCode = typeof DisplayCode.Type

const DisplayRef = { display_id: uuid("display_id") }

/** A display's account is named `display:<name>`, and a username is at most 64 characters. */
export const DISPLAY_NAME_MAX = 56

export class DisplaysRpcs extends RpcGroup.make(
  Rpc.make("displays.list", { success: Schema.Array(DisplaySummary) }),
  /** A new display and its first pairing code; a name is used once (BadRequest when taken). */
  Rpc.make("displays.create", {
    payload: {
      name: Label("name").pipe(
        Schema.maxLength(DISPLAY_NAME_MAX, { message: () => `name is at most ${DISPLAY_NAME_MAX} characters` })
      )
    },
    success: DisplayCode,
    error: BadRequest
  }),
  /** A new pairing code (the screen's session goes on until the code is used); the old code stops working. */
  Rpc.make("displays.newCode", { payload: DisplayRef, success: DisplayCode, error: Schema.Union(NotFound, BadRequest) }),
  /** Ends the screen's session and its account; the display cannot pair again. */
  Rpc.make("displays.revoke", { payload: DisplayRef, success: DisplaySummary, error: NotFound })
).annotateRpcs(RequiredRole, "admin").middleware(RpcSession) {}
