const dateTime = new Intl.DateTimeFormat(undefined, {
  weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", second: "2-digit"
})
const dateOnly = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", year: "numeric" })
const short = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" })
const timeOnly = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" })
const dayHour = new Intl.DateTimeFormat(undefined, { weekday: "short", hour: "2-digit", minute: "2-digit" })

/** In the browser's time zone: the server sends UTC. */
export const formatDateTime = (iso: string) => dateTime.format(new Date(iso))
/** "27 Nov, 02:28": for tables on a phone. */
export const formatShort = (iso: string) => short.format(new Date(iso))
export const formatDate = (iso: string | Date) => dateOnly.format(typeof iso === "string" ? new Date(iso) : iso)
export const formatTime = (iso: string | Date) => timeOnly.format(typeof iso === "string" ? new Date(iso) : iso)

const dayTime = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" })
const yearDayTime = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit" })

/**
 * The one way a moment is shown where people glance at it (the wall, alerts): the time alone when it
 * is today, else with its day ("Sat 5 Dec, 08:42 AM"), and its year when not this year, so that a retro
 * alert about yesterday never reads as this morning. In the screen's time zone, the site's.
 */
export const formatWhen = (iso: string | Date, now: Date = new Date()) => {
  const at = typeof iso === "string" ? new Date(iso) : iso
  if (at.getFullYear() !== now.getFullYear()) return yearDayTime.format(at)
  if (at.getMonth() === now.getMonth() && at.getDate() === now.getDate()) return timeOnly.format(at)
  return dayTime.format(at)
}
/** "Fri 14:00": an hour of the week, for chart labels. */
export const formatDayHour = (iso: string | Date) => dayHour.format(typeof iso === "string" ? new Date(iso) : iso)

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
