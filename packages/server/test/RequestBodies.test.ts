import { BadRequest, PayloadTooLarge, UnsupportedMediaType } from "@chaverim/domain/Errors"
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import { NodeHttpServer } from "@effect/platform-node"
import { expect, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { requestBodies } from "../src/http/RequestBodies"

/**
 * The request-body middleware on an API of its own: one JSON endpoint and one that the platform
 * decodes as multipart (the ALPR contract has none, its batch reads its own body), under a 1 KiB cap.
 */
class Probe extends HttpApiGroup.make("probe")
  .add(HttpApiEndpoint.post("json", "/json").setPayload(Schema.Struct({ n: Schema.Number })).addSuccess(Schema.Number))
  .add(
    HttpApiEndpoint.post("form", "/form")
      .setPayload(HttpApiSchema.Multipart(Schema.Struct({ note: Schema.String }), { maxParts: Option.some(2) }))
      .addSuccess(Schema.String)
  )
{}
class ProbeApi extends HttpApi.make("probe").add(Probe).addError(BadRequest).addError(PayloadTooLarge).addError(UnsupportedMediaType) {}

const ProbeLayer = HttpApiBuilder.group(ProbeApi, "probe", (handlers) =>
  handlers.handle("json", ({ payload }) => Effect.succeed(payload.n)).handle("form", ({ payload }) => Effect.succeed(payload.note)))

const CAP = 1024

const TestServer = HttpApiBuilder.serve((app) =>
  Effect.provideService(app, HttpIncomingMessage.MaxBodySize, Option.some(FileSystem.Size(CAP)))).pipe(
    Layer.provide(HttpApiBuilder.api(ProbeApi).pipe(Layer.provide(ProbeLayer), Layer.provide(requestBodies(ProbeApi)))),
    Layer.provideMerge(NodeHttpServer.layerTest)
  )

const post = (path: string, contentType: string, body: string | Stream.Stream<Uint8Array>) =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const request = typeof body === "string"
      ? HttpClientRequest.post(path).pipe(HttpClientRequest.bodyText(body, contentType))
      : HttpClientRequest.post(path).pipe(HttpClientRequest.bodyStream(body, { contentType }))
    const response = yield* client.execute(request)
    const text = yield* response.text
    return { status: response.status, text }
  }).pipe(Effect.scoped)

const part = (name: string, value: string) => `--B\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`

/** What a refusal says, which must be something. */
const messageOf = (text: string) => (JSON.parse(text) as { message: string }).message

// Real time: the server gives a stuck multipart parser a second after the body has arrived.
layer(TestServer, { excludeTestServices: true })("request bodies", (it) => {
  it.effect("takes the content types the payload declares", () =>
    Effect.gen(function*() {
      expect(yield* post("/json", "application/json", `{"n": 7}`)).toEqual({ status: 200, text: "7" })
      expect(yield* post("/form", "multipart/form-data; boundary=B", part("note", "hi") + "--B--\r\n"))
        .toEqual({ status: 200, text: `"hi"` })
    }))

  it.effect("refuses any other with 415 naming those it takes", () =>
    Effect.gen(function*() {
      const multipart = yield* post("/json", "multipart/form-data; boundary=B", `{"n": 7}`)
      expect(multipart.status).toBe(415)
      expect(messageOf(multipart.text)).toBe("POST /json takes application/json, not multipart/form-data")
      // A form post must not pass for the JSON the endpoint declares.
      expect((yield* post("/json", "application/x-www-form-urlencoded", "n=7")).status).toBe(415)
      expect((yield* post("/json", "text/plain", `{"n": 7}`)).status).toBe(415)
      expect((yield* post("/form", "application/json", `{"note": "hi"}`)).status).toBe(415)
    }))

  it.effect("answers malformed JSON with 400 and what the parser said", () =>
    Effect.gen(function*() {
      const broken = yield* post("/json", "application/json", `{"n": `)
      expect(broken.status).toBe(400)
      expect(messageOf(broken.text)).toMatch(/^the body is not valid JSON: /)
    }))

  it.effect("answers malformed multipart with 400, too many parts with 413", () =>
    Effect.gen(function*() {
      const noBoundary = yield* post("/form", "multipart/form-data", part("note", "hi"))
      expect(noBoundary.status).toBe(400)
      expect(messageOf(noBoundary.text)).toMatch(/^the multipart body is malformed/)
      const truncated = yield* post("/form", "multipart/form-data; boundary=B", `--B\r\nContent-Disposition: form-da`)
      expect(truncated.status).toBe(400)
      expect(messageOf(truncated.text)).toBe("the multipart body is malformed: it ends before its closing boundary")
      // Cut after a boundary: the platform's parser would wait for ever.
      expect((yield* post("/form", "multipart/form-data; boundary=B", part("note", "hi") + "--B")).status).toBe(400)
      const many = yield* post("/form", "multipart/form-data; boundary=B", part("a", "1") + part("b", "2") + part("note", "3") + "--B--\r\n")
      expect(many.status).toBe(413)
    }))

  it.effect("answers a chunked body over the cap with 413, not a dropped connection", () =>
    Effect.gen(function*() {
      const chunk = new TextEncoder().encode(`{"n": 1, "pad": "${"x".repeat(CAP)}"}`)
      const response = yield* post("/json", "application/json", Stream.make(chunk.subarray(0, 100), chunk.subarray(100)))
      expect(response.status).toBe(413)
      expect(messageOf(response.text)).toBe("a request body here may be at most 1 KiB")
    }))
})
