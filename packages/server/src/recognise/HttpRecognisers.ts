import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import {
  clampConfidence,
  cleanPlate,
  type PlateBox,
  type PlateFind,
  RecogniserError,
  type RecogniserImage,
  type RecogniserShape
} from "./Recogniser"

/** One image is a second or two for a recogniser on a small machine; a minute means it is stuck. */
const TIMEOUT_MS = 60_000

/** What the recogniser's answer must at least be; anything more it says is ignored. */
const CodeProjectAnswer = Schema.Struct({
  success: Schema.Boolean,
  error: Schema.optional(Schema.String),
  predictions: Schema.optional(Schema.Array(Schema.Struct({
    plate: Schema.optional(Schema.String),
    label: Schema.optional(Schema.String),
    confidence: Schema.optional(Schema.Number),
    x_min: Schema.optional(Schema.Number),
    y_min: Schema.optional(Schema.Number),
    x_max: Schema.optional(Schema.Number),
    y_max: Schema.optional(Schema.Number)
  })))
})

const PlateRecognizerAnswer = Schema.Struct({
  results: Schema.Array(Schema.Struct({
    plate: Schema.String,
    score: Schema.optional(Schema.Number),
    box: Schema.optional(Schema.Struct({ xmin: Schema.Number, ymin: Schema.Number, xmax: Schema.Number, ymax: Schema.Number })),
    candidates: Schema.optional(Schema.Array(Schema.Struct({ plate: Schema.String, score: Schema.Number })))
  }))
})

const boxOf = (x1: number | undefined, y1: number | undefined, x2: number | undefined, y2: number | undefined): PlateBox | null =>
  x1 === undefined || y1 === undefined || x2 === undefined || y2 === undefined || x2 <= x1 || y2 <= y1
    ? null
    : { x: Math.round(x1), y: Math.round(y1), width: Math.round(x2 - x1), height: Math.round(y2 - y1) }

/** The answer's JSON, decoded; what the recogniser says when it refuses, as its error. */
const post = <A, I>(
  name: string,
  url: string,
  form: FormData,
  headers: Record<string, string>,
  answer: Schema.Schema<A, I>
) =>
  Effect.gen(function*() {
    const response = yield* Effect.tryPromise({
      try: (signal) => fetch(url, { method: "POST", body: form, headers, signal: AbortSignal.any([signal, AbortSignal.timeout(TIMEOUT_MS)]) }),
      catch: (cause) =>
        new RecogniserError({ message: `${name} at ${new URL(url).origin} did not answer: ${(cause as Error).message}`, retry: true })
    })
    const text = yield* Effect.tryPromise({
      try: () => response.text(),
      catch: () => new RecogniserError({ message: `${name}'s answer could not be read`, retry: true })
    })
    if (!response.ok) {
      // 429: its rate limit; 5xx: it is failing. Anything else (a refused token, a bad request) will not mend by itself.
      const retry = response.status === 429 || response.status >= 500
      return yield* new RecogniserError({ message: `${name} answered ${response.status}: ${text.slice(0, 300)}`, retry })
    }
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      return yield* new RecogniserError({ message: `${name} answered with something other than JSON: ${text.slice(0, 100)}`, retry: false })
    }
    const decoded = Schema.decodeUnknownEither(answer)(json)
    if (Either.isLeft(decoded)) {
      return yield* new RecogniserError({
        message: `${name}'s answer is not what its API describes: ${ParseResult.TreeFormatter.formatErrorSync(decoded.left).slice(0, 300)}`,
        retry: false
      })
    }
    return decoded.right
  })

const formWith = (field: string, image: RecogniserImage) => {
  const form = new FormData()
  const extension = image.contentType === "image/png" ? "png" : "jpg"
  form.append(field, new Blob([image.bytes], { type: image.contentType }), `frame.${extension}`)
  return form
}

/**
 * CodeProject.AI Server's ALPR module: `POST {url}/v1/vision/alpr`, the image in the form field
 * `upload`; it answers `{success, predictions: [{plate, confidence, x_min, y_min, x_max, y_max}]}`
 * (its plates come without candidates).
 */
export const codeProjectRecogniser = (baseUrl: string): RecogniserShape => {
  const url = new URL("/v1/vision/alpr", baseUrl).toString()
  return {
    name: "codeproject",
    recognise: (image) =>
      Effect.gen(function*() {
        const form = formWith("upload", image)
        form.append("min_confidence", "0.1")
        const answer = yield* post("CodeProject.AI", url, form, {}, CodeProjectAnswer)
        if (!answer.success) {
          // "No predictions" style answers come with success false on some versions: no plate, not an error.
          const error = answer.error ?? ""
          if (error === "" || /no (plates?|predictions)/i.test(error)) return []
          return yield* new RecogniserError({ message: `CodeProject.AI could not read the image: ${error.slice(0, 300)}`, retry: false })
        }
        return (answer.predictions ?? []).flatMap((p): Array<PlateFind> => {
          const plate = cleanPlate(p.plate ?? (p.label ?? "").replace(/^plate:\s*/i, ""))
          if (plate.replace(/ /g, "") === "") return []
          const confidence = clampConfidence(p.confidence)
          return [{ plate, confidence, box: boxOf(p.x_min, p.y_min, p.x_max, p.y_max), candidates: [] }]
        })
      })
  }
}

/**
 * Plate Recognizer's Snapshot API (cloud, https://api.platerecognizer.com) or its on-premises SDK:
 * `POST {url}/v1/plate-reader/` with the image in `upload`, `regions` for the plate formats, and
 * `Authorization: Token ...`; it answers `{results: [{plate, score, box, candidates}]}`.
 */
export const plateRecognizerRecogniser = (
  baseUrl: string,
  token: Redacted.Redacted | undefined,
  regions: ReadonlyArray<string>
): RecogniserShape => {
  const url = new URL("/v1/plate-reader/", baseUrl).toString()
  const headers: Record<string, string> = token === undefined ? {} : { Authorization: `Token ${Redacted.value(token)}` }
  return {
    name: "platerecognizer",
    recognise: (image) =>
      Effect.gen(function*() {
        const form = formWith("upload", image)
        for (const region of regions) form.append("regions", region)
        const answer = yield* post("Plate Recognizer", url, form, headers, PlateRecognizerAnswer)
        return answer.results.flatMap((r): Array<PlateFind> => {
          const plate = cleanPlate(r.plate)
          if (plate.replace(/ /g, "") === "") return []
          const candidates = (r.candidates ?? [])
            .map((c) => ({ plate: cleanPlate(c.plate), confidence: clampConfidence(c.score) }))
            .filter((c) => c.plate !== "" && c.plate !== plate)
          return [{
            plate,
            confidence: clampConfidence(r.score),
            box: r.box === undefined ? null : boxOf(r.box.xmin, r.box.ymin, r.box.xmax, r.box.ymax),
            candidates
          }]
        })
      })
  }
}
