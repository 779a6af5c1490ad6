import * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import * as Schema from "effect/Schema"
import { AlertListParams, AlertPage, AlertPath, Alert, AlertStateConflict, ResolveRequest } from "./Alerts"
import { AlprDatabaseBody, AlprDatabaseResult } from "./AlprDatabase"
import { CollectorApiKeyAuth, CollectorAuth, DisplayAllowed, OperatorAuth, ViewerAuth } from "./Auth"
import { ReasonParams } from "./Reason"
import { DetectionPath } from "./Search"
import { AuthApi, CorrectionsApi, SearchApi } from "./OperatorApi"
import { TelegramApi } from "./Telegram"
import { EvidenceApi } from "./Evidence"
import { HoldsApi } from "./Holds"
import { FootageApi } from "./Footage"
import { StatsApi } from "./Stats"
import { TransparencyApi } from "./Transparency"
import {
  ConvoyParams,
  ConvoyResult,
  MapParams,
  MapResult,
  MultiPlaceRequest,
  MultiPlaceResult,
  PlatePath,
  RouteParams,
  RouteResult,
  TimelineParams,
  TimelineResult
} from "./Investigation"
import {
  ClaimRequest,
  ClaimResponse,
  CommandAck,
  CommandAckResponse,
  Heartbeat,
  HeartbeatResponse,
  KeyRotation
} from "./Collector"
import { BatchResult, DetectionBatch, ImageKind } from "./Detection"
import {
  BadRequest,
  ClaimCodeExpired,
  ClaimCodeUnknown,
  ClaimCodeUsed,
  Forbidden,
  ImageIntegrityError,
  NotFound,
  Overloaded,
  PayloadTooLarge,
  ServiceUnavailable,
  UnsupportedMediaType
} from "./Errors"

// Signing in, searching and corrections: in OperatorApi.ts, for a client of those groups alone.
export { AuthApi, CorrectionsApi, SearchApi }

export class SystemApi extends HttpApiGroup.make("system")
  .add(
    HttpApiEndpoint.get("health", "/health")
      .addSuccess(Schema.Struct({ status: Schema.Literal("ok") }))
  )
  .add(
    HttpApiEndpoint.get("ready", "/ready")
      .addSuccess(Schema.Struct({ status: Schema.Literal("ready"), checks: Schema.Record({ key: Schema.String, value: Schema.String }) }))
      .addError(ServiceUnavailable)
  )
  .add(
    HttpApiEndpoint.get("metrics", "/metrics")
      .addSuccess(HttpApiSchema.Text({ contentType: "text/plain; version=0.0.4; charset=utf-8" }))
  )
  .annotate(OpenApi.Description, "Liveness, readiness and Prometheus metrics")
{}

/** Multipart form of a batch: the JSON in a `batch` part, images in `plate:<id>` / `scene:<id>` parts. */
const MultipartBatch = HttpApiSchema.Multipart(Schema.Struct({ batch: Schema.String }))

export class IngestApi extends HttpApiGroup.make("ingest")
  .add(
    HttpApiEndpoint.post("batch", "/api/v1/detections/batch")
      .setPayload(Schema.Union(DetectionBatch, MultipartBatch))
      .addSuccess(BatchResult)
      .addError(BadRequest)
      .addError(PayloadTooLarge)
      .addError(Overloaded)
      .middleware(CollectorAuth)
      .annotate(
        OpenApi.Description,
        "Upload at most 100 detections (5 MiB in all). Valid events are stored even when others are rejected; " +
          "a re-sent detection_id counts as a duplicate. Every answer carries X-Backpressure (0..1)."
      )
  )
  .add(
    HttpApiEndpoint.post("plateReads", "/api/plate-reads")
      .setPayload(AlprDatabaseBody)
      .addSuccess(AlprDatabaseResult, { status: 201 })
      .addError(BadRequest)
      .addError(PayloadTooLarge)
      .addError(Overloaded)
      .middleware(CollectorApiKeyAuth)
      .annotate(
        OpenApi.Description,
        "ALPR-Database's ingest, as Blue Iris posts it, with a collector API key as x-api-key: ai_dump, memo or " +
          "plate_number, Image (base64), camera, timestamp, ALERT_PATH, ALERT_CLIP. 201 when a read was new, " +
          "409 when all were stored before, 400 when the body holds no plate. Limits as the batch's."
      )
  )
{}

export class CollectorsApi extends HttpApiGroup.make("collectors")
  .add(
    HttpApiEndpoint.post("claim", "/api/v1/collectors/claim")
      .setPayload(ClaimRequest)
      .addSuccess(ClaimResponse, { status: 201 })
      .addError(ClaimCodeUnknown)
      .addError(ClaimCodeUsed)
      .addError(ClaimCodeExpired)
  )
  .add(
    HttpApiEndpoint.post("heartbeat", "/api/v1/collectors/heartbeat")
      .setPayload(Heartbeat)
      .addSuccess(HeartbeatResponse)
      .middleware(CollectorAuth)
  )
  .add(
    HttpApiEndpoint.post("ack", "/api/v1/collectors/commands/:id/ack")
      .setPath(Schema.Struct({ id: Schema.UUID }))
      .setPayload(CommandAck)
      .addSuccess(CommandAckResponse)
      .addError(NotFound)
      .middleware(CollectorAuth)
  )
  .add(
    HttpApiEndpoint.post("rotateKey", "/api/v1/collectors/keys/rotate")
      .addSuccess(KeyRotation)
      .middleware(CollectorAuth)
  )
{}

/**
 * A read's photos, for viewers and up: the plate crop shows no more than the plate text the live feed
 * already gives a viewer. The scene photo shows the vehicle, its occupants and the place: operators
 * and admins only, and a viewer asking for it is refused (403, audited as access.denied). A wall
 * display gets the plate crops of what the wall shows: reads the live feed still carries (received in
 * the last day) and the latest read of each new alert it may see; any other is refused the same way.
 * Every view is audited with the reason it carries (`reason_code`, `reason`, `case_number`); a person
 * opening a scene photo must give a reason code unless AUDIT_REASON_REQUIRED=false.
 */
export class ImagesApi extends HttpApiGroup.make("images")
  .add(
    HttpApiEndpoint.get("image", "/api/v1/detections/:id/images/:kind")
      .setPath(Schema.Struct({ id: DetectionPath.fields.id, kind: ImageKind }))
      .setUrlParams(Schema.Struct({
        ...ReasonParams.fields,
        /**
         * the view token a page of search results (or a live feed connection) gives its plate crops: the
         * page's one audit row covers them (the reason is then the search's); left out, the view is
         * audited by itself
         */
        view: Schema.optional(Schema.String.pipe(
          Schema.pattern(/^\d{1,18}\.[A-Za-z0-9_-]{43}$/, { message: () => "view is the token a search result's photo link carries" })
        )),
        /** with a live feed's view token: the read's event number in the feed */
        event: Schema.optional(Schema.String.pipe(
          Schema.pattern(/^\d{1,18}$/, { message: () => "event is the number of the read's event in the live feed" })
        ))
      }))
      .addSuccess(HttpApiSchema.Uint8Array({ contentType: "image/jpeg" }))
      .addError(BadRequest)
      .addError(NotFound)
      .addError(Forbidden)
      .addError(ImageIntegrityError)
      .middleware(ViewerAuth)
      .annotate(DisplayAllowed, true)
  )
{}

/**
 * Investigating one plate (timeline, map, route, convoy) and finding the plate seen at several
 * incidents. Operators and admins; every call is audited with its parameters and reason.
 */
export class InvestigationApi extends HttpApiGroup.make("investigation")
  .add(
    HttpApiEndpoint.get("timeline", "/api/v1/plates/:plate/timeline")
      .setPath(PlatePath)
      .setUrlParams(TimelineParams)
      .addSuccess(TimelineResult)
      .addError(BadRequest)
      .annotate(
        OpenApi.Description,
        "Every read of the plate in the range grouped by camera (the newest 5,000 listed), the longest gaps " +
          "between reads and reads per UTC hour or day."
      )
  )
  .add(
    HttpApiEndpoint.get("map", "/api/v1/plates/:plate/map")
      .setPath(PlatePath)
      .setUrlParams(MapParams)
      .addSuccess(MapResult)
      .addError(BadRequest)
      .annotate(OpenApi.Description, "Cameras with their location and the plate's reads at each (count, first, last).")
  )
  .add(
    HttpApiEndpoint.get("route", "/api/v1/plates/:plate/route")
      .setPath(PlatePath)
      .setUrlParams(RouteParams)
      .addSuccess(RouteResult)
      .addError(BadRequest)
      .annotate(
        OpenApi.Description,
        "The plate's stops in time order, split into trips at pauses longer than trip_gap_minutes, with the " +
          "straight-line distance and speed between stops; speeds above max_speed_kmh are flagged."
      )
  )
  .add(
    HttpApiEndpoint.get("convoy", "/api/v1/plates/:plate/convoy")
      .setPath(PlatePath)
      .setUrlParams(ConvoyParams)
      .addSuccess(ConvoyResult)
      .addError(BadRequest)
      .annotate(
        OpenApi.Description,
        "Plates seen at the same camera within window_s of the plate at min_cameras cameras or more, ranked by " +
          "how unlikely that is by chance given each plate's own rate at those cameras, with the joint sightings."
      )
  )
  .add(
    HttpApiEndpoint.post("multiPlace", "/api/v1/investigations/multi-place")
      .setPayload(MultiPlaceRequest)
      .addSuccess(MultiPlaceResult)
      .addError(BadRequest)
      .annotate(OpenApi.Description, "Plates seen at every one of 2 to 10 places (a set of cameras and a time range).")
  )
  .middleware(OperatorAuth)
{}

/** Alerts raised by the engine: lists of the watchlists the user may see, acknowledged and resolved by operators. */
export class AlertsApi extends HttpApiGroup.make("alerts")
  .add(
    HttpApiEndpoint.get("list", "/api/v1/alerts")
      .setUrlParams(AlertListParams)
      .addSuccess(AlertPage)
      .addError(BadRequest)
      .middleware(ViewerAuth)
      .annotate(OpenApi.Description, "Alerts newest first, keyset-paged; only of lists shared or your own (admins: all).")
  )
  .add(
    HttpApiEndpoint.get("get", "/api/v1/alerts/:id")
      .setPath(AlertPath)
      .addSuccess(Alert)
      .addError(NotFound)
      .middleware(ViewerAuth)
  )
  .add(
    HttpApiEndpoint.post("acknowledge", "/api/v1/alerts/:id/acknowledge")
      .setPath(AlertPath)
      .addSuccess(Alert)
      .addError(NotFound)
      .addError(AlertStateConflict)
      .middleware(OperatorAuth)
      .annotate(OpenApi.Description, "Acknowledge a new alert (again: no change). A resolved alert answers 409.")
  )
  .add(
    HttpApiEndpoint.post("enRoute", "/api/v1/alerts/:id/en-route")
      .setPath(AlertPath)
      .addSuccess(Alert)
      .addError(NotFound)
      .addError(AlertStateConflict)
      .middleware(ViewerAuth)
      .annotate(
        OpenApi.Description,
        "On my way: records who is going and when (the latest stands). An operator's also acknowledges a new alert; a viewer's does not. A resolved alert answers 409."
      )
  )
  .add(
    HttpApiEndpoint.post("resolve", "/api/v1/alerts/:id/resolve")
      .setPath(AlertPath)
      .setPayload(ResolveRequest)
      .addSuccess(Alert)
      .addError(NotFound)
      .addError(AlertStateConflict)
      .middleware(OperatorAuth)
      .annotate(OpenApi.Description, "Resolve an alert with an optional note; it then takes no more sightings. Twice answers 409.")
  )
{}

export class AlprApi extends HttpApi.make("alpr")
  .add(SystemApi)
  .add(IngestApi)
  .add(CollectorsApi)
  .add(ImagesApi)
  .add(AuthApi)
  .add(SearchApi)
  .add(InvestigationApi)
  .add(CorrectionsApi)
  .add(TelegramApi)
  .add(AlertsApi)
  .add(EvidenceApi)
  .add(HoldsApi)
  .add(StatsApi)
  .add(TransparencyApi)
  .add(FootageApi)
  // Any endpoint that takes a body may refuse it before decoding (see packages/server/src/http/RequestBodies.ts).
  .addError(BadRequest)
  .addError(PayloadTooLarge)
  .addError(UnsupportedMediaType)
  .annotate(OpenApi.Title, "Chaverim ALPR")
  .annotate(OpenApi.Version, "0.1.0")
{}
