import { AlprApi } from "@chaverim/domain/Api"
import { BadRequest, PayloadTooLarge, UnsupportedMediaType } from "@chaverim/domain/Errors"
import * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import type * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Multipart from "@effect/platform/Multipart"
import * as UrlParams from "@effect/platform/UrlParams"
import { NodeHttpServerRequest } from "@effect/platform-node"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { Readable } from "node:stream"

/**
 * Request bodies of the HttpApi, refused with a 4xx that says why.
 *
 * HttpApiBuilder decodes a payload by reading the body with the accessor its content type names
 * (json, multipart, urlParamsBody, text, arrayBuffer), whatever the endpoint declares, and turns
 * every read failure into a defect with `Effect.orDie`. So a JSON endpoint sent
 * `multipart/form-data` answered a bare 500 (MultipartError is not a contract error), malformed JSON
 * a 400 without a word, a chunked body over the size cap a reset connection (the platform destroys
 * the request stream), and a form post was decoded as if it were the declared JSON.
 *
 * The request the builder sees therefore gets body accessors of our own: they check that the
 * content type is one the endpoint's payload declares (415), read the body under the size cap,
 * reading an over-long one to its end so the client gets the 413, and parse it (400). The builder
 * still makes a refusal a defect, so it travels as a `BodyRefused` and becomes the contract's error
 * in this middleware. Routes that read their own body (the batch, through `stream` and
 * `multipartStream`) keep their own limits and answers, but get parts that end, see `partsOf`.
 */

type Refusal = BadRequest | PayloadTooLarge | UnsupportedMediaType

class BodyRefused {
  constructor(readonly error: Refusal) {}
}

const refuse = (error: Refusal) => Effect.die(new BodyRefused(error))

/** What the builder assumes when a request names no content type. */
const DEFAULT_MEDIA_TYPE = "application/json"

const mediaTypeOf = (request: HttpServerRequest.HttpServerRequest) =>
  (request.headers["content-type"] || DEFAULT_MEDIA_TYPE).split(";")[0]!.trim().toLowerCase()

// A body over the cap is still read, and dropped, up to this many times the cap, so that the
// client receives the 413 rather than a reset connection; past that it is cut off.
const DRAIN_FACTOR = 8

const kib = (bytes: number) => `${Math.floor(bytes / 1024)} KiB`

/** The media types each endpoint's payload declares, by route ("POST /api/v1/auth/login"). */
const declaredMediaTypes = (api: HttpApi.HttpApi.Any): ReadonlyMap<string, ReadonlyArray<string>> => {
  const byRoute = new Map<string, ReadonlyArray<string>>()
  HttpApi.reflect(api as HttpApi.HttpApi.AnyWithProps, {
    onGroup: () => {},
    onEndpoint: ({ endpoint, payloads }) => {
      if (payloads.size > 0) byRoute.set(`${endpoint.method} ${endpoint.path}`, [...payloads.keys()])
    }
  })
  return byRoute
}

const multipartRefusal = (error: Multipart.MultipartError): Effect.Effect<never, Multipart.MultipartError> => {
  switch (error.reason) {
    case "BodyTooLarge":
    case "FileTooLarge":
    case "FieldTooLarge":
    case "TooManyParts":
      return refuse(new PayloadTooLarge({ message: `the multipart body is larger than allowed (${error.reason})` }))
    case "Parse":
      return refuse(new BadRequest({ message: `the multipart body is malformed: ${parseProblem(error.cause)}` }))
    default:
      // InternalError: storing a part failed on this side, which is no fault of the request.
      return Effect.fail(error)
  }
}

const PARSE_PROBLEMS: Record<string, string> = {
  InvalidBoundary: "the content type names no boundary",
  EndNotReached: "it ends before its closing boundary",
  InvalidDisposition: "a part has no valid Content-Disposition",
  BadHeaders: "a part's headers cannot be read"
}
/** What is wrong with a multipart body, in words, from the parser's (multipasta's) error tag. */
export const multipartProblem = (tag: string) => PARSE_PROBLEMS[tag] ?? "it cannot be parsed"
const parseProblem = (cause: unknown) =>
  multipartProblem(typeof cause === "object" && cause !== null && "_tag" in cause ? String(cause._tag) : "")

// multipasta reports a content type without a boundary by emitting "error" from its constructor,
// before anyone listens, so it reaches the platform as a thrown ERR_UNHANDLED_ERROR: a defect.
const isMissingBoundary = (defect: unknown) =>
  defect instanceof Error && (defect as { readonly context?: { readonly _tag?: unknown } }).context?._tag === "InvalidBoundary"
const malformed = (tag: string) => new Multipart.MultipartError({ reason: "Parse", cause: { _tag: tag } })

// multipasta also never ends its stream of parts when the body stops inside a part's headers or
// after a boundary without its closing "--": the request would wait for ever. Once the whole body
// has arrived every part is already parsed, so a part still awaited a moment later never comes.
const PARSER_GRACE = "1 second"

const bodyReceived = (source: Readable) =>
  Effect.async<void>((resume) => {
    if (source.readableEnded) return resume(Effect.void)
    const ended = () => resume(Effect.void)
    source.once("end", ended)
    return Effect.sync(() => source.off("end", ended))
  })

/** The request's parts, failing with a MultipartError where the parser would die or wait for ever. */
const partsOf = (request: HttpServerRequest.HttpServerRequest): Stream.Stream<Multipart.Part, Multipart.MultipartError> => {
  const stuck = bodyReceived(NodeHttpServerRequest.toIncomingMessage(request)).pipe(
    Effect.zipRight(Effect.sleep(PARSER_GRACE)),
    Effect.zipRight(Effect.failSync(() => Option.some(malformed("EndNotReached")))),
    // The batch route runs uninterruptibly; the watch must still stop when its part arrives.
    Effect.interruptible
  )
  const parts = Stream.catchAllCause(request.multipartStream, (cause) =>
    Option.exists(Cause.dieOption(cause), isMissingBoundary) ? Stream.fail(malformed("InvalidBoundary")) : Stream.failCause(cause))
  // Both sides of the race interruptible, or the loser would be awaited for ever: the batch route
  // runs uninterruptibly, and a pull the parser never answers is the very case the watch is for.
  return Stream.unwrapScoped(Effect.map(Stream.toPull(parts), (pull) =>
    Stream.repeatEffectChunkOption(Effect.raceFirst(Effect.interruptible(pull), stuck))))
}

/** The request with body accessors that check, cap and parse; everything else is the request itself. */
const guarded = (
  request: HttpServerRequest.HttpServerRequest,
  declared: ReadonlyMap<string, ReadonlyArray<string>>
): HttpServerRequest.HttpServerRequest => {
  const mediaType = mediaTypeOf(request)

  const checkMediaType = Effect.gen(function*() {
    const route = yield* Effect.serviceOption(HttpRouter.RouteContext)
    if (Option.isNone(route)) return
    const takes = declared.get(`${route.value.route.method} ${route.value.route.path}`)
    if (takes === undefined || takes.includes(mediaType)) return
    return yield* refuse(new UnsupportedMediaType({
      message: `${request.method} ${route.value.route.path} takes ${takes.join(" or ")}, not ${mediaType}`
    }))
  })

  const readCapped = Effect.gen(function*() {
    const cap = Option.map(yield* HttpIncomingMessage.MaxBodySize, Number)
    const limit = Option.getOrElse(cap, () => Infinity)
    const { chunks, size } = yield* request.stream.pipe(
      Stream.catchAll(() => Stream.fromEffect(refuse(new BadRequest({ message: "the request body could not be read to its end" })))),
      Stream.runFoldEffect({ chunks: [] as Array<Uint8Array>, size: 0 }, (acc, chunk) => {
        acc.size += chunk.byteLength
        if (acc.size > DRAIN_FACTOR * limit) return refuse(tooLarge(limit))
        if (acc.size <= limit) acc.chunks.push(chunk)
        return Effect.succeed(acc)
      })
    )
    if (size > limit) return yield* refuse(tooLarge(limit))
    return Buffer.concat(chunks)
  })

  // Read once, whichever accessor asks first.
  let body: Effect.Effect<Buffer> | undefined
  const bytes = Effect.suspend(() => (body ??= Effect.runSync(Effect.cached(Effect.zipRight(checkMediaType, readCapped)))))
  const text = Effect.map(bytes, (buffer) => buffer.toString("utf8"))

  const overrides: Partial<Record<keyof HttpServerRequest.HttpServerRequest, unknown>> = {
    text,
    arrayBuffer: Effect.map(bytes, (buffer) => buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength)),
    json: Effect.flatMap(text, (value) => {
      if (value === "") return Effect.succeed(null)
      try {
        return Effect.succeed(JSON.parse(value) as unknown)
      } catch (e) {
        return refuse(new BadRequest({ message: `the body is not valid JSON: ${(e as Error).message}` }))
      }
    }),
    urlParamsBody: Effect.map(text, (value) => UrlParams.fromInput(new URLSearchParams(value))),
    // Built when asked for: most requests are not multipart, and building the parts' stream costs
    // about a third of a millisecond (bench ingest --scenario single).
    get multipart() {
      return Effect.zipRight(checkMediaType, Effect.catchTag(Multipart.toPersisted(partsOf(request)), "MultipartError", multipartRefusal))
    },
    // Read by routes that take their own body (the batch), which answer its errors themselves.
    get multipartStream() {
      return partsOf(request)
    }
  }

  return new Proxy(request, {
    get: (target, property) =>
      Object.hasOwn(overrides, property) ? overrides[property as keyof typeof overrides] : Reflect.get(target, property, target)
  })
}

const tooLarge = (limit: number) => new PayloadTooLarge({ message: `a request body here may be at most ${kib(limit)}` })

/** The middleware for an API that declares the refusals among its own errors; provide it with the API's groups. */
export const requestBodies = <Id extends string, Groups extends HttpApiGroup.HttpApiGroup.Any, E, R>(
  api: HttpApi.HttpApi<Id, Groups, E | Refusal, R>
) =>
  HttpApiBuilder.middleware(
    api,
    Effect.sync(() => {
      const declared = declaredMediaTypes(api)
      return (app: HttpApp.Default): HttpApp.Default<Refusal> =>
        Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
          Effect.provideService(app, HttpServerRequest.HttpServerRequest, guarded(request, declared))).pipe(
            Effect.catchSomeDefect((defect) => defect instanceof BodyRefused ? Option.some(Effect.fail(defect.error)) : Option.none())
          )
    })
  )

export const RequestBodiesLayer = requestBodies(AlprApi)
