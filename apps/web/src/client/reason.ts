// Searches, investigations and photo views are audited with the reason given: a reason code, words
// and a case number. It is asked once and kept for the tab's life (sessionStorage), not beyond: the
// next shift gives its own.
const KEY = "alpr.reason"

export interface SessionReason {
  /** a reason code of the server's list; "" when none was chosen */
  readonly code: string
  readonly text: string
  readonly caseNumber: string
}

export const noReason: SessionReason = { code: "", text: "", caseNumber: "" }

const field = (value: unknown) => (typeof value === "string" ? value : "")

/** The reason given in this tab, if one was. */
export const savedReason = (): SessionReason | undefined => {
  const stored = window.sessionStorage.getItem(KEY)
  if (stored === null) return undefined
  try {
    const parsed: unknown = JSON.parse(stored)
    if (typeof parsed === "object" && parsed !== null) {
      const { caseNumber, code, text } = parsed as Record<string, unknown>
      return { code: field(code), text: field(text), caseNumber: field(caseNumber) }
    }
  } catch {
    // not ours: asked again
  }
  return undefined
}

export const saveReason = (reason: SessionReason) =>
  window.sessionStorage.setItem(KEY, JSON.stringify({
    code: reason.code.trim(),
    text: reason.text.trim(),
    caseNumber: reason.caseNumber.trim()
  }))

/** The reason as the API takes it (`reason_code`, `reason`, `case_number`), the empty fields left out. */
export const reasonParams = (reason: SessionReason | undefined): {
  reason_code?: string
  reason?: string
  case_number?: string
} => ({
  ...(reason === undefined || reason.code.trim() === "" ? {} : { reason_code: reason.code.trim() }),
  ...(reason === undefined || reason.text.trim() === "" ? {} : { reason: reason.text.trim() }),
  ...(reason === undefined || reason.caseNumber.trim() === "" ? {} : { case_number: reason.caseNumber.trim() })
})

/**
 * A photo's address with the reason it is looked at for: each view is audited with it. A search page's
 * crop links carry a view token (`?view=`) instead: the page's audit row has the search's reason already.
 */
export const photoWithReason = (src: string | undefined, reason: SessionReason | undefined) => {
  if (src === undefined) return undefined
  if (/[?&]view=/.test(src)) return src
  const query = new URLSearchParams(reasonParams(reason)).toString()
  return query === "" ? src : `${src}${src.includes("?") ? "&" : "?"}${query}`
}

/** One line for the screen: "Stolen vehicle · case 2026-17 · blue van". */
export const describeReason = (reason: SessionReason, labelOf: (code: string) => string | undefined) =>
  [
    reason.code === "" ? undefined : labelOf(reason.code) ?? reason.code,
    reason.caseNumber === "" ? undefined : `case ${reason.caseNumber}`,
    reason.text === "" ? undefined : reason.text
  ].filter((part) => part !== undefined).join(" · ") || "no reason given"
