import { BadRequest } from "@chaverim/domain/Errors"
import { UsersRpcs } from "@chaverim/domain/rpc/Users"
import * as Effect from "effect/Effect"
import { changeByCaller, orDieOnSql } from "../rpc/Session"
import { TelegramLinks } from "../telegram/Links"
import { Accounts } from "./Accounts"

/** The users procedures: the accounts service audits each change itself, told who made it and from where. */
export const UsersRpcsLayer = UsersRpcs.toLayer(Effect.gen(function*() {
  const accounts = yield* Accounts
  const links = yield* TelegramLinks
  const change = yield* changeByCaller
  return UsersRpcs.of({
    "users.list": () => orDieOnSql(accounts.list),
    "users.create": ({ role, username }, { headers }) =>
      change(headers, (actor, request) => accounts.create(username, role, actor, request)),
    "users.disable": ({ user_id }, { headers }) =>
      change(headers, (actor, request) => accounts.setDisabled(user_id, true, actor, request)),
    "users.enable": ({ user_id }, { headers }) =>
      change(headers, (actor, request) => accounts.setDisabled(user_id, false, actor, request)),
    "users.setRole": ({ role, user_id }, { headers }) =>
      change(headers, (actor, request) => accounts.setRole(user_id, role, actor, request)),
    "users.resetTotp": ({ user_id }, { headers }) =>
      change(headers, (actor, request) => accounts.resetTotp(user_id, actor, request)),
    "users.resetPassword": ({ user_id }, { headers }) =>
      change(headers, (actor, request) => accounts.resetPassword(user_id, actor, request)),
    "users.telegramLinkCode": ({ user_id }, { headers }) =>
      change(headers, (actor, request) => links.newCode(user_id, actor, request, "rpc")).pipe(
        Effect.catchTag("Forbidden", (refused) => new BadRequest({ message: refused.message }))
      )
  })
}))
