import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { createHmac, timingSafeEqual } from "node:crypto"
import { orBug } from "../db/Rows"

/**
 * The data of the bot's inline buttons, signed. Telegram hands the bot whatever callback_data a client
 * sends for a message, and a modified client can send any; so the data names an alert only with the
 * server's HMAC of the action, the alert and the chat the message went to. A button can then be neither
 * made up nor carried to another chat. The signature says the server once showed this button in this
 * chat, not that the person may still see the alert: that is checked when it is pressed.
 *
 * The key is `server_secrets.telegram_callback`, made in the database by its migration: replicas share
 * it, it survives restarts, and holding the bot token is not enough to make buttons.
 */

export type ButtonAction = "ack" | "way"

export interface ButtonPress {
  readonly action: ButtonAction
  readonly alertId: string
}

/** Why button data was not taken; for the audit log, never for the person who pressed. */
export type ButtonRefusal = "malformed" | "unsigned" | "bad signature"

/**
 * Telegram allows 64 bytes of callback data. `way:` and a 19-digit id and `:` take 24, so 22 base64url
 * characters of the MAC (132 bits) fit with room to spare.
 */
const MAC_CHARS = 22

const SIGNED = /^(ack|way):(\d{1,19}):([A-Za-z0-9_-]{22})$/
/** Buttons sent before data was signed: refused, so an old message cannot be used to name any alert. */
const UNSIGNED = /^(ack|way):(\d{1,19})$/

export interface TelegramCallbacksShape {
  /** The callback data of a button for the message sent to `chatId`. */
  readonly sign: (chatId: number | string, press: ButtonPress) => string
  /** What a button pressed in `chatId` asks for, when the server made it for that chat. */
  readonly open: (chatId: number | string, data: string) => Either.Either<ButtonPress, ButtonRefusal>
}

export class TelegramCallbacks extends Context.Tag("@chaverim/server/TelegramCallbacks")<
  TelegramCallbacks,
  TelegramCallbacksShape
>() {}

export const makeCallbacks = (key: Uint8Array): TelegramCallbacksShape => {
  const mac = (chatId: number | string, { action, alertId }: ButtonPress) =>
    createHmac("sha256", key).update(`${chatId}\n${action}\n${alertId}`).digest("base64url").slice(0, MAC_CHARS)
  return {
    sign: (chatId, press) => `${press.action}:${press.alertId}:${mac(chatId, press)}`,
    open: (chatId, data) => {
      const signed = SIGNED.exec(data)
      if (signed === null) return Either.left(UNSIGNED.test(data) ? "unsigned" : "malformed")
      const press: ButtonPress = { action: signed[1] as ButtonAction, alertId: signed[2]! }
      const expected = Buffer.from(mac(chatId, press))
      const given = Buffer.from(signed[3]!)
      return timingSafeEqual(expected, given) ? Either.right(press) : Either.left("bad signature")
    }
  }
}

export const TelegramCallbacksLayer = Layer.effect(
  TelegramCallbacks,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const row = yield* orBug(SqlSchema.findOne({
      Request: Schema.Void,
      Result: Schema.Struct({ secret: Schema.Uint8ArrayFromSelf }),
      execute: () => sql`SELECT secret FROM server_secrets WHERE name = 'telegram_callback'`
    })(undefined))
    if (Option.isNone(row)) return yield* Effect.dieMessage("server_secrets has no telegram_callback key: run the migrations")
    return makeCallbacks(row.value.secret)
  })
)
