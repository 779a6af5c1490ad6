import * as Effect from "effect/Effect"
import type * as Dns from "node:dns"
import * as Fs from "node:fs"
import * as Http from "node:http"
import * as Https from "node:https"
import * as Tls from "node:tls"
import { guardedLookup, guardLookup, literalHost, refusedAddress } from "./Address"
import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, signature, TIMESTAMP_HEADER } from "./Signature"

/**
 * One signed POST to a webhook's URL, with Node's own HTTP client: no redirects followed (a signed
 * body must not land somewhere else), a time limit, at most a few KiB of the answer read (for the
 * admins' error column). Trusted roots are Node's, plus WEBHOOK_CA_FILE for a receiver on a private CA.
 */

export interface PostRequest {
  readonly url: string
  readonly secret: string
  readonly body: string
  readonly contentType: string
  readonly event: string
  readonly deliveryId: string
  /** extra headers of the format (ntfy's Title, Tags, Click, Priority) */
  readonly headers?: Readonly<Record<string, string>>
  readonly timeoutMs: number
  /** PEM of extra certificate authorities to trust */
  readonly extraCa?: string | undefined
  /** the resolver under the address guard (the system's; a test gives its own) */
  readonly resolve?: typeof Dns.lookup
}

export type PostResult =
  | { readonly _tag: "answered"; readonly status: number; readonly retryAfterMs: number | undefined; readonly excerpt: string }
  | { readonly _tag: "unreachable"; readonly message: string }

const EXCERPT_BYTES = 2_048
export const USER_AGENT = "ChaverimALPR-Webhook/1"

/** Reads WEBHOOK_CA_FILE once; a file that cannot be read stops the server at start. */
export const readExtraCa = (file: string): Effect.Effect<string, Error> =>
  Effect.try({ try: () => Fs.readFileSync(file, "utf8"), catch: (e) => new Error(`WEBHOOK_CA_FILE ${file}: ${String(e)}`) })

/** Retry-After as seconds or an HTTP date; undefined when absent or unreadable. */
export const retryAfterMs = (value: string | undefined, now = Date.now()): number | undefined => {
  if (value === undefined) return undefined
  if (/^\d{1,7}$/.test(value.trim())) return Number(value.trim()) * 1_000
  const at = Date.parse(value)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}

/**
 * Connections kept open between deliveries (a TLS handshake per alert would cost more than the POST),
 * one agent per set of trusted roots; a receiver closing an idle connection costs one new handshake.
 */
const agents = new Map<string, Https.Agent>()
const agentFor = (extraCa: string | undefined): Https.Agent => {
  const key = extraCa ?? ""
  let agent = agents.get(key)
  if (agent === undefined) {
    agent = new Https.Agent({
      keepAlive: true,
      keepAliveMsecs: 10_000,
      maxSockets: 16,
      maxFreeSockets: 16,
      ...(extraCa === undefined ? {} : { ca: [...Tls.rootCertificates, extraCa] })
    })
    agents.set(key, agent)
  }
  return agent
}
const plainAgent = new Http.Agent({ keepAlive: true, keepAliveMsecs: 10_000, maxSockets: 16, maxFreeSockets: 16 })

export const postSigned = (request: PostRequest): Effect.Effect<PostResult> =>
  Effect.async<PostResult>((resume, signal) => {
    const url = new URL(request.url)
    const timestamp = Math.floor(Date.now() / 1_000)
    const headers: Record<string, string> = {
      ...request.headers,
      "content-type": request.contentType,
      "content-length": String(Buffer.byteLength(request.body)),
      "user-agent": USER_AGENT,
      [TIMESTAMP_HEADER]: String(timestamp),
      [SIGNATURE_HEADER]: signature(request.secret, timestamp, request.body),
      [EVENT_HEADER]: request.event,
      [DELIVERY_HEADER]: request.deliveryId
    }
    // Never a link-local or unspecified address, named literally or resolved (Address.ts).
    const refused = refusedAddress(literalHost(url))
    if (refused !== undefined) return resume(Effect.succeed({ _tag: "unreachable", message: `refused: ${refused}` }))
    const options: Https.RequestOptions = {
      method: "POST",
      lookup: request.resolve === undefined ? guardedLookup : guardLookup(request.resolve),
      headers,
      signal,
      timeout: request.timeoutMs,
      agent: url.protocol === "https:" ? agentFor(request.extraCa) : plainAgent
    }
    let done = false
    const finish = (result: PostResult) => {
      if (done) return
      done = true
      resume(Effect.succeed(result))
    }
    const req = (url.protocol === "https:" ? Https : Http).request(url, options, (res) => {
      const chunks: Array<Buffer> = []
      let size = 0
      res.on("data", (chunk: Buffer) => {
        if (size < EXCERPT_BYTES) chunks.push(chunk)
        size += chunk.length
        if (size > 64 * 1_024) res.destroy()
      })
      const answered = () =>
        finish({
          _tag: "answered",
          status: res.statusCode ?? 0,
          retryAfterMs: retryAfterMs(res.headers["retry-after"]),
          excerpt: Buffer.concat(chunks).subarray(0, EXCERPT_BYTES).toString("utf8").replace(/\s+/g, " ").trim().slice(0, 300)
        })
      res.on("end", answered)
      res.on("close", answered)
      res.on("error", answered)
    })
    req.on("timeout", () => req.destroy(new Error(`no answer within ${request.timeoutMs} ms`)))
    req.on("error", (e) => finish({ _tag: "unreachable", message: e.message }))
    req.end(request.body)
  })
