// ws ships no types (and @types/ws is not installed); only what the tests use.
declare module "ws" {
  import type { IncomingMessage } from "node:http"

  interface ClientOptions {
    readonly headers?: Record<string, string>
  }

  class WebSocket {
    constructor(address: string, protocols?: string | Array<string>, options?: ClientOptions)
    on(event: "open", listener: () => void): this
    on(event: "message", listener: (data: Buffer) => void): this
    on(event: "error", listener: (error: Error) => void): this
    on(event: "close", listener: (code: number, reason: Buffer) => void): this
    on(event: "unexpected-response", listener: (request: unknown, response: IncomingMessage) => void): this
    send(data: string): void
    close(): void
    terminate(): void
  }

  export default WebSocket
}
