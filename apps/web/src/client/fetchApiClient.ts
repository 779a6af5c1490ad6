import * as HttpApi from "@effect/platform/HttpApi"
import type * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import type * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as HttpMethod from "@effect/platform/HttpMethod"
import * as UrlParams from "@effect/platform/UrlParams"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as AST from "effect/SchemaAST"
import type { Simplify } from "effect/Types"

// A client of an HttpApi contract over the browser's fetch, for the first page: HttpApiClient.make's
// work (@effect/platform, HttpApiClient.ts) without @effect/platform's HttpClient, whose responses carry
// Effect's streams: 17 KiB gzipped of the first load that signing in and searching do not need. Like
// HttpApiClient it is derived from the contract: each endpoint's path, parameters, headers and payload
// are encoded with its schemas, and its answer is decoded by its status with the success or error
// schema the contract gives that status (errors of the API, the group and the middleware included).

/** The request did not reach the server, or its answer did not arrive (HttpClientError's RequestError). */
export class RequestError extends Data.TaggedError("RequestError")<{ readonly cause: unknown }> {}

/** An answer with a status the contract does not give the endpoint, or a body that could not be read. */
export class ResponseError extends Data.TaggedError("ResponseError")<{
  readonly status: number
  readonly reason: "StatusCode" | "Decode"
}> {}

type Method<Endpoint, E> = [Endpoint] extends [
  HttpApiEndpoint.HttpApiEndpoint<
    infer _Name, infer _Method, infer _Path, infer _UrlParams, infer _Payload, infer _Headers, infer _Success, infer _Error,
    infer _R, infer _RE
  >
] ? (request: Simplify<HttpApiEndpoint.HttpApiEndpoint.ClientRequest<_Path, _UrlParams, _Payload, _Headers, false>>) =>
    Effect.Effect<_Success, _Error | E | RequestError | ResponseError | ParseResult.ParseError>
  : never

/** As HttpApiClient.Client: `client.auth.login({ payload })`, one method per endpoint of each group. */
export type FetchApiClient<Groups extends HttpApiGroup.HttpApiGroup.Any, E> = {
  readonly [Group in Groups as HttpApiGroup.HttpApiGroup.Name<Group>]: {
    readonly [Endpoint in HttpApiGroup.HttpApiGroup.Endpoints<Group> as HttpApiEndpoint.HttpApiEndpoint.Name<Endpoint>]:
      Method<Endpoint, E | HttpApiGroup.HttpApiGroup.Error<Group>>
  }
}

interface Request {
  readonly path?: unknown
  readonly urlParams?: unknown
  readonly headers?: unknown
  readonly payload?: unknown
}

type Answer = (response: Response) => Effect.Effect<unknown, unknown>

const unsupported = (what: string) => () => Effect.dieMessage(`${what} is not supported by the fetch client (client/fetchApiClient.ts)`)

/** "" for an empty body, as HttpApiClient reads one: void answers and empty-decodeable schemas. */
const JsonOrEmpty = Schema.transformOrFail(Schema.String, Schema.Unknown, {
  strict: true,
  decode: (text, _, ast) =>
    text === ""
      ? ParseResult.succeed(undefined)
      : ParseResult.try({ try: () => JSON.parse(text), catch: () => new ParseResult.Type(ast, text, "Could not parse JSON") }),
  encode: (value, _, ast) => ParseResult.fail(new ParseResult.Forbidden(ast, value, "decode only"))
})

/** A body's schema from its text: JSON and text answers (every answer of the contracts the web app calls). */
const fromText = (ast: AST.AST, encoding: HttpApiSchema.Encoding): Option.Option<Schema.Schema<unknown, string>> => {
  if (ast._tag === "Union") {
    const members = Option.all(ast.types.map((member) => fromText(member, HttpApiSchema.getEncoding(member, encoding))))
    return Option.map(members, (schemas) => Schema.Union(...schemas))
  }
  const schema = Schema.make<unknown, unknown>(ast)
  switch (encoding.kind) {
    case "Json":
      return Option.some(Schema.compose(JsonOrEmpty, schema))
    case "Text":
      return Option.some(schema as Schema.Schema<unknown, string>)
    default:
      return Option.none()
  }
}

const readBody = (ast: AST.AST): Answer =>
  Option.match(fromText(ast, HttpApiSchema.getEncoding(ast)), {
    onNone: () => unsupported(`An answer encoded as ${HttpApiSchema.getEncoding(ast).kind}`),
    onSome: (schema) => {
      const decode = Schema.decode(schema)
      return (response) =>
        Effect.tryPromise({
          try: () => response.text(),
          catch: () => new ResponseError({ status: response.status, reason: "Decode" })
        }).pipe(Effect.flatMap(decode))
    }
  })

/** `/api/v1/detections/:id` with `{ id: "7" }`: the path parameters as encoded, unescaped, as HttpApiClient does. */
const compilePath = (path: string) => {
  const segments = path.split(/:(\w+)\??/g)
  return (params: Readonly<Record<string, string>>) =>
    segments.map((segment, i) => (i % 2 === 0 ? segment : params[segment])).join("")
}

/** A JSON body, the only payload encoding of the contracts the web app calls. */
const jsonPayload = (ast: AST.AST) =>
  (ast._tag === "Union" ? ast.types : [ast]).every((member) => HttpApiSchema.getEncoding(member).kind === "Json")
    ? Option.some(HttpApiSchema.getEncoding(ast).contentType)
    : Option.none()

/**
 * The client of `api`: every request goes to `baseUrl` with `headers()` (read at each request), as
 * HttpApiClient.make(api, { baseUrl }) over FetchHttpClient sends it.
 */
export const make = <ApiId extends string, Groups extends HttpApiGroup.HttpApiGroup.Any, ApiError, ApiR>(
  api: HttpApi.HttpApi<ApiId, Groups, ApiError, ApiR>,
  options: { readonly baseUrl: string; readonly headers: () => Readonly<Record<string, string>> }
): FetchApiClient<Groups, ApiError> => {
  const client: Record<string, Record<string, (request?: Request) => Effect.Effect<unknown, unknown>>> = {}
  HttpApi.reflect(api, {
    onGroup: ({ group }) => {
      if (group.topLevel) throw new Error(`${group.identifier}: top-level groups are not supported by the fetch client`)
      client[group.identifier] = {}
    },
    onEndpoint: ({ group, endpoint, successes, errors }) => {
      // Errors first, then successes, as HttpApiClient does (a success wins a status both declare).
      const answers = new Map<number, Answer>()
      errors.forEach(({ ast }, status) =>
        answers.set(status, Option.match(ast, {
          onNone: () => (response) => Effect.fail(new ResponseError({ status: response.status, reason: "StatusCode" })),
          onSome: (ast) => {
            const read = readBody(ast)
            return (response) => Effect.flatMap(read(response), Effect.fail)
          }
        })))
      successes.forEach(({ ast }, status) => answers.set(status, Option.match(ast, { onNone: () => () => Effect.void, onSome: readBody })))
      const otherStatus: Answer = (response) => Effect.fail(new ResponseError({ status: response.status, reason: "Decode" }))

      const makePath = compilePath(endpoint.path)
      const encodePath = Option.map(endpoint.pathSchema, Schema.encodeUnknown)
      const encodeUrlParams = Option.map(endpoint.urlParamsSchema, Schema.encodeUnknown)
      const encodeHeaders = Option.map(endpoint.headersSchema, Schema.encodeUnknown)
      const encodePayload = Option.map(endpoint.payloadSchema, Schema.encodeUnknown)
      const hasBody = HttpMethod.hasBody(endpoint.method)
      const contentType = Option.flatMap(endpoint.payloadSchema, (schema) => jsonPayload(schema.ast))
      if (hasBody && Option.isSome(endpoint.payloadSchema) && Option.isNone(contentType)) {
        client[group.identifier]![endpoint.name] = unsupported(`${group.identifier}.${endpoint.name}'s payload encoding`)
        return
      }

      client[group.identifier]![endpoint.name] = Effect.fnUntraced(function*(request?: Request) {
        const path = request?.path === undefined
          ? endpoint.path
          : makePath((Option.isSome(encodePath) ? yield* encodePath.value(request.path) : request.path) as Record<string, string>)
        const url = new URL(options.baseUrl + path)
        const headers: Record<string, string> = {}
        let body: BodyInit | null = null
        if (request?.payload instanceof FormData) {
          body = request.payload
        } else if (Option.isSome(encodePayload)) {
          const encoded = yield* encodePayload.value(request?.payload)
          if (hasBody) {
            body = JSON.stringify(encoded)
            headers["content-type"] = Option.getOrThrow(contentType)
          } else {
            url.search = ""
            appendParams(url, encoded)
          }
        }
        if (Option.isSome(encodeHeaders)) Object.assign(headers, yield* encodeHeaders.value(request?.headers))
        Object.assign(headers, options.headers())
        if (Option.isSome(encodeUrlParams)) appendParams(url, yield* encodeUrlParams.value(request?.urlParams))
        const response = yield* Effect.tryPromise({
          try: (signal) => fetch(url, { method: endpoint.method, headers, body, signal }),
          catch: (cause) => new RequestError({ cause })
        })
        return yield* (answers.get(response.status) ?? otherStatus)(response)
      })
    }
  })
  return client as unknown as FetchApiClient<Groups, ApiError>
}

const appendParams = (url: URL, encoded: unknown) => {
  for (const [key, value] of UrlParams.fromInput(encoded as UrlParams.Input)) url.searchParams.append(key, value)
}
