import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { CameraContext, CameraImage, CameraRead, Parsed } from "./CameraRead"
import {
  decodeMultipart,
  decodeText,
  decodeWith,
  decodeXml,
  type Decoded,
  type FormPart,
  isMultipart,
  Numeric,
  optional,
  refuse,
  required,
  rootElement,
  sniffMultipartType
} from "./decode"
import {
  cameraRef,
  clockOf,
  collect,
  detectionId,
  type Direction,
  direction,
  fromPercent,
  image,
  isoTime,
  location,
  type Location,
  lowerAttribute,
  normalizeMac,
  placeClock,
  type Sighting,
  text,
  UNSCORED
} from "./reads"

/**
 * Hikvision ANPR cameras (ISAPI), in the three forms a collector meets:
 *
 * - the push to an "HTTP listening host": multipart/form-data with an `anpr.xml` part (an
 *   EventNotificationAlert, eventType ANPR) and JPEG parts `licensePlatePicture.jpg` (the plate)
 *   and `detectionPicture.jpg` (the scene);
 * - the same part set, one per event, in the camera's `/ISAPI/Event/notification/alertStream`;
 * - the `<Plates>` list answered to `POST /ISAPI/Traffic/channels/<n>/vehicleDetect/plates`, which a
 *   collector polls to backfill reads it missed.
 *
 * Confidence: `confidenceLevel` is 0-100. The plate list carries none (see UNSCORED).
 * Direction: `forward` is the lane's configured direction of travel, which on an ANPR install is
 * towards the camera, so `forward` is approaching and `reverse` leaving.
 * Identity: the event's UUID; the camera is `hikvision:<MAC>:<channel>`.
 */

const VENDOR = "hikvision"

const DIRECTIONS: Readonly<Record<string, Direction>> = { forward: "approaching", reverse: "leaving" }

/** The photos of an ANPR event, by the name of their part; other pictures a camera may add are not kept. */
const PICTURES: Readonly<Record<string, CameraImage["kind"]>> = {
  "licensePlatePicture.jpg": "plate",
  "detectionPicture.jpg": "scene"
}

// ---------------------------------------------------------------------------------------------
// EventNotificationAlert

const GpsCoordinate = Schema.Struct({ degree: Numeric, minute: Numeric, sec: Numeric })

const DeviceGps = Schema.Struct({
  latitudeType: Schema.Literal("N", "S"),
  longitudeType: Schema.Literal("E", "W"),
  Latitude: GpsCoordinate,
  Longitude: GpsCoordinate
})

const Anpr = Schema.Struct({
  licensePlate: optional(Schema.String),
  confidenceLevel: Numeric,
  direction: optional(Schema.String),
  vehicleType: optional(Schema.String),
  vehicleInfo: optional(Schema.Struct({ color: optional(Schema.String) }))
})

const AlertDocument = Schema.Struct({
  EventNotificationAlert: Schema.Struct({
    macAddress: optional(Schema.String),
    channelID: optional(Schema.String),
    channelName: optional(Schema.String),
    dateTime: Schema.String,
    eventType: Schema.String,
    UUID: optional(Schema.String),
    ANPR: optional(Anpr),
    DeviceGPSInfo: optional(Schema.Unknown)
  })
})

const camera = (ctx: CameraContext, mac: string | undefined, channel: string | undefined, name?: string) => {
  const known = normalizeMac(mac) ?? normalizeMac(ctx.mac)
  return cameraRef(VENDOR, ctx, { key: `${known ?? "unknown"}:${text(channel) ?? "1"}`, mac: known, name })
}

const degrees = (c: typeof GpsCoordinate.Type, negative: boolean) =>
  Math.round((c.degree + c.minute / 60 + c.sec / 3600) * 1e7) / 1e7 * (negative ? -1 : 1)

/**
 * The position the camera was given, in degrees, minutes and seconds (rounded to 1e-7 degree, about
 * a centimetre). It is optional decoration: a block in another shape is ignored, not refused.
 */
const gpsLocation = (gps: unknown): Location | undefined =>
  Option.match(Schema.decodeUnknownOption(DeviceGps)(gps), {
    onNone: () => undefined,
    onSome: (g) => location(degrees(g.Latitude, g.latitudeType === "S"), degrees(g.Longitude, g.longitudeType === "W"))
  })

const pictures = (parts: ReadonlyArray<FormPart>): Decoded<ReadonlyArray<CameraImage>> => {
  const found = new Map<CameraImage["kind"], Decoded<CameraImage>>()
  for (const part of parts) {
    const kind = PICTURES[part.name] ?? PICTURES[part.filename ?? ""]
    if (kind !== undefined && !found.has(kind)) found.set(kind, image(VENDOR, kind, `part ${part.name}`, part.bytes))
  }
  return Either.all([...found.values()])
}

const alertReads = (doc: unknown, parts: ReadonlyArray<FormPart>, ctx: CameraContext): Decoded<Parsed> =>
  Either.gen(function*() {
    const alert = (yield* decodeWith(VENDOR, AlertDocument, doc)).EventNotificationAlert
    // The alertStream carries every event type, heartbeats included: only ANPR events are reads.
    if (alert.eventType.trim() !== "ANPR") return { reads: [], noPlate: 0 }
    const anpr = yield* required(VENDOR, alert.ANPR, "an ANPR event without its <ANPR> element")
    const timestamp = yield* required(
      VENDOR,
      isoTime(alert.dateTime, ctx.timeZone),
      `dateTime "${alert.dateTime}" is not an ISO 8601 time`
    )
    return yield* collect(VENDOR, [{
      eventId: text(alert.UUID),
      timestamp,
      camera: camera(ctx, alert.macAddress, alert.channelID, alert.channelName),
      plate: anpr.licensePlate,
      confidence: fromPercent(anpr.confidenceLevel),
      vehicle: {
        direction: direction(DIRECTIONS, anpr.direction),
        type: lowerAttribute(anpr.vehicleType),
        color: lowerAttribute(anpr.vehicleInfo?.color)
      },
      location: gpsLocation(alert.DeviceGPSInfo) ?? ctx.location,
      images: yield* pictures(parts)
    }])
  })

/**
 * An EventNotificationAlert document with the picture parts that came with it (matched by part
 * name: `licensePlatePicture.jpg` is the plate, `detectionPicture.jpg` the scene). An event of
 * another type (motion, a heartbeat) holds no reads.
 */
export const parseAlert = (xml: string, parts: ReadonlyArray<FormPart>, ctx: CameraContext): Decoded<Parsed> =>
  Either.flatMap(decodeXml(VENDOR, xml), (doc) => alertReads(doc, parts, ctx))

const isXmlPart = (part: FormPart) =>
  /xml/i.test(part.contentType) || /\.xml$/i.test(part.filename ?? part.name)

/** One part set of a push or of the alertStream: the alert XML part and its JPEG parts. */
export const parseAlertParts = (parts: ReadonlyArray<FormPart>, ctx: CameraContext): Decoded<Parsed> =>
  Either.gen(function*() {
    const xmlPart = yield* required(VENDOR, parts.find(isXmlPart), "the multipart body has no XML part (anpr.xml)")
    const xml = yield* decodeText(VENDOR, xmlPart.bytes)
    return yield* parseAlert(xml, parts, ctx)
  })

/** A whole multipart/form-data push body, given its Content-Type (with the boundary). */
export const parsePush = (body: Uint8Array, contentType: string, ctx: CameraContext): Decoded<Parsed> =>
  Either.flatMap(decodeMultipart(VENDOR, body, contentType), (parts) => parseAlertParts(parts, ctx))

// ---------------------------------------------------------------------------------------------
// The plate list (backfill)

/** The plate list path of a camera channel, for `POST` with `platesQuery`. */
export const platesPath = (channel = 1): string => `/ISAPI/Traffic/channels/${channel}/vehicleDetect/plates`

/** The path of the picture of a listed plate, for `GET` (Digest, as every ISAPI request). */
export const platePicturePath = (picName: string): string => `/doc/ui/images/plate/${encodeURIComponent(picName)}.jpg`

/** The bytes answered for a listed plate's picture, as the read's plate photo. */
export const platePicture = (picName: string, bytes: Uint8Array): Decoded<CameraImage> =>
  image(VENDOR, "plate", `the picture of plate ${picName}`, bytes)

const xmlEscape = (value: string) =>
  value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

/**
 * The body that asks for the plates read after `picTime`: the `picName` of the last plate already
 * collected (`PlatesPage.lastPicName`), or a time written `yyyyMMddHHmmss` in the camera's clock
 * for a first backfill.
 */
export const platesQuery = (picTime: string): string =>
  `<AfterTime><picTime>${xmlEscape(picTime.trim())}</picTime></AfterTime>`

const PlateEntry = Schema.Struct({
  captureTime: Schema.String,
  plateNumber: optional(Schema.String),
  picName: Schema.String,
  direction: optional(Schema.String)
})

const PlatesDocument = Schema.Struct({
  Plates: Schema.Struct({ Plate: optional(Schema.Array(PlateEntry)) })
})

const COMPACT_TIME = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})([+-]?\d{4})?$/

/** `20340109T094130+0400` as plate lists write it (some firmware drops the sign: `...T1616270000`). */
const captureTime = (value: string, timeZone: string | undefined): string | undefined => {
  const m = COMPACT_TIME.exec(value.trim())
  if (m === null) return isoTime(value, timeZone)
  const [, year, month, day, hour, minute, second, offset] = m
  return placeClock(clockOf([year, month, day, hour, minute, second]), offset, timeZone)
}

/** A read of the plate list, with the `picName` its picture is fetched by (see `platePicturePath`). */
export interface ListedRead extends CameraRead {
  readonly picName: string | undefined
}

/** The reads of a plate list, and the picName to ask after next time. */
export interface PlatesPage extends Parsed {
  readonly reads: ReadonlyArray<ListedRead>
  readonly lastPicName: string | undefined
}

const platesReads = (doc: unknown, ctx: CameraContext, channel: number): Decoded<PlatesPage> =>
  Either.gen(function*() {
    const plates = (yield* decodeWith(VENDOR, PlatesDocument, doc)).Plates.Plate ?? []
    const sightings: Array<Sighting> = []
    for (const [i, plate] of plates.entries()) {
      sightings.push({
        timestamp: yield* required(
          VENDOR,
          captureTime(plate.captureTime, ctx.timeZone),
          `Plate[${i}].captureTime "${plate.captureTime}" is not a time`
        ),
        camera: camera(ctx, undefined, String(channel)),
        plate: plate.plateNumber,
        confidence: UNSCORED,
        vehicle: { direction: direction(DIRECTIONS, plate.direction) },
        location: ctx.location
      })
    }
    const parsed = yield* collect(VENDOR, sightings)
    // collect drops unread plates and repeated captures, so each read finds its picName again by its
    // detection_id; a capture listed twice keeps the first picName, as collect keeps the first read.
    const picNames = new Map<string, string | undefined>()
    sightings.forEach((sighting, i) => {
      if (sighting.plate === undefined) return
      const id = detectionId(VENDOR, { ...sighting, plate: sighting.plate })
      if (!picNames.has(id)) picNames.set(id, text(plates[i]!.picName))
    })
    return {
      reads: parsed.reads.map((read) => ({ ...read, picName: picNames.get(read.detection.detection_id) })),
      noPlate: parsed.noPlate,
      lastPicName: text(plates.at(-1)?.picName)
    }
  })

/**
 * A `<Plates>` answer. It names no camera, so the camera comes from `ctx` and `channel`; its reads
 * have no event id, so their ids are fingerprints, and the same capture listed again (as a later
 * page may) is the same detection. It carries no pictures: each read has the `picName` to fetch its
 * plate picture by.
 */
export const parsePlates = (xml: string, ctx: CameraContext, channel = 1): Decoded<PlatesPage> =>
  Either.flatMap(decodeXml(VENDOR, xml, ["Plate"]), (doc) => platesReads(doc, ctx, channel))

// ---------------------------------------------------------------------------------------------
// Whatever a Hikvision camera sent

/** A push body (multipart), a bare EventNotificationAlert, or a `<Plates>` answer. */
export const parseHikvision = (body: Uint8Array, contentType: string | undefined, ctx: CameraContext): Decoded<Parsed> => {
  const multipartType = isMultipart(contentType) ? contentType : sniffMultipartType(body)
  if (multipartType !== undefined) return parsePush(body, multipartType, ctx)
  return Either.gen(function*() {
    const doc = yield* decodeXml(VENDOR, yield* decodeText(VENDOR, body), ["Plate"])
    const root = rootElement(doc)
    if (root === "EventNotificationAlert") return yield* alertReads(doc, [], ctx)
    if (root === "Plates") return yield* platesReads(doc, ctx, 1)
    return yield* refuse(VENDOR, `expected an EventNotificationAlert or a Plates document, not <${root ?? "?"}>`)
  })
}
