import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { AppConfig, type AppSettings } from "../Config"
import { clientAddressOf, forwardedOverTls } from "./Proxies"

/**
 * Who sent a request, as every capability records and limits it (audit rows, sign-in and pairing
 * limits, sessions, collectors, the RPC connection). Read here and nowhere else, so that no
 * capability believes a forwarded header on its own.
 */
export interface RequestInfo {
  readonly address: string
  readonly userAgent?: string | undefined
}

/** The client of `request`: its TCP peer, or what trusted proxies (TRUSTED_PROXIES) say it is. */
export const clientOf = (request: HttpServerRequest.HttpServerRequest, config: Pick<AppSettings, "trustedProxies">) =>
  clientAddressOf(Option.getOrUndefined(request.remoteAddress), request.headers["x-forwarded-for"], config.trustedProxies)

export const clientAddress = Effect.zipWith(HttpServerRequest.HttpServerRequest, AppConfig, clientOf)

/** The client's address and User-Agent: what the audit log records of a request. */
export const requestInfoOf = (
  request: HttpServerRequest.HttpServerRequest,
  config: Pick<AppSettings, "trustedProxies">
): RequestInfo => ({ address: clientOf(request, config), userAgent: request.headers["user-agent"] })

export const requestInfo = Effect.zipWith(HttpServerRequest.HttpServerRequest, AppConfig, requestInfoOf)

/**
 * Whether people reach the server over TLS: PUBLIC_URL is https, or a trusted proxy says the request
 * came to it as https. A client's own X-Forwarded-Proto is not believed.
 */
export const overTls = (
  request: HttpServerRequest.HttpServerRequest,
  config: Pick<AppSettings, "publicUrl" | "trustedProxies">
) =>
  Option.exists(config.publicUrl, (url) => url.startsWith("https:")) ||
  forwardedOverTls(Option.getOrUndefined(request.remoteAddress), request.headers["x-forwarded-proto"], config.trustedProxies)
