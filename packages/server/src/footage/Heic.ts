import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { heif_image, heif_image_handle, MainModule } from "libheif-js/libheif-wasm/libheif"
import * as Fs from "node:fs/promises"
import { createRequire } from "node:module"
import sharp from "sharp"
import { type Frame, FootageError, type Probe } from "./Frames"

/**
 * HEIC photos (an iPhone's default), which Debian's ffmpeg does not read: libheif compiled to
 * WebAssembly (the libheif-js package, with libde265 for HEVC) decodes the file's primary image in
 * this process, sharp makes it a JPEG, and the EXIF of the primary image says when it was taken.
 *
 * Each decode has a WebAssembly instance of its own, dropped after it: a WebAssembly memory never
 * shrinks, and one shared instance would keep the largest photo's memory for good. The decode is
 * synchronous work on the calling thread (about a second for a 12-megapixel photo on one core).
 */

/**
 * A photo over this many pixels is refused before it is decoded: a 12-megapixel photo peaks near
 * 350 MB while decoded, so this keeps a decode near 1.5 GB at worst and takes a phone's 48 MP photos.
 */
export const MAX_HEIC_PIXELS = 50_000_000
/** A file over this many bytes is refused unread: the decoder works from a copy in memory. */
export const MAX_HEIC_BYTES = 100 * 1024 * 1024

export interface HeicLimits {
  /** at most this many pixels (width times height); MAX_HEIC_PIXELS if not given */
  readonly maxPixels?: number
}

export interface HeicFrameOptions extends HeicLimits {
  /** the JPEG is scaled down to at most this wide, as ffmpeg's frames are (1920 if not given) */
  readonly maxWidth?: number
}

const require = createRequire(import.meta.url)

type LibHeif = MainModule
let factory: ((options?: unknown) => LibHeif) | undefined

/** A fresh libheif instance (the bundle, with its WebAssembly inside, is loaded once per process). */
const libheif = (): LibHeif => {
  factory ??= require("libheif-js/libheif-wasm/libheif-bundle.js") as (options?: unknown) => LibHeif
  return factory()
}

const megapixels = (pixels: number) => Math.round(pixels / 100_000) / 10

const readFile = (path: string) =>
  Effect.tryPromise({
    try: async () => {
      const stat = await Fs.stat(path)
      if (stat.size > MAX_HEIC_BYTES) return { tooBig: stat.size } as const
      return { bytes: new Uint8Array(await Fs.readFile(path)) } as const
    },
    catch: (cause) => new FootageError({ message: `the file could not be read: ${(cause as Error).message}` })
  }).pipe(
    Effect.flatMap((read) =>
      "tooBig" in read
        ? new FootageError({ message: `the HEIC file is ${Math.round(read.tooBig / 1048576)} MB; HEIC photos over ${MAX_HEIC_BYTES / 1048576} MB are not read` })
        : Effect.succeed(read.bytes)
    )
  )

/** libheif reports an error as a value with a code; anything else it returns is what was asked for. */
const isHeifError = (value: unknown): value is { readonly message?: unknown } =>
  value === null || value === undefined || (typeof value === "object" && "code" in value && (value as { code: unknown }).code !== undefined)

const errorText = (value: unknown) => {
  const message = (value as { message?: unknown } | null | undefined)?.message
  return typeof message === "string" && message !== "" ? message : "no reason given"
}

type Handle = heif_image_handle

interface Primary {
  readonly lib: LibHeif
  readonly handle: Handle
  readonly width: number
  readonly height: number
}

/**
 * Opens the file's primary image and hands it to `use`; everything libheif made is freed after, and
 * a failure anywhere (a damaged file, libheif aborting) is a FootageError saying why.
 */
const withPrimary = <A>(bytes: Uint8Array, limits: HeicLimits | undefined, use: (primary: Primary) => A) =>
  Effect.try({
    try: () => {
      const lib = libheif()
      const context = lib.heif_context_alloc()
      let handle: Handle | undefined
      try {
        const read = lib.heif_context_read_from_memory(context, bytes)
        if (read.code !== lib.heif_error_code.heif_error_Ok) {
          return { error: `not a HEIC photo that can be read: ${errorText(read)}` } as const
        }
        const got: unknown = lib.heif_js_context_get_primary_image_handle(context)
        if (isHeifError(got)) return { error: `the HEIC file has no picture that can be read: ${errorText(got)}` } as const
        handle = got as Handle
        const width = lib.heif_image_handle_get_width(handle)
        const height = lib.heif_image_handle_get_height(handle)
        if (!(width > 0 && height > 0)) return { error: "the HEIC file's picture has no size" } as const
        const maxPixels = limits?.maxPixels ?? MAX_HEIC_PIXELS
        if (width * height > maxPixels) {
          return {
            error: `the photo is ${width} x ${height} (${megapixels(width * height)} megapixels); ` +
              `HEIC photos over ${megapixels(maxPixels)} megapixels are not read`
          } as const
        }
        return { value: use({ lib, handle, width, height }) } as const
      } finally {
        if (handle !== undefined) lib.heif_image_handle_release(handle)
        lib.heif_context_free(context)
      }
    },
    catch: (cause) => new FootageError({ message: `the HEIC photo could not be decoded: ${cause instanceof Error ? cause.message : String(cause)}` })
  }).pipe(Effect.flatMap((result) => "error" in result ? new FootageError({ message: result.error }) : Effect.succeed(result.value)))

/** The primary image's pixels, 8-bit RGB, row after row (libheif's rows may be padded: its stride). */
const decodeRgb = ({ lib, handle, width, height }: Primary) => {
  const decoded: unknown = lib.heif_js_decode_image2(handle, lib.heif_colorspace.heif_colorspace_RGB, lib.heif_chroma.heif_chroma_interleaved_RGB)
  if (isHeifError(decoded)) return { error: `the HEIC photo could not be decoded: ${errorText(decoded)}` } as const
  try {
    const channels = (decoded as { channels?: ReadonlyArray<{ id: unknown; width: number; height: number; stride: number; bits_per_pixel: number; data: Uint8Array }> }).channels ?? []
    const plane = channels.find((c) => c.id === lib.heif_channel.heif_channel_interleaved)
    if (plane === undefined || plane.width !== width || plane.height !== height || plane.bits_per_pixel !== 8 || plane.stride < width * 3) {
      return { error: "the HEIC photo decoded to a picture of another shape than it declares" } as const
    }
    // the plane is a view of the WebAssembly memory: copied out before the image is released
    const rgb = Buffer.allocUnsafe(width * height * 3)
    for (let y = 0; y < height; y++) rgb.set(plane.data.subarray(y * plane.stride, y * plane.stride + width * 3), y * width * 3)
    return { rgb } as const
  } finally {
    const image = (decoded as { image?: unknown }).image
    if (image !== undefined && image !== null) lib.heif_image_release(image as heif_image)
  }
}

/**
 * What a HEIC file is, in the shape ffprobe's `probe` gives: its primary image's size (as it is shown:
 * rotations applied) and, from its EXIF, when it was taken. A file libheif cannot open, with no primary
 * image, or over the limit of pixels is refused with the reason.
 */
export const probeHeic = Effect.fn("Heic.probe")(function*(path: string, limits?: HeicLimits) {
  const bytes = yield* readFile(path)
  const { width, height } = yield* withPrimary(bytes, limits, ({ width, height }) => ({ width, height }))
  return {
    media: "photo",
    format: "heif",
    durationS: null,
    startS: 0,
    width,
    height,
    createdAt: exifCreatedAt(bytes)
  } satisfies Probe
})

/** The primary image of a HEIC file as one JPEG, at most `maxWidth` wide (1920 if not given). */
export const heicJpeg = Effect.fn("Heic.jpeg")(function*(path: string, options?: HeicFrameOptions) {
  const bytes = yield* readFile(path)
  const decoded = yield* withPrimary(bytes, options, (primary) => ({ ...decodeRgb(primary), width: primary.width, height: primary.height }))
  if ("error" in decoded) return yield* new FootageError({ message: decoded.error })
  const maxWidth = options?.maxWidth ?? 1920
  return yield* Effect.tryPromise({
    try: () =>
      sharp(decoded.rgb, { raw: { width: decoded.width, height: decoded.height, channels: 3 } })
        .resize({ width: maxWidth, withoutEnlargement: true })
        .jpeg({ quality: 90 })
        .toBuffer(),
    catch: (cause) => new FootageError({ message: `the HEIC photo could not be made a JPEG: ${(cause as Error).message}` })
  })
})

/** A HEIC photo as the frames ffmpeg samples (Frames.ts's `sampleFrames` for a photo): its one picture at offset 0. */
export const heicFrames = (path: string, options?: HeicFrameOptions): Stream.Stream<Frame, FootageError> =>
  Stream.fromEffect(Effect.map(heicJpeg(path, options), (jpeg): Frame => ({ index: 0, offsetS: 0, jpeg })))

// ---------------------------------------------------------------------------------------------------
// EXIF: the primary image's Exif item (ISO BMFF boxes: meta's pitm, iinf, iref, iloc and idat), and in
// it DateTimeOriginal with OffsetTimeOriginal. A time without its offset says no instant (the phone's
// local time, in a zone the file does not name), so it gives none. Anything malformed: no time.

interface Box {
  readonly type: string
  /** where the box's content starts (after its header) and ends */
  readonly start: number
  readonly end: number
}

const fourcc = (bytes: Uint8Array, at: number) => String.fromCharCode(bytes[at]!, bytes[at + 1]!, bytes[at + 2]!, bytes[at + 3]!)

/** The boxes from `from` to `to`; a box that claims more than there is ends the list. */
const boxesIn = (bytes: Uint8Array, view: DataView, from: number, to: number): Array<Box> => {
  const boxes: Array<Box> = []
  let at = from
  while (at + 8 <= to) {
    let size = view.getUint32(at)
    let header = 8
    if (size === 1) {
      if (at + 16 > to) break
      size = Number(view.getBigUint64(at + 8))
      header = 16
    } else if (size === 0) size = to - at
    if (size < header || at + size > to) break
    boxes.push({ type: fourcc(bytes, at + 4), start: at + header, end: at + size })
    at += size
  }
  return boxes
}

/** A field of 0, 4 or 8 bytes (iloc's offsets and lengths). */
const sized = (view: DataView, at: number, size: number) =>
  size === 0 ? 0 : size === 4 ? view.getUint32(at) : size === 8 ? Number(view.getBigUint64(at)) : Number.NaN

/** The bytes of the Exif item that describes the primary image (else the first Exif item), if any. */
const exifItem = (bytes: Uint8Array): Uint8Array | undefined => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const meta = boxesIn(bytes, view, 0, bytes.length).find((b) => b.type === "meta")
  if (meta === undefined) return undefined
  const children = boxesIn(bytes, view, meta.start + 4, meta.end)
  const child = (type: string) => children.find((b) => b.type === type)

  const pitm = child("pitm")
  const primary = pitm === undefined ? undefined : bytes[pitm.start] === 0 ? view.getUint16(pitm.start + 4) : view.getUint32(pitm.start + 4)

  const exifIds: Array<number> = []
  const iinf = child("iinf")
  if (iinf !== undefined) {
    const entries = iinf.start + 4 + (bytes[iinf.start] === 0 ? 2 : 4)
    for (const infe of boxesIn(bytes, view, entries, iinf.end)) {
      if (infe.type !== "infe") continue
      const version = bytes[infe.start]!
      if (version < 2) continue
      const id = version === 2 ? view.getUint16(infe.start + 4) : view.getUint32(infe.start + 4)
      const typeAt = infe.start + (version === 2 ? 8 : 10)
      if (typeAt + 4 <= infe.end && fourcc(bytes, typeAt) === "Exif") exifIds.push(id)
    }
  }
  if (exifIds.length === 0) return undefined

  // the Exif item that describes ("cdsc") the primary image, if the file says which
  let chosen = exifIds[0]!
  const iref = child("iref")
  if (iref !== undefined && primary !== undefined) {
    const wide = bytes[iref.start] !== 0
    for (const ref of boxesIn(bytes, view, iref.start + 4, iref.end)) {
      if (ref.type !== "cdsc") continue
      const from = wide ? view.getUint32(ref.start) : view.getUint16(ref.start)
      const count = view.getUint16(ref.start + (wide ? 4 : 2))
      const first = ref.start + (wide ? 6 : 4)
      for (let i = 0; i < count; i++) {
        const to = wide ? view.getUint32(first + i * 4) : view.getUint16(first + i * 2)
        if (to === primary && exifIds.includes(from)) chosen = from
      }
    }
  }

  const iloc = child("iloc")
  if (iloc === undefined) return undefined
  const version = bytes[iloc.start]!
  const offsetSize = bytes[iloc.start + 4]! >> 4
  const lengthSize = bytes[iloc.start + 4]! & 15
  const baseSize = bytes[iloc.start + 5]! >> 4
  const indexSize = version === 1 || version === 2 ? bytes[iloc.start + 5]! & 15 : 0
  const count = version < 2 ? view.getUint16(iloc.start + 6) : view.getUint32(iloc.start + 6)
  let at = iloc.start + (version < 2 ? 8 : 10)
  // extents whose fields are all 0 bytes long take no room: a count keeps a crafted iloc from looping for long
  let budget = 10_000
  for (let i = 0; i < count && at < iloc.end; i++) {
    const id = version < 2 ? view.getUint16(at) : view.getUint32(at)
    at += version < 2 ? 2 : 4
    let method = 0
    if (version === 1 || version === 2) {
      method = view.getUint16(at) & 15
      at += 2
    }
    at += 2 // data_reference_index
    const base = sized(view, at, baseSize)
    at += baseSize
    const extents = view.getUint16(at)
    at += 2
    budget -= extents + 1
    if (budget < 0) return undefined
    const parts: Array<Uint8Array> = []
    for (let e = 0; e < extents; e++) {
      at += indexSize
      const offset = sized(view, at, offsetSize)
      at += offsetSize
      const length = sized(view, at, lengthSize)
      at += lengthSize
      parts.push(
        method === 0 ? slice(bytes, base + offset, length) : method === 1 ? slice(idatOf(bytes, children), base + offset, length) : new Uint8Array(0)
      )
    }
    if (id !== chosen) continue
    const size = parts.reduce((n, p) => n + p.length, 0)
    if (size === 0 || size > 1_048_576) return undefined
    const item = new Uint8Array(size)
    parts.reduce((n, p) => (item.set(p, n), n + p.length), 0)
    return item
  }
  return undefined
}

/** `length` bytes from `offset` (0: to the end); nothing when they are not all there. */
const slice = (bytes: Uint8Array, offset: number, length: number) => {
  const end = length === 0 ? bytes.length : offset + length
  return Number.isSafeInteger(offset) && Number.isSafeInteger(end) && offset >= 0 && end <= bytes.length && offset <= end
    ? bytes.subarray(offset, end)
    : new Uint8Array(0)
}

const idatOf = (bytes: Uint8Array, children: ReadonlyArray<Box>) => {
  const idat = children.find((b) => b.type === "idat")
  return idat === undefined ? new Uint8Array(0) : bytes.subarray(idat.start, idat.end)
}

/** The TIFF structure in an Exif item: after the 4-byte offset to its header (past "Exif\0\0" where written). */
const tiffOf = (item: Uint8Array) => {
  if (item.length < 12) return undefined
  const skip = new DataView(item.buffer, item.byteOffset, item.byteLength).getUint32(0)
  const starts = [4 + skip, 4, 10]
  for (const at of starts) {
    if (at + 8 > item.length) continue
    const order = fourcc(item, at)
    if (order === "II*\u0000" || order === "MM\u0000*") return item.subarray(at)
  }
  return undefined
}

/** DateTimeOriginal with its offset, as an instant (ISO 8601, UTC); undefined when the EXIF does not say both. */
const exifTime = (tiff: Uint8Array): string | undefined => {
  const view = new DataView(tiff.buffer, tiff.byteOffset, tiff.byteLength)
  const little = tiff[0] === 0x49
  const u16 = (at: number) => view.getUint16(at, little)
  const u32 = (at: number) => view.getUint32(at, little)
  /** An IFD's entries by tag: where each entry is. */
  const ifd = (at: number) => {
    const entries = new Map<number, number>()
    const count = u16(at)
    for (let i = 0; i < count && i < 1000; i++) entries.set(u16(at + 2 + i * 12), at + 2 + i * 12)
    return entries
  }
  const ascii = (entry: number | undefined) => {
    if (entry === undefined || u16(entry + 2) !== 2) return undefined
    const count = u32(entry + 4)
    if (count > 64) return undefined
    const at = count <= 4 ? entry + 8 : u32(entry + 8)
    if (at + count > tiff.length) return undefined
    return String.fromCharCode(...tiff.subarray(at, at + count)).replace(/\u0000.*$/s, "").trim()
  }
  const ifd0 = ifd(u32(4))
  const exifPointer = ifd0.get(0x8769)
  if (exifPointer === undefined) return undefined
  const exif = ifd(u32(exifPointer + 8))
  const time = ascii(exif.get(0x9003))
  const offset = ascii(exif.get(0x9011)) ?? ascii(exif.get(0x9010))
  const t = time === undefined ? null : /^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})/.exec(time)
  const o = offset === undefined ? null : /^([+-])(\d{2}):(\d{2})$/.exec(offset)
  if (t === null || o === null) return undefined
  const [year, month, day, hour, minute, second] = t.slice(1).map(Number) as [number, number, number, number, number, number]
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return undefined
  const shift = (o[1] === "-" ? -1 : 1) * (Number(o[2]) * 60 + Number(o[3])) * 60_000
  const at = Date.UTC(year, month - 1, day, hour, minute, second) - shift
  // as probe: a camera whose clock was never set says 1970 or the like, which is no time at all
  return at > Date.UTC(2000, 0, 1) ? new Date(at).toISOString() : undefined
}

/** When the photo was taken, by its EXIF (ISO 8601, UTC), or null when it does not say (or says it malformed). */
export const exifCreatedAt = (bytes: Uint8Array): string | null => {
  try {
    const item = exifItem(bytes)
    const tiff = item === undefined ? undefined : tiffOf(item)
    return (tiff === undefined ? undefined : exifTime(tiff)) ?? null
  } catch {
    // a DataView read past the end (RangeError): a malformed file, which says no time
    return null
  }
}
