import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { AppConfig } from "../Config"
import { codeProjectRecogniser, plateRecognizerRecogniser } from "./HttpRecognisers"
import { Recogniser, RecogniserError } from "./Recogniser"

/** Plate Recognizer's cloud, when RECOGNISER_URL does not name an on-premises SDK. */
const PLATE_RECOGNIZER_CLOUD = "https://api.platerecognizer.com"

/** The recogniser RECOGNISER names, with its settings (RECOGNISER_URL, RECOGNISER_TOKEN, RECOGNISER_REGIONS). */
export const RecogniserLayer = Layer.effect(
  Recogniser,
  Effect.map(AppConfig, ({ footage }) => {
    switch (footage.recogniser) {
      case "codeproject":
        return codeProjectRecogniser(Option.getOrElse(footage.recogniserUrl, () => "http://127.0.0.1:32168"))
      case "platerecognizer":
        return plateRecognizerRecogniser(
          Option.getOrElse(footage.recogniserUrl, () => PLATE_RECOGNIZER_CLOUD),
          Option.getOrUndefined(footage.recogniserToken),
          footage.recogniserRegions
        )
      case "builtin":
        return {
          name: "builtin",
          recognise: () =>
            new RecogniserError({ message: "the built-in recogniser is not in this version: set RECOGNISER to codeproject or platerecognizer", retry: false })
        }
    }
  })
)
