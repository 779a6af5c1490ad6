import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { CameraContext, Parsed } from "./CameraRead"
import { decodeJson, decodeText, decodeWith, type Decoded, Numeric, optional, required } from "./decode"
import {
  attribute,
  cameraRef,
  clockOf,
  collect,
  decimal,
  type Direction,
  direction,
  fromPercent,
  inlineImage,
  location,
  lowerAttribute,
  placeClock,
  text
} from "./reads"

/**
 * Genetec AutoVu SharpV read, as JSON: `Plate`, `ConfidenceScore` (0-100), the time in UTC as
 * `DateUtc` (`MM/DD/YYYY`, or `YYYY-MM-DD` on some versions) and `TimeUtc` (`HH:mm:ss`), the GPS
 * position of the unit (`Latitude`, `Longitude`, decimal; a patrol vehicle moves), attributes
 * (vehicle type, colour, make, `Relative Motion`), and the photos inline in base64: `PlateImage`
 * and `ContextImage` (or `OverviewImage` when there is no context image).
 *
 * Direction: `Relative Motion` `Approaching` / `Moving Away`.
 * Identity: `VehicleID`, a GUID per read; the camera is `genetec:<SharpName>`. SharpV sends no MAC.
 */

const VENDOR = "genetec"

const DIRECTIONS: Readonly<Record<string, Direction>> = { approaching: "approaching", "moving away": "leaving" }

const GenetecRead = Schema.Struct({
  Plate: optional(Schema.String),
  ConfidenceScore: Numeric,
  DateUtc: Schema.String,
  TimeUtc: Schema.String,
  VehicleID: optional(Schema.String),
  SharpName: optional(Schema.String),
  CameraName: optional(Schema.String),
  Latitude: optional(Schema.String),
  Longitude: optional(Schema.String),
  Attributes: optional(Schema.Record({ key: Schema.String, value: Schema.String })),
  PlateImage: optional(Schema.String),
  ContextImage: optional(Schema.String),
  OverviewImage: optional(Schema.String)
})

// Genetec writes "no id" as the empty GUID.
const NIL_GUID = /^0{8}-0{4}-0{4}-0{4}-0{12}$/

const US_DATE = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/
const TIME = /^(\d{1,2}):(\d{2}):(\d{2})(\.\d{1,9})?$/

/** Year, month and day of `MM/DD/YYYY` or `YYYY-MM-DD`. */
const dateParts = (date: string): [string, string, string] | undefined => {
  const us = US_DATE.exec(date.trim())
  if (us !== null) return [us[3], us[1], us[2]]
  const iso = ISO_DATE.exec(date.trim())
  return iso === null ? undefined : [iso[1], iso[2], iso[3]]
}

const utcTime = (date: string, time: string): string | undefined => {
  const ymd = dateParts(date)
  const t = TIME.exec(time.trim())
  if (ymd === undefined || t === null) return undefined
  return placeClock(clockOf([...ymd, t[1], t[2], t[3]], t[4]), "Z", undefined)
}

export const parseGenetec = (body: Uint8Array, ctx: CameraContext): Decoded<Parsed> =>
  Either.gen(function*() {
    const read = yield* decodeWith(VENDOR, GenetecRead, yield* decodeJson(VENDOR, yield* decodeText(VENDOR, body)))
    const attributes = read.Attributes ?? {}
    const id = text(read.VehicleID)
    return yield* collect(VENDOR, [{
      eventId: id === undefined || NIL_GUID.test(id) ? undefined : id,
      timestamp: yield* required(
        VENDOR,
        utcTime(read.DateUtc, read.TimeUtc),
        `DateUtc "${read.DateUtc}" and TimeUtc "${read.TimeUtc}" are not a time`
      ),
      camera: cameraRef(VENDOR, ctx, { key: read.SharpName, name: read.CameraName }),
      plate: read.Plate,
      confidence: fromPercent(read.ConfidenceScore),
      vehicle: {
        direction: direction(DIRECTIONS, attributes["Relative Motion"]),
        type: lowerAttribute(attributes["Vehicle Type"]),
        color: lowerAttribute(attributes["Vehicle Color"]),
        make: attribute(attributes["Vehicle Make"])
      },
      location: location(decimal(read.Latitude), decimal(read.Longitude)) ?? ctx.location,
      images: [
        yield* inlineImage(VENDOR, "plate", "PlateImage", read.PlateImage),
        yield* inlineImage(VENDOR, "scene", "ContextImage", text(read.ContextImage) ?? read.OverviewImage)
      ]
    }])
  })
