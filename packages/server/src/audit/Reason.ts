import { BadRequest } from "@chaverim/domain/Errors"
import * as Effect from "effect/Effect"

/**
 * The reason a user gives for a search, an investigation or an export, for the audit log: trimmed,
 * and required (a 400 saying so) unless the server is set with AUDIT_REASON_REQUIRED=false.
 */
export const requireReason = (required: boolean, given: string | undefined, doing: string) => {
  const reason = given?.trim()
  return required && (reason === undefined || reason === "")
    ? Effect.fail(new BadRequest({ message: `reason is required: say why you ${doing} (it goes in the audit log)` }))
    : Effect.succeed(reason === "" ? undefined : reason)
}
