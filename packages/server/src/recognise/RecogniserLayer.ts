import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import { AppConfig } from "../Config"
import { makeBuiltInRecogniser } from "./BuiltIn"
import { codeProjectRecogniser, plateRecognizerRecogniser } from "./HttpRecognisers"
import { Recogniser, type RecogniserShape } from "./Recogniser"

/** Plate Recognizer's cloud, when RECOGNISER_URL does not name an on-premises SDK. */
const PLATE_RECOGNIZER_CLOUD = "https://api.platerecognizer.com"

/**
 * The built-in recogniser starts (OpenCV's WebAssembly, Tesseract's model: some 2 s and 150 MB) only
 * when a frame first needs it, so a server or a command that reads no footage pays nothing; it stays
 * until the layer's scope closes.
 */
const lazyBuiltIn = (regions: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const lock = yield* Effect.makeSemaphore(1)
    let recogniser: RecogniserShape | undefined
    const started = lock.withPermits(1)(Effect.suspend(() =>
      recogniser !== undefined
        ? Effect.succeed(recogniser)
        : Scope.extend(makeBuiltInRecogniser({ regions }), scope).pipe(Effect.tap((made) => Effect.sync(() => (recogniser = made))))
    ))
    return {
      name: "builtin",
      // a failed start is not cached as the recogniser: the next frame tries again
      recognise: (image) => Effect.flatMap(started, (recogniser) => recogniser.recognise(image))
    } satisfies RecogniserShape
  })

/** The recogniser RECOGNISER names, with its settings (RECOGNISER_URL, RECOGNISER_TOKEN, RECOGNISER_REGIONS). */
export const RecogniserLayer = Layer.scoped(
  Recogniser,
  Effect.flatMap(AppConfig, ({ footage }) => {
    switch (footage.recogniser) {
      case "codeproject":
        return Effect.succeed(codeProjectRecogniser(Option.getOrElse(footage.recogniserUrl, () => "http://127.0.0.1:32168")))
      case "platerecognizer":
        return Effect.succeed(plateRecognizerRecogniser(
          Option.getOrElse(footage.recogniserUrl, () => PLATE_RECOGNIZER_CLOUD),
          Option.getOrUndefined(footage.recogniserToken),
          footage.recogniserRegions
        ))
      case "builtin":
        return lazyBuiltIn(footage.recogniserRegions)
    }
  })
)
