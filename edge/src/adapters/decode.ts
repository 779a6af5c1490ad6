import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { XMLParser, XMLValidator } from "fast-xml-parser"
import * as Multipasta from "multipasta"
import { PayloadError, type Vendor } from "./CameraRead"

/**
 * From bytes to values: the decoding steps every adapter shares (text, JSON, XML, multipart, a vendor
 * schema), each failing with a PayloadError that says what was wrong with the payload.
 */

export type Decoded<A> = Either.Either<A, PayloadError>

export const refuse = (vendor: Vendor, message: string): Decoded<never> =>
  Either.left(new PayloadError({ vendor, message }))

const reason = (error: unknown) => error instanceof Error ? error.message : String(error)

const utf8 = new TextDecoder("utf-8", { fatal: true })

export const decodeText = (vendor: Vendor, body: Uint8Array): Decoded<string> =>
  Either.try({
    try: () => utf8.decode(body).replace(/^\uFEFF/, ""),
    catch: () => new PayloadError({ vendor, message: "the payload is not UTF-8 text" })
  })

export const decodeJson = (vendor: Vendor, text: string): Decoded<unknown> =>
  text.trim() === ""
    ? refuse(vendor, "the payload is empty")
    : Either.try({
      try: () => JSON.parse(text) as unknown,
      catch: (e) => new PayloadError({ vendor, message: `not valid JSON (${reason(e)})` })
    })

/** Parsed XML without its empty elements, which cameras write for "no value" (`<monitoringSiteID></monitoringSiteID>`). */
const withoutEmpty = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.filter((v) => v !== "").map(withoutEmpty)
  if (typeof value !== "object" || value === null) return value
  return Object.fromEntries(
    Object.entries(value).filter(([, v]) => v !== "").map(([k, v]) => [k, withoutEmpty(v)])
  )
}

/**
 * XML into plain objects: elements become keys, text becomes strings, empty elements are left out
 * (an empty document element becomes `{}`), and the elements named in `lists` are always arrays.
 * Values stay strings: a Hikvision picName has more digits than a double holds.
 *
 * The parser alone accepts some truncated documents (cut at a tag boundary), so the text is
 * validated first; fast-xml-parser 5 marks its validator deprecated in favour of a separate package,
 * but still ships it.
 */
export const decodeXml = (
  vendor: Vendor,
  text: string,
  lists: ReadonlyArray<string> = []
): Decoded<Record<string, unknown>> => {
  if (text.trim() === "") return refuse(vendor, "the payload is empty")
  const valid = XMLValidator.validate(text)
  if (valid !== true) {
    return refuse(vendor, `not well-formed XML (line ${valid.err.line}: ${valid.err.msg})`)
  }
  const parser = new XMLParser({
    ignoreAttributes: true,
    removeNSPrefix: true,
    parseTagValue: false,
    isArray: (name) => lists.includes(name)
  })
  return Either.try({
    try: () => {
      const parsed = parser.parse(text) as Record<string, unknown>
      return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, v === "" ? {} : withoutEmpty(v)]))
    },
    catch: (e) => new PayloadError({ vendor, message: `not well-formed XML (${reason(e)})` })
  })
}

/** The name of the document element of parsed XML (the first key that is not the declaration). */
export const rootElement = (xml: Record<string, unknown>): string | undefined =>
  Object.keys(xml).find((key) => !key.startsWith("?"))

/** One part of a multipart body, whole. */
export interface FormPart {
  readonly name: string
  readonly filename: string | undefined
  readonly contentType: string
  readonly bytes: Uint8Array
}

const MULTIPART_ERRORS: Record<Multipasta.MultipartError["_tag"], string> = {
  InvalidBoundary: "the multipart body has no boundary",
  BadHeaders: "a multipart part has malformed headers",
  InvalidDisposition: "a multipart part has no name in its Content-Disposition",
  ReachedLimit: "the multipart body is too large",
  EndNotReached: "the multipart body ends before its closing boundary (truncated?)"
}

const concat = (chunks: ReadonlyArray<Uint8Array>): Uint8Array => {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0))
  let offset = 0
  for (const chunk of chunks) {
    out.set(chunk, offset)
    offset += chunk.byteLength
  }
  return out
}

/**
 * The Content-Type of a body that starts with a multipart boundary line, for a body that arrives
 * without its header (a push saved to a file and given to `edge parse`).
 */
export const sniffMultipartType = (body: Uint8Array): string | undefined => {
  const head = new TextDecoder().decode(body.subarray(0, 200))
  const boundary = /^--([^\r\n]{1,70})\r\n/.exec(head)?.[1]
  return boundary === undefined ? undefined : `multipart/form-data; boundary=${boundary}`
}

export const isMultipart = (contentType: string | undefined): contentType is string =>
  contentType !== undefined && /^\s*multipart\//i.test(contentType)

/**
 * A multipart body (multipart/form-data as cameras post it, or multipart/mixed as in Hikvision's
 * alertStream), parsed whole and synchronously with multipasta, the parser @effect/platform uses.
 */
export const decodeMultipart = (vendor: Vendor, body: Uint8Array, contentType: string): Decoded<ReadonlyArray<FormPart>> => {
  const parts: Array<FormPart> = []
  let failure: Multipasta.MultipartError | undefined
  let done = false
  const partOf = (info: Multipasta.PartInfo, bytes: Uint8Array): FormPart => ({
    name: info.name,
    filename: info.filename,
    contentType: info.contentType,
    bytes
  })
  const parser = Multipasta.make({
    headers: { "content-type": contentType },
    onField: (info, value) => parts.push(partOf(info, value)),
    onFile: (info) => {
      const chunks: Array<Uint8Array> = []
      return (chunk) => chunk === null ? parts.push(partOf(info, concat(chunks))) : chunks.push(chunk)
    },
    onError: (error) => (failure ??= error),
    onDone: () => (done = true)
  })
  parser.write(body)
  parser.end()
  if (failure !== undefined) return refuse(vendor, MULTIPART_ERRORS[failure._tag])
  if (!done) return refuse(vendor, MULTIPART_ERRORS.EndNotReached)
  return Either.right(parts)
}

const formatPath = (path: ReadonlyArray<PropertyKey>): string =>
  path.map((key, i) => typeof key === "number" ? `[${key}]` : i === 0 ? String(key) : `.${String(key)}`).join("")

/** The first problem of a schema failure, as one line: `ANPR.confidenceLevel: Expected ...`. */
export const describeParseError = (error: ParseResult.ParseError): string => {
  const [first] = ParseResult.ArrayFormatter.formatErrorSync(error)
  if (first === undefined) return error.message
  if (first.path.length === 0) return first.message
  return first._tag === "Missing" ? `${formatPath(first.path)} is missing` : `${formatPath(first.path)}: ${first.message}`
}

/** `value`, or the payload is refused with `message`. */
export const required = <A>(vendor: Vendor, value: A | undefined, message: string): Decoded<A> =>
  value === undefined ? refuse(vendor, message) : Either.right(value)

/** A value checked against the vendor's payload schema. */
export const decodeWith = <A, I>(vendor: Vendor, schema: Schema.Schema<A, I>, value: unknown): Decoded<A> =>
  Schema.decodeUnknownEither(schema)(value).pipe(
    Either.mapLeft((error) => new PayloadError({ vendor, message: describeParseError(error) }))
  )

/** A number as vendors send it: a JSON number or a decimal string (XML, and JSON from some cameras). */
export const Numeric = Schema.Union(Schema.Number, Schema.NumberFromString).pipe(Schema.finite())

/** An optional field that is absent rather than `undefined` when missing, so errors name the real type. */
export const optional = <A, I>(schema: Schema.Schema<A, I>) => Schema.optionalWith(schema, { exact: true })
