import * as Context from "effect/Context"
import * as Data from "effect/Data"
import type * as Effect from "effect/Effect"

/**
 * Finding plates in an image (issue 20): one interface, chosen by the RECOGNISER setting, with the
 * built-in recogniser (needs nothing beyond the npm registry) and HTTP recognisers an installation may
 * run (CodeProject.AI's ALPR module, Plate Recognizer's Snapshot API or its on-premises SDK).
 */

/** Where a plate is in the image, in pixels from its top left corner. */
export interface PlateBox {
  readonly x: number
  readonly y: number
  readonly width: number
  readonly height: number
}

export interface PlateCandidate {
  /** as the recogniser read it: capital letters and digits, spaces kept where it put them */
  readonly plate: string
  /** 0 to 1 */
  readonly confidence: number
}

/** One plate found: the best reading, where it is, and the other readings the recogniser considered. */
export interface PlateFind extends PlateCandidate {
  readonly box: PlateBox | null
  readonly candidates: ReadonlyArray<PlateCandidate>
}

/** An image to read: JPEG or PNG bytes. */
export interface RecogniserImage {
  readonly bytes: Uint8Array
  readonly contentType: "image/jpeg" | "image/png"
}

/**
 * The recogniser could not read an image. `retry`: it may succeed later (unreachable, overloaded, a
 * rate limit); otherwise it never will (refused token, unsupported image) and the job fails at once.
 */
export class RecogniserError extends Data.TaggedError("RecogniserError")<{
  readonly message: string
  readonly retry: boolean
}> {}

export interface RecogniserShape {
  /** its name in results and reads' sources: builtin, codeproject, platerecognizer */
  readonly name: string
  readonly recognise: (image: RecogniserImage) => Effect.Effect<ReadonlyArray<PlateFind>, RecogniserError>
}

export class Recogniser extends Context.Tag("@chaverim/server/Recogniser")<Recogniser, RecogniserShape>() {}

/** A plate as recognisers disagree on writing it: capitals, digits and single spaces, no more than 16. */
export const cleanPlate = (text: string): string =>
  text.toUpperCase().replace(/[^A-Z0-9 ]+/g, "").replace(/\s+/g, " ").trim().slice(0, 16)

export const clampConfidence = (value: unknown): number => {
  const n = typeof value === "number" && Number.isFinite(value) ? value : 0
  return Math.min(1, Math.max(0, n > 1 ? n / 100 : n))
}
