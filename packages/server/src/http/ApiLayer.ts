import { Partners } from "../auth/Partners"
import { Footage } from "../footage/Footage"
import { FootageHttpLayer } from "../footage/Http"
import { FootageUploads } from "../footage/Uploads"
import { FootageViews } from "../footage/Review"
import { Jobs } from "../jobs/Jobs"
import { RecogniserLayer } from "../recognise/RecogniserLayer"
import { AlprApi } from "@chaverim/domain/Api"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApp from "@effect/platform/HttpApp"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Alerts } from "../alerts/Alerts"
import { AlertsHttpLayer } from "../alerts/Http"
import { Accounts } from "../auth/Accounts"
import { AuthHttpLayer } from "../auth/Http"
import { UserAuthLayer } from "../auth/UserAuth"
import { AuditLayer } from "../audit/Audit"
import { ReasonCodes } from "../audit/ReasonCodes"
import { Collectors } from "../collectors/Collectors"
import { Corrections } from "../corrections/Corrections"
import { Displays } from "../displays/Displays"
import { CorrectionsHttpLayer } from "../corrections/Http"
import { CollectorApiKeyAuthLayer, CollectorAuthLayer, CollectorsHttpLayer } from "../collectors/Http"
import { ImagesHttpLayer } from "../images/Http"
import { Images } from "../images/Images"
import { IngestHttpLayer } from "../ingest/Http"
import { Ingest } from "../ingest/Ingest"
import { IngestGate } from "../ingest/IngestGate"
import { SearchHttpLayer } from "../search/Http"
import { Investigation } from "../search/Investigation"
import { InvestigationHttpLayer } from "../search/InvestigationHttp"
import { Search } from "../search/Search"
import { Evidence } from "../evidence/Exports"
import { EvidenceHttpLayer } from "../evidence/Http"
import { SystemHttpLayer } from "../system/Http"
import { Holds } from "../holds/Holds"
import { HoldsHttpLayer } from "../holds/Http"
import { Retention } from "../retention/Retention"
import { OutputDeliveries } from "../outputs/Deliveries"
import { TelegramDeliveries } from "../telegram/Deliveries"
import { TelegramHttpLayer } from "../telegram/Http"
import { TelegramLinks } from "../telegram/Links"
import { TransparencyHttpLayer } from "../transparency/Http"
import { HealthAlerts } from "../health/Health"
import { StatsHttpLayer } from "../stats/Http"
import { Stats } from "../stats/Stats"
import { Transparency } from "../transparency/Transparency"
import { Webhooks } from "../webhooks/Webhooks"
import { ReadDatabaseLayer } from "../db/Database"
import { RequestBodiesLayer } from "./RequestBodies"

/** The central services; they need a migrated database, an ObjectStore and AppConfig. */
export const ServicesLayer = Layer.mergeAll(Collectors.Default, ReasonCodes.Default, Ingest.Default, IngestGate.Default, Accounts.Default, Corrections.Default, TelegramLinks.Default, TelegramDeliveries.Default, Alerts.Default, Evidence.Default, Holds.Default, Retention.Default, Transparency.Default,
  OutputDeliveries.Default, Webhooks.Default, HealthAlerts.Default,
  // the read-only queries, on DATABASE_READ_URL's replica when there is one
  Layer.mergeAll(Search.Default, Investigation.Default, Stats.Default).pipe(Layer.provide(ReadDatabaseLayer)),
  // footage queues its jobs; the recogniser reads their frames (issue 20)
  FootageUploads.Default.pipe(Layer.provideMerge(Footage.Default), Layer.provideMerge(Jobs.Default)), FootageViews.Default, RecogniserLayer, Partners.Default,
  // Displays open and end their screens' sessions through Accounts (one instance: layers are memoised).
  Displays.Default.pipe(Layer.provide(Accounts.Default))).pipe(
  Layer.provideMerge(Images.Default),
  Layer.provideMerge(AuditLayer)
)

/** The HttpApi with every group implemented. */
export const ApiLayer = HttpApiBuilder.api(AlprApi).pipe(
  Layer.provide([SystemHttpLayer, IngestHttpLayer, CollectorsHttpLayer, ImagesHttpLayer, AuthHttpLayer, SearchHttpLayer, CorrectionsHttpLayer, InvestigationHttpLayer, TelegramHttpLayer, AlertsHttpLayer, EvidenceHttpLayer, HoldsHttpLayer, TransparencyHttpLayer, StatsHttpLayer, FootageHttpLayer]),
  Layer.provide([CollectorAuthLayer, CollectorApiKeyAuthLayer, UserAuthLayer]),
  // Bodies are checked against the contract's content types, capped and parsed before decoding.
  Layer.provide(RequestBodiesLayer)
)

/** Every answer carries `X-Backpressure` so collectors can slow down before anything is refused. */
export const backpressureMiddleware = HttpMiddleware.make((app) =>
  Effect.gen(function*() {
    const gate = yield* IngestGate
    // A pre-response handler also reaches answers made from errors (401, 413, ...).
    yield* HttpApp.appendPreResponseHandler((_request, response) =>
      Effect.map(gate.pressure, (pressure) => HttpServerResponse.setHeader(response, "x-backpressure", pressure.toFixed(3))))
    return yield* app
  })
)
