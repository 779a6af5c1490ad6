import { HEALTH_KIND_TEXT, type HealthAlert } from "@chaverim/domain/Health"
import type { AlertFacts } from "@chaverim/domain/Outputs"
import type { Mail } from "./Transport"

/** One alert of an e-mail, with its plate crop when the read has one. */
export interface MailAlert {
  readonly facts: AlertFacts
  readonly crop?: { readonly bytes: Uint8Array; readonly contentType: string } | undefined
}

const CATEGORY: Record<AlertFacts["list"]["category"], string> = {
  stolen: "stolen",
  bolo: "BOLO",
  missing_person: "missing person",
  of_interest: "of interest",
  allow: "allow"
}

/** Every text that goes into the HTML, escaped: plates, list and camera names come from people. */
export const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" })[c]!)

/** A header is one line: names from people must not start another one. */
const oneLine = (text: string) => text.replace(/[\r\n]+/g, " ")

const placeOf = (facts: AlertFacts) =>
  [facts.camera.name, facts.camera.site].filter((p): p is string => p !== null && p !== "").join(", ")

const timeOf = (facts: AlertFacts) => `${facts.seen_at.slice(0, 19).replace("T", " ")} UTC`

const locationOf = (facts: AlertFacts) =>
  facts.location === null ? null : `${facts.location.lat.toFixed(5)}, ${facts.location.lon.toFixed(5)}`

const extension = (contentType: string) => (contentType === "image/png" ? "png" : contentType === "image/webp" ? "webp" : "jpg")

/** The content id of an alert's plate crop (`<img src="cid:...">`). */
export const cropCid = (alertId: string) => `plate-${alertId}@alpr.chaverim`

/** The lines of one alert, for the plain text part. */
const textOf = ({ facts }: MailAlert) =>
  [
    `${facts.plate}${facts.retro ? " (seen before it was listed)" : ""}`,
    `  List: ${facts.list.name} (${CATEGORY[facts.list.category]})`,
    `  Camera: ${placeOf(facts) || facts.camera.id}`,
    ...(locationOf(facts) === null ? [] : [`  Place: ${locationOf(facts)}`]),
    `  Seen: ${timeOf(facts)}`,
    ...(facts.url === null ? [] : [`  Open: ${facts.url}`])
  ].join("\n")

const row = (label: string, value: string) =>
  `<tr><th align="left" style="padding:2px 12px 2px 0;color:#475569;font-weight:normal">${escapeHtml(label)}</th>` +
  `<td style="padding:2px 0;color:#0f172a">${value}</td></tr>`

const htmlOf = ({ crop, facts }: MailAlert) => {
  const location = locationOf(facts)
  return [
    `<div style="border:1px solid #cbd5e1;border-radius:6px;padding:12px;margin:0 0 12px 0">`,
    `<h2 style="margin:0 0 8px 0;font-size:20px;font-family:monospace;color:#0f172a">${escapeHtml(facts.plate)}` +
    `${facts.retro ? ` <small style="font-family:sans-serif;color:#92400e">seen before it was listed</small>` : ""}</h2>`,
    crop === undefined ? "" : `<img src="cid:${escapeHtml(cropCid(facts.id))}" alt="plate ${escapeHtml(facts.plate)}" style="max-width:320px;display:block;margin:0 0 8px 0">`,
    `<table style="border-collapse:collapse;font-family:sans-serif;font-size:14px">`,
    row("List", `${escapeHtml(facts.list.name)} (${escapeHtml(CATEGORY[facts.list.category])})`),
    row("Camera", escapeHtml(placeOf(facts) || facts.camera.id)),
    location === null ? "" : row("Place", escapeHtml(location)),
    row("Seen", escapeHtml(timeOf(facts))),
    facts.url === null ? "" : row("Open", `<a href="${escapeHtml(facts.url)}">${escapeHtml(facts.url)}</a>`),
    `</table></div>`
  ].join("")
}

/** One e-mail for one person's alerts (one or a burst of them): plain text and HTML, the plate crops inline. */
export const alertMail = (to: string, alerts: ReadonlyArray<MailAlert>): Mail => {
  const plates = alerts.map((a) => a.facts.plate)
  const [first] = alerts
  const subject = alerts.length === 1 && first !== undefined
    ? `ALPR alert: ${first.facts.plate} (${first.facts.list.name})`
    : `${alerts.length} ALPR alerts: ${plates.slice(0, 5).join(", ")}${plates.length > 5 ? ", ..." : ""}`
  const intro = alerts.length === 1 ? "A plate on a watchlist was seen." : `${alerts.length} plates on watchlists were seen.`
  return {
    to,
    subject: oneLine(subject).slice(0, 200),
    text: [intro, "", ...alerts.map(textOf).flatMap((t) => [t, ""]), "You get these because you subscribed to e-mail alerts."].join("\n"),
    html: [
      `<!doctype html><html><body style="font-family:sans-serif;color:#0f172a">`,
      `<p>${escapeHtml(intro)}</p>`,
      ...alerts.map(htmlOf),
      `<p style="color:#475569;font-size:12px">You get these because you subscribed to e-mail alerts.</p>`,
      `</body></html>`
    ].join(""),
    attachments: alerts.flatMap(({ crop, facts }) =>
      crop === undefined ? [] : [{
        filename: `plate-${facts.plate.replace(/[^A-Za-z0-9-]/g, "_")}-${facts.id}.${extension(crop.contentType)}`,
        content: crop.bytes,
        contentType: crop.contentType,
        cid: cropCid(facts.id)
      }]
    )
  }
}

/** A health alert of an admin's e-mail: raised, or cleared (with how long it lasted). */
export interface MailHealth {
  readonly health: HealthAlert
  readonly cleared: boolean
}

const healthTitle = ({ cleared, health }: MailHealth) => `${HEALTH_KIND_TEXT[health.kind]}${cleared ? ": cleared" : ""}`

const healthLines = ({ cleared, health }: MailHealth): ReadonlyArray<string> => [
  health.message,
  cleared
    ? `Lasted ${Math.max(1, Math.round(health.duration_s / 60))} min, from ${health.raised_at.slice(0, 19).replace("T", " ")} to ` +
      `${(health.cleared_at ?? health.raised_at).slice(0, 19).replace("T", " ")} UTC`
    : `Since ${health.raised_at.slice(0, 19).replace("T", " ")} UTC`
]

/** One e-mail for one admin's health alerts (raised and cleared): what went wrong in the fleet, and when. */
export const healthMail = (to: string, items: ReadonlyArray<MailHealth>): Mail => {
  const [first] = items
  const subject = items.length === 1 && first !== undefined
    ? `ALPR health: ${healthTitle(first)} (${first.health.camera?.name ?? first.health.collector.name})`
    : `ALPR health: ${items.length} changes (${items.filter((i) => !i.cleared).length} raised, ${items.filter((i) => i.cleared).length} cleared)`
  const footer = "You get these because you are an administrator with an e-mail address."
  return {
    to,
    subject: oneLine(subject).slice(0, 200),
    text: [...items.flatMap((item) => [healthTitle(item), ...healthLines(item).map((l) => `  ${l}`), ""]), footer].join("\n"),
    html: [
      `<!doctype html><html><body style="font-family:sans-serif;color:#0f172a">`,
      ...items.map((item) =>
        `<div style="border:1px solid #cbd5e1;border-radius:6px;padding:12px;margin:0 0 12px 0">` +
        `<h2 style="margin:0 0 8px 0;font-size:18px;color:${item.cleared ? "#166534" : "#92400e"}">${escapeHtml(healthTitle(item))}</h2>` +
        healthLines(item).map((line) => `<p style="margin:0 0 4px 0">${escapeHtml(line)}</p>`).join("") +
        `</div>`
      ),
      `<p style="color:#475569;font-size:12px">${escapeHtml(footer)}</p>`,
      `</body></html>`
    ].join(""),
    attachments: []
  }
}

/** The admin panel's test message. */
export const testMail = (to: string, sentBy: string): Mail => ({
  to,
  subject: "ALPR e-mail test",
  text: `This is a test message from the Chaverim ALPR server, sent by ${oneLine(sentBy)}. E-mail alerts can reach this address.`,
  html: `<p>This is a test message from the Chaverim ALPR server, sent by ${escapeHtml(oneLine(sentBy))}. ` +
    `E-mail alerts can reach this address.</p>`
})
