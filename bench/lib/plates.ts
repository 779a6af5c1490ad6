/**
 * Labelled plate scenes for the recognisers' benchmark (bench/recognise.ts): 1280x720 JPEG frames of
 * a street with one vehicle (sometimes two, sometimes none) whose plate is known, drawn with
 * @napi-rs/canvas and fonts of the @fontsource packages, so the set needs no download and is the same
 * for the same seed on every machine.
 *
 * A plate is drawn flat on its own canvas (US: white with a coloured state band; UK: yellow or white,
 * black characters; DE: white with the blue EU band and the registration seals) in one of three fonts
 * (a condensed sans, a bold sans, a mono), then mapped into the scene with a mild perspective (its
 * two ends of different heights), a shear and a rotation, at a height of 20 to 80 pixels. The frame is
 * then degraded by its difficulty: light (day, haze, night), a glare blob, blur, sensor noise and
 * JPEG quality. The mix is fixed in blocks of 20 scenes: 8 easy, 8 medium, 4 hard; 2 with no plate
 * (for false plates) and 1 with two. Scene i is the same whatever the count.
 */
import { createCanvas, GlobalFonts, Path2D, type Canvas, type SKRSContext2D } from "@napi-rs/canvas"
import { createRequire } from "node:module"

export const SCENE_WIDTH = 1280
export const SCENE_HEIGHT = 720

export type PlateFormat = "us" | "uk" | "de"
export type Difficulty = "easy" | "medium" | "hard"
export const DIFFICULTIES: ReadonlyArray<Difficulty> = ["easy", "medium", "hard"]
export type Lighting = "day" | "haze" | "night"

export interface SceneBox {
  readonly x: number
  readonly y: number
  readonly width: number
  readonly height: number
}

export interface TruthPlate {
  /** as printed, e.g. "AB12 CDE", "B AB 1234", "ABC-1234" */
  readonly plate: string
  /** the axis-aligned box around the warped plate, in the frame's pixels */
  readonly box: SceneBox
  readonly format: PlateFormat
  readonly difficulty: Difficulty
  readonly font: FontName
  /** the plate's height in the frame before rotation, pixels */
  readonly heightPx: number
  /** rotation in degrees */
  readonly angle: number
}

export interface SceneConditions {
  readonly lighting: Lighting
  readonly blur: number
  readonly noise: number
  readonly glare: boolean
  readonly jpegQuality: number
}

export interface PlateScene {
  readonly index: number
  readonly jpeg: Uint8Array
  readonly truth: ReadonlyArray<TruthPlate>
  readonly difficulty: Difficulty
  readonly conditions: SceneConditions
}

// ---------------------------------------------------------------------------------------------
// Randomness: mulberry32, seeded per scene from the run's seed and the scene's number

export interface Rng {
  /** 0 <= x < 1 */
  readonly next: () => number
  readonly range: (min: number, max: number) => number
  readonly int: (min: number, maxInclusive: number) => number
  readonly pick: <A>(items: ReadonlyArray<A>) => A
  readonly chance: (p: number) => boolean
  /** -1 or 1 */
  readonly sign: () => number
}

const hashString = (text: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

export const makeRng = (seed: number | string): Rng => {
  let state = typeof seed === "number" ? seed >>> 0 : hashString(seed)
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const range = (min: number, max: number) => min + (max - min) * next()
  return {
    next,
    range,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick: (items) => items[Math.floor(next() * items.length)]!,
    chance: (p) => next() < p,
    sign: () => (next() < 0.5 ? -1 : 1)
  }
}

const shuffle = <A>(rng: Rng, items: Array<A>): Array<A> => {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1))
    ;[items[i], items[j]] = [items[j]!, items[i]!]
  }
  return items
}

// ---------------------------------------------------------------------------------------------
// Fonts

export type FontName = "condensed" | "bold" | "mono"
const FONT_FILES: Readonly<Record<FontName, string>> = {
  condensed: "@fontsource/roboto-condensed/files/roboto-condensed-latin-700-normal.woff2",
  bold: "@fontsource/dejavu-sans/files/dejavu-sans-latin-700-normal.woff2",
  mono: "@fontsource/roboto-mono/files/roboto-mono-latin-700-normal.woff2"
}
const FONT_FAMILY: Readonly<Record<FontName, string>> = {
  condensed: "BenchPlateCondensed",
  bold: "BenchPlateBold",
  mono: "BenchPlateMono"
}
const FONT_NAMES: ReadonlyArray<FontName> = ["condensed", "bold", "mono"]
/** cap height / font size, measured once per font */
const capRatio = new Map<FontName, number>()

let fontsLoaded = false
const loadFonts = () => {
  if (fontsLoaded) return
  const require = createRequire(import.meta.url)
  for (const name of FONT_NAMES) {
    const key = GlobalFonts.registerFromPath(require.resolve(FONT_FILES[name]), FONT_FAMILY[name])
    if (key === null) throw new Error(`the font ${FONT_FILES[name]} could not be loaded`)
  }
  const probe = createCanvas(10, 10).getContext("2d")
  for (const name of FONT_NAMES) {
    probe.font = `100px ${FONT_FAMILY[name]}`
    capRatio.set(name, probe.measureText("H").actualBoundingBoxAscent / 100)
  }
  fontsLoaded = true
}

const fontOf = (name: FontName, size: number) => `${size.toFixed(2)}px ${FONT_FAMILY[name]}`

// ---------------------------------------------------------------------------------------------
// Plates, drawn flat at PLATE_PX high

const PLATE_PX = 120
const LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"
const DIGITS = "0123456789"
const chars = (rng: Rng, alphabet: string, n: number) => Array.from({ length: n }, () => rng.pick([...alphabet])).join("")

interface FlatPlate {
  readonly canvas: Canvas
  readonly text: string
  /** physical size in millimetres, to size the vehicle around it */
  readonly widthMm: number
  readonly heightMm: number
}

type TextPart = { readonly text: string } | { readonly gap: number; readonly seals?: boolean }

/**
 * Draws parts of text (and gaps, with DE's registration seals) centred in a box, the capitals `cap`
 * pixels high, squeezed sideways (to 75%, then smaller) if they are too wide.
 */
const drawPlateText = (
  ctx: SKRSContext2D,
  rng: Rng,
  font: FontName,
  parts: ReadonlyArray<TextPart>,
  box: { x: number; y: number; width: number; height: number },
  cap: number,
  colour: string
) => {
  let size = cap / capRatio.get(font)!
  const widthAt = (s: number) => {
    ctx.font = fontOf(font, s)
    return parts.reduce((sum, p) => sum + ("text" in p ? ctx.measureText(p.text).width : p.gap * s), 0)
  }
  let total = widthAt(size)
  let squeeze = Math.min(1, box.width / total)
  if (squeeze < 0.75) {
    size *= squeeze / 0.75
    squeeze = 0.75
    total = widthAt(size)
  }
  const capPx = size * capRatio.get(font)!
  const baseline = box.y + box.height / 2 + capPx / 2
  let x = box.x + (box.width - total * squeeze) / 2
  ctx.font = fontOf(font, size)
  ctx.fillStyle = colour
  for (const part of parts) {
    if ("text" in part) {
      ctx.save()
      ctx.translate(x, baseline)
      ctx.scale(squeeze, 1)
      ctx.fillText(part.text, 0, 0)
      ctx.restore()
      x += ctx.measureText(part.text).width * squeeze
    } else {
      const w = part.gap * size * squeeze
      if (part.seals) {
        const r = Math.min(w * 0.42, capPx * 0.2)
        const cx = x + w / 2
        const top = baseline - capPx
        ctx.fillStyle = rng.pick(["#3a7bd5", "#e08a1e", "#2e9b4f", "#c23b3b", "#8a5a2b"])
        ctx.beginPath()
        ctx.arc(cx, top + capPx * 0.27, r, 0, Math.PI * 2)
        ctx.fill()
        ctx.fillStyle = "#9aa0a6"
        ctx.beginPath()
        ctx.arc(cx, top + capPx * 0.73, r, 0, Math.PI * 2)
        ctx.fill()
        ctx.fillStyle = colour
      }
      x += w
    }
  }
}

const roundedRect = (ctx: SKRSContext2D, x: number, y: number, w: number, h: number, r: number) => {
  ctx.beginPath()
  ctx.roundRect(x, y, w, h, r)
}

const US_STATES: ReadonlyArray<{ name: string; band: string; slogan: string }> = [
  { name: "NEW YORK", band: "#e3a312", slogan: "EXCELSIOR" },
  { name: "CALIFORNIA", band: "#b3203a", slogan: "DMV.CA.GOV" },
  { name: "TEXAS", band: "#1f3a93", slogan: "THE LONE STAR STATE" },
  { name: "OHIO", band: "#c8102e", slogan: "BIRTHPLACE OF AVIATION" },
  { name: "FLORIDA", band: "#0b7a3b", slogan: "SUNSHINE STATE" },
  { name: "NEW JERSEY", band: "#d9a400", slogan: "GARDEN STATE" },
  { name: "ILLINOIS", band: "#2156a5", slogan: "LAND OF LINCOLN" },
  { name: "WASHINGTON", band: "#3b6e8f", slogan: "EVERGREEN STATE" }
]

const usPlate = (rng: Rng, font: FontName): FlatPlate => {
  const w = PLATE_PX * 2
  const h = PLATE_PX
  const canvas = createCanvas(w, h)
  const ctx = canvas.getContext("2d")
  const state = rng.pick(US_STATES)
  const text = rng.pick([
    () => `${chars(rng, LETTERS, 3)} ${chars(rng, DIGITS, 4)}`,
    () => `${chars(rng, LETTERS, 3)}-${chars(rng, DIGITS, 4)}`,
    () => `${rng.int(1, 9)}${chars(rng, LETTERS, 3)}${chars(rng, DIGITS, 3)}`
  ])()
  const paper = ctx.createLinearGradient(0, 0, 0, h)
  paper.addColorStop(0, "#ffffff")
  paper.addColorStop(1, rng.pick(["#f1f1ea", "#e9eef5", "#f5f0e2"]))
  roundedRect(ctx, 0, 0, w, h, h * 0.08)
  ctx.fillStyle = paper
  ctx.fill()
  // a faint background graphic, as many states print
  ctx.globalAlpha = 0.18
  ctx.fillStyle = state.band
  ctx.beginPath()
  ctx.moveTo(0, h * 0.85)
  for (let x = 0; x <= w; x += 10) ctx.lineTo(x, h * (0.78 + 0.06 * Math.sin(x / w * Math.PI * rng.range(1.5, 3))))
  ctx.lineTo(w, h)
  ctx.lineTo(0, h)
  ctx.fill()
  ctx.globalAlpha = 1
  ctx.fillStyle = state.band
  ctx.fillRect(h * 0.04, h * 0.04, w - h * 0.08, h * 0.2)
  drawPlateText(ctx, rng, "condensed", [{ text: state.name }], { x: 0, y: h * 0.04, width: w, height: h * 0.2 }, h * 0.13, "#ffffff")
  drawPlateText(ctx, rng, "condensed", [{ text: state.slogan }], { x: w * 0.15, y: h * 0.86, width: w * 0.7, height: h * 0.1 }, h * 0.06, state.band)
  drawPlateText(ctx, rng, font, [{ text }], { x: w * 0.05, y: h * 0.28, width: w * 0.9, height: h * 0.56 }, h * 0.46,
    rng.pick(["#14225e", "#111111", "#6e1020", "#1d3d1d"]))
  ctx.strokeStyle = "#3b3b3b"
  ctx.lineWidth = h * 0.025
  roundedRect(ctx, h * 0.0125, h * 0.0125, w - h * 0.025, h - h * 0.025, h * 0.08)
  ctx.stroke()
  ctx.fillStyle = "#8a8f96"
  for (const x of [w * 0.3, w * 0.7]) {
    ctx.beginPath()
    ctx.arc(x, h * 0.14, h * 0.035, 0, Math.PI * 2)
    ctx.fill()
  }
  return { canvas, text, widthMm: 305, heightMm: 152 }
}

const euBand = (ctx: SKRSContext2D, bandWidth: number, h: number, letter: string, stars: boolean) => {
  ctx.fillStyle = "#003399"
  ctx.fillRect(0, 0, bandWidth, h)
  if (stars) {
    ctx.fillStyle = "#ffcc00"
    const cx = bandWidth / 2
    const cy = h * 0.3
    const ring = h * 0.15
    for (let i = 0; i < 12; i++) {
      const a = (i / 12) * Math.PI * 2
      ctx.beginPath()
      ctx.arc(cx + Math.cos(a) * ring, cy + Math.sin(a) * ring, h * 0.022, 0, Math.PI * 2)
      ctx.fill()
    }
  }
  ctx.fillStyle = "#ffffff"
  ctx.font = fontOf("bold", h * 0.24)
  const m = ctx.measureText(letter)
  ctx.fillText(letter, (bandWidth - m.width) / 2, h * 0.88)
}

const ukPlate = (rng: Rng, font: FontName): FlatPlate => {
  const h = PLATE_PX
  const w = Math.round(h * 520 / 111)
  const canvas = createCanvas(w, h)
  const ctx = canvas.getContext("2d")
  const text = `${chars(rng, LETTERS, 2)}${chars(rng, DIGITS, 2)} ${chars(rng, LETTERS, 3)}`
  const rear = rng.chance(0.6)
  const paper = ctx.createLinearGradient(0, 0, w, h)
  paper.addColorStop(0, rear ? "#f8d21c" : "#fbfbf7")
  paper.addColorStop(1, rear ? "#efc40c" : "#ecece6")
  roundedRect(ctx, 0, 0, w, h, h * 0.06)
  ctx.fillStyle = paper
  ctx.fill()
  let left = h * 0.08
  if (rng.chance(0.4)) {
    const band = w * 0.09
    euBand(ctx, band, h, "UK", false)
    left = band + h * 0.04
  }
  drawPlateText(ctx, rng, font, [{ text }], { x: left, y: 0, width: w - left - h * 0.08, height: h }, h * 0.64, "#0d0d0d")
  if (rng.chance(0.4)) {
    ctx.strokeStyle = "#111111"
    ctx.lineWidth = h * 0.03
    roundedRect(ctx, h * 0.03, h * 0.03, w - h * 0.06, h - h * 0.06, h * 0.05)
    ctx.stroke()
  }
  return { canvas, text, widthMm: 520, heightMm: 111 }
}

const DE_DISTRICTS = ["B", "M", "K", "F", "S", "D", "HH", "HB", "DO", "KA", "MZ", "WI", "BN", "LEV", "GOE", "HRO", "RO", "OF"]

const dePlate = (rng: Rng, font: FontName): FlatPlate => {
  const h = PLATE_PX
  const w = Math.round(h * 520 / 110)
  const canvas = createCanvas(w, h)
  const ctx = canvas.getContext("2d")
  const district = rng.pick(DE_DISTRICTS)
  const letters = chars(rng, LETTERS, rng.int(1, 2))
  // mostly 3 or 4 digits, as most plates have; the whole no more than 8 characters
  const digitCount = Math.min(rng.pick([1, 2, 2, 3, 3, 4, 4, 4]), 8 - district.length - letters.length)
  const digits = `${rng.int(1, 9)}${chars(rng, DIGITS, digitCount - 1)}`
  const text = `${district} ${letters} ${digits}`
  roundedRect(ctx, 0, 0, w, h, h * 0.06)
  ctx.fillStyle = "#fafafa"
  ctx.fill()
  const band = w * 0.085
  euBand(ctx, band, h, "D", true)
  ctx.strokeStyle = "#111111"
  ctx.lineWidth = h * 0.04
  roundedRect(ctx, h * 0.02, h * 0.02, w - h * 0.04, h - h * 0.04, h * 0.06)
  ctx.stroke()
  const left = band + h * 0.05
  drawPlateText(ctx, rng, font, [{ text: district }, { gap: 0.7, seals: true }, { text: `${letters} ${digits}` }],
    { x: left, y: 0, width: w - left - h * 0.07, height: h }, h * 0.6, "#0d0d0d")
  return { canvas, text, widthMm: 520, heightMm: 110 }
}

const PLATE_MAKERS: Readonly<Record<PlateFormat, (rng: Rng, font: FontName) => FlatPlate>> = { us: usPlate, uk: ukPlate, de: dePlate }
const FORMATS: ReadonlyArray<PlateFormat> = ["us", "uk", "de"]

// ---------------------------------------------------------------------------------------------
// Difficulty

interface Recipe {
  readonly plateHeight: readonly [number, number]
  readonly angle: number
  readonly perspective: number
  readonly shear: number
  readonly blur: readonly [number, number]
  readonly noise: readonly [number, number]
  readonly lighting: ReadonlyArray<readonly [Lighting, number]>
  /** chance of glare over or near the plate */
  readonly glare: number
  readonly glareAlpha: readonly [number, number]
  readonly night: readonly [number, number]
  readonly haze: readonly [number, number]
  readonly jpeg: readonly [number, number]
}

const RECIPES: Readonly<Record<Difficulty, Recipe>> = {
  easy: {
    plateHeight: [40, 80], angle: 3, perspective: 0.05, shear: 0.05, blur: [0, 0.5], noise: [2, 4],
    lighting: [["day", 0.85], ["haze", 0.15]], glare: 0.1, glareAlpha: [0.25, 0.4],
    night: [0.5, 0.6], haze: [0.1, 0.2], jpeg: [88, 92]
  },
  medium: {
    plateHeight: [28, 56], angle: 6, perspective: 0.12, shear: 0.1, blur: [0.6, 1.0], noise: [4, 7],
    lighting: [["day", 0.5], ["haze", 0.3], ["night", 0.2]], glare: 0.3, glareAlpha: [0.35, 0.55],
    night: [0.3, 0.4], haze: [0.25, 0.4], jpeg: [78, 88]
  },
  hard: {
    plateHeight: [20, 36], angle: 10, perspective: 0.2, shear: 0.15, blur: [0.9, 1.3], noise: [7, 11],
    lighting: [["day", 0.25], ["haze", 0.25], ["night", 0.5]], glare: 0.5, glareAlpha: [0.4, 0.6],
    night: [0.2, 0.3], haze: [0.4, 0.55], jpeg: [62, 75]
  }
}

const pickWeighted = <A>(rng: Rng, items: ReadonlyArray<readonly [A, number]>): A => {
  let r = rng.next() * items.reduce((s, [, w]) => s + w, 0)
  for (const [item, weight] of items) {
    r -= weight
    if (r < 0) return item
  }
  return items[items.length - 1]![0]
}

/** The fixed mix, in blocks of 20: what scene `index` is. */
const BLOCK = 20
const planOf = (seed: string, index: number): { difficulty: Difficulty; plates: number } => {
  const block = Math.floor(index / BLOCK)
  const rng = makeRng(`${seed}/plan/${block}`)
  const difficulties = shuffle(rng, [
    ...Array<Difficulty>(8).fill("easy"),
    ...Array<Difficulty>(8).fill("medium"),
    ...Array<Difficulty>(4).fill("hard")
  ])
  const plates = shuffle(rng, [0, 0, 2, ...Array<number>(17).fill(1)])
  return { difficulty: difficulties[index % BLOCK]!, plates: plates[index % BLOCK]! }
}

// ---------------------------------------------------------------------------------------------
// The street

const hsl = (h: number, s: number, l: number, a = 1) => `hsla(${h.toFixed(0)}, ${s.toFixed(0)}%, ${l.toFixed(0)}%, ${a})`

const SIGN_WORDS = ["PIZZA", "HOTEL", "OPEN", "CAFE", "BAKERY", "PARKING", "PHARMACY", "BANK", "SALE 50%", "GYM 24/7", "TAXI", "MARKET"]

const drawStreet = (ctx: SKRSContext2D, rng: Rng): number => {
  const W = SCENE_WIDTH
  const H = SCENE_HEIGHT
  const horizon = H * rng.range(0.3, 0.45)
  const skyHue = rng.range(195, 225)
  const sky = ctx.createLinearGradient(0, 0, 0, horizon)
  sky.addColorStop(0, hsl(skyHue, rng.range(35, 65), rng.range(45, 62)))
  sky.addColorStop(1, hsl(skyHue, rng.range(20, 40), rng.range(75, 88)))
  ctx.fillStyle = sky
  ctx.fillRect(0, 0, W, horizon)
  // buildings along the horizon, with windows and sometimes a sign
  for (let x = -rng.range(0, 80); x < W;) {
    const bw = rng.range(70, 240)
    const bh = rng.range(60, horizon * 0.95)
    const top = horizon - bh
    const hue = rng.range(0, 60)
    const light = rng.range(30, 70)
    ctx.fillStyle = hsl(hue, rng.range(5, 35), light)
    ctx.fillRect(x, top, bw, bh + 2)
    ctx.fillStyle = hsl(hue, 10, light - 12)
    ctx.fillRect(x + bw - 6, top, 6, bh + 2)
    const ww = rng.range(8, 16)
    const wh = rng.range(10, 20)
    const glass = hsl(rng.range(190, 220), 25, rng.range(20, 55))
    ctx.fillStyle = glass
    for (let wy = top + 10; wy + wh < horizon - 14; wy += wh + rng.range(8, 14)) {
      for (let wx = x + 8; wx + ww < x + bw - 10; wx += ww + 9) ctx.fillRect(wx, wy, ww, wh)
    }
    if (rng.chance(0.3) && bw > 100) {
      const sh = rng.range(16, 30)
      const sy = horizon - rng.range(30, Math.max(32, bh * 0.6))
      ctx.fillStyle = hsl(rng.range(0, 360), rng.range(40, 80), rng.range(25, 55))
      ctx.fillRect(x + 8, sy, bw - 20, sh)
      ctx.fillStyle = rng.chance(0.5) ? "#ffffff" : "#ffe680"
      ctx.font = fontOf(rng.pick(FONT_NAMES), sh * 0.7)
      ctx.fillText(rng.pick(SIGN_WORDS), x + 14, sy + sh * 0.8, bw - 32)
    }
    x += bw + rng.range(-4, 12)
  }
  // pavement and road
  const kerb = rng.range(12, 30)
  ctx.fillStyle = hsl(30, 5, rng.range(60, 72))
  ctx.fillRect(0, horizon, W, kerb)
  const road = ctx.createLinearGradient(0, horizon + kerb, 0, H)
  const grey = rng.range(32, 46)
  road.addColorStop(0, hsl(220, 4, grey + 10))
  road.addColorStop(1, hsl(220, 4, grey - 8))
  ctx.fillStyle = road
  ctx.fillRect(0, horizon + kerb, W, H - horizon - kerb)
  // lane markings converging on a vanishing point
  const vx = W * rng.range(0.35, 0.65)
  ctx.strokeStyle = rng.chance(0.7) ? "rgba(235,235,225,0.8)" : "rgba(230,190,40,0.8)"
  for (const bottomX of [W * rng.range(-0.3, 0.1), W * rng.range(0.4, 0.6), W * rng.range(0.9, 1.3)]) {
    ctx.setLineDash([rng.range(20, 40), rng.range(20, 50)])
    ctx.lineWidth = 6
    ctx.beginPath()
    ctx.moveTo(vx + (bottomX - vx) * 0.05, horizon + kerb)
    ctx.lineTo(bottomX, H)
    ctx.stroke()
  }
  ctx.setLineDash([])
  // distant cars and poles
  for (let i = rng.int(1, 4); i > 0; i--) {
    const cw = rng.range(50, 110)
    const ch = cw * rng.range(0.45, 0.6)
    const cx = rng.range(0, W - cw)
    const cy = horizon + kerb * 0.5 - ch + rng.range(0, 12)
    ctx.fillStyle = hsl(rng.range(0, 360), rng.range(0, 50), rng.range(20, 70))
    roundedRect(ctx, cx, cy, cw, ch, 6)
    ctx.fill()
    ctx.fillStyle = "rgba(30,35,45,0.85)"
    ctx.fillRect(cx + cw * 0.15, cy + ch * 0.1, cw * 0.7, ch * 0.35)
    ctx.fillStyle = "#151515"
    ctx.fillRect(cx + cw * 0.08, cy + ch * 0.9, cw * 0.18, ch * 0.2)
    ctx.fillRect(cx + cw * 0.74, cy + ch * 0.9, cw * 0.18, ch * 0.2)
  }
  for (let i = rng.int(0, 3); i > 0; i--) {
    const px = rng.range(0, W)
    ctx.fillStyle = hsl(0, 0, rng.range(20, 45))
    ctx.fillRect(px, horizon - rng.range(150, 260), rng.range(4, 9), rng.range(150, 260) + kerb * 0.6)
  }
  return horizon
}

interface Placed {
  readonly cx: number
  readonly cy: number
  readonly width: number
  readonly height: number
  readonly angle: number
  /** left and right ends' heights, as fractions of `height` */
  readonly left: number
  readonly right: number
  readonly shear: number
}

/** The rear of a vehicle around its plate; returns where its lights are, in frame coordinates. */
const drawVehicle = (ctx: SKRSContext2D, rng: Rng, p: Placed, plate: FlatPlate): Array<readonly [number, number, number]> => {
  const mm = p.height / plate.heightMm
  const vw = 1750 * mm * rng.range(0.95, 1.08)
  const vh = 1300 * mm * rng.range(0.9, 1.1)
  const top = -0.66 * vh
  const bottom = 0.3 * vh
  ctx.save()
  ctx.translate(p.cx, p.cy)
  ctx.rotate(p.angle)
  // shadow
  ctx.fillStyle = "rgba(0,0,0,0.35)"
  ctx.beginPath()
  ctx.ellipse(0, bottom + vh * 0.05, vw * 0.58, vh * 0.07, 0, 0, Math.PI * 2)
  ctx.fill()
  // wheels
  ctx.fillStyle = "#121212"
  ctx.fillRect(-vw * 0.46, bottom - vh * 0.06, vw * 0.16, vh * 0.14)
  ctx.fillRect(vw * 0.3, bottom - vh * 0.06, vw * 0.16, vh * 0.14)
  // body
  const hue = rng.range(0, 360)
  const sat = rng.chance(0.4) ? rng.range(0, 8) : rng.range(30, 70)
  const light = rng.range(15, 75)
  const body = ctx.createLinearGradient(0, top, 0, bottom)
  body.addColorStop(0, hsl(hue, sat, Math.min(90, light + 12)))
  body.addColorStop(1, hsl(hue, sat, Math.max(8, light - 10)))
  ctx.fillStyle = body
  roundedRect(ctx, -vw / 2, top + vh * 0.3, vw, vh * 0.66, vh * 0.06)
  ctx.fill()
  // cabin and rear window
  ctx.beginPath()
  ctx.moveTo(-vw * 0.42, top + vh * 0.32)
  ctx.lineTo(-vw * 0.33, top)
  ctx.lineTo(vw * 0.33, top)
  ctx.lineTo(vw * 0.42, top + vh * 0.32)
  ctx.closePath()
  ctx.fill()
  const glass = ctx.createLinearGradient(0, top, 0, top + vh * 0.3)
  glass.addColorStop(0, "rgba(40,50,65,0.95)")
  glass.addColorStop(1, "rgba(15,20,28,0.95)")
  ctx.fillStyle = glass
  ctx.beginPath()
  ctx.moveTo(-vw * 0.37, top + vh * 0.29)
  ctx.lineTo(-vw * 0.3, top + vh * 0.04)
  ctx.lineTo(vw * 0.3, top + vh * 0.04)
  ctx.lineTo(vw * 0.37, top + vh * 0.29)
  ctx.closePath()
  ctx.fill()
  // tail lights
  const lightY = top + vh * 0.42
  ctx.fillStyle = hsl(rng.range(355, 365) % 360, 80, rng.range(35, 50))
  ctx.fillRect(-vw * 0.48, lightY, vw * 0.16, vh * 0.1)
  ctx.fillRect(vw * 0.32, lightY, vw * 0.16, vh * 0.1)
  // bumper and the plate's recess
  ctx.fillStyle = hsl(hue, sat * 0.5, Math.max(6, light - 20))
  ctx.fillRect(-vw / 2, p.height * 0.9, vw, vh * 0.1)
  ctx.fillStyle = "rgba(0,0,0,0.25)"
  ctx.fillRect(-p.width * 0.58, -p.height * 0.7, p.width * 1.16, p.height * 1.4)
  ctx.restore()
  const at = (x: number, y: number): readonly [number, number, number] => [
    p.cx + x * Math.cos(p.angle) - y * Math.sin(p.angle),
    p.cy + x * Math.sin(p.angle) + y * Math.cos(p.angle),
    vw * 0.12
  ]
  return [at(-vw * 0.4, lightY + vh * 0.05), at(vw * 0.4, lightY + vh * 0.05)]
}

/** The flat plate into the frame: strips of different heights (perspective), sheared and rotated. */
const warpPlate = (ctx: SKRSContext2D, plate: FlatPlate, p: Placed): { box: SceneBox; corners: Array<readonly [number, number]> } => {
  const src = plate.canvas
  ctx.save()
  ctx.imageSmoothingEnabled = true
  ctx.imageSmoothingQuality = "high"
  ctx.translate(p.cx, p.cy)
  ctx.rotate(p.angle)
  ctx.transform(1, 0, p.shear, 1, 0, 0)
  const strips = 24
  const step = p.width / strips
  const srcStep = src.width / strips
  for (let i = 0; i < strips; i++) {
    const u = (i + 0.5) / strips
    const hh = p.height * (p.left + (p.right - p.left) * u)
    // each strip reaches 1.5 pixels into the next (which is drawn over it), so no seam shows
    const over = i < strips - 1 ? 1.5 : 0
    ctx.drawImage(src, i * srcStep, 0, srcStep * (1 + over / step), src.height, -p.width / 2 + i * step, -hh / 2, step + over, hh)
  }
  ctx.restore()
  const local: Array<readonly [number, number]> = [
    [-p.width / 2, -p.height * p.left / 2],
    [p.width / 2, -p.height * p.right / 2],
    [p.width / 2, p.height * p.right / 2],
    [-p.width / 2, p.height * p.left / 2]
  ]
  const corners = local.map(([x0, y]): readonly [number, number] => {
    const x = x0 + p.shear * y
    return [p.cx + x * Math.cos(p.angle) - y * Math.sin(p.angle), p.cy + x * Math.sin(p.angle) + y * Math.cos(p.angle)]
  })
  const xs = corners.map(([x]) => x)
  const ys = corners.map(([, y]) => y)
  const x = Math.floor(Math.min(...xs))
  const y = Math.floor(Math.min(...ys))
  return { box: { x, y, width: Math.ceil(Math.max(...xs)) - x, height: Math.ceil(Math.max(...ys)) - y }, corners }
}

// ---------------------------------------------------------------------------------------------
// Degradations

/** Gaussian deviates, made once; each scene reads them from its own random offset and stride. */
const GAUSS = (() => {
  const rng = makeRng("gauss")
  const table = new Float32Array(1 << 16)
  for (let i = 0; i < table.length; i += 2) {
    const u = Math.max(1e-9, rng.next())
    const v = rng.next()
    const r = Math.sqrt(-2 * Math.log(u))
    table[i] = r * Math.cos(2 * Math.PI * v)
    table[i + 1] = r * Math.sin(2 * Math.PI * v)
  }
  return table
})()

const addNoise = (ctx: SKRSContext2D, rng: Rng, sigma: number) => {
  const image = ctx.getImageData(0, 0, SCENE_WIDTH, SCENE_HEIGHT)
  const data = image.data as Uint8ClampedArray
  const mask = GAUSS.length - 1
  let k = rng.int(0, mask)
  const stride = 2 * rng.int(1000, 20000) + 1
  let s = (rng.next() * 0xffffffff) >>> 0 || 1
  for (let i = 0; i < data.length; i += 4) {
    // mostly brightness noise, a little colour
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    const luma = GAUSS[(k + (s & 0xffff)) & mask]! * sigma
    k = (k + stride) & mask
    const cr = GAUSS[k]! * sigma * 0.35
    data[i] = data[i]! + luma + cr
    data[i + 1] = data[i + 1]! + luma
    data[i + 2] = data[i + 2]! + luma - cr
  }
  ctx.putImageData(image, 0, 0)
}

const glare = (ctx: SKRSContext2D, x: number, y: number, radius: number, alpha: number) => {
  const g = ctx.createRadialGradient(x, y, 0, x, y, radius)
  g.addColorStop(0, `rgba(255,255,250,${alpha})`)
  g.addColorStop(0.35, `rgba(255,252,240,${alpha * 0.6})`)
  g.addColorStop(1, "rgba(255,250,235,0)")
  ctx.fillStyle = g
  ctx.fillRect(x - radius, y - radius, radius * 2, radius * 2)
}

// ---------------------------------------------------------------------------------------------
// Scenes

/** One scene, the same for the same seed and index. */
export const generatePlateScene = async (seed: string, index: number): Promise<PlateScene> => {
  loadFonts()
  const { difficulty, plates: plateCount } = planOf(seed, index)
  const recipe = RECIPES[difficulty]
  const rng = makeRng(`${seed}/scene/${index}`)
  const canvas = createCanvas(SCENE_WIDTH, SCENE_HEIGHT)
  const ctx = canvas.getContext("2d")
  const horizon = drawStreet(ctx, rng)

  // vehicles, farther (higher in the frame) first
  const slots: ReadonlyArray<{ from: number; to: number; side: "left" | "right" | "alone" }> = plateCount === 2
    ? [{ from: 0.06, to: 0.47, side: "left" }, { from: 0.53, to: 0.94, side: "right" }]
    : [{ from: 0.05, to: 0.95, side: "alone" }]
  const vehicles = slots.slice(0, plateCount).map(({ from, to, side }) => {
    const format = rng.pick(FORMATS)
    const font = rng.pick(FONT_NAMES)
    const plate = PLATE_MAKERS[format](rng, font)
    const aspect = plate.canvas.width / plate.canvas.height
    // two vehicles side by side: small enough that each fits in its half
    const maxHeight = plateCount === 2 ? (SCENE_WIDTH * 0.45) / (1750 * 1.08 / plate.heightMm) : Infinity
    // the recipe's heights are a European plate's (111 mm); a US plate (152 mm) at the same distance is taller
    const height = Math.min(maxHeight, 80, rng.range(...recipe.plateHeight) * plate.heightMm / 111)
    const width = height * aspect
    const angle = (rng.range(-recipe.angle, recipe.angle) * Math.PI) / 180
    const tilt = rng.range(0, recipe.perspective) * rng.sign()
    const margin = width * 0.65 + 10
    let left = SCENE_WIDTH * from + margin
    let right = SCENE_WIDTH * to - margin
    // two vehicles: each stays on its side of the middle, so that neither hides the other's plate
    const half = (1750 * 1.08 * height) / plate.heightMm / 2 * 1.15 // rotated, a little wider
    if (side === "left") right = Math.min(right, SCENE_WIDTH / 2 - half)
    if (side === "right") left = Math.max(left, SCENE_WIDTH / 2 + half)
    const cx = left < right ? rng.range(left, right) : (left + right) / 2
    const lowest = SCENE_HEIGHT - height * 2.2
    const cy = rng.range(Math.min(lowest, Math.max(horizon + height * 4, SCENE_HEIGHT * 0.5)), lowest)
    const placed: Placed = {
      cx, cy, width, height, angle, left: 1 - tilt, right: 1 + tilt,
      shear: rng.range(-recipe.shear, recipe.shear)
    }
    return { format, font, plate, placed }
  }).sort((a, b) => a.placed.cy - b.placed.cy)

  const truth: Array<TruthPlate> = []
  const lights: Array<readonly [number, number, number]> = []
  const plateCorners: Array<Array<readonly [number, number]>> = []
  for (const v of vehicles) {
    lights.push(...drawVehicle(ctx, rng, v.placed, v.plate))
    const { box, corners } = warpPlate(ctx, v.plate, v.placed)
    plateCorners.push(corners)
    truth.push({
      plate: v.plate.text,
      box,
      format: v.format,
      difficulty,
      font: v.font,
      heightPx: Math.round(v.placed.height),
      angle: Math.round(v.placed.angle * 180 / Math.PI * 10) / 10
    })
  }
  if (plateCount === 0) {
    // an empty vehicle-less road, or a vehicle whose plate is missing
    if (rng.chance(0.5)) {
      const height = rng.range(...recipe.plateHeight)
      const fake: FlatPlate = { canvas: createCanvas(1, 1), text: "", widthMm: 520, heightMm: 111 }
      lights.push(...drawVehicle(ctx, rng, {
        cx: rng.range(SCENE_WIDTH * 0.25, SCENE_WIDTH * 0.75), cy: rng.range(SCENE_HEIGHT * 0.6, SCENE_HEIGHT * 0.85),
        width: height * 4.7, height, angle: 0, left: 1, right: 1, shear: 0
      }, fake))
    }
  }

  // light
  const lighting = pickWeighted(rng, recipe.lighting)
  if (lighting === "night") {
    // dark everywhere but on the plates, which their lamps light (less dark: contrast kept, level low)
    const k = rng.range(...recipe.night)
    const lamp = Math.min(0.85, k * rng.range(1.6, 2.2))
    const dim = (f: number) => `rgb(${(f * 0.8 * 255).toFixed(0)}, ${(f * 0.85 * 255).toFixed(0)}, ${(f * 255).toFixed(0)})`
    const quads = (path: Path2D) => {
      for (const c of plateCorners) {
        path.moveTo(c[0]![0], c[0]![1])
        for (const [x, y] of c.slice(1)) path.lineTo(x, y)
        path.closePath()
      }
    }
    ctx.globalCompositeOperation = "multiply"
    const outside = new Path2D()
    outside.rect(0, 0, SCENE_WIDTH, SCENE_HEIGHT)
    quads(outside)
    ctx.save()
    ctx.clip(outside, "evenodd")
    ctx.fillStyle = dim(k)
    ctx.fillRect(0, 0, SCENE_WIDTH, SCENE_HEIGHT)
    ctx.restore()
    if (plateCorners.length > 0) {
      const inside = new Path2D()
      quads(inside)
      ctx.fillStyle = dim(lamp)
      ctx.fill(inside)
    }
    ctx.globalCompositeOperation = "lighter"
    for (const [x, y, r] of lights) {
      const g = ctx.createRadialGradient(x, y, 0, x, y, r)
      g.addColorStop(0, "rgba(255,40,30,0.5)")
      g.addColorStop(1, "rgba(255,40,30,0)")
      ctx.fillStyle = g
      ctx.fillRect(x - r, y - r, 2 * r, 2 * r)
    }
    ctx.globalCompositeOperation = "source-over"
  } else if (lighting === "haze") {
    const g = rng.range(150, 210)
    ctx.fillStyle = `rgba(${g.toFixed(0)}, ${g.toFixed(0)}, ${(g + 8).toFixed(0)}, ${rng.range(...recipe.haze).toFixed(3)})`
    ctx.fillRect(0, 0, SCENE_WIDTH, SCENE_HEIGHT)
  }

  // glare: on or near a plate, else somewhere in the frame
  let glared = false
  if (rng.chance(recipe.glare)) {
    glared = true
    const t = truth.length > 0 ? rng.pick(truth) : undefined
    const alpha = rng.range(...recipe.glareAlpha)
    if (t !== undefined && difficulty !== "easy") {
      glare(ctx, t.box.x + t.box.width * rng.range(0, 1), t.box.y + t.box.height * rng.range(-0.3, 1.3),
        t.box.height * rng.range(0.5, 1.1), alpha)
    } else {
      glare(ctx, rng.range(0, SCENE_WIDTH), rng.range(0, SCENE_HEIGHT * 0.6), rng.range(80, 220), alpha)
    }
  }

  // blur (the camera's focus), then sensor noise
  const blur = rng.range(...recipe.blur)
  let out: Canvas = canvas
  if (blur >= 0.3) {
    out = createCanvas(SCENE_WIDTH, SCENE_HEIGHT)
    const octx = out.getContext("2d")
    octx.filter = `blur(${blur.toFixed(2)}px)`
    octx.drawImage(canvas, 0, 0)
  }
  const outCtx = out.getContext("2d")
  const noise = rng.range(...recipe.noise)
  addNoise(outCtx, rng, noise)
  const jpegQuality = Math.round(rng.range(...recipe.jpeg))
  const jpeg = new Uint8Array(await out.encode("jpeg", jpegQuality))
  return {
    index,
    jpeg,
    truth,
    difficulty,
    conditions: {
      lighting,
      blur: Math.round(blur * 100) / 100,
      noise: Math.round(noise * 10) / 10,
      glare: glared,
      jpegQuality
    }
  }
}

/** `count` scenes for `seed`; scene i does not depend on `count`. */
export const generatePlateScenes = async (
  options: { readonly count: number; readonly seed: string | number; readonly onScene?: (scene: PlateScene) => void }
): Promise<Array<PlateScene>> => {
  const scenes: Array<PlateScene> = []
  for (let i = 0; i < options.count; i++) {
    const scene = await generatePlateScene(String(options.seed), i)
    scenes.push(scene)
    options.onScene?.(scene)
  }
  return scenes
}
