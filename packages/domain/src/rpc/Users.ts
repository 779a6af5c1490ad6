/** The users procedures: accounts an admin makes, disables, re-roles and resets. */
import * as Rpc from "@effect/rpc/Rpc"
import * as RpcGroup from "@effect/rpc/RpcGroup"
import * as Schema from "effect/Schema"
import { Username } from "../Accounts"
import { Role } from "../Auth"
import { BadRequest, NotFound } from "../Errors"
import { LinkCode } from "../Telegram"
import { RequiredRole, RpcSession, uuid } from "./Common"

export const UserSummary = Schema.Struct({
  user_id: Schema.String,
  username: Schema.String,
  role: Role,
  created_at: Schema.String,
  disabled_at: Schema.NullOr(Schema.String),
  totp_enrolled: Schema.Boolean,
  must_change_password: Schema.Boolean,
  active_sessions: Schema.Number
})
export type UserSummary = typeof UserSummary.Type

/** The one-time password is shown once; the user sets their own at the first sign-in. */
export const OneTimePassword = Schema.Struct({
  user_id: Schema.String,
  username: Schema.String,
  password: Schema.String
})

const UserRef = { user_id: uuid("user_id") }
/** Not found, or a change that would leave the platform without an active admin. */
const UserChangeError = Schema.Union(NotFound, BadRequest)

export class UsersRpcs extends RpcGroup.make(
  Rpc.make("users.list", { success: Schema.Array(UserSummary) }),
  Rpc.make("users.create", {
    payload: { username: Username, role: Role },
    success: OneTimePassword,
    error: BadRequest
  }),
  Rpc.make("users.disable", { payload: UserRef, error: UserChangeError }),
  Rpc.make("users.enable", { payload: UserRef, error: UserChangeError }),
  Rpc.make("users.setRole", { payload: { ...UserRef, role: Role }, error: UserChangeError }),
  Rpc.make("users.resetTotp", { payload: UserRef, error: UserChangeError }),
  Rpc.make("users.resetPassword", { payload: UserRef, success: OneTimePassword, error: UserChangeError }),
  /** A Telegram link code for someone else (a volunteer who links their chat with the admin's help); theirs replaces any open one. */
  Rpc.make("users.telegramLinkCode", { payload: UserRef, success: LinkCode, error: UserChangeError })
).annotateRpcs(RequiredRole, "admin").middleware(RpcSession) {}
