import * as Schema from "effect/Schema"
import { Instant } from "./ReadSelection"
import { ReasonFields } from "./Reason"
import { CameraRef } from "./Search"

/**
 * Investigating one plate: its timeline, where it was seen (map), the route it drove, the plates that
 * travel with it (convoy); and, across plates, which plate was at every one of several incidents.
 * Every call is audited with its parameters and the reason given.
 */


/** A whole number in a query parameter, within bounds, with a message naming the parameter. */
const IntParam = (name: string, min: number, max: number) =>
  Schema.NumberFromString.annotations({ message: () => `${name} is a whole number from ${min} to ${max}` }).pipe(
    Schema.int({ message: () => `${name} is a whole number from ${min} to ${max}` }),
    Schema.between(min, max, { message: () => `${name} is a whole number from ${min} to ${max}` })
  )

/** The plate in the path, as typed: it is normalised like any plate (`abc-1234` is `ABC1234`). */
export const PlatePath = Schema.Struct({
  plate: Schema.String.pipe(
    Schema.filter((s) => s.trim().length > 0 || "plate is required"),
    Schema.maxLength(32, { message: () => "plate is at most 32 characters" })
  )
})
export type PlatePath = typeof PlatePath.Type

/** `from` inclusive, `to` exclusive; `to` defaults to now and `from` to 30 days before `to`. */
const Range = {
  from: Schema.optional(Instant),
  to: Schema.optional(Instant),
  /** Why (a reason code, free text, a case number); recorded in the audit log. */
  ...ReasonFields
}

export const TimelineBucket = Schema.Literal("hour", "day")
export type TimelineBucket = typeof TimelineBucket.Type

export const TimelineParams = Schema.Struct({
  ...Range,
  bucket: Schema.optionalWith(TimelineBucket, { default: () => "day" as const }),
  /** Gaps between consecutive sightings at least this long are listed. */
  min_gap_minutes: Schema.optionalWith(IntParam("min_gap_minutes", 1, 525_600), { default: () => 60 }),
  /** Sightings listed per answer, newest first; counts, gaps and per-camera figures are always over all. */
  limit: Schema.optionalWith(IntParam("limit", 1, 5_000), { default: () => 500 }),
  /** `next_cursor` of the answer before: the older sightings after those it listed. */
  cursor: Schema.optional(Schema.String.pipe(Schema.maxLength(200)))
})
export type TimelineParams = typeof TimelineParams.Type

export const MapParams = Schema.Struct(Range)
export type MapParams = typeof MapParams.Type

export const RouteParams = Schema.Struct({
  ...Range,
  /** A pause longer than this starts a new trip. */
  trip_gap_minutes: Schema.optionalWith(IntParam("trip_gap_minutes", 1, 1_440), { default: () => 30 }),
  /** Faster than this between two cameras is flagged as implausible. */
  max_speed_kmh: Schema.optionalWith(IntParam("max_speed_kmh", 10, 1_000), { default: () => 200 })
})
export type RouteParams = typeof RouteParams.Type

export const ConvoyParams = Schema.Struct({
  ...Range,
  /** Seconds either side of a sighting of the plate. */
  window_s: Schema.optionalWith(IntParam("window_s", 1, 600), { default: () => 60 }),
  /** Distinct cameras at which a plate must have been seen with the target. */
  min_cameras: Schema.optionalWith(IntParam("min_cameras", 1, 20), { default: () => 2 }),
  limit: Schema.optionalWith(IntParam("limit", 1, 100), { default: () => 20 })
})
export type ConvoyParams = typeof ConvoyParams.Type

const Location = Schema.Struct({ lat: Schema.Number, lon: Schema.Number })

/** One read of the plate under investigation (its camera is given by the list it is in). */
export const Sighting = Schema.Struct({
  id: Schema.String,
  detection_id: Schema.String,
  detected_at: Schema.String,
  plate_text: Schema.String,
  confidence: Schema.Number,
  direction: Schema.NullOr(Schema.String),
  /** the read's own location, else its camera's */
  location: Schema.NullOr(Location),
  duplicate_of: Schema.NullOr(Schema.String),
  images: Schema.Struct({ plate: Schema.optional(Schema.String), scene: Schema.optional(Schema.String) })
})
export type Sighting = typeof Sighting.Type

export const TimelineResult = Schema.Struct({
  plate: Schema.String,
  from: Schema.String,
  to: Schema.String,
  bucket: TimelineBucket,
  /** every read of the plate in the range */
  total: Schema.Number,
  /** the sighting lists hold at most this many reads (`limit`), the newest after the cursor; counts and gaps are over all */
  cap: Schema.Number,
  /** older sightings than those listed exist: pass `next_cursor` as `cursor` for them */
  capped: Schema.Boolean,
  next_cursor: Schema.NullOr(Schema.String),
  /** by first sighting in the range; `count`, `first_seen` and `last_seen` are over all reads */
  cameras: Schema.Array(Schema.Struct({
    camera: CameraRef,
    count: Schema.Number,
    first_seen: Schema.String,
    last_seen: Schema.String,
    /** oldest first */
    sightings: Schema.Array(Sighting)
  })),
  /** intervals between consecutive reads of at least `min_gap_minutes`, longest first (50 at most) */
  gaps: Schema.Array(Schema.Struct({
    from: Schema.String,
    to: Schema.String,
    seconds: Schema.Number,
    from_camera_id: Schema.String,
    to_camera_id: Schema.String
  })),
  /** reads per UTC hour or day; buckets without a read are left out */
  counts: Schema.Array(Schema.Struct({ start: Schema.String, count: Schema.Number }))
})
export type TimelineResult = typeof TimelineResult.Type

export const MapResult = Schema.Struct({
  plate: Schema.String,
  from: Schema.String,
  to: Schema.String,
  total: Schema.Number,
  /**
   * Cameras where the plate was seen (most reads first), then the other cameras that have a location
   * (with `count` 0). `location` is the camera's, else the last own location of the plate's reads there.
   */
  cameras: Schema.Array(Schema.Struct({
    camera: CameraRef,
    location: Schema.NullOr(Location),
    count: Schema.Number,
    first_seen: Schema.NullOr(Schema.String),
    last_seen: Schema.NullOr(Schema.String)
  }))
})
export type MapResult = typeof MapResult.Type

/** How a stop was reached from the stop before it. */
export const RouteLeg = Schema.Struct({
  /** from the last read at the stop before to the first read at this one */
  seconds: Schema.Number,
  /** straight line (haversine); null when either place is unknown */
  distance_m: Schema.NullOr(Schema.Number),
  speed_kmh: Schema.NullOr(Schema.Number),
  /** faster than `max_speed_kmh`: a misread, a wrong clock, or two cars with the same plate */
  implausible: Schema.Boolean
})
export type RouteLeg = typeof RouteLeg.Type

/** Consecutive reads at one camera, collapsed. */
export const RouteStop = Schema.Struct({
  camera: CameraRef,
  location: Schema.NullOr(Location),
  first_seen: Schema.String,
  last_seen: Schema.String,
  reads: Schema.Number,
  /** the stop's first read */
  detection: Schema.Struct({ id: Schema.String, detected_at: Schema.String }),
  /** null for the first stop of all; across trips too, so that a jump between trips is also judged */
  from_previous: Schema.NullOr(RouteLeg)
})
export type RouteStop = typeof RouteStop.Type

export const RouteResult = Schema.Struct({
  plate: Schema.String,
  from: Schema.String,
  to: Schema.String,
  trip_gap_minutes: Schema.Number,
  max_speed_kmh: Schema.Number,
  /** reads of the plate in the range */
  total: Schema.Number,
  /** at most this many reads are used, the newest */
  cap: Schema.Number,
  capped: Schema.Boolean,
  trips: Schema.Array(Schema.Struct({
    start: Schema.String,
    end: Schema.String,
    seconds: Schema.Number,
    /** sum of the legs within the trip whose distance is known */
    distance_m: Schema.Number,
    stops: Schema.Array(RouteStop)
  })),
  /** every implausible leg, oldest first */
  implausible: Schema.Array(Schema.Struct({
    from_detection_id: Schema.String,
    to_detection_id: Schema.String,
    from_camera_id: Schema.String,
    to_camera_id: Schema.String,
    at: Schema.String,
    seconds: Schema.Number,
    distance_m: Schema.Number,
    speed_kmh: Schema.NullOr(Schema.Number)
  }))
})
export type RouteResult = typeof RouteResult.Type

const CameraName = Schema.Struct({ id: Schema.String, name: Schema.NullOr(Schema.String), site: Schema.NullOr(Schema.String) })

export const ConvoyMatch = Schema.Struct({
  plate: Schema.String,
  /**
   * -ln P(X >= occasions) for X ~ Poisson(expected): how unlikely it is to have been seen with the target
   * this often by chance, given its own rate at each of the target's cameras. Higher is less likely chance.
   */
  score: Schema.Number,
  /** distinct cameras where it was seen with the target */
  cameras: Schema.Number,
  /** passes of the target it was seen with */
  occasions: Schema.Number,
  /** joint sightings expected by chance, over all of the target's passes */
  expected: Schema.Number,
  /**
   * the days over which its own passes were counted: the period, or for a plate read more than 100 times
   * in it, the span of its newest 100 reads
   */
  counted_days: Schema.Number,
  /** one edit from the target plate: perhaps a misread of the target itself */
  possible_misread: Schema.Boolean,
  /** the cameras where it was seen with the target, most joint sightings first */
  per_camera: Schema.Array(Schema.Struct({
    camera: CameraName,
    /** passes of the target at the camera it was seen with */
    joint: Schema.Number,
    target_passes: Schema.Number,
    /** its own passes at the camera over `counted_days` */
    plate_passes: Schema.Number,
    /** joint sightings at the camera expected by chance */
    expected: Schema.Number
  })),
  /** joint sightings, oldest first (100 at most) */
  evidence: Schema.Array(Schema.Struct({
    camera: CameraName,
    target: Schema.Struct({ id: Schema.String, detected_at: Schema.String }),
    sighting: Schema.Struct({ id: Schema.String, detected_at: Schema.String }),
    /** its read minus the target's, in seconds */
    offset_s: Schema.Number
  }))
})
export type ConvoyMatch = typeof ConvoyMatch.Type

export const ConvoyResult = Schema.Struct({
  plate: Schema.String,
  from: Schema.String,
  to: Schema.String,
  window_s: Schema.Number,
  min_cameras: Schema.Number,
  /** passes of the target (runs of reads at one camera) searched around */
  target_passes: Schema.Number,
  /** at most this many of the target's reads are searched around, the newest; `capped` when it had more */
  cap: Schema.Number,
  capped: Schema.Boolean,
  /** plates seen with the target at `min_cameras` cameras or more */
  candidates: Schema.Number,
  /** the best-placed candidates (most cameras, then most occasions) that were scored, 200 at most */
  scored: Schema.Number,
  /** highest score first */
  items: Schema.Array(ConvoyMatch)
})
export type ConvoyResult = typeof ConvoyResult.Type

const ISO_MESSAGE = "a time is ISO 8601, e.g. 2026-11-29T14:00:00Z"

export const Place = Schema.Struct({
  camera_ids: Schema.Array(Schema.UUID.annotations({ message: () => "camera_ids holds camera UUIDs" })).pipe(
    Schema.minItems(1, { message: () => "a place needs at least one camera" }),
    Schema.maxItems(20, { message: () => "a place has at most 20 cameras" })
  ),
  from: Schema.Date.annotations({ message: () => ISO_MESSAGE }),
  to: Schema.Date.annotations({ message: () => ISO_MESSAGE })
})
export type Place = typeof Place.Type

export const MultiPlaceRequest = Schema.Struct({
  places: Schema.Array(Place).pipe(
    Schema.minItems(2, { message: () => "places: 2 to 10" }),
    Schema.maxItems(10, { message: () => "places: 2 to 10" })
  ),
  ...ReasonFields,
  limit: Schema.optionalWith(
    Schema.Number.pipe(Schema.int(), Schema.between(1, 500, { message: () => "limit is 1 to 500" })),
    { default: () => 100 }
  )
})
export type MultiPlaceRequest = typeof MultiPlaceRequest.Type

export const MultiPlaceResult = Schema.Struct({
  /** plates seen at every place, in plate order */
  items: Schema.Array(Schema.Struct({
    plate: Schema.String,
    /** in the order of the request's places */
    places: Schema.Array(Schema.Struct({
      /** index in the request's `places` */
      place: Schema.Number,
      count: Schema.Number,
      /** oldest first, 20 at most */
      sightings: Schema.Array(Schema.Struct({
        id: Schema.String,
        detection_id: Schema.String,
        detected_at: Schema.String,
        plate_text: Schema.String,
        confidence: Schema.Number,
        camera: CameraName
      }))
    }))
  })),
  /** more plates matched than `limit` */
  capped: Schema.Boolean
})
export type MultiPlaceResult = typeof MultiPlaceResult.Type
