/**
 * Plate rules shared by the server, the edge and the web app.
 *
 * `normalizePlate` gives the canonical plate shown to people and used for exact search.
 * `ocrKey` additionally folds characters that recognisers confuse; it is a matching key only
 * and must never be shown as the plate.
 */

// Separators that cameras and people insert between plate groups: white space, dashes of every
// kind and dots (including the middle dot some European plates print).
const SEPARATORS = /[\s\-\u2010-\u2015\u2212.\u00B7\u2022]+/gu

/** Canonical plate: compatibility-normalised, upper case, separators removed. */
export const normalizePlate = (text: string): string =>
  text.normalize("NFKC").toUpperCase().normalize("NFKC").replace(SEPARATORS, "")

// Each confusable class folds to its digit, so the folded key is a fixed point of the fold.
const OCR_FOLD: Readonly<Record<string, string>> = {
  O: "0", Q: "0", D: "0",
  I: "1", L: "1",
  Z: "2",
  S: "5",
  G: "6",
  B: "8"
}

/** OCR-aware matching key: the normalised plate with confusable classes folded. */
export const ocrKey = (text: string): string => {
  const normalized = normalizePlate(text)
  let out = ""
  for (const ch of normalized) out += OCR_FOLD[ch] ?? ch
  return out
}

const HAS_ALNUM = /[\p{L}\p{N}]/u

/**
 * A read worth storing as a plate: it has a letter or a digit, and normalisation leaves something.
 * (Judged on the text as read: a few compatibility letters decompose to a separator and a mark.)
 */
export const isPlateRead = (text: string): boolean => HAS_ALNUM.test(text) && normalizePlate(text).length > 0
