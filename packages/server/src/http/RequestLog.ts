import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as HttpServerError from "@effect/platform/HttpServerError"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Effect from "effect/Effect"

/**
 * The path of a request URL with the names of its query parameters but not their values: a search's
 * plate, reason and case, a pairing code or a cursor are personal data or secrets, and logs are
 * kept and shipped with less care than the audit log, which records them where they belong.
 */
export const loggedUrl = (url: string): string => {
  const at = url.indexOf("?")
  if (at < 0) return url
  const names = [...new URLSearchParams(url.slice(at + 1)).keys()]
  return names.length === 0 ? url.slice(0, at) : `${url.slice(0, at)}?${[...new Set(names)].join("&")}`
}

let counter = 0

/** One log line a request (method, path without query values, status), as HttpMiddleware.logger but safe to keep. */
export const requestLogger = HttpMiddleware.make((app) =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
    const annotations = (status: number) => ({
      "http.method": request.method,
      "http.url": loggedUrl(request.url),
      "http.status": status
    })
    return Effect.withLogSpan(
      Effect.onExit(app, (exit) => {
        if (exit._tag === "Success") return Effect.annotateLogs(Effect.log("Sent HTTP response"), annotations(exit.value.status))
        const [response, cause] = HttpServerError.causeResponseStripped(exit.cause)
        return Effect.annotateLogs(
          Effect.log(cause._tag === "Some" ? cause.value : "Sent HTTP response"),
          annotations(response.status)
        )
      }),
      `http.span.${++counter}`
    )
  })
)
