import { AlprApi } from "@chaverim/domain/Api"
import { LIVE_PATH } from "@chaverim/domain/Alerts"
import * as HttpApi from "@effect/platform/HttpApi"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as HttpServerError from "@effect/platform/HttpServerError"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"

/**
 * Per-route HTTP metrics for Prometheus: requests by method, route and status, and their durations by
 * method and route. The route is the contract's pattern (`/api/v1/detections/:id/images/:kind`), never
 * the path as sent, so the number of series is bounded by the API whatever clients ask for: a path that
 * is no route of the API is counted as the web app's (`web`, a GET outside /api) or `other`.
 */

interface Route {
  readonly method: string
  readonly pattern: string
  readonly segments: ReadonlyArray<string>
}

const segmentsOf = (path: string) => path.split("/").filter((s) => s !== "")

/** The API's routes and the few served beside it, the most literal segments first. */
const routes: ReadonlyArray<Route> = (() => {
  const found: Array<Route> = []
  HttpApi.reflect(AlprApi, {
    onGroup: () => {},
    onEndpoint: ({ endpoint }) => found.push({ method: endpoint.method, pattern: endpoint.path, segments: segmentsOf(endpoint.path) })
  })
  for (const [method, pattern] of [["GET", LIVE_PATH], ["GET", "/rpc"], ["GET", "/api/docs"], ["GET", "/api/openapi.json"]] as const) {
    found.push({ method, pattern, segments: segmentsOf(pattern) })
  }
  const literals = (r: Route) => r.segments.filter((s) => !s.startsWith(":")).length
  return found.sort((a, b) => literals(b) - literals(a))
})()

/** The route a request is counted under. */
export const routeOf = (method: string, url: string): string => {
  const at = url.search(/[?#]/)
  const segments = segmentsOf(at < 0 ? url : url.slice(0, at))
  const found = routes.find((r) =>
    r.method === method && r.segments.length === segments.length &&
    r.segments.every((s, i) => s.startsWith(":") || s === segments[i])
  )
  if (found !== undefined) return found.pattern
  return (method === "GET" || method === "HEAD") && segments[0] !== "api" ? "web" : "other"
}

const requests = Metric.counter("alpr_http_requests_total", {
  description: "HTTP requests answered, by method, route (the API's pattern) and status",
  incremental: true
})
const durations = Metric.histogram(
  "alpr_http_request_duration_seconds",
  MetricBoundaries.fromIterable([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]),
  "HTTP request durations, by method and route"
)

// One tagged metric per (method, route[, status]), made once: tagging builds a key the registry hashes.
const counters = new Map<string, Metric.Metric.Counter<number>>()
const histograms = new Map<string, Metric.Metric.Histogram<number>>()
const counterFor = (method: string, route: string, status: number) => {
  const key = `${method} ${route} ${status}`
  let counter = counters.get(key)
  if (counter === undefined) {
    counter = requests.pipe(Metric.tagged("method", method), Metric.tagged("route", route), Metric.tagged("status", String(status)))
    counters.set(key, counter)
  }
  return counter
}
const histogramFor = (method: string, route: string) => {
  const key = `${method} ${route}`
  let histogram = histograms.get(key)
  if (histogram === undefined) {
    histogram = durations.pipe(Metric.tagged("method", method), Metric.tagged("route", route))
    histograms.set(key, histogram)
  }
  return histogram
}

/** Counts and times every request (a WebSocket's until it is upgraded). */
export const httpMetrics = HttpMiddleware.make((app) =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
    const started = performance.now()
    const method = request.method
    const route = routeOf(method, request.url)
    const record = (status: number) =>
      Effect.zipRight(
        Metric.increment(counterFor(method, route, status)),
        Metric.update(histogramFor(method, route), (performance.now() - started) / 1000)
      )
    return Effect.onExit(app, (exit) =>
      exit._tag === "Success"
        ? record(exit.value.status)
        : record(HttpServerError.causeResponseStripped(exit.cause)[0].status))
  })
)
