import * as Fs from "node:fs"
import { createRequire } from "node:module"

/**
 * jsQR's browser build (a script that defines `jsQR`), which the setup page loads to read the QR code
 * of a claim code from a photo. Run from source, it is read from node_modules once; the production
 * bundle holds the text itself: edge/scripts/build.mjs puts a module returning it in this one's place,
 * so that a collector serves it whatever its node_modules hold.
 */

let text: string | undefined

export const qrDecoderScript = (): string =>
  (text ??= Fs.readFileSync(createRequire(import.meta.url).resolve("jsqr/dist/jsQR.js"), "utf8"))
