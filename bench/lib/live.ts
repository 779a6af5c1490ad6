import WebSocket from "ws"

/** A message of the live feed, as far as the benchmarks read it. */
export interface LiveMessage {
  readonly type: string
  readonly alert?: { readonly plate: string; readonly sightings?: number }
}

/**
 * Opens the server's live feed (/api/v1/live) as the control room does, with a session's cookie and
 * the server's own Origin; every message goes to `onMessage`. Resolves once open, rejects when refused.
 */
export const openLiveFeed = (serverUrl: string, cookie: string, onMessage: (message: LiveMessage) => void): Promise<WebSocket> =>
  new Promise<WebSocket>((resolve, reject) => {
    const ws = new WebSocket(`${serverUrl.replace(/^http/, "ws")}/api/v1/live`, undefined, {
      headers: { cookie, origin: serverUrl }
    })
    ws.on("open", () => resolve(ws))
    ws.on("error", reject)
    ws.on("unexpected-response", (_request, response) => reject(new Error(`live feed refused: ${response.statusCode}`)))
    ws.on("message", (data) => onMessage(JSON.parse(data.toString("utf8")) as LiveMessage))
  })
