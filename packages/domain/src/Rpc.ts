/**
 * The RPC contract served over WebSocket at `/rpc` (session cookie, role-checked per procedure): the
 * groups merged. Each group is declared in its own file of `rpc/`, named after its capability
 * (`rpc/Users.ts`, `rpc/Watchlists.ts`, `rpc/Wall.ts`, ...); what every procedure carries (its
 * `RequiredRole`, the `RpcSession` middleware) is in `rpc/Common.ts`.
 */
import { AuditRpcs } from "./rpc/Audit"
import { CamerasRpcs } from "./rpc/Cameras"
import { CollectorsRpcs } from "./rpc/Collectors"
import { DisplaysRpcs } from "./rpc/Displays"
import { EmailRpcs } from "./rpc/Email"
import { FootageRpcs } from "./rpc/Footage"
import { PartnersRpcs } from "./rpc/Partners"
import { HealthRpcs } from "./rpc/Health"
import { KnownPlatesRpcs } from "./rpc/KnownPlates"
import { MqttRpcs } from "./rpc/Mqtt"
import { OutputsRpcs } from "./rpc/Outputs"
import { ReasonCodesRpcs } from "./rpc/ReasonCodes"
import { RetentionRpcs } from "./rpc/Retention"
import { UsersRpcs } from "./rpc/Users"
import { WallRpcs } from "./rpc/Wall"
import { WatchlistsRpcs } from "./rpc/Watchlists"

export const RPC_PATH = "/rpc"

/** Everything an admin does over RPC. */
export class AdminRpcs extends UsersRpcs.merge(CollectorsRpcs, DisplaysRpcs, CamerasRpcs, AuditRpcs) {}

/**
 * The procedures served at `/rpc`. Operator and viewer groups (watchlists, the wall) merge in here, each declaring
 * its own roles; the endpoint, the session and the role check stay the same. So do the groups of later
 * capabilities with admin procedures of their own (reason codes, retention, the outbound channels), each
 * tested in its own file; every procedure's role is checked for every role by rpc.test.ts.
 */
export class AlprRpcs extends AdminRpcs.merge(
  WatchlistsRpcs,
  WallRpcs,
  ReasonCodesRpcs,
  RetentionRpcs,
  OutputsRpcs,
  MqttRpcs,
  EmailRpcs,
  KnownPlatesRpcs,
  HealthRpcs,
  FootageRpcs,
  PartnersRpcs
) {}
