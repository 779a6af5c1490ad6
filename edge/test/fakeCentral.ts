import { Detection } from "@chaverim/domain/Detection"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as Http from "node:http"
import type * as Net from "node:net"

/**
 * A fake central server for the uploader and the collector's claim: a real HTTP server on 127.0.0.1
 * that speaks the collectors' contract (`POST /api/v1/collectors/claim`, single use, answered with
 * `apiKey`, or 404/409 as the real one refuses an unknown or used code; `POST
 * /api/v1/collectors/heartbeat` with that key, no commands) and the ingest
 * contract, `POST /api/v1/detections/batch` with `{events}` as JSON or as the `batch` part of a
 * multipart body (photos in `plate:<id>` / `scene:<id>` parts), answering
 * `{accepted, duplicates, rejected, errors}` like the real one: a detection_id it already stored is a
 * duplicate, an event that is not a valid Detection is rejected with its index. What it answers to
 * each batch (a 503 with Retry-After, a 413, a delay, the X-Backpressure header) is up to the test.
 */

export interface BatchSeen {
  /** arrival order, from 0 */
  readonly index: number
  /** Date.now() when the request arrived, before its body was read */
  readonly at: number
  readonly ids: ReadonlyArray<string>
  /** names of the photo parts */
  readonly photos: ReadonlyArray<string>
}

export interface Reply {
  /** 200 (the default) stores the batch; anything else stores nothing */
  readonly status?: number
  readonly headers?: Readonly<Record<string, string>>
  /** the body of an answer other than 200 */
  readonly body?: string
  /** X-Backpressure of the answer, 0..1 (default 0) */
  readonly backpressure?: number
  /** resolves when the answer may go out */
  readonly hold?: Promise<void>
}

export interface Answered extends BatchSeen {
  readonly status: number
  /** Date.now() when the answer went out */
  readonly answeredAt: number
}

export interface FakeCentral {
  readonly url: string
  readonly apiKey: string
  /** the claim requests that arrived, in order */
  readonly claims: ReadonlyArray<Record<string, unknown>>
  /** the heartbeats that arrived with the API key, in order */
  readonly heartbeats: ReadonlyArray<Record<string, unknown>>
  /** every batch answered, in the order the answers went out */
  readonly answered: ReadonlyArray<Answered>
  /** how many times each detection_id arrived in a batch answered 200, stored or duplicate */
  readonly deliveries: ReadonlyMap<string, number>
  /** duplicates counted across all answers */
  readonly duplicates: () => number
  readonly close: () => Promise<void>
}

const bodyOf = (req: Http.IncomingMessage) =>
  new Promise<Buffer>((resolve, reject) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => resolve(Buffer.concat(chunks)))
    req.on("error", reject)
  })

/** The events and photo part names of a batch body, either encoding. */
const parseBatch = async (contentType: string, body: Buffer) => {
  if (contentType.startsWith("application/json")) {
    return { events: (JSON.parse(body.toString("utf8")) as { events: ReadonlyArray<unknown> }).events, photos: [] }
  }
  // The WHATWG multipart parser, as a stranger's server would use one.
  const form = await new Request("http://central/", { method: "POST", headers: { "content-type": contentType }, body }).formData()
  const batch = form.get("batch")
  if (batch === null || typeof batch === "string") throw new Error("no batch part")
  const { events } = JSON.parse(await batch.text()) as { events: ReadonlyArray<unknown> }
  return { events, photos: [...form.keys()].filter((k) => k !== "batch") }
}

const decodeDetection = Schema.decodeUnknownEither(Detection)

export const startFakeCentral = async (
  reply: (batch: BatchSeen) => Reply = () => ({}),
  apiKey = "test-api-key",
  /** the one claim code it takes (none when not given), as `alpr collector create` makes them */
  claimCode?: string
): Promise<FakeCentral> => {
  const claims: Array<Record<string, unknown>> = []
  const heartbeats: Array<Record<string, unknown>> = []
  let claimed = false
  const stored = new Set<string>()
  const deliveries = new Map<string, number>()
  const answered: Array<Answered> = []
  let arrivals = 0
  let duplicates = 0

  const server = Http.createServer(async (req, res) => {
    const at = Date.now()
    const send = (status: number, headers: Record<string, string>, body: string, seen?: BatchSeen) => {
      if (seen !== undefined) answered.push({ ...seen, status, answeredAt: Date.now() })
      res.writeHead(status, headers).end(body)
    }
    const json = (status: number, value: unknown) => send(status, { "content-type": "application/json" }, JSON.stringify(value))
    if (req.method === "POST" && req.url === "/api/v1/collectors/claim") {
      const body = JSON.parse((await bodyOf(req)).toString("utf8")) as Record<string, unknown>
      claims.push(body)
      // The real server forgives case and spaces in a code; so does this one.
      const code = String(body["claim_code"] ?? "").toUpperCase().replace(/\s/g, "")
      if (claimCode === undefined || code !== claimCode) return json(404, { _tag: "ClaimCodeUnknown", message: "unknown claim code" })
      if (claimed) return json(409, { _tag: "ClaimCodeUsed", message: "this claim code has been used" })
      claimed = true
      return json(201, { collector_id: "fake-collector", api_key: apiKey })
    }
    const authorized = req.headers.authorization === `Bearer ${apiKey}`
    if (req.method === "POST" && req.url === "/api/v1/collectors/heartbeat") {
      if (!authorized) return json(401, { _tag: "Unauthorized", message: "unknown API key" })
      heartbeats.push(JSON.parse((await bodyOf(req)).toString("utf8")) as Record<string, unknown>)
      return json(200, { status: "ok", server_time: new Date().toISOString(), pending_commands: [] })
    }
    if (req.method !== "POST" || req.url !== "/api/v1/detections/batch") return send(404, {}, "")
    const index = arrivals++
    if (!authorized) {
      return send(401, { "content-type": "application/json" }, JSON.stringify({ _tag: "Unauthorized" }))
    }
    const parsed = await parseBatch(req.headers["content-type"] ?? "", await bodyOf(req)).catch((e: unknown) => e as Error)
    if (parsed instanceof Error) return send(400, { "content-type": "application/json" }, JSON.stringify({ error: parsed.message }))
    const ids = parsed.events.map((e) => String((e as { detection_id?: unknown }).detection_id))
    const seen: BatchSeen = { index, at, ids, photos: parsed.photos }
    const answer = reply(seen)
    if (answer.hold !== undefined) await answer.hold
    const headers = { "x-backpressure": (answer.backpressure ?? 0).toFixed(3), ...answer.headers }
    const status = answer.status ?? 200
    if (status !== 200) return send(status, { "content-type": "text/plain", ...headers }, answer.body ?? "", seen)

    const result = { accepted: 0, duplicates: 0, rejected: 0, errors: [] as Array<{ index: number; detection_id?: string; message: string }> }
    parsed.events.forEach((event, i) => {
      const decoded = decodeDetection(event)
      if (Either.isLeft(decoded)) {
        result.rejected++
        result.errors.push({ index: i, message: decoded.left.message.slice(0, 200) })
        return
      }
      const id = decoded.right.detection_id
      deliveries.set(id, (deliveries.get(id) ?? 0) + 1)
      if (stored.has(id)) {
        result.duplicates++
        duplicates++
      } else {
        stored.add(id)
        result.accepted++
      }
    })
    send(200, { "content-type": "application/json", ...headers }, JSON.stringify(result), seen)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as Net.AddressInfo).port}`,
    apiKey,
    claims,
    heartbeats,
    answered,
    deliveries,
    duplicates: () => duplicates,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}
