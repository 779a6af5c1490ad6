import { Detection, jsonBytes, MAX_SOURCE_BYTES } from "@chaverim/domain/Detection"
import { isPlateRead } from "@chaverim/domain/Plate"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { createHash } from "node:crypto"
import type { CameraContext, CameraImage, CameraRead, Parsed, Vendor } from "./CameraRead"
import { type Decoded, describeParseError, refuse } from "./decode"

/**
 * From vendor values to reads: the rules every adapter applies the same way (camera identity,
 * detection ids, times, confidence, direction, photos), and the final check against the Detection
 * schema.
 */

// ---------------------------------------------------------------------------------------------
// What an adapter hands over

/** One vehicle as a camera reported it, in common terms; `collect` turns it into a read (or not). */
export interface Sighting {
  /** A detection_id the sender already keeps stable (the generic webhook), used as given. */
  readonly detectionId?: string | undefined
  /**
   * The vendor's own unique id of this read (an event UUID), when the payload has one. The
   * detection_id is then `<vendor>:<eventId>`; otherwise a fingerprint (see `detectionId`).
   */
  readonly eventId?: string | undefined
  /** ISO 8601 with an offset */
  readonly timestamp: string
  readonly camera: Camera
  /** the plate as read; `undefined` when the camera read none */
  readonly plate: string | undefined
  /** 0..1 */
  readonly confidence: number
  readonly vehicle?: Detection["vehicle"]
  readonly location?: Location | undefined
  readonly images?: ReadonlyArray<CameraImage | undefined>
  /**
   * What the vendor sent that the read has no field for, kept with it (the Detection's `source`);
   * left out, and the read kept, when it is more than MAX_SOURCE_BYTES of JSON.
   */
  readonly source?: Readonly<Record<string, unknown>> | undefined
}

export type Camera = Detection["camera"]
export type Location = NonNullable<Detection["location"]>

// ---------------------------------------------------------------------------------------------
// Text

/** Trimmed text, or undefined when nothing is left. */
export const text = (value: string | undefined): string | undefined => {
  const trimmed = value?.trim()
  return trimmed === undefined || trimmed === "" ? undefined : trimmed
}

// ---------------------------------------------------------------------------------------------
// Plates and confidence

/**
 * Confidence given to a read the camera reports without a score (Hikvision's plate list, UniFi
 * Alarm Manager webhooks). Both list only reads the camera itself accepted past its own threshold,
 * so the read is taken as certain rather than given an invented middle value that would rank it
 * below reads that were really scored lower.
 */
export const UNSCORED = 1

/** A vendor score on a 0-100 scale, as 0..1. */
export const fromPercent = (score: number): number => score / 100

/**
 * Whether the camera read a plate at all: cameras report a vehicle they could not read with the
 * plate `unknown`, an empty plate, or confidence 0.
 */
export const hasPlate = (text: string, confidence: number): boolean =>
  text.trim().toLowerCase() !== "unknown" && isPlateRead(text.trim()) && confidence !== 0

// ---------------------------------------------------------------------------------------------
// Cameras

/** The MAC of a camera whose payload carries none and whose configuration gives none. */
export const UNKNOWN_MAC = "unknown"

/** MACs as `AA:BB:CC:DD:EE:FF` whatever the vendor's spelling (`aa-bb-...`, `AABBCCDDEEFF`), so one camera is one MAC. */
export const normalizeMac = (raw: string | undefined): string | undefined => {
  const value = raw?.trim()
  if (value === undefined || value === "") return undefined
  const hex = value.replace(/[:.-]/g, "")
  return /^[0-9a-f]{12}$/i.test(hex) ? hex.toUpperCase().match(/../g)!.join(":") : value
}

/** What a payload says about its camera. */
export interface PayloadCamera {
  /** what identifies the camera to its vendor (serial, MAC and channel, Protect id) */
  readonly key?: string | undefined
  readonly mac?: string | undefined
  readonly name?: string | undefined
}

/**
 * The camera of a read. The configuration wins for the id and the name (the operator named the
 * camera); the id is otherwise `<vendor>:<key>`, or `<vendor>:<mac>` when the payload has no key,
 * or `<vendor>:unknown`. The MAC comes from the payload, else the configuration, else `unknown`:
 * the Detection needs one, and a read is worth keeping even from a camera nobody described.
 */
export const cameraRef = (vendor: Vendor, ctx: CameraContext, payload: PayloadCamera): Camera => {
  const mac = normalizeMac(payload.mac) ?? normalizeMac(ctx.mac)
  return {
    id: ctx.cameraId ?? `${vendor}:${text(payload.key) ?? mac ?? "unknown"}`,
    mac: mac ?? UNKNOWN_MAC,
    name: ctx.cameraName ?? text(payload.name)
  }
}

// ---------------------------------------------------------------------------------------------
// Vehicle attributes

// What cameras put in an attribute they could not determine.
const PLACEHOLDERS = new Set(["-", "unknown", "n/a", "none", "null"])

/** A vehicle attribute as given, trimmed; vendor placeholders for "not determined" become absent. */
export const attribute = (value: string | undefined): string | undefined => {
  const trimmed = text(value)
  return trimmed === undefined || PLACEHOLDERS.has(trimmed.toLowerCase()) ? undefined : trimmed
}

/** Type and colour are lower case whatever the vendor's casing, so that searches and counts agree. */
export const lowerAttribute = (value: string | undefined): string | undefined => attribute(value)?.toLowerCase()

/**
 * Direction of travel relative to the camera: `approaching` (coming towards it, front plate read)
 * or `leaving` (moving away, rear plate read). Each adapter maps its vendor's words to these; a
 * word no adapter knows is kept (lower case) rather than lost, and "unknown" is left out.
 */
export type Direction = "approaching" | "leaving"

export const direction = (vocabulary: Readonly<Record<string, Direction>>, raw: string | undefined): string | undefined => {
  const value = lowerAttribute(raw)
  return value === undefined ? undefined : vocabulary[value] ?? value
}

/** A decimal number written as text, where an empty field means "none" rather than a malformed payload. */
export const decimal = (value: string | undefined): number | undefined => {
  const trimmed = text(value)
  const n = trimmed === undefined ? Number.NaN : Number(trimmed)
  return Number.isFinite(n) ? n : undefined
}

/**
 * A position as the camera gave it. 0,0 is what cameras report when no position is set, and a
 * position off the globe is a bad fix: neither is a place, and neither should cost the read.
 */
export const location = (lat: number | undefined, lon: number | undefined): Location | undefined =>
  lat === undefined || lon === undefined || (lat === 0 && lon === 0) || Math.abs(lat) > 90 || Math.abs(lon) > 180
    ? undefined
    : { lat, lon }

// ---------------------------------------------------------------------------------------------
// Times

const pad = (n: number, width = 2) => String(n).padStart(width, "0")

/** Milliseconds since the epoch, as ISO 8601 in UTC. */
export const fromEpochMillis = (ms: number): string | undefined => {
  const date = new Date(ms)
  return Number.isInteger(ms) && !Number.isNaN(date.getTime()) ? date.toISOString() : undefined
}

/** A time as read off a clock, before it is placed on the time line by an offset or a time zone. */
export interface WallClock {
  readonly year: number
  readonly month: number
  readonly day: number
  readonly hour: number
  readonly minute: number
  readonly second: number
  /** fractional seconds as written, with the dot (`.654`), or "" */
  readonly fraction: string
}

/** A WallClock from the digit groups of a matched time: year, month, day, hour, minute, second. */
export const clockOf = (digits: ReadonlyArray<string>, fraction = ""): WallClock => {
  const [year, month, day, hour, minute, second] = digits.map(Number)
  return { year, month, day, hour, minute, second, fraction }
}

const clockAsUtc = (c: WallClock) => Date.UTC(c.year, c.month - 1, c.day, c.hour, c.minute, c.second)

const isRealClock = (c: WallClock) => {
  const d = new Date(clockAsUtc(c))
  return d.getUTCFullYear() === c.year && d.getUTCMonth() === c.month - 1 && d.getUTCDate() === c.day &&
    d.getUTCHours() === c.hour && d.getUTCMinutes() === c.minute && d.getUTCSeconds() === c.second
}

const formatters = new Map<string, Intl.DateTimeFormat>()

const formatterFor = (timeZone: string): Intl.DateTimeFormat | undefined => {
  let formatter = formatters.get(timeZone)
  if (formatter === undefined) {
    try {
      formatter = new Intl.DateTimeFormat("en-US", {
        timeZone,
        hourCycle: "h23",
        year: "numeric",
        month: "numeric",
        day: "numeric",
        hour: "numeric",
        minute: "numeric",
        second: "numeric"
      })
    } catch {
      return undefined // not a time zone Intl knows
    }
    formatters.set(timeZone, formatter)
  }
  return formatter
}

/** Minutes east of UTC in the formatter's zone at the instant `utcMs` (a whole second). */
const zoneOffsetAt = (formatter: Intl.DateTimeFormat, utcMs: number): number => {
  const parts = formatter.formatToParts(utcMs)
  const field = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === type)?.value)
  const local = Date.UTC(field("year"), field("month") - 1, field("day"), field("hour"), field("minute"), field("second"))
  return Math.round((local - utcMs) / 60_000)
}

const formatOffset = (minutes: number) =>
  `${minutes < 0 ? "-" : "+"}${pad(Math.floor(Math.abs(minutes) / 60))}:${pad(Math.abs(minutes) % 60)}`

/**
 * A wall-clock time placed on the time line, as ISO 8601 keeping the camera's own offset:
 * - with the offset the camera wrote (`Z`, `+0800`, `+08:00`; a sign left out, as some Hikvision
 *   firmware writes `0000`, is read as east of UTC),
 * - else in `timeZone` (the camera's IANA zone from the configuration), which knows summer time,
 * - else as UTC: a camera that sends local times without an offset must be configured with its zone.
 * Undefined when the clock is not a real calendar time or the zone is unknown.
 */
export const placeClock = (
  clock: WallClock,
  offset: string | undefined,
  timeZone: string | undefined
): string | undefined => {
  if (!isRealClock(clock)) return undefined
  const date = `${pad(clock.year, 4)}-${pad(clock.month)}-${pad(clock.day)}`
  const local = `${date}T${pad(clock.hour)}:${pad(clock.minute)}:${pad(clock.second)}${clock.fraction}`
  if (offset !== undefined) {
    if (/^z$/i.test(offset)) return `${local}Z`
    const m = /^([+-]?)(\d{2}):?(\d{2})$/.exec(offset)
    if (m === null || Number(m[2]) > 23 || Number(m[3]) > 59) return undefined
    return `${local}${m[1] === "-" ? "-" : "+"}${m[2]}:${m[3]}`
  }
  if (timeZone === undefined) return `${local}Z`
  const formatter = formatterFor(timeZone)
  if (formatter === undefined) return undefined
  // The offset at the wall time itself, found from the offset at that time read as UTC, corrected once.
  const asUtc = clockAsUtc(clock)
  const first = zoneOffsetAt(formatter, asUtc)
  return `${local}${formatOffset(zoneOffsetAt(formatter, asUtc - first * 60_000))}`
}

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?\s*(Z|[+-]\d{2}:?\d{2})?$/i

/** `2024-01-19T11:17:19+08:00`, or with no offset (placed as `placeClock` says). */
export const isoTime = (value: string, timeZone: string | undefined): string | undefined => {
  const m = ISO_TIME.exec(value.trim())
  if (m === null) return undefined
  const [, year, month, day, hour, minute, second, fraction, offset] = m
  return placeClock(clockOf([year, month, day, hour, minute, second], fraction), offset, timeZone)
}

// ---------------------------------------------------------------------------------------------
// Photos

const startsWith = (bytes: Uint8Array, signature: ReadonlyArray<number>, at = 0) =>
  signature.every((byte, i) => bytes[at + i] === byte)

/** The image type of `bytes` from its signature: the types the central server stores. */
export const sniffImageType = (bytes: Uint8Array): string | undefined => {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return "image/jpeg"
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "image/png"
  if (startsWith(bytes, [0x47, 0x49, 0x46, 0x38])) return "image/gif"
  if (startsWith(bytes, [0x52, 0x49, 0x46, 0x46]) && startsWith(bytes, [0x57, 0x45, 0x42, 0x50], 8)) return "image/webp"
  return undefined
}

const notAnImage = (vendor: Vendor, what: string) => refuse(vendor, `${what} is not a JPEG, PNG, GIF or WebP image`)

/** Image bytes that came as such (a multipart part); the type is taken from the bytes, not the label. */
export const image = (vendor: Vendor, kind: CameraImage["kind"], what: string, bytes: Uint8Array): Decoded<CameraImage> => {
  const contentType = sniffImageType(bytes)
  return contentType === undefined ? notAnImage(vendor, what) : Either.right({ kind, contentType, bytes })
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

/**
 * An image inlined in JSON as base64 (or a `data:` URL); an empty or absent field is no image.
 * Malformed base64 or bytes that are no image refuse the payload: it was damaged on the way.
 */
export const inlineImage = (
  vendor: Vendor,
  kind: CameraImage["kind"],
  what: string,
  value: string | undefined
): Decoded<CameraImage | undefined> => {
  const encoded = (value ?? "").replace(/^data:[^,]*;base64,/i, "").replace(/\s+/g, "")
  if (encoded === "") return Either.right(undefined)
  if (!BASE64.test(encoded) || encoded.length % 4 === 1) return refuse(vendor, `${what} is not base64`)
  // A copy with its own ArrayBuffer: Buffer.from may hand out a slice of a shared pool.
  return image(vendor, kind, what, new Uint8Array(Buffer.from(encoded, "base64")))
}

// ---------------------------------------------------------------------------------------------
// Sightings to reads

/**
 * A detection_id that is the same every time the camera sends the same read, so that a re-sent
 * event is a duplicate everywhere downstream: the sender's own detection_id, else the vendor's event
 * id, else a fingerprint of what makes the read this read (vendor, camera, capture time, plate).
 */
export const detectionId = (vendor: Vendor, sighting: Sighting & { readonly plate: string }): string => {
  const given = text(sighting.detectionId)
  if (given !== undefined) return given
  const eventId = text(sighting.eventId)
  if (eventId !== undefined) return `${vendor}:${eventId}`
  const fingerprint = createHash("sha256")
    .update(JSON.stringify([vendor, sighting.camera.id, sighting.timestamp, sighting.plate.trim()]))
    .digest("hex")
    .slice(0, 32)
  return `${vendor}:${fingerprint}`
}

/** The object without its undefined fields, or undefined when none is left. */
const pruned = <T extends object>(value: T | undefined): Partial<T> | undefined => {
  if (value === undefined) return undefined
  const entries = Object.entries(value).filter(([, v]) => v !== undefined)
  return entries.length === 0 ? undefined : Object.fromEntries(entries) as Partial<T>
}

const toDetection = (vendor: Vendor, sighting: Sighting & { readonly plate: string }) =>
  Schema.decodeUnknownEither(Detection)(pruned({
    detection_id: detectionId(vendor, sighting),
    timestamp: sighting.timestamp,
    camera: pruned(sighting.camera),
    plate: { text: sighting.plate, confidence: sighting.confidence },
    vehicle: pruned(sighting.vehicle),
    location: sighting.location,
    source: sighting.source === undefined || jsonBytes(sighting.source) > MAX_SOURCE_BYTES ? undefined : sighting.source
  }))

/**
 * The reads of a payload. A vehicle with no plate read is counted, not returned. A read that the
 * Detection schema refuses refuses the whole payload: the central server would refuse it too, so it
 * is better told to the camera (a 400 with the reason) than buffered as evidence that can never be
 * uploaded; the other reads of the payload come back when the sender re-sends it fixed, and their
 * stable ids make that safe. A read listed twice in one payload is kept once.
 */
export const collect = (vendor: Vendor, sightings: ReadonlyArray<Sighting>): Decoded<Parsed> => {
  const reads: Array<CameraRead> = []
  const ids = new Set<string>()
  let noPlate = 0
  for (const [index, sighting] of sightings.entries()) {
    const plate = sighting.plate
    if (plate === undefined || !hasPlate(plate, sighting.confidence)) {
      noPlate++
      continue
    }
    const decoded = toDetection(vendor, { ...sighting, plate })
    if (Either.isLeft(decoded)) {
      const which = sightings.length > 1 ? `read ${index + 1} of ${sightings.length}` : "the read"
      return refuse(vendor, `${which} is not a valid detection: ${describeParseError(decoded.left)}`)
    }
    const detection = decoded.right
    if (ids.has(detection.detection_id)) continue
    ids.add(detection.detection_id)
    reads.push({ detection, images: (sighting.images ?? []).filter((i) => i !== undefined) })
  }
  return Either.right({ reads, noPlate })
}
