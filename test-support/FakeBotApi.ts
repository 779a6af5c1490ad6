import { EventEmitter } from "node:events"
import * as Http from "node:http"
import type * as Net from "node:net"

/**
 * A local Telegram Bot API, speaking it as grammy calls it: `POST /bot<token>/<method>` with a JSON or
 * multipart/form-data body (files as `attach://<part>`), answered `{ ok, result }` or
 * `{ ok: false, error_code, description, parameters }`. Tests push updates (messages, button presses)
 * that the bot receives by long polling, read every call the bot made, and make calls fail.
 */

export interface BotCall {
  readonly method: string
  /** the body's fields; JSON-valued multipart fields decoded, numeric ids as numbers */
  readonly params: Record<string, any>
  /** the uploaded photo of sendPhoto */
  readonly photo?: Uint8Array
  /** the HTTP status answered (a dropped connection: 0) */
  readonly status: number
  readonly at: number
}

export type Failure =
  | { readonly kind: "429"; readonly retryAfter: number }
  | { readonly kind: "500" }
  | { readonly kind: "403" }
  | { readonly kind: "400"; readonly description?: string }
  /** the connection is closed without an answer, as a network failure */
  | { readonly kind: "drop" }

export interface TelegramUser {
  readonly id: number
  readonly username?: string
}

export interface FakeBotApi {
  /** for `TELEGRAM_API_ROOT` */
  readonly url: string
  readonly token: string
  readonly calls: ReadonlyArray<BotCall>
  /** Requests made with another token (answered 401). */
  readonly wrongToken: () => number
  readonly callsOf: (method: string) => ReadonlyArray<BotCall>
  /** Queues an update for getUpdates; `update_id` is assigned. */
  readonly pushUpdate: (update: Record<string, unknown>) => number
  /** A text message from `from` in a private chat (its id is the person's), or in the given chat. */
  readonly sendText: (from: TelegramUser, text: string, chat?: { readonly id: number; readonly type: string }) => number
  /** A press of an inline button on message `messageId` in the person's private chat. */
  readonly pressButton: (from: TelegramUser, messageId: number, data: string) => string
  /** The next `times` calls of `method` fail so. */
  readonly failNext: (method: string, times: number, failure: Failure) => void
  /** Resolves with the first call (from index `since` on) that matches, or rejects after `timeoutMs`. */
  readonly waitFor: (
    match: (call: BotCall) => boolean,
    options?: { readonly since?: number; readonly timeoutMs?: number }
  ) => Promise<BotCall>
  readonly close: () => Promise<void>
}

const BOT_INFO = {
  id: 7_000_001,
  is_bot: true,
  first_name: "Chaverim ALPR (test)",
  username: "chaverim_alpr_test_bot",
  can_join_groups: false,
  can_read_all_group_messages: false,
  supports_inline_queries: false
}

const FAILURES: Record<Exclude<Failure["kind"], "drop">, (f: Failure) => { status: number; body: unknown }> = {
  "429": (f) => ({
    status: 429,
    body: {
      ok: false,
      error_code: 429,
      description: `Too Many Requests: retry after ${(f as { retryAfter: number }).retryAfter}`,
      parameters: { retry_after: (f as { retryAfter: number }).retryAfter }
    }
  }),
  "500": () => ({ status: 500, body: { ok: false, error_code: 500, description: "Internal Server Error" } }),
  "403": () => ({ status: 403, body: { ok: false, error_code: 403, description: "Forbidden: bot was blocked by the user" } }),
  "400": (f) => ({
    status: 400,
    body: { ok: false, error_code: 400, description: (f as { description?: string }).description ?? "Bad Request: IMAGE_PROCESS_FAILED" }
  })
}

interface Part {
  readonly name: string
  readonly filename: string | undefined
  readonly content: Buffer
}

/**
 * multipart/form-data as grammy writes it (`content-disposition:form-data;name="x";filename=y`, no
 * spaces, unquoted file names), which Node's own FormData parser refuses.
 */
export const parseMultipart = (body: Buffer, boundary: string): ReadonlyArray<Part> => {
  const delimiter = Buffer.from(`--${boundary}`)
  const next = Buffer.from(`\r\n--${boundary}`)
  const parts: Array<Part> = []
  let at = body.indexOf(delimiter)
  while (at !== -1) {
    let start = at + delimiter.length
    if (body.subarray(start, start + 2).toString() === "--") break
    if (body[start] === 13 && body[start + 1] === 10) start += 2
    const end = body.indexOf(next, start)
    if (end === -1) break
    const part = body.subarray(start, end)
    const split = part.indexOf("\r\n\r\n")
    const headers = part.subarray(0, split).toString("utf8")
    const name = /(?:^|[;\s:])name="([^"]*)"/i.exec(headers)?.[1]
    const filename = /filename="?([^";\r\n]*)"?/i.exec(headers)?.[1]
    if (name !== undefined) parts.push({ name, filename, content: part.subarray(split + 4) })
    at = end + 2
  }
  return parts
}

const decodeField = (name: string, value: string): unknown => {
  if (/^[[{]/.test(value)) {
    try {
      return JSON.parse(value)
    } catch {
      return value
    }
  }
  if (/_id$/.test(name) && /^-?\d+$/.test(value)) return Number(value)
  return value
}

const readBody = (req: Http.IncomingMessage) =>
  new Promise<Buffer>((resolve, reject) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => resolve(Buffer.concat(chunks)))
    req.on("error", reject)
  })

export const startFakeBotApi = async (token: string): Promise<FakeBotApi> => {
  const calls: Array<BotCall> = []
  const events = new EventEmitter()
  events.setMaxListeners(100)
  const failures = new Map<string, Array<Failure>>()
  const updates: Array<Record<string, unknown> & { update_id: number }> = []
  const sockets = new Set<Net.Socket>()
  let updateSeq = 100
  let messageSeq = 500
  let callbackSeq = 900
  let wrongToken = 0

  const record = (call: BotCall) => {
    calls.push(call)
    events.emit("call", call)
  }

  const messageFor = (params: Record<string, any>, extra: Record<string, unknown>) => ({
    message_id: ++messageSeq,
    date: Math.floor(Date.now() / 1000),
    chat: { id: Number(params.chat_id), type: "private" },
    from: BOT_INFO,
    ...extra
  })

  /** getUpdates: what is queued from `offset` on, else wait up to `timeout` seconds for more. */
  const getUpdates = (params: Record<string, any>, res: Http.ServerResponse) =>
    new Promise<unknown>((resolve) => {
      const offset = Number(params.offset ?? 0)
      // Telegram forgets updates below the offset: the bot has confirmed them.
      while (updates.length > 0 && updates[0]!.update_id < offset) updates.shift()
      const limit = Number(params.limit ?? 100)
      const ready = () => updates.filter((u) => u.update_id >= offset).slice(0, limit)
      const now = ready()
      const timeout = Number(params.timeout ?? 0)
      if (now.length > 0 || timeout <= 0) return resolve(now)
      const done = () => {
        clearTimeout(timer)
        events.off("update", onUpdate)
        res.off("close", aborted)
      }
      const aborted = () => {
        done()
        resolve([])
      }
      const onUpdate = () => {
        done()
        resolve(ready())
      }
      const timer = setTimeout(() => {
        done()
        resolve([])
      }, timeout * 1000)
      events.on("update", onUpdate)
      // The bot aborted the long poll (stopping): nothing to answer.
      res.once("close", aborted)
    })

  const answer = (method: string, params: Record<string, any>, photo: Uint8Array | undefined): unknown => {
    switch (method) {
      case "getMe":
        return BOT_INFO
      case "sendMessage":
        return messageFor(params, { text: params.text })
      case "sendPhoto":
        return messageFor(params, {
          caption: params.caption,
          photo: [{ file_id: `photo-${messageSeq + 1}`, file_unique_id: `u${messageSeq + 1}`, width: 320, height: 120, file_size: photo?.byteLength ?? 0 }]
        })
      case "editMessageCaption":
        return { ...messageFor(params, { caption: params.caption }), message_id: Number(params.message_id) }
      case "editMessageText":
        return { ...messageFor(params, { text: params.text }), message_id: Number(params.message_id) }
      case "editMessageReplyMarkup":
        return { ...messageFor(params, {}), message_id: Number(params.message_id) }
      default:
        // deleteWebhook, answerCallbackQuery, setMyCommands, ...
        return true
    }
  }

  const server = Http.createServer((req, res) => {
    void (async () => {
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { "content-type": "application/json" })
        res.end(JSON.stringify(body))
      }
      const match = /^\/bot([^/]+)\/(\w+)$/.exec(new URL(req.url ?? "/", "http://localhost").pathname)
      if (match === null) return send(404, { ok: false, error_code: 404, description: "Not Found" })
      const [, given, method] = match as unknown as [string, string, string]
      const body = await readBody(req)
      if (decodeURIComponent(given) !== token) {
        wrongToken++
        return send(401, { ok: false, error_code: 401, description: "Unauthorized" })
      }
      const type = req.headers["content-type"] ?? ""
      let params: Record<string, any> = {}
      let photo: Uint8Array | undefined
      if (type.startsWith("multipart/form-data")) {
        const boundary = /boundary=("?)([^";]+)\1/.exec(type)?.[2] ?? ""
        const parts = parseMultipart(body, boundary)
        const files = new Map(parts.filter((p) => p.filename !== undefined).map((p) => [p.name, p.content]))
        for (const part of parts) {
          if (part.filename !== undefined) continue
          params[part.name] = decodeField(part.name, part.content.toString("utf8"))
        }
        const attached = typeof params.photo === "string" ? /^attach:\/\/(.+)$/.exec(params.photo)?.[1] : undefined
        if (attached !== undefined && files.has(attached)) photo = new Uint8Array(files.get(attached)!)
      } else if (body.length > 0) {
        params = JSON.parse(body.toString("utf8"))
      }
      const queued = failures.get(method)
      const failure = queued?.shift()
      if (failure !== undefined) {
        if (failure.kind === "drop") {
          record({ method, params, ...(photo === undefined ? {} : { photo }), status: 0, at: Date.now() })
          req.socket.destroy()
          return
        }
        const { body: failed, status } = FAILURES[failure.kind](failure)
        record({ method, params, ...(photo === undefined ? {} : { photo }), status, at: Date.now() })
        return send(status, failed)
      }
      const result = method === "getUpdates" ? await getUpdates(params, res) : answer(method, params, photo)
      // the bot gave up the request (a long poll aborted by stop): nothing to answer
      if (res.destroyed || res.socket === null || res.socket.destroyed) return
      record({ method, params, ...(photo === undefined ? {} : { photo }), status: 200, at: Date.now() })
      send(200, { ok: true, result })
    })().catch((error) => {
      if (!res.headersSent) {
        res.writeHead(500, { "content-type": "application/json" })
        res.end(JSON.stringify({ ok: false, error_code: 500, description: String(error) }))
      }
    })
  })
  server.on("connection", (socket) => {
    sockets.add(socket)
    socket.on("close", () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as Net.AddressInfo

  const pushUpdate = (update: Record<string, unknown>) => {
    const update_id = ++updateSeq
    updates.push({ ...update, update_id })
    events.emit("update")
    return update_id
  }

  const userOf = (from: TelegramUser) => ({
    id: from.id,
    is_bot: false,
    first_name: from.username ?? `user ${from.id}`,
    ...(from.username === undefined ? {} : { username: from.username })
  })

  const sendText: FakeBotApi["sendText"] = (from, text, chat) => {
    const command = /^\/\w+/.exec(text)
    return pushUpdate({
      message: {
        message_id: ++messageSeq,
        date: Math.floor(Date.now() / 1000),
        chat: chat ?? { id: from.id, type: "private", ...(from.username === undefined ? {} : { username: from.username }) },
        from: userOf(from),
        text,
        ...(command === null ? {} : { entities: [{ type: "bot_command", offset: 0, length: command[0].length }] })
      }
    })
  }

  const pressButton: FakeBotApi["pressButton"] = (from, messageId, data) => {
    const id = String(++callbackSeq)
    const sent = [...calls].reverse().find((c) =>
      (c.method === "sendPhoto" || c.method === "sendMessage") && c.status === 200 && Number(c.params.chat_id) === from.id
    )
    pushUpdate({
      callback_query: {
        id,
        from: userOf(from),
        chat_instance: `ci-${from.id}`,
        data,
        message: {
          message_id: messageId,
          date: Math.floor(Date.now() / 1000),
          chat: { id: from.id, type: "private" },
          from: BOT_INFO,
          ...(sent?.method === "sendPhoto"
            ? { photo: [{ file_id: "p", file_unique_id: "u", width: 320, height: 120 }], caption: sent.params.caption }
            : { text: sent?.params.text ?? "" })
        }
      }
    })
    return id
  }

  const waitFor: FakeBotApi["waitFor"] = (match, options = {}) =>
    new Promise((resolve, reject) => {
      const found = calls.slice(options.since ?? 0).find(match)
      if (found !== undefined) return resolve(found)
      const onCall = (call: BotCall) => {
        if (!match(call)) return
        clearTimeout(timer)
        events.off("call", onCall)
        resolve(call)
      }
      const timer = setTimeout(() => {
        events.off("call", onCall)
        reject(new Error(`no matching Bot API call within ${options.timeoutMs ?? 10_000} ms; calls: ${calls.map((c) => c.method).join(", ")}`))
      }, options.timeoutMs ?? 10_000)
      events.on("call", onCall)
    })

  return {
    url: `http://127.0.0.1:${port}`,
    token,
    calls,
    wrongToken: () => wrongToken,
    callsOf: (method) => calls.filter((c) => c.method === method),
    pushUpdate,
    sendText,
    pressButton,
    failNext: (method, times, failure) => {
      failures.set(method, [...(failures.get(method) ?? []), ...Array.from({ length: times }, () => failure)])
    },
    waitFor,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      })
  }
}
