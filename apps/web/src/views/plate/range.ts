import type { TimelineBucket } from "@chaverim/domain/Investigation"
import { reasonParams, type SessionReason } from "../../client/reason"

export const RANGES = [
  { days: 1, label: "Last 24 hours" },
  { days: 7, label: "Last 7 days" },
  { days: 30, label: "Last 30 days" },
  { days: 90, label: "Last 90 days" },
  { days: 365, label: "Last year" }
] as const

export interface Range {
  readonly from: Date
  readonly to: Date
  readonly days: number
}

export const rangeOf = (days: number, now = new Date()): Range => ({
  from: new Date(now.getTime() - days * 86_400_000),
  to: now,
  days
})

/** Hours up to a week (at most 168 bars), days beyond. */
export const bucketOf = (range: Range): TimelineBucket => (range.days <= 7 ? "hour" : "day")

/** The fields every investigation call shares: the range and the reason. */
export const investigationParams = (range: Range, reason: SessionReason) => ({ from: range.from, to: range.to, ...reasonParams(reason) })
