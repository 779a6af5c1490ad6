import { displayAllowed } from "@chaverim/domain/Auth"
import { AlprRpcs } from "@chaverim/domain/Rpc"
import { requiredRole, RpcSession } from "@chaverim/domain/rpc/Common"
import * as RpcSerialization from "@effect/rpc/RpcSerialization"
import * as RpcServer from "@effect/rpc/RpcServer"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { AuditRpcsLayer } from "../audit/Rpc"
import { ReasonCodesRpcsLayer } from "../audit/ReasonCodesRpc"
import { RetentionRpcsLayer } from "../retention/Rpc"
import { UsersRpcsLayer } from "../auth/Rpc"
import { Cameras } from "../collectors/Cameras"
import { CamerasRpcsLayer } from "../collectors/CamerasRpc"
import { CollectorsRpcsLayer } from "../collectors/Rpc"
import { DisplaysRpcsLayer } from "../displays/Rpc"
import { EmailRpcsLayer } from "../email/Rpc"
import { MqttRpcsLayer } from "../mqtt/Rpc"
import { OutputsRpcsLayer } from "../outputs/Rpc"
import { HealthRpcsLayer } from "../health/Rpc"
import { FootageRpcsLayer } from "../footage/Rpc"
import { PartnersRpcsLayer } from "../auth/PartnersRpc"
import { KnownPlates } from "../plates/KnownPlates"
import { KnownPlatesRpcsLayer } from "../plates/Rpc"
import { WallRpcsLayer } from "../displays/WallRpc"
import { WatchlistsRpcsLayer } from "../watchlists/Rpc"
import { Watchlists } from "../watchlists/Watchlists"
import { RpcConnections, RpcProtocolLayer } from "./Protocol"
import { RpcSessionLayer } from "./Session"

/**
 * The session middleware refuses a procedure without a role at every call; a procedure without the
 * middleware would not be checked at all, so the server does not start with one. Nor with one open to
 * wall displays that needs more than a viewer: a display is a viewer, so the opening would say what
 * is not so.
 */
const contractChecked = Layer.effectDiscard(Effect.suspend(() => {
  const rpcs = [...AlprRpcs.requests.values()]
  const unguarded = rpcs
    .filter((rpc) => !(rpc.middlewares as ReadonlySet<unknown>).has(RpcSession) || Option.isNone(requiredRole(rpc)))
    .map((rpc) => rpc._tag)
  const displaysAbove = rpcs
    .filter((rpc) => displayAllowed(rpc.annotations) && Option.getOrUndefined(requiredRole(rpc)) !== "viewer")
    .map((rpc) => rpc._tag)
  return unguarded.length > 0
    ? Effect.dieMessage(`RPC procedures without RpcSession or RequiredRole: ${unguarded.join(", ")}`)
    : displaysAbove.length > 0
    ? Effect.dieMessage(`RPC procedures open to wall displays but not to viewers: ${displaysAbove.join(", ")}`)
    : Effect.void
}))

/** Every procedure implemented, each group by its capability; needs the services, the database and the connection registry. */
const HandlersLayer = Layer.mergeAll(
  UsersRpcsLayer,
  CollectorsRpcsLayer,
  DisplaysRpcsLayer,
  CamerasRpcsLayer,
  AuditRpcsLayer,
  WatchlistsRpcsLayer,
  WallRpcsLayer,
  ReasonCodesRpcsLayer,
  RetentionRpcsLayer,
  EmailRpcsLayer,
  MqttRpcsLayer,
  OutputsRpcsLayer,
  KnownPlatesRpcsLayer,
  HealthRpcsLayer,
  FootageRpcsLayer,
  PartnersRpcsLayer
)

/**
 * The RPC server at `/rpc` on the HttpApi's router, NDJSON over WebSocket (a message at most 1 MiB).
 * Provide it to `HttpApiBuilder.serve` like the HttpApi groups, so the route exists before the
 * router is turned into the server's app. Needs the central services and AppConfig.
 */
export const RpcLayer = RpcServer.layer(AlprRpcs, {
  spanPrefix: "rpc",
  // A defect fails its own call only, instead of every call in flight on the connection.
  disableFatalDefects: true
}).pipe(
  Layer.provide([RpcProtocolLayer, HandlersLayer, RpcSessionLayer, contractChecked]),
  Layer.provide([Cameras.Default, Watchlists.Default, KnownPlates.Default]),
  Layer.provide(RpcSerialization.layerNdjsonWith({ maxBufferSize: 1024 * 1024 })),
  Layer.provide(RpcConnections.Default)
)
