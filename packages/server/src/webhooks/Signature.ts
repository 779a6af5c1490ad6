import { createHmac, randomBytes, timingSafeEqual } from "node:crypto"

/**
 * How a webhook's body is signed, for receivers to check (the README shows it):
 *
 *   X-Chaverim-Timestamp: 1767225600            (Unix seconds when this attempt was sent)
 *   X-Chaverim-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>
 *
 * A receiver recomputes the HMAC over the timestamp, a dot and the raw body as received, compares in
 * constant time, and refuses a timestamp more than `REPLAY_WINDOW_SECONDS` from its clock: a captured
 * request cannot be replayed later, and the body cannot be changed without the secret. Every retry
 * is signed afresh with its own timestamp; `id` in the body stays the same, so a receiver drops a repeat.
 */

export const SIGNATURE_HEADER = "x-chaverim-signature"
export const TIMESTAMP_HEADER = "x-chaverim-timestamp"
export const EVENT_HEADER = "x-chaverim-event"
export const DELIVERY_HEADER = "x-chaverim-delivery"
export const REPLAY_WINDOW_SECONDS = 300

/** A new secret: 32 random bytes, as 64 hex digits. */
export const newWebhookSecret = (): string => randomBytes(32).toString("hex")

export const signature = (secret: string, timestamp: number, body: string): string =>
  `v1=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`

/** What a receiver does; the tests use it as a receiver would. */
export const verifySignature = (options: {
  readonly secret: string
  readonly body: string
  readonly timestamp: string | undefined
  readonly signature: string | undefined
  readonly nowSeconds: number
}): { readonly ok: true } | { readonly ok: false; readonly reason: string } => {
  const { timestamp, signature: given } = options
  if (timestamp === undefined || !/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: "no timestamp" }
  if (Math.abs(options.nowSeconds - Number(timestamp)) > REPLAY_WINDOW_SECONDS) return { ok: false, reason: "outside the replay window" }
  if (given === undefined) return { ok: false, reason: "no signature" }
  const expected = Buffer.from(signature(options.secret, Number(timestamp), options.body))
  const actual = Buffer.from(given)
  return expected.length === actual.length && timingSafeEqual(expected, actual) ? { ok: true } : { ok: false, reason: "signature mismatch" }
}
