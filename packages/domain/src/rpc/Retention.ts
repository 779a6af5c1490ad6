/**
 * Retention for admins: the periods in force (from the settings, and the floors the database
 * enforces), the lifetimes of derived tables, and the job's recent runs.
 */
import * as Rpc from "@effect/rpc/Rpc"
import * as RpcGroup from "@effect/rpc/RpcGroup"
import { RetentionStatus } from "../Retention"
import { RequiredRole, RpcSession } from "./Common"

export class RetentionRpcs extends RpcGroup.make(
  Rpc.make("retention.status", { success: RetentionStatus })
).annotateRpcs(RequiredRole, "admin").middleware(RpcSession) {}
