// Searches and investigations are audited with the reason given (a case or incident number). It is
// asked once and kept for the tab's life, not beyond: the next shift gives its own.
const KEY = "alpr.reason"

export const savedReason = () => window.sessionStorage.getItem(KEY) ?? ""

export const saveReason = (reason: string) => window.sessionStorage.setItem(KEY, reason.trim())
