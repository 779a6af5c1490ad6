import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type { FormPart } from "../decode"

/**
 * An incremental parser for a multipart body that never ends: `multipart/mixed` or
 * `multipart/x-mixed-replace`, as Hikvision's `/ISAPI/Event/notification/alertStream` sends one part
 * after another for as long as the connection lasts.
 *
 * Not multipasta (which `decode.ts` uses for whole bodies): it finds parts by the boundary alone,
 * so a part would be held back until the camera writes the next boundary, which it does only with
 * the next part: an event would wait for the next heartbeat. Here a part with a `Content-Length`
 * (as Hikvision sends them) is taken as soon as that many bytes have come, and the boundary is then
 * expected at once (with or without the CRLF before it, which some firmware leaves out; stray bytes
 * are skipped up to the next boundary). A part without a length is read up to `CRLF--boundary`.
 *
 * Memory stays bounded: a part over `maxPartBytes`, headers over `maxHeaderBytes` or a preamble with no
 * boundary in it are errors. A part cut off by the end of the input is never returned.
 */

export class MultipartStreamError extends Schema.TaggedError<MultipartStreamError>()("MultipartStreamError", {
  message: Schema.String
}) {}

/** One whole part: its headers (names in lower case) and its body. */
export interface MultipartPart {
  readonly headers: Readonly<Record<string, string>>
  readonly body: Uint8Array
}

export interface MultipartLimits {
  /** largest part body accepted (16 MiB) */
  readonly maxPartBytes?: number
  /** largest header block of a part (16 KiB) */
  readonly maxHeaderBytes?: number
}

const DEFAULT_MAX_PART = 16 * 1024 * 1024
const DEFAULT_MAX_HEADERS = 16 * 1024
/** bytes of preamble (or of stray bytes after a part) tolerated before the input is taken for something else */
const MAX_PREAMBLE = 64 * 1024

const CR = 13
const LF = 10
const DASH = 45
const EMPTY = Buffer.alloc(0)
const CRLF = Buffer.from("\r\n")
const HEADERS_END = Buffer.from("\r\n\r\n")

const view = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)

/** A parameter of a header value such as `multipart/mixed; boundary="abc"`, unquoted. */
export const headerParameter = (value: string, name: string): string | undefined => {
  const pattern = new RegExp(`(?:^|;)\\s*${name}\\s*=\\s*(?:"((?:[^"\\\\]|\\\\.)*)"|([^;\\s]*))`, "i")
  const m = pattern.exec(value)
  if (m === null) return undefined
  return m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : m[2]
}

/** The boundary of a multipart Content-Type, or undefined when it is not multipart. */
export const boundaryOf = (contentType: string | undefined): string | undefined => {
  if (contentType === undefined || !/^\s*multipart\//i.test(contentType)) return undefined
  const boundary = headerParameter(contentType, "boundary")
  return boundary === undefined || boundary === "" || boundary.length > 200 ? undefined : boundary
}

type State =
  | { readonly _tag: "Seek"; readonly skipped: number }
  | { readonly _tag: "BoundaryLine" }
  | { readonly _tag: "Headers" }
  | { readonly _tag: "Sized"; readonly headers: Record<string, string>; readonly length: number }
  | { readonly _tag: "Delimited"; readonly headers: Record<string, string> }
  | { readonly _tag: "Closed" }

/**
 * The parser, fed chunk by chunk: `push` returns the parts completed by a chunk. After an error it
 * should not be fed again.
 */
export class MultipartSplitter {
  private readonly dashBoundary: Buffer
  /** what ends a part read up to its boundary */
  private readonly delimiter: Buffer
  private readonly maxPartBytes: number
  private readonly maxHeaderBytes: number
  private state: State = { _tag: "Seek", skipped: 0 }
  /** input not yet consumed */
  private pending: Buffer = EMPTY
  private body: Array<Buffer> = []
  private bodySize = 0

  constructor(boundary: string, limits: MultipartLimits = {}) {
    this.dashBoundary = Buffer.from(`--${boundary}`, "latin1")
    this.delimiter = Buffer.concat([CRLF, this.dashBoundary])
    this.maxPartBytes = limits.maxPartBytes ?? DEFAULT_MAX_PART
    this.maxHeaderBytes = limits.maxHeaderBytes ?? DEFAULT_MAX_HEADERS
  }

  /**
   * Feeds the next chunk; the parts it completed come back. The chunk is not copied, so it must not
   * change afterwards (stream chunks never do). Input after the closing boundary is ignored.
   */
  push(chunk: Uint8Array): Either.Either<ReadonlyArray<MultipartPart>, MultipartStreamError> {
    if (this.state._tag === "Closed") return Either.right([])
    this.pending = this.pending.length === 0 ? view(chunk) : Buffer.concat([this.pending, chunk])
    const parts: Array<MultipartPart> = []
    try {
      while (this.step(parts)) {
        // each step consumed input or changed state
      }
    } catch (error) {
      if (error instanceof MultipartStreamError) return Either.left(error)
      throw error
    }
    return Either.right(parts)
  }

  /** One step of the state machine; false when it needs more input. */
  private step(parts: Array<MultipartPart>): boolean {
    switch (this.state._tag) {
      case "Seek":
        return this.seek(this.state.skipped)
      case "BoundaryLine":
        return this.boundaryLine()
      case "Headers":
        return this.headers()
      case "Sized":
        return this.sized(this.state.headers, this.state.length, parts)
      case "Delimited":
        return this.delimited(this.state.headers, parts)
      case "Closed":
        this.pending = EMPTY
        return false
    }
  }

  private consume(n: number) {
    this.pending = this.pending.subarray(n)
  }

  /**
   * Looks for the next boundary, which must start the input or a line: at the start of the body
   * (past any preamble), and after a part read by its length, where it should follow at once (after
   * the CRLF that belongs to it, which some firmware leaves out) and anything else is skipped. The
   * tail kept between chunks includes the byte before a possible boundary, so a match at index 0
   * after skipping was already looked at (and refused) with that byte in view.
   */
  private seek(skipped: number): boolean {
    for (let from = 0; ;) {
      const at = this.pending.indexOf(this.dashBoundary, from)
      if (at === -1) break
      if (at === 0 ? skipped === 0 : this.pending[at - 1] === LF) {
        this.consume(at + this.dashBoundary.length)
        this.state = { _tag: "BoundaryLine" }
        return true
      }
      from = at + 1
    }
    const dropped = Math.max(0, this.pending.length - this.dashBoundary.length)
    this.consume(dropped)
    if (skipped + dropped > MAX_PREAMBLE) {
      throw new MultipartStreamError({ message: `no multipart boundary within ${MAX_PREAMBLE} bytes` })
    }
    this.state = { _tag: "Seek", skipped: skipped + dropped }
    return false
  }

  /** The rest of a boundary line: `--` closes the body, else padding up to the line end. */
  private boundaryLine(): boolean {
    if (this.pending.length >= 2 && this.pending[0] === DASH && this.pending[1] === DASH) {
      this.state = { _tag: "Closed" }
      return true
    }
    const lf = this.pending.indexOf(LF)
    if (lf === -1) {
      if (this.pending.length > 1024) throw new MultipartStreamError({ message: "a multipart boundary line does not end" })
      return false
    }
    this.consume(lf + 1)
    this.state = { _tag: "Headers" }
    return true
  }

  private headers(): boolean {
    let block: string
    if (this.pending.length >= 2 && this.pending[0] === CR && this.pending[1] === LF) {
      block = ""
      this.consume(2)
    } else {
      const end = this.pending.indexOf(HEADERS_END)
      if (end === -1) {
        if (this.pending.length > this.maxHeaderBytes) {
          throw new MultipartStreamError({ message: `a multipart part has headers over ${this.maxHeaderBytes} bytes` })
        }
        return false
      }
      block = this.pending.toString("latin1", 0, end)
      this.consume(end + HEADERS_END.length)
    }
    const headers = parseHeaders(block)
    const declared = headers["content-length"]
    const length = declared !== undefined && /^\d+$/.test(declared.trim()) ? Number(declared) : undefined
    if (length !== undefined && length > this.maxPartBytes) throw this.tooLarge(length)
    this.state = length === undefined ? { _tag: "Delimited", headers } : { _tag: "Sized", headers, length }
    return true
  }

  /** The body of a part with a Content-Length. */
  private sized(headers: Record<string, string>, length: number, parts: Array<MultipartPart>): boolean {
    const take = Math.min(length - this.bodySize, this.pending.length)
    if (take > 0) {
      this.body.push(this.pending.subarray(0, take))
      this.bodySize += take
      this.consume(take)
    }
    if (this.bodySize < length) return false
    parts.push(this.finishPart(headers))
    this.state = { _tag: "Seek", skipped: 0 }
    return true
  }

  /** The body of a part without a Content-Length: up to `CRLF--boundary`. */
  private delimited(headers: Record<string, string>, parts: Array<MultipartPart>): boolean {
    const at = this.pending.indexOf(this.delimiter)
    if (at !== -1) {
      this.addBody(at)
      parts.push(this.finishPart(headers))
      this.consume(this.delimiter.length)
      this.state = { _tag: "BoundaryLine" }
      return true
    }
    // All but a tail that could be the start of a delimiter split across chunks is body.
    this.addBody(Math.max(0, this.pending.length - (this.delimiter.length - 1)))
    return false
  }

  private addBody(n: number) {
    if (n === 0) return
    if (this.bodySize + n > this.maxPartBytes) throw this.tooLarge(this.bodySize + n)
    this.body.push(this.pending.subarray(0, n))
    this.bodySize += n
    this.consume(n)
  }

  /** The part's body, copied out of the input chunks into bytes of its own. */
  private finishPart(headers: Record<string, string>): MultipartPart {
    const body = new Uint8Array(this.bodySize)
    let offset = 0
    for (const piece of this.body) {
      body.set(piece, offset)
      offset += piece.length
    }
    this.body = []
    this.bodySize = 0
    return { headers, body }
  }

  private tooLarge(bytes: number) {
    return new MultipartStreamError({ message: `a multipart part of ${bytes} bytes or more is over the limit of ${this.maxPartBytes}` })
  }
}

const parseHeaders = (block: string): Record<string, string> => {
  const headers: Record<string, string> = {}
  for (const line of block.split(/\r?\n/)) {
    const colon = line.indexOf(":")
    if (colon <= 0) continue
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  return headers
}

/**
 * The parts of a multipart byte stream as they complete. Input ending in the middle of a part (a
 * dropped connection) ends the output without it.
 */
export const splitMultipart = (boundary: string, limits: MultipartLimits = {}) =>
<E, R>(bytes: Stream.Stream<Uint8Array, E, R>): Stream.Stream<MultipartPart, E | MultipartStreamError, R> =>
  Stream.suspend(() => {
    const splitter = new MultipartSplitter(boundary, limits)
    return bytes.pipe(
      Stream.mapEffect((chunk) => splitter.push(chunk)),
      Stream.flattenIterables
    )
  })

/**
 * A part as the vendor parsers take it: the name and filename from its Content-Disposition, the
 * media type of its Content-Type (without parameters).
 */
export const asFormPart = (part: MultipartPart): FormPart => {
  const disposition = part.headers["content-disposition"] ?? ""
  const filename = headerParameter(disposition, "filename")
  const contentType = (part.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase()
  return {
    name: headerParameter(disposition, "name") ?? filename ?? "",
    filename,
    contentType: contentType === "" ? "application/octet-stream" : contentType,
    bytes: part.body
  }
}
