/**
 * The reason codes procedures: everyone signed in reads the active codes (to offer them when a reason
 * is asked); admins keep the list. A code is never deleted: retired, it is refused in new requests and
 * keeps its meaning in the audit log.
 */
import * as Rpc from "@effect/rpc/Rpc"
import * as RpcGroup from "@effect/rpc/RpcGroup"
import * as Schema from "effect/Schema"
import { BadRequest, NotFound } from "../Errors"
import { NewReasonCode, ReasonCode, ReasonLabel } from "../Reason"
import { RequiredRole, RpcSession } from "./Common"

export const ActiveReasonCodes = Schema.Struct({
  /** the server refuses a search, investigation, scene photo or export without a code */
  required: Schema.Boolean,
  codes: Schema.Array(ReasonCode)
})
export type ActiveReasonCodes = typeof ActiveReasonCodes.Type

const CodeRef = { code: Schema.String.pipe(Schema.maxLength(64, { message: () => "code is a reason code" })) }

export class ReasonCodesRpcs extends RpcGroup.make(
  /** The active codes, by label, and whether a request must carry one (AUDIT_REASON_REQUIRED). */
  Rpc.make("reasonCodes.list", { success: ActiveReasonCodes }).annotate(RequiredRole, "viewer"),
  /** Every code, the retired ones too. */
  Rpc.make("reasonCodes.listAll", { success: Schema.Array(ReasonCode) }).annotate(RequiredRole, "admin"),
  /** A new code; a code that exists already (active or retired) is a BadRequest. */
  Rpc.make("reasonCodes.create", {
    payload: { code: NewReasonCode, label: ReasonLabel },
    success: ReasonCode,
    error: BadRequest
  }).annotate(RequiredRole, "admin"),
  /** A new label; the code (what the log records) stays. */
  Rpc.make("reasonCodes.relabel", {
    payload: { ...CodeRef, label: ReasonLabel },
    success: ReasonCode,
    error: Schema.Union(NotFound, BadRequest)
  }).annotate(RequiredRole, "admin"),
  /** Refused in new requests from now on; for good. */
  Rpc.make("reasonCodes.retire", {
    payload: CodeRef,
    success: ReasonCode,
    error: Schema.Union(NotFound, BadRequest)
  }).annotate(RequiredRole, "admin")
).middleware(RpcSession) {}
