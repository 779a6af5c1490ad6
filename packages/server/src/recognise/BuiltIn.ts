import type * as Cv from "@techstark/opencv-js"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { createRequire } from "node:module"
import * as Path from "node:path"
import sharp from "sharp"
import { createWorker, OEM, PSM, type Worker } from "tesseract.js"
import { correctToFormats } from "./PlateFormats"
import { type PlateBox, type PlateFind, RecogniserError, type RecogniserImage, type RecogniserShape } from "./Recogniser"

/**
 * The built-in recogniser (RECOGNISER=builtin, the default): needs nothing beyond the npm registry.
 * OpenCV's WebAssembly build finds where plates may be (outlines of plate-shaped quadrilaterals, and
 * rows of dark strokes on a lighter ground), each candidate is straightened, cut to its row of
 * characters and checked to hold 4 to 10 character-like shapes, and Tesseract (tesseract.js with its
 * shipped English LSTM model) reads the row as one line of capitals and digits. Readings are then fitted
 * to the plate formats of RECOGNISER_REGIONS (letters and digits in their places).
 *
 * It is a general OCR engine pointed at plates, not a model trained on them: good on clear, level,
 * well-lit plates of a size a phone photo or a close camera gives; a dedicated recogniser
 * (CodeProject.AI, Plate Recognizer) is needed for night, motion blur, steep angles and small plates.
 * The README's performance section has the measured figures.
 */

const require = createRequire(import.meta.url)

/** Frames are read at most this wide: plates stay large enough, and the work bounded. */
const MAX_WIDTH = 1280
/** A candidate row of characters is scaled to this height before it is read. */
const ROW_HEIGHT = 64
/** At most this many candidates are read per frame (the OCR is the slow part). */
const MAX_CANDIDATES = 8

type OpenCv = typeof Cv

let opencv: Promise<OpenCv> | undefined

/** OpenCV's WebAssembly module, once per process: ready when its runtime says so. */
const loadOpenCv = (): Promise<OpenCv> => {
  opencv ??= new Promise<OpenCv>((resolve, reject) => {
    const cv = require("@techstark/opencv-js") as OpenCv & { onRuntimeInitialized?: () => void; then?: unknown }
    const ready = () => {
      // the module is a thenable: awaiting it as such never settles, so it stops being one
      delete cv.then
      resolve(cv)
    }
    if (typeof (cv as { Mat?: unknown }).Mat === "function") ready()
    else {
      cv.onRuntimeInitialized = ready
      setTimeout(() => reject(new Error("OpenCV's WebAssembly did not start within 60 s")), 60_000).unref()
    }
  })
  return opencv
}

/** Tesseract's English LSTM model as the @tesseract.js-data/eng package ships it (never fetched from the network). */
const langPath = () => Path.join(Path.dirname(require.resolve("@tesseract.js-data/eng/package.json")), "4.0.0_best_int")

const makeWorker = Effect.tryPromise({
  try: async () => {
    const worker = await createWorker("eng", OEM.LSTM_ONLY, { langPath: langPath(), gzip: true, cacheMethod: "none" }, {
      // plates are not words: no dictionaries
      load_system_dawg: "0",
      load_freq_dawg: "0",
      load_unambig_dawg: "0",
      load_punc_dawg: "0",
      load_number_dawg: "0",
      load_bigram_dawg: "0"
    })
    await worker.setParameters({
      tessedit_pageseg_mode: PSM.SINGLE_LINE,
      tessedit_char_whitelist: "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
      user_defined_dpi: "300"
    })
    return worker
  },
  catch: (cause) => new RecogniserError({ message: `the built-in recogniser could not start Tesseract: ${String(cause)}`, retry: false })
})

interface Rect {
  readonly x: number
  readonly y: number
  readonly width: number
  readonly height: number
}

interface Candidate {
  readonly rect: Rect
  /** the row's slant in degrees, from its minimum-area rectangle */
  readonly angle: number
}

const iou = (a: Rect, b: Rect) => {
  const x1 = Math.max(a.x, b.x)
  const y1 = Math.max(a.y, b.y)
  const x2 = Math.min(a.x + a.width, b.x + b.width)
  const y2 = Math.min(a.y + a.height, b.y + b.height)
  const inter = Math.max(0, x2 - x1) * Math.max(0, y2 - y1)
  return inter / (a.width * a.height + b.width * b.height - inter)
}

/** Plate-shaped: wider than tall by 1.5 to 7 times, not tiny, not most of the picture. */
const plateShaped = (w: number, h: number, width: number, height: number) => {
  const ratio = w / Math.max(h, 1)
  return ratio >= 1.5 && ratio <= 7 && h >= 12 && w >= 40 && w <= width * 0.7 && h <= height * 0.3
}

/** The Mats a step makes, freed together whatever happens. */
const withMats = <A>(use: (track: <M extends { delete(): void }>(m: M) => M) => A): A => {
  const made: Array<{ delete(): void }> = []
  try {
    return use((m) => {
      made.push(m)
      return m
    })
  } finally {
    for (const m of made) m.delete()
  }
}

/** Where plates may be in a grey picture: quadrilateral outlines, and rows of dark strokes on a lighter ground. */
const findCandidates = (cv: OpenCv, grey: Cv.Mat): Array<Candidate> =>
  withMats((track) => {
    const { cols: width, rows: height } = grey
    const found: Array<Candidate & { score: number }> = []
    const consider = (points: Cv.Mat, score: number) => {
      const box = cv.minAreaRect(points)
      let { width: w, height: h } = box.size
      let angle = box.angle
      if (w < h) {
        ;[w, h] = [h, w]
        angle = angle - 90
      }
      if (angle < -45) angle += 90
      if (angle > 45) angle -= 90
      if (!plateShaped(w, h, width, height) || Math.abs(angle) > 20) return
      const r = cv.boundingRect(points)
      found.push({ rect: { x: r.x, y: r.y, width: r.width, height: r.height }, angle, score })
    }

    // 1. Outlines: edges, closed, whose contours simplify to four corners.
    const blurred = track(new cv.Mat())
    cv.GaussianBlur(grey, blurred, new cv.Size(5, 5), 0)
    const edges = track(new cv.Mat())
    cv.Canny(blurred, edges, 50, 150)
    const contours = track(new cv.MatVector())
    const hierarchy = track(new cv.Mat())
    cv.findContours(edges, contours, hierarchy, cv.RETR_LIST, cv.CHAIN_APPROX_SIMPLE)
    for (let i = 0; i < contours.size(); i++) {
      const contour = track(contours.get(i))
      const approx = track(new cv.Mat())
      cv.approxPolyDP(contour, approx, 0.04 * cv.arcLength(contour, true), true)
      if (approx.rows === 4 && cv.isContourConvex(approx)) consider(approx, cv.contourArea(approx))
    }

    // 2. Text rows: dark strokes on a lighter ground (black-hat), joined along the row, thresholded.
    const kernel = track(cv.getStructuringElement(cv.MORPH_RECT, new cv.Size(Math.max(9, Math.round(width / 60)), 5)))
    const blackhat = track(new cv.Mat())
    cv.morphologyEx(grey, blackhat, cv.MORPH_BLACKHAT, kernel)
    // joined along the row at two reaches: a plate's characters, and its groups across a space
    for (const reach of [50, 25]) {
      const joined = track(new cv.Mat())
      const wide = track(cv.getStructuringElement(cv.MORPH_RECT, new cv.Size(Math.max(13, Math.round(width / reach)), 3)))
      cv.morphologyEx(blackhat, joined, cv.MORPH_CLOSE, wide)
      const binary = track(new cv.Mat())
      cv.threshold(joined, binary, 0, 255, cv.THRESH_BINARY | cv.THRESH_OTSU)
      const rows = track(new cv.MatVector())
      const rowHierarchy = track(new cv.Mat())
      cv.findContours(binary, rows, rowHierarchy, cv.RETR_EXTERNAL, cv.CHAIN_APPROX_SIMPLE)
      for (let i = 0; i < rows.size(); i++) {
        const row = track(rows.get(i))
        consider(row, cv.contourArea(row))
      }
    }

    // Largest first, without near-duplicates.
    found.sort((a, b) => b.score - a.score)
    const kept: Array<Candidate> = []
    for (const c of found) {
      if (kept.length >= MAX_CANDIDATES * 2) break
      if (!kept.some((k) => iou(k.rect, c.rect) > 0.5)) kept.push(c)
    }
    return kept
  })

interface Row {
  /** the row of characters alone, black on white, ROW_HEIGHT high, as raw grey pixels */
  readonly pixels: Uint8Array
  readonly width: number
  readonly height: number
  /** character-like shapes found in it */
  readonly glyphs: number
  /** where the plate is in the frame */
  readonly box: PlateBox
}

/**
 * The candidate straightened and scaled, binarised both ways (dark on light, light on dark), its
 * character-like shapes (as tall as most of the row, narrower than tall) kept and redrawn black on
 * white: what Tesseract reads best. Undefined when neither way holds 4 to 10 of them.
 */
const rowOf = (cv: OpenCv, grey: Cv.Mat, candidate: Candidate): Row | undefined =>
  withMats((track) => {
    const { rect } = candidate
    const marginX = Math.round(rect.width * 0.06)
    const marginY = Math.round(rect.height * 0.15)
    const x = Math.max(0, rect.x - marginX)
    const y = Math.max(0, rect.y - marginY)
    const w = Math.min(grey.cols - x, rect.width + 2 * marginX)
    const h = Math.min(grey.rows - y, rect.height + 2 * marginY)
    if (w < 20 || h < 10) return undefined
    const crop = track(grey.roi(new cv.Rect(x, y, w, h)))
    const level = track(new cv.Mat())
    if (Math.abs(candidate.angle) > 1) {
      const turn = track(cv.getRotationMatrix2D(new cv.Point(w / 2, h / 2), candidate.angle, 1))
      cv.warpAffine(crop, level, turn, new cv.Size(w, h), cv.INTER_LINEAR, cv.BORDER_REPLICATE)
    } else crop.copyTo(level)
    const scale = (ROW_HEIGHT * 1.6) / h
    const big = track(new cv.Mat())
    cv.resize(level, big, new cv.Size(Math.max(1, Math.round(w * scale)), Math.round(h * scale)), 0, 0, cv.INTER_CUBIC)

    let best: { glyphs: Array<Rect>; binary: Cv.Mat } | undefined
    for (const invert of [true, false]) {
      const binary = track(new cv.Mat())
      cv.threshold(big, binary, 0, 255, (invert ? cv.THRESH_BINARY_INV : cv.THRESH_BINARY) | cv.THRESH_OTSU)
      const contours = track(new cv.MatVector())
      const hierarchy = track(new cv.Mat())
      // outer boundaries of every shape, a plate's border not hiding the characters inside it
      cv.findContours(binary, contours, hierarchy, cv.RETR_CCOMP, cv.CHAIN_APPROX_SIMPLE)
      const glyphs: Array<Rect> = []
      for (let i = 0; i < contours.size(); i++) {
        if (hierarchy.data32S[i * 4 + 3] !== -1) continue
        const c = track(contours.get(i))
        const r = cv.boundingRect(c)
        const tall = r.height / big.rows
        if (tall >= 0.2 && tall <= 0.92 && r.width <= r.height * 1.2 && r.width >= 2 && r.y > 0 && r.y + r.height < big.rows) {
          glyphs.push({ x: r.x, y: r.y, width: r.width, height: r.height })
        }
      }
      // characters of one row share their height and line
      const heights = glyphs.map((g) => g.height).sort((a, b) => a - b)
      const median = heights[Math.floor(heights.length / 2)] ?? 0
      const row = glyphs.filter((g) => Math.abs(g.height - median) <= median * 0.3)
      if (row.length >= 4 && row.length <= 10 && (best === undefined || row.length > best.glyphs.length)) best = { glyphs: row, binary }
    }
    if (best === undefined) return undefined

    // The glyphs alone, black on white, with a margin, cut to their span and scaled to ROW_HEIGHT.
    const left = Math.max(0, Math.min(...best.glyphs.map((g) => g.x)) - 4)
    const right = Math.min(big.cols, Math.max(...best.glyphs.map((g) => g.x + g.width)) + 4)
    const top = Math.max(0, Math.min(...best.glyphs.map((g) => g.y)) - 4)
    const bottom = Math.min(big.rows, Math.max(...best.glyphs.map((g) => g.y + g.height)) + 4)
    const clean = track(new cv.Mat(bottom - top, right - left, cv.CV_8UC1, new cv.Scalar(255)))
    for (const g of best.glyphs) {
      const source = track(best.binary.roi(new cv.Rect(g.x, g.y, g.width, g.height)))
      const inverted = track(new cv.Mat())
      cv.bitwise_not(source, inverted)
      const target = track(clean.roi(new cv.Rect(g.x - left, g.y - top, g.width, g.height)))
      inverted.copyTo(target)
    }
    const rowScale = ROW_HEIGHT / clean.rows
    const sized = track(new cv.Mat())
    cv.resize(clean, sized, new cv.Size(Math.max(1, Math.round(clean.cols * rowScale)), ROW_HEIGHT), 0, 0, cv.INTER_AREA)
    const padded = track(new cv.Mat())
    cv.copyMakeBorder(sized, padded, 16, 16, 24, 24, cv.BORDER_CONSTANT, new cv.Scalar(255))
    return {
      pixels: new Uint8Array(padded.data),
      width: padded.cols,
      height: padded.rows,
      glyphs: best.glyphs.length,
      box: { x: rect.x, y: rect.y, width: rect.width, height: rect.height }
    }
  })

/** Tesseract's reading of a row: capitals and digits, and its confidence (0 to 1). */
const readRow = (worker: Worker, row: Row) =>
  Effect.tryPromise({
    try: async () => {
      const png = await sharp(Buffer.from(row.pixels), { raw: { width: row.width, height: row.height, channels: 1 } }).png().toBuffer()
      const { data } = await worker.recognize(png, {}, { text: true, blocks: true })
      const symbols = (data.blocks ?? []).flatMap((b) => b.paragraphs.flatMap((p) => p.lines.flatMap((l) => l.words.flatMap((w) => w.symbols))))
      // Without dictionaries Tesseract's word confidence says little (often 0): its characters' do.
      const kept = symbols.filter((s) => /^[A-Z0-9]$/.test(s.text))
      const text = kept.map((s) => s.text).join("")
      if (kept.length === 0) return { text: "", confidence: 0 }
      const mean = kept.reduce((sum, s) => sum + s.confidence, 0) / kept.length
      const least = Math.min(...kept.map((s) => s.confidence))
      return { text, confidence: Math.max(0, Math.min(1, (0.7 * mean + 0.3 * least) / 100)) }
    },
    catch: (cause) => new RecogniserError({ message: `the built-in recogniser failed to read a plate: ${String(cause)}`, retry: false })
  })

/** The picture as grey pixels at most MAX_WIDTH wide, and how much it was scaled. */
const decode = (image: RecogniserImage) =>
  Effect.tryPromise({
    try: async () => {
      const source = sharp(image.bytes)
      const meta = await source.metadata()
      const scale = meta.width !== undefined && meta.width > MAX_WIDTH ? MAX_WIDTH / meta.width : 1
      const { data, info } = await (scale < 1 ? source.resize({ width: MAX_WIDTH }) : source)
        .greyscale()
        .raw()
        .toBuffer({ resolveWithObject: true })
      return { data: new Uint8Array(data), width: info.width, height: info.height, scale }
    },
    catch: () => new RecogniserError({ message: "the picture could not be decoded", retry: false })
  })

/**
 * The built-in recogniser, with its OCR worker (freed with the scope). `regions`: the plate formats
 * readings are fitted to (us, gb, de; none: readings stay as read).
 */
export const makeBuiltInRecogniser = (
  options: { readonly regions?: ReadonlyArray<string> } = {}
): Effect.Effect<RecogniserShape, RecogniserError, Scope.Scope> =>
  Effect.gen(function*() {
    const cv = yield* Effect.tryPromise({
      try: () => loadOpenCv(),
      catch: (cause) => new RecogniserError({ message: `the built-in recogniser could not start OpenCV: ${String(cause)}`, retry: false })
    })
    const worker = yield* Effect.acquireRelease(makeWorker, (w) => Effect.promise(() => w.terminate()).pipe(Effect.ignore))
    // One picture at a time: the worker reads one row at a time, and OpenCV's memory is the process's.
    const lock = yield* Effect.makeSemaphore(1)
    const regions = options.regions ?? []

    const recognise = (image: RecogniserImage) =>
      lock.withPermits(1)(Effect.gen(function*() {
        const picture = yield* decode(image)
        const rows = withMats((track) => {
          const grey = track(new cv.Mat(picture.height, picture.width, cv.CV_8UC1))
          grey.data.set(picture.data)
          const out: Array<Row> = []
          for (const candidate of findCandidates(cv, grey)) {
            const row = rowOf(cv, grey, candidate)
            if (row !== undefined && !out.some((r) => iou(r.box, row.box) > 0.3)) out.push(row)
            if (out.length >= MAX_CANDIDATES) break
          }
          return out
        })
        const finds: Array<PlateFind> = []
        for (const row of rows) {
          const read = yield* readRow(worker, row)
          if (read.text.length < 4 || read.text.length > 10) continue
          const fitted = correctToFormats(read.text, regions)
          // fewer shapes read than seen, or more, lowers the confidence
          const agreement = Math.min(read.text.length, row.glyphs) / Math.max(read.text.length, row.glyphs)
          const confidence = Math.round(read.confidence * agreement * (fitted.matched ? 1 : regions.length > 0 ? 0.8 : 1) * 1000) / 1000
          const unscale = (n: number) => Math.round(n / picture.scale)
          finds.push({
            plate: fitted.plate,
            confidence,
            box: { x: unscale(row.box.x), y: unscale(row.box.y), width: unscale(row.box.width), height: unscale(row.box.height) },
            candidates: fitted.plate.replace(/ /g, "") === read.text ? [] : [{ plate: read.text, confidence: Math.round(read.confidence * agreement * 1000) / 1000 }]
          })
        }
        // The same plate found twice (an outline and a text row) is kept once, the surer; a part of a
        // plate (one group of its characters, inside its box) goes with it.
        const compact = (f: PlateFind) => f.plate.replace(/ /g, "")
        const inside = (a: PlateBox | null, b: PlateBox | null) =>
          a !== null && b !== null && a.x >= b.x - 4 && a.y >= b.y - 4 && a.x + a.width <= b.x + b.width + 4 && a.y + a.height <= b.y + b.height + 4
        const kept: Array<PlateFind> = []
        for (const f of finds.sort((a, b) => compact(b).length - compact(a).length || b.confidence - a.confidence)) {
          const covered = kept.some((k) => compact(k) === compact(f) || (compact(k).includes(compact(f)) && inside(f.box, k.box)))
          if (!covered) kept.push(f)
        }
        return kept.sort((a, b) => b.confidence - a.confidence)
      }))

    return { name: "builtin", recognise } satisfies RecogniserShape
  })
