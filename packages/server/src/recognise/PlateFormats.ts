/**
 * Plate formats per region, for fitting an OCR reading to where letters and digits go: a 0 where a
 * letter must be is an O, an O where a digit must be is a 0. Only the built-in recogniser needs this;
 * dedicated recognisers know their regions' plates.
 */

const TO_LETTER: Readonly<Record<string, string>> = { "0": "O", "1": "I", "2": "Z", "4": "A", "5": "S", "6": "G", "7": "T", "8": "B" }
const TO_DIGIT: Readonly<Record<string, string>> = { O: "0", Q: "0", D: "0", U: "0", I: "1", L: "1", J: "1", Z: "2", A: "4", S: "5", G: "6", T: "7", B: "8" }

/** A layout: L a letter, D a digit, a space where the plate has one. */
type Layout = string

/**
 * Layouts per region code (the first part of codes such as us-ny): the UK's current plates, Germany's
 * (area, letters, digits), and the common US layouts (states vary; these are the most used).
 */
const LAYOUTS: Readonly<Record<string, ReadonlyArray<Layout>>> = {
  gb: ["LLDD LLL"],
  uk: ["LLDD LLL"],
  de: ["L LL DDDD", "L LL DDD", "L LL DD", "L L DDDD", "L L DDD", "LL LL DDDD", "LL LL DDD", "LL LL DD", "LL L DDDD", "LL L DDD",
    "LLL LL DDDD", "LLL LL DDD", "LLL L DDDD", "LLL L DDD"],
  us: ["LLL DDDD", "DLLL DDD", "LLL DDD", "DDD LLL", "LL DDDDD", "DDDDDDD"]
}

const fit = (text: string, layout: Layout): { plate: string; changes: number } | undefined => {
  const slots = layout.replace(/ /g, "")
  if (slots.length !== text.length) return undefined
  let changes = 0
  let out = ""
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!
    const want = slots[i]!
    const isDigit = ch >= "0" && ch <= "9"
    if (want === "D" && !isDigit) {
      const digit = TO_DIGIT[ch]
      if (digit === undefined) return undefined
      out += digit
      changes++
    } else if (want === "L" && isDigit) {
      const letter = TO_LETTER[ch]
      if (letter === undefined) return undefined
      out += letter
      changes++
    } else out += ch
  }
  // the spaces where the layout has them
  let spaced = ""
  let j = 0
  for (const slot of layout) spaced += slot === " " ? " " : out[j++]
  return { plate: spaced, changes }
}

/**
 * The reading fitted to the regions' layouts with the fewest changes (two at most); as read, and
 * `matched: false`, when none fits or no region is set.
 */
export const correctToFormats = (text: string, regions: ReadonlyArray<string>): { readonly plate: string; readonly matched: boolean } => {
  let best: { plate: string; changes: number } | undefined
  for (const region of regions) {
    for (const layout of LAYOUTS[region.split("-")[0]!] ?? []) {
      const fitted = fit(text, layout)
      if (fitted !== undefined && fitted.changes <= 2 && (best === undefined || fitted.changes < best.changes)) best = fitted
    }
  }
  return best === undefined ? { plate: text, matched: false } : { plate: best.plate, matched: true }
}
