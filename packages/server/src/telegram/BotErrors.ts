import * as Data from "effect/Data"
import { GrammyError, HttpError } from "grammy"

/**
 * What Telegram's failures mean for a message, and how they are described without the bot token.
 *
 * The token is part of every Bot API URL (`/bot<token>/<method>`), and network errors from the HTTP
 * client quote the URL; anything from grammy is therefore scrubbed before it is logged or stored.
 */

/** A Bot API call that failed, described without the token. */
export class BotApiError extends Data.TaggedError("BotApiError")<{ readonly message: string }> {}

const BOT_PATH = /\/bot[^/\s"'?#]+/g

/** The text with the token, and any `/bot<...>` URL segment, replaced by `<redacted>`. */
export const scrubToken = (token: string) => (text: string): string => {
  const named = token === "" ? text : text.split(token).join("<redacted>")
  return named.replace(BOT_PATH, "/bot<redacted>")
}

const messageOf = (value: unknown): string => {
  if (value instanceof Error) return value.message
  if (typeof value === "string") return value
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

/** One line for the log or `last_error`: Telegram's code and description, or the network failure. */
export const describeError = (token: string, error: unknown): string => {
  let text: string
  if (error instanceof GrammyError) {
    text = `${error.error_code}: ${error.description}`
  } else if (error instanceof HttpError) {
    text = `${error.message} (${messageOf(error.error)})`
  } else {
    text = messageOf(error)
  }
  return scrubToken(token)(text).slice(0, 1_000)
}

/**
 * - `retry`: worth another attempt later (`after` in ms when Telegram said when: a 429's retry_after)
 * - `fatal`: will not get better (403: the user blocked the bot or left; 400: Telegram refuses the request)
 */
export type Verdict =
  | { readonly _tag: "retry"; readonly afterMs: number | undefined }
  | { readonly _tag: "fatal" }

export const verdictOf = (error: unknown): Verdict => {
  if (error instanceof GrammyError) {
    if (error.error_code === 429) {
      const seconds = error.parameters.retry_after
      return { _tag: "retry", afterMs: typeof seconds === "number" && seconds >= 0 ? seconds * 1_000 : undefined }
    }
    if (error.error_code === 403 || error.error_code === 400) return { _tag: "fatal" }
  }
  // 5xx, 401 (a token being replaced), network failures and timeouts pass
  return { _tag: "retry", afterMs: undefined }
}

/** A 400 answer, e.g. a photo Telegram cannot process: the same alert may still go as text. */
export const isBadRequest = (error: unknown): boolean => error instanceof GrammyError && error.error_code === 400
