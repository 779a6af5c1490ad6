import { CAMERA_VENDORS, type CameraVendor } from "@chaverim/domain/CameraConnection"
import type { Detection } from "@chaverim/domain/Detection"
import * as Schema from "effect/Schema"

/** A photo that came with a read: the plate crop or the wider scene. */
export interface CameraImage {
  readonly kind: "plate" | "scene"
  readonly contentType: string
  readonly bytes: Uint8Array
}

/** One plate read taken from a camera, ready for the buffer: the Detection as uploaded, and its photos. */
export interface CameraRead {
  readonly detection: Detection
  readonly images: ReadonlyArray<CameraImage>
}

/**
 * What one camera payload held: the plate reads, and how many vehicles were seen with no plate read
 * (plate `unknown` or empty, confidence 0), which are counted and logged but never uploaded as plates.
 */
export interface Parsed {
  readonly reads: ReadonlyArray<CameraRead>
  readonly noPlate: number
}

/** The camera a payload came from, as the collector's configuration knows it (all optional). */
export interface CameraContext {
  /** the camera's id in the collector's configuration; otherwise derived from the payload */
  readonly cameraId?: string
  readonly cameraName?: string
  /** used when the payload carries no MAC address */
  readonly mac?: string
  readonly location?: { readonly lat: number; readonly lon: number }
  /**
   * IANA time zone of the camera's clock (e.g. "America/New_York"), for payloads whose times carry no
   * offset; without it such times are taken as UTC
   */
  readonly timeZone?: string
}

/** A payload that could not be read at all (malformed, truncated, not what the vendor sends). */
export class PayloadError extends Schema.TaggedError<PayloadError>()("PayloadError", {
  vendor: Schema.String,
  message: Schema.String
}) {}

/** The vendors the collector reads: the domain's list, which the central server checks a camera's connection against. */
export const VENDORS = CAMERA_VENDORS
export type Vendor = CameraVendor
