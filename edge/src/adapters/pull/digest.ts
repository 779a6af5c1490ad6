import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { createHash, randomBytes } from "node:crypto"

/**
 * HTTP Digest access authentication, as a client: RFC 7616 (MD5, SHA-256 and SHA-512-256, their
 * `-sess` variants, qop=auth, nonce counting, userhash) and the older RFC 2069 form without qop that
 * some camera firmware still offers. Hikvision cameras answer ISAPI requests with a Digest challenge.
 *
 * `qop=auth-int` (a hash of the request body) is not supported: cameras offer `auth` beside it.
 */

export class DigestError extends Schema.TaggedError<DigestError>()("DigestError", {
  message: Schema.String
}) {}

const ALGORITHMS = {
  "MD5": "md5",
  "SHA-256": "sha256",
  "SHA-512-256": "sha512-256"
} as const
type Algorithm = keyof typeof ALGORITHMS

/** Stronger first: when a server offers several Digest challenges, the first here that it offers is answered. */
const PREFERENCE: ReadonlyArray<Algorithm> = ["SHA-512-256", "SHA-256", "MD5"]

/** One Digest challenge of a `WWW-Authenticate` header. */
export interface DigestChallenge {
  readonly realm: string
  readonly nonce: string
  readonly opaque: string | undefined
  readonly algorithm: Algorithm
  /** `MD5-sess` and the like: the password hash is bound to the nonce and cnonce */
  readonly session: boolean
  /** the qop values offered; empty for an RFC 2069 challenge */
  readonly qop: ReadonlyArray<string>
  /** the nonce expired, not the credentials: answering the new one is worth a try */
  readonly stale: boolean
  readonly userhash: boolean
}

// ---------------------------------------------------------------------------------------------
// Parsing WWW-Authenticate

interface RawChallenge {
  readonly scheme: string
  readonly params: Readonly<Record<string, string>>
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/

/**
 * The challenges of a `WWW-Authenticate` value. One header may carry several (`Digest ..., Basic
 * ...`), and Node joins repeated headers with ", ", so a comma ends a parameter or a challenge and a
 * token not followed by `=` starts the next challenge.
 */
const challenges = (header: string): ReadonlyArray<RawChallenge> => {
  const found: Array<{ scheme: string; params: Record<string, string> }> = []
  let rest = header
  const skip = (pattern: RegExp) => (rest = rest.replace(pattern, ""))
  for (;;) {
    skip(/^[\s,]+/)
    const token = TOKEN.exec(rest)?.[0]
    if (token === undefined) break
    rest = rest.slice(token.length)
    skip(/^\s*/)
    if (!rest.startsWith("=")) {
      found.push({ scheme: token.toLowerCase(), params: {} })
      continue
    }
    rest = rest.slice(1)
    skip(/^\s*/)
    let value: string
    const quoted = /^"((?:[^"\\]|\\.)*)"/.exec(rest)
    if (quoted !== null) {
      value = quoted[1]!.replace(/\\(.)/g, "$1")
      rest = rest.slice(quoted[0].length)
    } else {
      // A bare token, or token68 padding ("abc==") which belongs to the scheme, not to a parameter.
      value = /^[^\s,]*/.exec(rest)![0]
      rest = rest.slice(value.length)
    }
    const current = found.at(-1)
    if (current !== undefined) current.params[token.toLowerCase()] = value
  }
  return found
}

const digestChallenge = (raw: RawChallenge): DigestChallenge | undefined => {
  const { realm, nonce } = raw.params
  if (raw.scheme !== "digest" || realm === undefined || nonce === undefined) return undefined
  const name = (raw.params["algorithm"] ?? "MD5").toUpperCase()
  const session = name.endsWith("-SESS")
  const algorithm = session ? name.slice(0, -"-SESS".length) : name
  if (!(algorithm in ALGORITHMS)) return undefined
  return {
    realm,
    nonce,
    opaque: raw.params["opaque"],
    algorithm: algorithm as Algorithm,
    session,
    qop: (raw.params["qop"] ?? "").split(",").map((q) => q.trim().toLowerCase()).filter((q) => q !== ""),
    stale: (raw.params["stale"] ?? "").toLowerCase() === "true",
    userhash: (raw.params["userhash"] ?? "").toLowerCase() === "true"
  }
}

const answerable = (challenge: DigestChallenge) => challenge.qop.length === 0 || challenge.qop.includes("auth")

/** The Digest challenge to answer in a `WWW-Authenticate` value: the strongest algorithm offered that this client speaks. */
export const parseChallenge = (header: string): Either.Either<DigestChallenge, DigestError> => {
  const raw = challenges(header)
  const offered = raw.map(digestChallenge).filter((c): c is DigestChallenge => c !== undefined && answerable(c))
  const best = PREFERENCE.map((a) => offered.find((c) => c.algorithm === a)).find((c) => c !== undefined)
  if (best !== undefined) return Either.right(best)
  const schemes = [...new Set(raw.map((c) => c.scheme))].join(", ")
  return Either.left(
    new DigestError({
      message: raw.some((c) => c.scheme === "digest")
        ? `the server's Digest challenge asks for an algorithm or qop this client does not speak (${header.slice(0, 200)})`
        : `the server offers no Digest authentication (schemes: ${schemes || "none"})`
    })
  )
}

// ---------------------------------------------------------------------------------------------
// Answering

export interface DigestRequest {
  readonly method: string
  /** the request-target as sent: path and query */
  readonly uri: string
  readonly username: string
  readonly password: string
  /** how many requests this nonce has answered, this one included (1 for the first) */
  readonly nc: number
  readonly cnonce: string
}

const hash = (algorithm: Algorithm, value: string) => createHash(ALGORITHMS[algorithm]).update(value, "utf8").digest("hex")

const quote = (value: string) => `"${value.replace(/(["\\])/g, "\\$1")}"`

/** The `Authorization` value answering `challenge` for one request. */
export const digestAuthorization = (challenge: DigestChallenge, request: DigestRequest): string => {
  const H = (value: string) => hash(challenge.algorithm, value)
  const nc = request.nc.toString(16).padStart(8, "0")
  const qop = challenge.qop.length === 0 ? undefined : "auth"
  const secret = H(`${request.username}:${challenge.realm}:${request.password}`)
  const ha1 = challenge.session ? H(`${secret}:${challenge.nonce}:${request.cnonce}`) : secret
  const ha2 = H(`${request.method.toUpperCase()}:${request.uri}`)
  const response = qop === undefined
    ? H(`${ha1}:${challenge.nonce}:${ha2}`)
    : H(`${ha1}:${challenge.nonce}:${nc}:${request.cnonce}:${qop}:${ha2}`)
  const username = challenge.userhash ? H(`${request.username}:${challenge.realm}`) : request.username
  const fields = [
    `username=${quote(username)}`,
    `realm=${quote(challenge.realm)}`,
    `uri=${quote(request.uri)}`,
    `algorithm=${challenge.algorithm}${challenge.session ? "-sess" : ""}`,
    `nonce=${quote(challenge.nonce)}`,
    ...(qop === undefined ? [] : [`nc=${nc}`, `cnonce=${quote(request.cnonce)}`, `qop=${qop}`]),
    `response=${quote(response)}`,
    ...(challenge.opaque === undefined ? [] : [`opaque=${quote(challenge.opaque)}`]),
    ...(challenge.userhash ? ["userhash=true"] : [])
  ]
  return `Digest ${fields.join(", ")}`
}

/** A fresh client nonce: 128 random bits. */
export const makeCnonce = (): string => randomBytes(16).toString("hex")

/**
 * The `Authorization` value for a request answering the 401 whose `WWW-Authenticate` header is
 * `header`, as the first request under its nonce.
 */
export const authorize = (
  header: string,
  request: Omit<DigestRequest, "nc" | "cnonce"> & { readonly nc?: number; readonly cnonce?: string }
): Either.Either<string, DigestError> =>
  Either.map(parseChallenge(header), (challenge) =>
    digestAuthorization(challenge, { ...request, nc: request.nc ?? 1, cnonce: request.cnonce ?? makeCnonce() }))

/**
 * Digest credentials for a run of requests to one server. The last challenge is kept and answered
 * up front on the next request with the nonce count advanced, so that only the first request (and
 * one after the server rotates its nonce) costs a 401 round trip.
 */
export class DigestSession {
  private challenge: DigestChallenge | undefined
  private nc = 0

  constructor(
    readonly username: string,
    private readonly password: string,
    private readonly cnonce: () => string = makeCnonce
  ) {}

  /** Takes the challenge of a 401; the next `authorization` answers it. */
  challenged(header: string): Either.Either<DigestChallenge, DigestError> {
    return Either.map(parseChallenge(header), (challenge) => {
      this.challenge = challenge
      this.nc = 0
      return challenge
    })
  }

  /** The `Authorization` value for the next request, once a challenge has been seen. */
  authorization(method: string, uri: string): string | undefined {
    if (this.challenge === undefined) return undefined
    this.nc++
    return digestAuthorization(this.challenge, {
      method,
      uri,
      username: this.username,
      password: this.password,
      nc: this.nc,
      cnonce: this.cnonce()
    })
  }
}
