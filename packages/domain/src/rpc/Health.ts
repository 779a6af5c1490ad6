/** The fleet's health alerts, for admins (issue 19): what the health monitor raised and cleared. */
import * as Rpc from "@effect/rpc/Rpc"
import * as RpcGroup from "@effect/rpc/RpcGroup"
import * as Schema from "effect/Schema"
import { HealthAlert, HealthListRequest } from "../Health"
import { RequiredRole, RpcSession } from "./Common"

export class HealthRpcs extends RpcGroup.make(
  /** Newest first: the open ones with `open`, else every one within `limit`. */
  Rpc.make("health.list", { payload: HealthListRequest, success: Schema.Array(HealthAlert) }).annotate(RequiredRole, "admin")
).middleware(RpcSession) {}
