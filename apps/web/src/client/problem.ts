import * as Cause from "effect/Cause"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"

/** What went wrong, in words for the person in front of the screen. */
export interface Problem {
  readonly kind: "unreachable" | "signed-out" | "forbidden" | "failed"
  readonly message: string
  /** too many failed attempts: seconds until the server takes the next one */
  readonly retryAfterS?: number
}

const tagOf = (error: unknown) =>
  typeof error === "object" && error !== null && "_tag" in error ? String(error._tag) : undefined

const messageOf = (error: unknown) =>
  typeof error === "object" && error !== null && "message" in error && typeof error.message === "string"
    ? error.message
    : String(error)

/** The last line of a schema error's tree: the message of the rule that failed. */
const innermost = (tree: string) => tree.trim().split("\n").pop()!.replace(/^[\s└├│─]+/, "")

export const problemOf = (cause: Cause.Cause<unknown>): Problem => {
  const failure = Cause.failureOption(cause)
  if (Option.isNone(failure)) {
    // A payload the contract refuses before it is sent (the RPC client treats that as a defect):
    // the schema's message says what to change.
    const defect = Cause.squash(cause)
    if (tagOf(defect) === "ParseError") return { kind: "failed", message: innermost(messageOf(defect)) }
    // Any other defect is a bug, worth a trace in the console for whoever looks.
    if (!Cause.isInterruptedOnly(cause)) console.error(Cause.pretty(cause))
    return { kind: "failed", message: "Something went wrong in the app. Reload the page and try again." }
  }
  const error = failure.value
  switch (tagOf(error)) {
    case "RequestError":
      return { kind: "unreachable", message: "No answer from the server: check the network connection." }
    case "RpcClientError":
      return { kind: "unreachable", message: "The connection to the server was lost; reconnecting." }
    case "ResponseError":
      return { kind: "failed", message: "The server gave an answer the app does not understand. Reload the page." }
    case "Unauthorized":
      return { kind: "signed-out", message: messageOf(error) }
    case "Forbidden":
      return { kind: "forbidden", message: messageOf(error) }
    case "TooManyAttempts": {
      const message = messageOf(error)
      const wait = typeof error === "object" && error !== null && "retry_after_s" in error && typeof error.retry_after_s === "number"
        ? error.retry_after_s
        : undefined
      return {
        kind: "failed",
        message: /try again/i.test(message) ? message : `${message} (try again in a while)`,
        ...(wait === undefined ? {} : { retryAfterS: wait })
      }
    }
    default:
      return { kind: "failed", message: messageOf(error) }
  }
}

export type Remote<A> =
  | { readonly state: "idle" }
  | { readonly state: "loading"; readonly previous?: A | undefined }
  | { readonly state: "ready"; readonly value: A }
  /** `previous`: the last value loaded, still worth showing (marked stale) while the next load fails */
  | { readonly state: "failed"; readonly problem: Problem; readonly previous?: A | undefined }

export const fromExit = <A, E>(exit: Exit.Exit<A, E>): Remote<A> =>
  Exit.isSuccess(exit) ? { state: "ready", value: exit.value } : { state: "failed", problem: problemOf(exit.cause) }

/** The value shown while a newer one loads. */
export const valueOf = <A,>(remote: Remote<A>): A | undefined =>
  remote.state === "ready" ? remote.value : remote.state === "idle" ? undefined : remote.previous
