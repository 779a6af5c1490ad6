/**
 * One way to show a moment, in the browser's time zone (the server sends UTC), always with the zone's
 * name: a time alone is today's ("09:41:05 PM EST"); anything with a date carries its year too, so
 * that a read from last December never passes for this one.
 */
const ZONE = { timeZoneName: "short" } as const
const dateTime = new Intl.DateTimeFormat(undefined, {
  weekday: "short", day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit", ...ZONE
})
const dateOnly = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", year: "numeric" })
const short = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", ...ZONE })
const timeOnly = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit", ...ZONE })
const dayHour = new Intl.DateTimeFormat(undefined, { weekday: "short", hour: "2-digit", minute: "2-digit" })
const dayTime = new Intl.DateTimeFormat(undefined, {
  weekday: "short", day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", ...ZONE
})

const dateOf = (iso: string | Date) => (typeof iso === "string" ? new Date(iso) : iso)

/** "Sat, Dec 5, 2026, 07:41:12 PM EST": a moment in full, for evidence, audit rows, holds. */
export const formatDateTime = (iso: string | Date) => dateTime.format(dateOf(iso))
/** "Nov 27, 2026, 02:28 AM EST": for tables and lists on a phone. */
export const formatShort = (iso: string | Date) => short.format(dateOf(iso))
/** "Nov 27, 2026": a day, where the time does not matter (an account's creation, an expiry day). */
export const formatDate = (iso: string | Date) => dateOnly.format(dateOf(iso))
/** "07:41:12 PM EST": a time of today. */
export const formatTime = (iso: string | Date) => timeOnly.format(dateOf(iso))

/**
 * The way a moment is shown where people glance at it (the wall, alerts): the time and zone alone
 * when it is today, else with its day and year ("Sat, Dec 5, 2026, 08:42 AM EST"), so that a retro
 * alert about yesterday never reads as this morning. In the screen's time zone.
 */
export const formatWhen = (iso: string | Date, now: Date = new Date()) => {
  const at = dateOf(iso)
  return isToday(at, now) ? timeOnly.format(at) : dayTime.format(at)
}

/** The same rule without the weekday ("Dec 5, 2026, 08:42 AM EST"): for a table's narrow column. */
export const formatWhenShort = (iso: string | Date, now: Date = new Date()) => {
  const at = dateOf(iso)
  return isToday(at, now) ? timeOnly.format(at) : short.format(at)
}

const isToday = (at: Date, now: Date) =>
  at.getFullYear() === now.getFullYear() && at.getMonth() === now.getMonth() && at.getDate() === now.getDate()

/** The browser's time zone ("America/New_York"), which the times typed into a form are in. */
export const localZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone

/** "Fri 14:00": an hour of the week, for chart labels. */
export const formatDayHour = (iso: string | Date) => dayHour.format(dateOf(iso))

export const formatPercent = (fraction: number) => `${Math.round(fraction * 100)}%`

export const formatDuration = (seconds: number) => {
  const s = Math.round(seconds)
  if (s < 90) return `${s} s`
  if (s < 90 * 60) return `${Math.round(s / 60)} min`
  if (s < 48 * 3600) return `${(s / 3600).toFixed(1)} h`
  return `${Math.round(s / 86400)} days`
}

export const formatDistance = (meters: number) =>
  meters < 1000 ? `${Math.round(meters)} m` : `${(meters / 1000).toFixed(1)} km`

/** "3 min ago", for last-seen times. */
export const formatAgo = (iso: string | null, now = Date.now()) => {
  if (iso === null) return "never"
  const seconds = Math.max(0, (now - new Date(iso).getTime()) / 1000)
  return seconds < 5 ? "just now" : `${formatDuration(seconds)} ago`
}

export const cameraLabel = (camera: { readonly name: string | null; readonly site?: string | null; readonly external_id?: string }) =>
  camera.name ?? camera.external_id ?? "unnamed camera"

/** "840 KiB", "12.3 MiB", "1.25 GiB": a file's size. */
export const formatBytes = (bytes: number) =>
  bytes < 1024 * 1024
    ? `${bytes === 0 ? 0 : Math.max(1, Math.round(bytes / 1024))} KiB`
    : bytes < 1024 * 1024 * 1024
    ? `${(bytes / 1024 / 1024).toFixed(1)} MiB`
    : `${(bytes / 1024 / 1024 / 1024).toFixed(2)} GiB`
