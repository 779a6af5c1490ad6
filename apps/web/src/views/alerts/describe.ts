import type { Alert } from "@chaverim/domain/Alerts"
import { CATEGORY_LABEL } from "../../ui/colour"

/** An alert's state as a badge's tone: new is urgent, acknowledged in hand, resolved done. */
export const STATUS_TONE = { new: "bad", acknowledged: "warn", resolved: "good" } as const

/** The list, its category and priority. */
export const listOf = (alert: Alert) =>
  `${alert.watchlist.name} · ${CATEGORY_LABEL[alert.watchlist.category]} · priority ${alert.watchlist.priority}`

/**
 * Which entry matched, and how: the room must see that `5TL0N99` was a look-alike of the entry
 * `STL0N99`, or that a wildcard caught it, before anyone acts on it.
 */
export const matchOf = (alert: Alert): string => {
  if (alert.not_on_allow_list) return "Not on the allow list at this camera"
  const entry = alert.entry
  if (entry === null) return ""
  switch (entry.kind) {
    case "exact":
      return `Entry ${entry.value}`
    case "ocr":
      return `Look-alike of ${entry.value}`
    case "wildcard":
      return `Wildcard ${entry.value} matched`
    case "regex":
      return `Pattern ${entry.value} matched`
  }
}

/** What matched and the entry's note, as one line ("Entry HOT1234: blue Honda"). */
export const whyOf = (alert: Alert, separator = ": ") =>
  [matchOf(alert), alert.entry?.note ?? ""].filter((part) => part !== "").join(separator)
