import { LIVE_PATH } from "@chaverim/domain/Alerts"
import { AlprApi } from "@chaverim/domain/Api"
import { AdminAuth, CollectorAuth, OperatorAuth, ViewerAuth } from "@chaverim/domain/Auth"
import { RPC_PATH } from "@chaverim/domain/Rpc"
import type * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import type * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as Arbitrary from "effect/Arbitrary"
import * as fc from "effect/FastCheck"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { createHash, randomBytes } from "node:crypto"
import * as Http from "node:http"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { detection, startServer, type TestServer } from "./harness"
import { concretePath as pathOf } from "./contract"

/**
 * Hostile traffic against every endpoint of the contract: random bodies, content types and
 * credentials. Whatever arrives, the answer is never a 5xx, a refused body says why, the server keeps
 * serving, and nothing reaches the evidence tables (no generator here makes a valid event).
 */

// Sized for a 2-core machine shared with other work: well under a minute.
const RUNS = 500

interface Target {
  readonly name: string
  readonly method: string
  readonly path: string
  /** The credential that gets a request past the endpoint's access check to its body. */
  readonly key: "collector key" | "session and CSRF" | "none"
  /** A JSON body of the right shape for the endpoint, if it takes one (never for the batch: that would store). */
  readonly wellFormed: Option.Option<fc.Arbitrary<unknown>>
}

const PATH_VALUES: Record<string, ReadonlyArray<string>> = {
  id: ["1", "00000000-0000-4000-8000-000000000001"],
  kind: ["plate", "scene"],
  plate: ["ABC123"]
}

const concretePath = (endpoint: HttpApiEndpoint.HttpApiEndpoint.AnyWithProps) => pathOf(endpoint, PATH_VALUES)

const contractTargets: ReadonlyArray<Target> = Object.values(AlprApi.groups).flatMap((g) => {
  const group = g as unknown as HttpApiGroup.HttpApiGroup.AnyWithProps
  return Object.values(group.endpoints).map((e): Target => {
    const endpoint = e as HttpApiEndpoint.HttpApiEndpoint.AnyWithProps
    const middlewares = new Set<unknown>([...group.middlewares, ...endpoint.middlewares])
    return {
      name: `${group.identifier}.${endpoint.name}`,
      method: endpoint.method,
      path: concretePath(endpoint),
      key: middlewares.has(CollectorAuth)
        ? "collector key"
        : [ViewerAuth, OperatorAuth, AdminAuth].some((auth) => middlewares.has(auth))
        ? "session and CSRF"
        : "none",
      wellFormed: group.identifier === "ingest"
        ? Option.none()
        : Option.map(endpoint.payloadSchema, (schema) => Arbitrary.make(Schema.encodedSchema(schema as Schema.Schema<unknown>)))
    }
  })
})

/** The WebSocket endpoints live beside the contract; asked over plain HTTP they must refuse cleanly too. */
const targets: ReadonlyArray<Target> = [
  ...contractTargets,
  ...[["GET", RPC_PATH], ["POST", RPC_PATH], ["GET", LIVE_PATH], ["POST", LIVE_PATH]].map(([method, path]): Target => ({
    name: `${method} ${path}`,
    method: method!,
    path: path!,
    key: "session and CSRF",
    wellFormed: Option.none()
  }))
]

// ---------------------------------------------------------------------------------------------------
// Bodies

const printable = (maxLength: number) =>
  fc.array(fc.integer({ min: 0x20, max: 0x7e }), { maxLength }).map((codes) => String.fromCharCode(...codes))

const jsonText = fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value) ?? "null")

/** Shapes the server knows, so that truncation and wrong types land near real parsers. */
const knownShapes = [
  { username: "admin", password: "correct horse battery staple" },
  { code: "123456" },
  { claim_code: "ABCD-EFGH", hardware_id: "hw-1" },
  { events: [detection()] },
  { current_password: "a", new_password: "b" },
  { plate: "ABC123", reason_code: "investigation", reason: "case 1", case_number: "2026-1" }
].map((shape) => JSON.stringify(shape))

/** An event that can never be stored: one required field missing or of the wrong type. */
const brokenEvent = fc.constantFrom<(event: Record<string, unknown>) => Record<string, unknown>>(
  ({ detection_id: _, ...rest }) => rest,
  (event) => ({ ...event, detection_id: 42 }),
  (event) => ({ ...event, timestamp: "yesterday" }),
  (event) => ({ ...event, plate: "ABC123" }),
  (event) => ({ ...event, plate: { text: ["ABC"], confidence: 0.9 } }),
  (event) => ({ ...event, camera: null }),
  ({ camera: _, ...rest }) => rest
).map((breakIt) => JSON.stringify({ events: [breakIt(detection())] }))

const BOUNDARY = "fuzzBoundary7MA4YWxkTrZu0gW"
const multipartBody = (boundary: string, parts: ReadonlyArray<readonly [string, string]>, close: boolean) =>
  parts.map(([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`).join("") +
  (close ? `--${boundary}--\r\n` : "")

const bogusMultipart = fc.oneof(
  // well framed, wrong content
  fc.tuple(fc.array(fc.tuple(fc.constantFrom("batch", "plate:x", "scene:x", "username", "code"), jsonText), { maxLength: 3 }), fc.boolean())
    .map(([parts, close]) => multipartBody(BOUNDARY, parts, close)),
  // framed with another boundary than announced
  jsonText.map((value) => multipartBody("someOtherBoundary", [["batch", value]], true)),
  // cut anywhere before the closing boundary (a batch cut after it could be whole, and valid)
  fc.tuple(fc.constantFrom(...knownShapes), fc.nat()).map(([value, n]) => {
    const open = multipartBody(BOUNDARY, [["batch", value]], false)
    return open.slice(0, n % open.length)
  }),
  printable(300).map((junk) => `--${BOUNDARY}\r\n${junk}`)
)

const body: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  fc.constant(""),
  fc.uint8Array({ maxLength: 4096 }),
  // truncated JSON: strictly shorter, so never the valid batch among the known shapes
  fc.tuple(fc.oneof(fc.constantFrom(...knownShapes), jsonText), fc.nat()).map(([text, n]) => text.slice(0, n % text.length)),
  jsonText,
  fc.tuple(fc.constantFrom(...knownShapes), fc.jsonValue({ maxDepth: 2 })).map(([shape, value]) =>
    JSON.stringify(Object.fromEntries(Object.keys(JSON.parse(shape) as object).map((key) => [key, value])))),
  brokenEvent,
  fc.integer({ min: 1_000, max: 300_000 }).chain((n) =>
    fc.constantFrom("x".repeat(n), JSON.stringify({ username: "u".repeat(n), password: "p" }), `"${"s".repeat(n)}"`)),
  bogusMultipart
)

const contentType: fc.Arbitrary<string | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom(
    "application/json",
    "application/json; charset=utf-8",
    "APPLICATION/JSON",
    "multipart/form-data",
    `multipart/form-data; boundary=${BOUNDARY}`,
    "multipart/form-data; boundary=",
    "multipart/form-data; boundary=someOtherBoundary",
    "application/x-www-form-urlencoded",
    "text/plain",
    "text/plain; charset=utf-8",
    "application/octet-stream",
    "image/jpeg",
    "application/xml",
    "application/merge-patch+json",
    ""
  ),
  printable(60)
)

// ---------------------------------------------------------------------------------------------------
// Credentials

type Credential = "none" | "bogus bearer" | "collector key" | "session" | "session and CSRF" | "bogus cookie"
const credential = fc.constantFrom<Credential>("none", "bogus bearer", "collector key", "session", "session and CSRF", "bogus cookie")
const role = fc.constantFrom("viewer", "operator", "admin")

// ---------------------------------------------------------------------------------------------------

/** The `message` of a JSON error answer; empty when there is none. */
const messageOf = (text: string) => {
  try {
    const message = (JSON.parse(text) as { message?: unknown } | null)?.message
    return typeof message === "string" ? message : ""
  } catch {
    return ""
  }
}

interface Answer {
  readonly status: number
  readonly text: string
}

/**
 * One request over its own connection, with exactly the headers given: chunked or with a declared
 * length, so both of the server's size checks are reached.
 */
const send = (
  url: string,
  request: { method: string; path: string; headers: Record<string, string>; body: string | Uint8Array; chunked: boolean }
) =>
  new Promise<Answer>((resolve, reject) => {
    const bytes = typeof request.body === "string" ? Buffer.from(request.body, "utf8") : Buffer.from(request.body)
    const hasBody = bytes.length > 0 || !["GET", "HEAD"].includes(request.method)
    // Node would send a GET's body unframed (it chunks only methods that usually carry one).
    const framing = request.chunked ? { "transfer-encoding": "chunked" } : { "content-length": String(bytes.length) }
    const headers = { ...request.headers, ...(hasBody ? framing : {}) }
    const outgoing = Http.request(`${url}${request.path}`, { method: request.method, headers, agent: false }, (response) => {
      const chunks: Array<Buffer> = []
      response.on("data", (chunk: Buffer) => chunks.push(chunk))
      response.on("end", () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }))
      response.on("error", reject)
    })
    outgoing.setTimeout(15_000, () => outgoing.destroy(new Error("no answer within 15 s")))
    outgoing.on("error", reject)
    if (request.chunked && bytes.length > 1) {
      outgoing.write(bytes.subarray(0, bytes.length >> 1))
      outgoing.end(bytes.subarray(bytes.length >> 1))
    } else {
      outgoing.end(bytes)
    }
  })

describe("fuzzing every endpoint", () => {
  let server: TestServer
  let apiKey: string

  /** A fresh session each time: a fuzzed logout or password change ends the one it used. */
  const newSession = async (userRole: string) => {
    const token = randomBytes(32).toString("base64url")
    const csrf = randomBytes(16).toString("base64url")
    const { rows } = await server.db.query<{ id: string }>(
      "INSERT INTO users (username, role, must_change_password) VALUES ($1, $2, false) RETURNING id",
      [`fuzz-${randomBytes(6).toString("hex")}`, userRole]
    )
    await server.db.query(
      "INSERT INTO sessions (token_hash, user_id, expires_at, csrf_token) VALUES ($1, $2, now() + interval '1 hour', $3)",
      [createHash("sha256").update(token).digest("hex"), rows[0]!.id, csrf]
    )
    return { cookie: `alpr_session=${token}`, csrf }
  }

  const credentialHeaders = async (kind: Credential, userRole: string): Promise<Record<string, string>> => {
    switch (kind) {
      case "none":
        return {}
      case "bogus bearer":
        return { authorization: `Bearer ${randomBytes(24).toString("base64url")}` }
      case "collector key":
        return { authorization: `Bearer ${apiKey}` }
      case "bogus cookie":
        return { cookie: `alpr_session=${randomBytes(32).toString("base64url")}; alpr_preauth=${randomBytes(8).toString("hex")}` }
      case "session":
        return { cookie: (await newSession(userRole)).cookie }
      case "session and CSRF": {
        const { cookie, csrf } = await newSession(userRole)
        return { cookie, "x-csrf-token": csrf }
      }
    }
  }

  const evidenceRows = async () => {
    const { rows } = await server.db.query<{ detections: string; images: string }>(
      "SELECT (SELECT count(*) FROM detections) AS detections, (SELECT count(*) FROM detection_images) AS images"
    )
    return rows[0]
  }

  beforeAll(async () => {
    server = await startServer()
    apiKey = (await server.collector("fuzz collector")).apiKey
  })
  afterAll(() => server?.close())

  it("answers random bodies, content types and credentials with a 4xx that says why, never a 5xx", async () => {
    const before = await evidenceRows()
    const statuses = new Map<number, number>()
    const reached = new Set<string>()

    const request = fc.record({
      target: fc.constantFrom(...targets),
      body: fc.option(body, { freq: 8 }),
      contentType,
      // Mostly the key that opens the endpoint (as an admin), or the fuzz would stop at 401.
      credential: fc.oneof({ weight: 2, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: credential }),
      role: fc.oneof({ weight: 2, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: role }),
      chunked: fc.boolean(),
      query: fc.option(printable(40).map(encodeURI), { freq: 4 })
    }).chain((r) =>
      Option.match(r.target.wellFormed, {
        onNone: () => fc.constant(r),
        // Now and then a body of the right shape, so that the handlers behind the decoder are reached too.
        onSome: (wellFormed) =>
          fc.option(wellFormed.map((value) => JSON.stringify(value) ?? ""), { freq: 3 })
            .map((shaped) => (shaped === null ? r : { ...r, body: shaped, contentType: "application/json" }))
      }))

    // FUZZ_SEED=<seed> replays a failing run's whole sequence (one request alone may not fail).
    await fc.assert(
      fc.asyncProperty(request, async ({ body: sent, chunked, contentType: type, credential, query, role: userRole, target }) => {
        const kind = credential ?? target.key
        const headers = {
          ...(await credentialHeaders(kind, userRole ?? "admin")),
          ...(type === undefined ? {} : { "content-type": type })
        }
        const path = target.path + (query === null ? "" : `?${query}`)
        const answer = await send(server.url, { method: target.method, path, headers, body: sent ?? "", chunked })
        const what = `${target.method} ${path} as ${kind}, content-type ${JSON.stringify(type)}, ` +
          `${chunked ? "chunked" : "sized"} body ${JSON.stringify(typeof sent === "string" ? sent.slice(0, 200) : sent?.length)}: ` +
          `${answer.status} ${answer.text.slice(0, 300)}`
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1)
        reached.add(target.name)
        expect(answer.status, what).toBeGreaterThanOrEqual(200)
        expect(answer.status, what).toBeLessThan(500)
        expect(answer.text, what).not.toMatch(/\bat .+\.(ts|js):\d+/)
        if ([400, 413, 415].includes(answer.status)) {
          expect(messageOf(answer.text), `a refusal says why: ${what}`).not.toBe("")
        }
      }),
      { numRuns: RUNS, endOnFailure: true, ...(process.env.FUZZ_SEED ? { seed: Number(process.env.FUZZ_SEED) } : {}) }
    )

    const health = await fetch(`${server.url}/health`)
    expect(health.status).toBe(200)
    expect(await evidenceRows()).toEqual(before)
    // The fuzz proves little unless it reached every endpoint, and got past the credentials checks
    // to the size caps and the decoders.
    expect(targets.filter((t) => !reached.has(t.name)).map((t) => t.name)).toEqual([])
    expect([...statuses.keys()], JSON.stringify(Object.fromEntries(statuses))).toEqual(expect.arrayContaining([400, 401, 413, 415]))
  }, 120_000)
})
