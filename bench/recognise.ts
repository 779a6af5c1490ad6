/**
 * The plate recognisers' accuracy and speed (issue 20), on generated scenes whose plates are known
 * (lib/plates.ts: US, UK and DE plates in three fonts, warped, at 20 to 80 pixels high in 1280x720
 * frames, easy/medium/hard 40/40/20, 10% of scenes without a plate, 5% with two).
 *
 *   builtin      the built-in recogniser (packages/server/src/recognise/BuiltIn.ts), in this process.
 *   codeproject  the HTTP recogniser for CodeProject.AI (HttpRecognisers.ts) against a local server
 *                that speaks CodeProject.AI's protocol and is backed by the built-in recogniser: it
 *                measures the HTTP path (multipart upload, JSON answer, boxes without candidates), not
 *                CodeProject.AI's own accuracy, which cannot run here.
 *
 * Frames are read one at a time, as a footage job does. A truth plate is found when a find's box
 * overlaps its box (IoU > 0.1; or the find has no box and reads it exactly); it is read when the
 * find's plate, normalised, is the truth's. A find that overlaps no truth plate and reads none is a
 * false plate. Figures are JSON lines with `recogniser` (and `difficulty` or `format`) fields; a
 * Markdown table of the lot ends on stderr.
 */
import { normalizePlate } from "@chaverim/domain/Plate"
import { codeProjectRecogniser } from "@chaverim/server/recognise/HttpRecognisers"
import type { PlateFind, RecogniserImage, RecogniserShape } from "@chaverim/server/recognise/Recogniser"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as Fs from "node:fs/promises"
import * as Http from "node:http"
import type * as Net from "node:net"
import * as Path from "node:path"
import { Interrupted, numberOption, type OptionSpecs, parseArgs, UsageError } from "./lib/args"
import { DIFFICULTIES, type Difficulty, generatePlateScene, type PlateFormat, type PlateScene, type SceneBox, type TruthPlate } from "./lib/plates"
import { progress, quantile } from "./lib/report"
import { runScope } from "./lib/run"

export const description =
  "plate recognisers on generated scenes with known plates (US, UK, DE; easy/medium/hard): plates read, characters, " +
  "false plates, ms per frame, seconds of work per video minute, memory"

const RECOGNISERS = ["builtin", "codeproject"] as const
type RecogniserName = (typeof RECOGNISERS)[number]

export const options: OptionSpecs = {
  count: { description: "scenes to generate and read", default: "120" },
  seed: { description: "seed of the scenes (the same seed gives the same scenes)", default: "1" },
  recognisers: { description: `comma-separated: ${RECOGNISERS.join(", ")}, or none (only generate, e.g. with --save)`, default: "builtin,codeproject" },
  save: { description: "write the scenes (scene-NNN.jpg), truth.json and each recogniser's results-NAME.json into this directory" },
  fps: { description: "frames read per second of footage, for seconds of work per video minute", default: "2" },
  regions: { description: "the built-in recogniser's regions (as RECOGNISER_REGIONS: us, gb, de, comma-separated); none: readings as read", default: "none" }
}

const BUILTIN_MODULE = "@chaverim/server/recognise/BuiltIn"
const BUILTIN_PATH = "packages/server/src/recognise/BuiltIn.ts"
const CODEPROJECT_NOTE =
  "local server speaking CodeProject.AI's protocol, backed by the built-in recogniser: measures the HTTP path, not CodeProject.AI's own accuracy"
const IOU_MIN = 0.1
const CONFIDENT = 0.6

// ---------------------------------------------------------------------------------------------
// Figures: JSON lines as lib/report.ts prints them, with the recogniser (and more) alongside

type Fields = Readonly<Record<string, string | number>>

const figure = (metric: string, value: number, unit: string, fields: Fields): void => {
  if (!Number.isFinite(value)) {
    progress(`(no figure for ${metric} ${JSON.stringify(fields)}: could not be measured here)`)
    return
  }
  process.stdout.write(`${JSON.stringify({ metric: `recognise.${metric}`, value: Math.round(value * 1000) / 1000, unit, ...fields })}\n`)
}

// ---------------------------------------------------------------------------------------------
// Scoring

const iou = (a: SceneBox, b: SceneBox): number => {
  const x1 = Math.max(a.x, b.x)
  const y1 = Math.max(a.y, b.y)
  const x2 = Math.min(a.x + a.width, b.x + b.width)
  const y2 = Math.min(a.y + a.height, b.y + b.height)
  const inter = Math.max(0, x2 - x1) * Math.max(0, y2 - y1)
  const union = a.width * a.height + b.width * b.height - inter
  return union <= 0 ? 0 : inter / union
}

const editDistance = (a: string, b: string): number => {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.length]!
}

interface TruthScore {
  readonly truth: TruthPlate
  readonly find: PlateFind | undefined
  readonly read: boolean
  readonly readWithCandidates: boolean
  readonly characters: number
}

interface SceneScore {
  readonly plates: ReadonlyArray<TruthScore>
  readonly falsePlates: ReadonlyArray<PlateFind>
  /** finds on a truth plate that another find already answered for */
  readonly duplicates: number
}

const scoreScene = (truth: ReadonlyArray<TruthPlate>, finds: ReadonlyArray<PlateFind>): SceneScore => {
  const key = truth.map((t) => normalizePlate(t.plate))
  // boxed finds to truth plates, greatest overlap first; each find and each plate used once
  const pairs: Array<{ t: number; f: number; overlap: number }> = []
  finds.forEach((find, f) => {
    if (find.box === null) return
    truth.forEach((t, i) => {
      const overlap = iou(t.box, find.box!)
      if (overlap > IOU_MIN) pairs.push({ t: i, f, overlap })
    })
  })
  pairs.sort((a, b) => b.overlap - a.overlap)
  const findOf = new Map<number, number>()
  const used = new Set<number>()
  for (const { t, f } of pairs) {
    if (findOf.has(t) || used.has(f)) continue
    findOf.set(t, f)
    used.add(f)
  }
  // finds without a box answer for the plate they read exactly
  finds.forEach((find, f) => {
    if (find.box !== null || used.has(f)) return
    const t = key.findIndex((k, i) => !findOf.has(i) && k === normalizePlate(find.plate))
    if (t === -1) return
    findOf.set(t, f)
    used.add(f)
  })
  const plates = truth.map((t, i): TruthScore => {
    const f = findOf.get(i)
    const find = f === undefined ? undefined : finds[f]
    if (find === undefined) return { truth: t, find, read: false, readWithCandidates: false, characters: 0 }
    const read = normalizePlate(find.plate) === key[i]
    const readWithCandidates = read || find.candidates.some((c) => normalizePlate(c.plate) === key[i])
    const characters = Math.max(0, 1 - editDistance(normalizePlate(find.plate), key[i]!) / key[i]!.length)
    return { truth: t, find, read, readWithCandidates, characters }
  })
  const falsePlates: Array<PlateFind> = []
  let duplicates = 0
  finds.forEach((find, f) => {
    if (used.has(f)) return
    const onAPlate = find.box !== null && truth.some((t) => iou(t.box, find.box!) > IOU_MIN)
    const readsAPlate = key.includes(normalizePlate(find.plate))
    if (onAPlate || readsAPlate) duplicates++
    else falsePlates.push(find)
  })
  return { plates, falsePlates, duplicates }
}

// ---------------------------------------------------------------------------------------------
// Recognisers

type MakeBuiltIn = (options?: { readonly regions?: ReadonlyArray<string> }) => Effect.Effect<RecogniserShape, unknown, Scope.Scope>

/** Imported when asked for, so that the benchmark runs (for the other recognisers) without it. */
const loadBuiltIn = async (): Promise<MakeBuiltIn> => {
  const specifier: string = BUILTIN_MODULE
  const module = (await import(specifier)) as { readonly makeBuiltInRecogniser?: unknown }
  if (typeof module.makeBuiltInRecogniser !== "function") throw new Error(`${BUILTIN_PATH} exports no makeBuiltInRecogniser`)
  return module.makeBuiltInRecogniser as MakeBuiltIn
}

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e))

const recogniseOnce = async (recogniser: RecogniserShape, image: RecogniserImage) => {
  const exit = await Effect.runPromiseExit(recogniser.recognise(image))
  if (Exit.isSuccess(exit)) return { finds: exit.value, error: undefined }
  const failure = Cause.failureOption(exit.cause)
  return { finds: [] as ReadonlyArray<PlateFind>, error: failure._tag === "Some" ? failure.value.message : Cause.pretty(exit.cause).slice(0, 300) }
}

/**
 * A local server speaking CodeProject.AI's ALPR protocol (`POST /v1/vision/alpr`, the image in the
 * form field `upload`, `min_confidence`), answering with what the built-in recogniser finds.
 */
const startCodeProjectServer = (builtin: RecogniserShape): Promise<{ readonly url: string; readonly close: () => Promise<void> }> =>
  new Promise((resolve, reject) => {
    const server = Http.createServer(async (req, res) => {
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { "content-type": "application/json" })
        res.end(JSON.stringify(body))
      }
      try {
        const chunks: Array<Buffer> = []
        for await (const chunk of req) chunks.push(chunk as Buffer)
        if (req.method !== "POST" || req.url !== "/v1/vision/alpr") return reply(404, { success: false, error: "Not found" })
        const form = await new Request("http://codeproject.local" + req.url, {
          method: "POST",
          headers: { "content-type": req.headers["content-type"] ?? "" },
          body: Buffer.concat(chunks)
        }).formData()
        const upload = form.get("upload")
        if (!(upload instanceof Blob)) return reply(400, { success: false, error: "No file was uploaded" })
        const bytes = new Uint8Array(await upload.arrayBuffer())
        const png = bytes[0] === 0x89 && bytes[1] === 0x50
        const minConfidence = Number(form.get("min_confidence") ?? 0.4)
        const started = performance.now()
        const { finds, error } = await recogniseOnce(builtin, { bytes, contentType: png ? "image/png" : "image/jpeg" })
        const ms = Math.round(performance.now() - started)
        if (error !== undefined) return reply(500, { success: false, error, code: 500, moduleId: "ALPR" })
        const predictions = finds
          .filter((f) => f.confidence >= (Number.isFinite(minConfidence) ? minConfidence : 0))
          .map((f) => ({
            confidence: f.confidence,
            label: `Plate: ${f.plate}`,
            plate: f.plate,
            ...(f.box === null
              ? {}
              : { x_min: f.box.x, y_min: f.box.y, x_max: f.box.x + f.box.width, y_max: f.box.y + f.box.height })
          }))
        reply(200, {
          success: true,
          message: predictions.length === 0 ? "Found nothing" : `Found ${predictions.map((p) => p.plate).join(", ")}`,
          predictions,
          count: predictions.length,
          processMs: ms,
          inferenceMs: ms,
          moduleId: "ALPR",
          code: 200
        })
      } catch (e) {
        reply(500, { success: false, error: messageOf(e), code: 500 })
      }
    })
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as Net.AddressInfo).port
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () =>
          new Promise((done) => {
            server.closeAllConnections()
            server.close(() => done())
          })
      })
    })
  })

// ---------------------------------------------------------------------------------------------
// A run

interface FrameResult {
  readonly scene: PlateScene
  readonly finds: ReadonlyArray<PlateFind>
  readonly error: string | undefined
  readonly ms: number
  readonly score: SceneScore
}

interface Summary {
  readonly name: string
  readonly accuracy: number
  readonly byDifficulty: Readonly<Record<Difficulty, number>>
  readonly withCandidates: number
  readonly characters: number
  readonly found: number
  readonly falsePerFrame: number
  readonly falsePerFrameConfident: number
  readonly p50: number
  readonly mean: number
  readonly videoMinute: number
  readonly rssMb: number
  readonly errors: number
  readonly failure?: string
}

const mean = (values: ReadonlyArray<number>) => (values.length === 0 ? Number.NaN : values.reduce((s, v) => s + v, 0) / values.length)
const peakRssMb = () => process.resourceUsage().maxRSS / 1024

const readAll = async (
  name: RecogniserName,
  recogniser: RecogniserShape,
  scenes: ReadonlyArray<PlateScene>,
  warmup: PlateScene,
  signal: AbortSignal
): Promise<Array<FrameResult>> => {
  const first = performance.now()
  const warm = await recogniseOnce(recogniser, { bytes: warmup.jpeg, contentType: "image/jpeg" })
  progress(`${name}: first frame (warm-up, not counted) ${(performance.now() - first).toFixed(0)} ms` +
    (warm.error === undefined ? "" : `, failed: ${warm.error}`))
  const results: Array<FrameResult> = []
  let plates = 0
  let read = 0
  for (const scene of scenes) {
    if (signal.aborted) throw new Interrupted()
    const started = performance.now()
    const { finds, error } = await recogniseOnce(recogniser, { bytes: scene.jpeg, contentType: "image/jpeg" })
    const ms = performance.now() - started
    if (error !== undefined && results.every((r) => r.error === undefined)) progress(`${name}: scene ${scene.index} failed: ${error}`)
    const score = scoreScene(scene.truth, finds)
    results.push({ scene, finds, error, ms, score })
    plates += score.plates.length
    read += score.plates.filter((p) => p.read).length
    if (results.length % 10 === 0 || results.length === scenes.length) {
      progress(`${name}: ${results.length}/${scenes.length} frames, ${mean(results.map((r) => r.ms)).toFixed(0)} ms/frame, ` +
        `${read}/${plates} plates read`)
    }
  }
  return results
}

const summarise = (
  name: RecogniserName,
  results: ReadonlyArray<FrameResult>,
  settings: { readonly fps: number; readonly regions: string },
  rssMb: number,
  samplesMb: number
): Summary => {
  const fps = settings.fps
  const fields: Fields = name === "codeproject"
    ? { recogniser: name, regions: settings.regions, note: CODEPROJECT_NOTE }
    : { recogniser: name, regions: settings.regions }
  const plates = results.flatMap((r) => r.score.plates)
  const fraction = (items: ReadonlyArray<TruthScore>, test: (p: TruthScore) => boolean) =>
    items.length === 0 ? Number.NaN : items.filter(test).length / items.length
  const accuracy = fraction(plates, (p) => p.read)
  figure("plate_accuracy", accuracy, "fraction", { ...fields, plates: plates.length })
  const byDifficulty = {} as Record<Difficulty, number>
  for (const difficulty of DIFFICULTIES) {
    const some = plates.filter((p) => p.truth.difficulty === difficulty)
    byDifficulty[difficulty] = fraction(some, (p) => p.read)
    figure("plate_accuracy", byDifficulty[difficulty], "fraction", { ...fields, difficulty, plates: some.length })
  }
  for (const format of ["us", "uk", "de"] as ReadonlyArray<PlateFormat>) {
    const some = plates.filter((p) => p.truth.format === format)
    figure("plate_accuracy", fraction(some, (p) => p.read), "fraction", { ...fields, format, plates: some.length })
  }
  const withCandidates = fraction(plates, (p) => p.readWithCandidates)
  figure("plate_accuracy_with_candidates", withCandidates, "fraction", fields)
  const characters = mean(plates.map((p) => p.characters))
  figure("character_accuracy", characters, "fraction", fields)
  for (const difficulty of DIFFICULTIES) {
    figure("character_accuracy", mean(plates.filter((p) => p.truth.difficulty === difficulty).map((p) => p.characters)), "fraction",
      { ...fields, difficulty })
  }
  const found = fraction(plates, (p) => p.find !== undefined)
  figure("plate_found", found, "fraction", fields)
  const falsePerFrame = results.reduce((s, r) => s + r.score.falsePlates.length, 0) / results.length
  const falsePerFrameConfident = results.reduce((s, r) => s + r.score.falsePlates.filter((f) => f.confidence >= CONFIDENT).length, 0) /
    results.length
  figure("false_plates_per_frame", falsePerFrame, "plates/frame", { ...fields, min_confidence: 0 })
  figure("false_plates_per_frame", falsePerFrameConfident, "plates/frame", { ...fields, min_confidence: CONFIDENT })
  const empty = results.filter((r) => r.scene.truth.length === 0)
  figure("false_plates_per_frame", mean(empty.map((r) => r.score.falsePlates.length)), "plates/frame",
    { ...fields, min_confidence: 0, scenes: "without a plate", frames: empty.length })
  figure("duplicate_finds_per_frame", results.reduce((s, r) => s + r.score.duplicates, 0) / results.length, "finds/frame", fields)
  const times = results.map((r) => r.ms).sort((a, b) => a - b)
  const p50 = quantile(times, 0.5)
  const meanMs = mean(times)
  figure("ms_per_frame", p50, "ms", { ...fields, stat: "p50" })
  figure("ms_per_frame", meanMs, "ms", { ...fields, stat: "mean" })
  figure("ms_per_frame", quantile(times, 0.95), "ms", { ...fields, stat: "p95" })
  const videoMinute = (meanMs / 1000) * fps * 60
  figure("seconds_per_video_minute", videoMinute, "s", { ...fields, fps })
  figure("rss_mb", rssMb, "MB", { ...fields, stat: "process peak so far" })
  figure("rss_mb", samplesMb, "MB", { ...fields, stat: "sampled peak during its frames" })
  const errors = results.filter((r) => r.error !== undefined).length
  figure("errors", errors, "frames", fields)
  return {
    name, accuracy, byDifficulty, withCandidates, characters, found, falsePerFrame, falsePerFrameConfident, p50, mean: meanMs,
    videoMinute, rssMb, errors
  }
}

const percent = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(0)}%` : "–")

const table = (summaries: ReadonlyArray<Summary>, fps: number): string => {
  const head = [
    "recogniser", "plates read", "easy", "medium", "hard", "read or a candidate", "characters", "plates found",
    "false plates/frame", `false ≥ ${CONFIDENT}`, "ms/frame p50", "ms/frame mean", `s per video minute (${fps} fps)`, "peak RSS MB"
  ]
  const rows = summaries.map((s) =>
    s.failure !== undefined
      ? [s.name, "not run (see above)", ...Array<string>(head.length - 2).fill("")]
      : [
        s.name, percent(s.accuracy), percent(s.byDifficulty.easy), percent(s.byDifficulty.medium), percent(s.byDifficulty.hard),
        percent(s.withCandidates), percent(s.characters), percent(s.found), s.falsePerFrame.toFixed(2), s.falsePerFrameConfident.toFixed(2),
        s.p50.toFixed(0), s.mean.toFixed(0), s.videoMinute.toFixed(0), s.rssMb.toFixed(0)
      ]
  )
  const line = (cells: ReadonlyArray<string>) => `| ${cells.join(" | ")} |`
  return [line(head), line(head.map(() => "---")), ...rows.map(line)].join("\n")
}

export const main = async (argv: ReadonlyArray<string>): Promise<void> => {
  const values = parseArgs(argv, options)
  const count = numberOption(values, "count", { min: 1, integer: true })
  const fps = numberOption(values, "fps", { min: 0.001 })
  const seed = values.get("seed")!
  const save = values.get("save")
  const asked = values.get("recognisers")!.split(",").map((s) => s.trim()).filter((s) => s !== "" && s !== "none")
  for (const name of asked) {
    if (!(RECOGNISERS as ReadonlyArray<string>).includes(name)) throw new UsageError(`unknown recogniser "${name}" (known: ${RECOGNISERS.join(", ")})`)
  }
  const chosen = [...new Set(asked)] as Array<RecogniserName>
  const regions = values.get("regions")!.split(",").map((s) => s.trim().toLowerCase()).filter((s) => s !== "" && s !== "none")
  const regionsName = regions.length === 0 ? "none" : regions.join(",")
  const { cleanups, signal, close } = runScope()
  try {
    // the scenes
    const generating = performance.now()
    const scenes: Array<PlateScene> = []
    for (let i = 0; i < count; i++) {
      if (signal.aborted) throw new Interrupted()
      scenes.push(await generatePlateScene(seed, i))
    }
    const warmup = await generatePlateScene(`${seed}/warm-up`, 0)
    const generateMs = (performance.now() - generating) / (count + 1)
    const truths = scenes.flatMap((s) => s.truth)
    const tally = (d: Difficulty) => truths.filter((t) => t.difficulty === d).length
    progress(`${count} scenes (seed ${seed}) in ${(generateMs * (count + 1) / 1000).toFixed(1)} s, ${generateMs.toFixed(0)} ms each: ` +
      `${truths.length} plates (easy ${tally("easy")}, medium ${tally("medium")}, hard ${tally("hard")}; ` +
      `US ${truths.filter((t) => t.format === "us").length}, UK ${truths.filter((t) => t.format === "uk").length}, ` +
      `DE ${truths.filter((t) => t.format === "de").length}); scenes without a plate: ${scenes.filter((s) => s.truth.length === 0).length}, ` +
      `with two: ${scenes.filter((s) => s.truth.length === 2).length}`)
    figure("scenes", count, "count", { seed })
    figure("truth_plates", truths.length, "count", { seed })
    figure("generate_ms_per_scene", generateMs, "ms", { seed })
    if (save !== undefined) {
      await Fs.mkdir(save, { recursive: true })
      for (const scene of scenes) await Fs.writeFile(Path.join(save, sceneFile(scene)), scene.jpeg)
      const truth = scenes.map((s) => ({ file: sceneFile(s), difficulty: s.difficulty, conditions: s.conditions, truth: s.truth }))
      await Fs.writeFile(Path.join(save, "truth.json"), JSON.stringify({ seed, count, scenes: truth }, null, 2))
      progress(`scenes and truth.json written to ${Path.resolve(save)}`)
    }
    if (chosen.length === 0) return

    // the built-in recogniser, made once (the CodeProject.AI server is backed by it too)
    let builtin: RecogniserShape | string | undefined
    const getBuiltIn = async (): Promise<RecogniserShape | string> => {
      if (builtin !== undefined) return builtin
      try {
        const make = await loadBuiltIn()
        const scope = Effect.runSync(Scope.make())
        cleanups.push(() => Effect.runPromise(Scope.close(scope, Exit.void)))
        const started = performance.now()
        builtin = await Effect.runPromise(Scope.extend(make({ regions }), scope))
        figure("startup_ms", performance.now() - started, "ms", { recogniser: "builtin" })
        progress(`builtin: ready in ${(performance.now() - started).toFixed(0)} ms, regions ${regionsName}`)
      } catch (e) {
        builtin = `the built-in recogniser could not be loaded or started (${BUILTIN_PATH}): ${messageOf(e).split("\n")[0]}`
      }
      return builtin
    }

    const summaries: Array<Summary> = []
    for (const name of chosen) {
      const base = await getBuiltIn()
      if (typeof base === "string") {
        const failure = name === "builtin" ? base : `its local server is backed by the built-in recogniser, and ${base}`
        progress(`${name}: NOT RUN: ${failure}`)
        summaries.push({ ...notRun(name), failure })
        continue
      }
      let recogniser = base
      if (name === "codeproject") {
        const server = await startCodeProjectServer(base)
        cleanups.push(server.close)
        recogniser = codeProjectRecogniser(server.url)
        progress(`codeproject: ${CODEPROJECT_NOTE}, at ${server.url}`)
      }
      let sampled = 0
      const sampler = setInterval(() => (sampled = Math.max(sampled, process.memoryUsage.rss() / 1048576)), 100)
      let results: Array<FrameResult>
      try {
        results = await readAll(name, recogniser, scenes, warmup, signal)
      } finally {
        clearInterval(sampler)
      }
      summaries.push(summarise(name, results, { fps, regions: regionsName }, peakRssMb(), sampled))
      if (save !== undefined) {
        const detail = results.map((r) => ({
          file: sceneFile(r.scene),
          ms: Math.round(r.ms),
          error: r.error,
          plates: r.score.plates.map((p) => ({ truth: p.truth.plate, read: p.find?.plate ?? null, ok: p.read, confidence: p.find?.confidence ?? null })),
          false_plates: r.score.falsePlates,
          finds: r.finds
        }))
        await Fs.writeFile(Path.join(save, `results-${name}.json`), JSON.stringify(detail, null, 2))
      }
    }
    const errors = summaries.filter((s) => s.errors > 0)
    for (const s of errors) progress(`${s.name}: ${s.errors} of ${count} frames failed (counted as frames with no plate found)`)
    process.stderr.write(
      `\n${count} generated scenes (seed ${seed}), ${truths.length} plates; built-in recogniser's regions: ${regionsName}; ` +
        `frames read one at a time on this machine.\n` +
        `${table(summaries, fps)}\n` +
        (chosen.includes("codeproject") ? `\ncodeproject: ${CODEPROJECT_NOTE}.\n` : "") +
        "\n"
    )
    if (summaries.every((s) => s.failure !== undefined)) throw new Error("no recogniser could be run (see above)")
  } finally {
    await close()
  }
}

const sceneFile = (scene: PlateScene) => `scene-${String(scene.index).padStart(3, "0")}.jpg`

const notRun = (name: string): Summary => ({
  name, accuracy: Number.NaN, byDifficulty: { easy: Number.NaN, medium: Number.NaN, hard: Number.NaN }, withCandidates: Number.NaN,
  characters: Number.NaN, found: Number.NaN, falsePerFrame: Number.NaN, falsePerFrameConfident: Number.NaN, p50: Number.NaN,
  mean: Number.NaN, videoMinute: Number.NaN, rssMb: Number.NaN, errors: 0
})
