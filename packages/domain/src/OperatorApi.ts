import * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import * as Schema from "effect/Schema"
import { LoginRequest, LoginResponse, Me, PairRequest, PasswordChange, TotpRequest, TotpResponse } from "./Accounts"
import { DisplayAllowed, OperatorAuth, PreAuth, ViewerAuth } from "./Auth"
import { Correction, CorrectionRequest } from "./Corrections"
import { BadRequest, NotFound, PayloadTooLarge, TooManyAttempts, Unauthorized, UnsupportedMediaType } from "./Errors"
import { ReadDetails } from "./ReadDetails"
import { ReasonParams } from "./Reason"
import {
  DetectionItem,
  DetectionPath,
  EXPORT_MAX_READS,
  ExportParams,
  PLATE_GROUPS_MAX,
  PlateGroupParams,
  PlateGroupsResult,
  SearchParams,
  SearchResult,
  SearchSuggestions
} from "./Search"

// The groups that signing in and an operator's search call, in a module of their own: Api.ts gathers
// every group into AlprApi, and a client of OperatorApi (below) leaves the rest of the contract, and
// the schemas it brings, out of the web app's first page.

/**
 * Signing in takes two steps: the password (answered with a short-lived pre-auth cookie), then a TOTP
 * code (answered with the session cookie). Wrong usernames and wrong passwords get the same answer.
 */
export class AuthApi extends HttpApiGroup.make("auth")
  .add(
    HttpApiEndpoint.post("login", "/api/v1/auth/login")
      .setPayload(LoginRequest)
      .addSuccess(LoginResponse)
      .addError(Unauthorized)
      .addError(TooManyAttempts)
  )
  .add(
    HttpApiEndpoint.post("totp", "/api/v1/auth/totp")
      .setPayload(TotpRequest)
      .addSuccess(TotpResponse)
      .addError(BadRequest)
      .addError(TooManyAttempts)
      .middleware(PreAuth)
  )
  .add(
    HttpApiEndpoint.post("pair", "/api/v1/auth/pair")
      .setPayload(PairRequest)
      .addSuccess(Me)
      .addError(Unauthorized)
      .addError(TooManyAttempts)
  )
  .add(
    HttpApiEndpoint.get("me", "/api/v1/auth/me")
      .addSuccess(Me)
      .middleware(ViewerAuth)
      // The wall asks who it is signed in as (a display shows nothing but the wall) and for its CSRF token.
      .annotate(DisplayAllowed, true)
  )
  .add(
    HttpApiEndpoint.post("logout", "/api/v1/auth/logout")
      .addSuccess(Schema.Void, { status: 204 })
      .middleware(ViewerAuth)
      .annotate(DisplayAllowed, true)
  )
  .add(
    HttpApiEndpoint.post("password", "/api/v1/auth/password")
      .setPayload(PasswordChange)
      .addSuccess(Schema.Void, { status: 204 })
      .addError(BadRequest)
      .addError(TooManyAttempts)
      .middleware(ViewerAuth)
      .annotate(OpenApi.Description, "Changes the password and ends every session of the user, this one included")
  )
{}

export class SearchApi extends HttpApiGroup.make("search")
  .add(
    HttpApiEndpoint.get("detections", "/api/v1/detections")
      .setUrlParams(SearchParams)
      .addSuccess(SearchResult)
      .addError(BadRequest)
      .middleware(OperatorAuth)
      .annotate(
        OpenApi.Description,
        "Search reads by plate (exact, ocr, partial with * and ?, fuzzy), newest first (fuzzy: closest first), " +
          "filtered and keyset-paged. Without a plate, browse a camera's or a site's reads between from and to " +
          "(at most 31 days), newest first, with the same filters and pages. Every search is audited with its reason."
      )
  )
  .add(
    HttpApiEndpoint.get("plates", "/api/v1/detections/plates")
      .setUrlParams(PlateGroupParams)
      .addSuccess(PlateGroupsResult)
      .addError(BadRequest)
      .middleware(OperatorAuth)
      .annotate(
        OpenApi.Description,
        `The distinct plates a plate search matches (its parameters, without limit and cursor), each with its reads, ` +
          `first and last seen and cameras after the filters; fuzzy closest first, else last seen first; at most ` +
          `${PLATE_GROUPS_MAX} plates (truncated says when more matched). Audited like a search, with its reason.`
      )
  )
  .add(
    HttpApiEndpoint.get("export", "/api/v1/detections/export")
      .setUrlParams(ExportParams)
      .addSuccess(HttpApiSchema.Uint8Array({ contentType: "text/csv" }))
      .addError(BadRequest)
      .middleware(OperatorAuth)
      .annotate(
        OpenApi.Description,
        `A search's reads as a file: format=csv (text/csv) or format=pdf (application/pdf), the search's parameters ` +
          `without limit and cursor, in the search's order, at most ${EXPORT_MAX_READS.toLocaleString("en")} reads ` +
          `(X-Export-Truncated: true and a line in the PDF when cut). Audited with its reason, format and count.`
      )
  )
  .add(
    HttpApiEndpoint.get("suggestions", "/api/v1/detections/suggestions")
      .addSuccess(SearchSuggestions)
      .middleware(OperatorAuth)
      .annotate(
        OpenApi.Description,
        "Values for the search's filters: the cameras' sites, and the directions, vehicle types and colours of recent reads."
      )
  )
  .add(
    HttpApiEndpoint.get("detection", "/api/v1/detections/:id")
      .setPath(DetectionPath)
      .setUrlParams(ReasonParams)
      .addSuccess(DetectionItem)
      .addError(BadRequest)
      .addError(NotFound)
      .middleware(OperatorAuth)
      .annotate(OpenApi.Description, "One read by its id, as a search shows it; audited like a search, with its reason.")
  )
  .add(
    HttpApiEndpoint.get("detectionDetails", "/api/v1/detections/:id/details")
      .setPath(DetectionPath)
      .setUrlParams(ReasonParams)
      .addSuccess(ReadDetails)
      .addError(BadRequest)
      .addError(NotFound)
      .middleware(OperatorAuth)
      .annotate(
        OpenApi.Description,
        "Everything of one read for its page: the read, its collector, its photos' hashes, the vendor's source data, " +
          "its corrections, its run (the same plate at the same camera, each read within 30 s of the one before) and the " +
          "alerts it raised on the lists you may see. Audited like a search (mode read_page), with its reason."
      )
  )
{}

/** Corrections of reads by operators; the detection itself stays as received. */
export class CorrectionsApi extends HttpApiGroup.make("corrections")
  .add(
    HttpApiEndpoint.post("create", "/api/v1/detections/:id/corrections")
      .setPath(Schema.Struct({ id: Schema.NumberFromString.pipe(Schema.int(), Schema.positive()) }))
      .setPayload(CorrectionRequest)
      .addSuccess(Correction, { status: 201 })
      .addError(BadRequest)
      .addError(NotFound)
      .middleware(OperatorAuth)
  )
  .add(
    HttpApiEndpoint.get("list", "/api/v1/detections/:id/corrections")
      .setPath(Schema.Struct({ id: Schema.NumberFromString.pipe(Schema.int(), Schema.positive()) }))
      .addSuccess(Schema.Array(Correction))
      .addError(NotFound)
      .middleware(OperatorAuth)
  )
{}

/**
 * AlprApi's groups for signing in, searching and correcting reads, with AlprApi's API-wide errors (any
 * endpoint that takes a body may refuse it before decoding): a client derived from it calls these
 * endpoints exactly as one of AlprApi does (packages/domain/test/OperatorApi.test.ts checks it).
 */
export class OperatorApi extends HttpApi.make("alpr")
  .add(AuthApi)
  .add(SearchApi)
  .add(CorrectionsApi)
  .addError(BadRequest)
  .addError(PayloadTooLarge)
  .addError(UnsupportedMediaType)
{}
