import type * as Headers from "@effect/platform/Headers"
import * as Option from "effect/Option"

/**
 * A browser always sends Origin with a WebSocket upgrade, and SameSite does not protect a WebSocket:
 * a page elsewhere could open one with the user's cookie. So an Origin must name this server, as the
 * request's Host or as PUBLIC_URL. No Origin at all is a program, not a browser, and may connect.
 */
export const originAllowed = (headers: Headers.Headers, publicUrl: Option.Option<string>) => {
  const origin = headers["origin"]
  if (origin === undefined) return true
  let parsed: URL
  try {
    parsed = new URL(origin)
  } catch {
    return false // includes "null", sent by sandboxed frames and file: pages
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return false
  const host = headers["host"]?.toLowerCase()
  if (host !== undefined && parsed.host === host) return true
  return Option.exists(publicUrl, (url) => {
    try {
      return new URL(url).origin === parsed.origin
    } catch {
      return false
    }
  })
}
