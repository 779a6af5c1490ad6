import type { CameraContext, Parsed, Vendor } from "./CameraRead"
import { parseAxis } from "./axis"
import { parseBlueIris } from "./blueiris"
import type { Decoded } from "./decode"
import { parseFrigate } from "./frigate"
import { parseGeneric } from "./generic"
import { parseGenetec } from "./genetec"
import { parseHikvision } from "./hikvision"
import { parsePlateRecognizer } from "./platerecognizer"
import { parseSurvision } from "./survision"
import { parseUnifi } from "./unifi"

/**
 * The reads in one camera payload, whatever its vendor: synchronous and pure, so the listener can
 * answer the camera as soon as the reads are buffered, and `edge parse` can show what a payload
 * holds. `contentType` is the request's header; it matters for multipart pushes (Hikvision, Axis,
 * Plate Recognizer), whose boundary it carries, and a body that starts with a boundary line is read
 * as multipart without it.
 */
export const parsePayload = (
  vendor: Vendor,
  body: Uint8Array,
  contentType: string | undefined,
  ctx: CameraContext
): Decoded<Parsed> => {
  switch (vendor) {
    case "hikvision":
      return parseHikvision(body, contentType, ctx)
    case "axis":
      return parseAxis(body, contentType, ctx)
    case "unifi":
      return parseUnifi(body, ctx)
    case "genetec":
      return parseGenetec(body, ctx)
    case "survision":
      return parseSurvision(body, ctx)
    case "platerecognizer":
      return parsePlateRecognizer(body, contentType, ctx)
    case "blueiris":
      return parseBlueIris(body, ctx)
    case "frigate":
      return parseFrigate(body, ctx)
    case "generic":
      return parseGeneric(body, ctx)
  }
}
