import type { DataClass, DerivedLifetime } from "@chaverim/domain/Retention"
import * as Option from "effect/Option"
import type { RetentionSettings } from "../Config"

const MINUTES_PER_DAY = 24 * 60

/** A period as people read it: "365 days", "7 years (2557 days)", "30 minutes". */
export const periodText = (minutes: number | null): string => {
  if (minutes === null) return "off"
  if (minutes % MINUTES_PER_DAY !== 0) {
    return minutes % 60 === 0 && minutes >= 120 ? `${minutes / 60} hours` : `${minutes} minute${minutes === 1 ? "" : "s"}`
  }
  const days = minutes / MINUTES_PER_DAY
  // Whole years, leap days or not (365, 730, 2557 = 7 years with two leap days).
  const years = Math.round(days / 365.25)
  return years >= 1 && Math.abs(days - years * 365.25) <= 1
    ? `${years} year${years === 1 ? "" : "s"} (${days} days)`
    : `${days} day${days === 1 ? "" : "s"}`
}

export interface Period {
  readonly data_class: DataClass
  readonly label: string
  readonly setting: string
  readonly minutes: number | null
}

/** The classes of data retention applies to, in the order admins read them, as the settings give them. */
export const periodsOf = (settings: RetentionSettings): ReadonlyArray<Period> => [
  {
    data_class: "scene_image",
    label: "Scene photos",
    setting: "RETENTION_SCENE_IMAGE_DAYS",
    minutes: settings.sceneImageDays * MINUTES_PER_DAY
  },
  {
    data_class: "plate_image",
    label: "Plate crops",
    setting: "RETENTION_PLATE_IMAGE_DAYS",
    minutes: settings.plateImageDays * MINUTES_PER_DAY
  },
  {
    data_class: "detection",
    label: "Reads (plate, time, place), with their corrections and alerts",
    setting: "RETENTION_DETECTION_DAYS",
    minutes: settings.detectionDays * MINUTES_PER_DAY
  },
  {
    data_class: "nonhit",
    label: "Reads that raised no alert and are under no hold (non-hits), with their photos",
    setting: "RETENTION_NONHIT_MINUTES",
    minutes: Option.getOrNull(settings.nonhitMinutes)
  }
]

/**
 * The tables that only serve the running system, and how long they keep a row (Derived.ts prunes them
 * at every run; live_events is pruned hourly by the live feed itself, alert_work by the alert engine).
 */
export const DERIVED_LIFETIMES: ReadonlyArray<DerivedLifetime> = [
  { table: "live_events", kept: "1 day (pruned hourly by the live feed; a client resumes within it)" },
  { table: "alert_work", kept: "until the alert engine has checked it (never dropped: its reads would go unchecked)" },
  { table: "sessions", kept: "90 days after they began, once ended (sign-in uses 90 days of them to know an address)" },
  { table: "pending_logins", kept: "1 hour after they expire (10 minutes after the password)" },
  { table: "auth_throttle", kept: "1 day after their window began, unless still locked" },
  { table: "telegram_link_codes", kept: "1 day, once used or expired" },
  { table: "retention_pending_objects", kept: "until the object is removed from the store (the next run at the latest)" },
  { table: "audit_log", kept: "for good: its rows are hash-chained, so none can go without breaking the chain" }
]

/** The cut-offs of a run at `now`: what was read before them is past its class's period. */
export interface Cutoffs {
  readonly scene: Date
  readonly plate: Date
  readonly detection: Date
  readonly nonhit: Date | null
}

export const cutoffsAt = (now: Date, settings: RetentionSettings): Cutoffs => {
  const before = (minutes: number) => new Date(now.getTime() - minutes * 60_000)
  return {
    scene: before(settings.sceneImageDays * MINUTES_PER_DAY),
    plate: before(settings.plateImageDays * MINUTES_PER_DAY),
    detection: before(settings.detectionDays * MINUTES_PER_DAY),
    nonhit: Option.match(settings.nonhitMinutes, { onNone: () => null, onSome: before })
  }
}
