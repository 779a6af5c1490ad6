import type { Alert } from "@chaverim/domain/Alerts"
import type { Problem } from "../../client/problem"
import { CATEGORY_LABEL, textOn } from "../../ui/colour"
import { formatTime } from "../../ui/format"
import { PlatePhoto } from "../../ui/PlatePhoto"

/** Banners beyond this many are counted, not drawn: the live reads stay on the screen. */
const SHOWN = 4

const placeOf = (alert: Alert) =>
  [alert.detection.camera.name ?? "unnamed camera", alert.detection.camera.site].filter(Boolean).join(" · ")

const listOf = (alert: Alert) =>
  `${alert.watchlist.name} · ${CATEGORY_LABEL[alert.watchlist.category]} · priority ${alert.watchlist.priority}`

/**
 * Which entry matched, and how: the room must see that `5TL0N99` was a look-alike of the entry
 * `STL0N99`, or that a wildcard caught it, before anyone acts on it.
 */
export const matchOf = (alert: Alert): string => {
  if (alert.not_on_allow_list) return "not on the allow list"
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

const why = (alert: Alert) => [matchOf(alert), alert.entry?.note ?? ""].filter((part) => part !== "").join(" · ")

/**
 * The most urgent alert, readable from across the room. On a narrow screen the parts wrap under one
 * another instead of squeezing the plate.
 */
const Banner = ({ alert }: { readonly alert: Alert }) => (
  <article aria-label={`Alert ${alert.detection.plate_text}`}
    className="alert-flash flex flex-wrap items-center gap-x-[1.5em] gap-y-[0.5em] rounded-xl p-[0.9em] ring-4 ring-white/70"
    style={{ backgroundColor: alert.watchlist.colour, color: textOn(alert.watchlist.colour) }}>
    <PlatePhoto src={alert.detection.images.plate} alt={`Plate ${alert.detection.plate_text}`} dark
      className="h-[5.5em] w-[16em] max-w-full shrink-0" />
    <div className="min-w-0 grow basis-[18em]">
      <p className="text-[1.1em] font-bold uppercase tracking-wide sm:text-[1.3em]">
        {alert.retro ? "Earlier read matched · " : "Alert · "}{listOf(alert)}
      </p>
      <p className="break-all font-mono text-[2.8em] font-black leading-none tracking-wider sm:text-[4.2em]">{alert.detection.plate_text}</p>
      {why(alert) && <p className="mt-[0.2em] text-[1.1em] font-semibold sm:truncate sm:text-[1.3em]">{why(alert)}</p>}
    </div>
    <div className="grow basis-[14em] text-[1.2em] font-semibold leading-snug sm:grow-0 sm:basis-auto sm:text-right sm:text-[1.5em]">
      <p>{placeOf(alert)}</p>
      <p className="tabular-nums">{formatTime(alert.last_seen_at)}{alert.sightings > 1 ? ` · seen ${alert.sightings} times` : ""}</p>
      {alert.en_route_by && <p>On the way: {alert.en_route_by}</p>}
    </div>
  </article>
)

/** The others, a line each, in their lists' colours. */
const Line = ({ alert }: { readonly alert: Alert }) => (
  <li aria-label={`Alert ${alert.detection.plate_text}`}
    className="flex flex-wrap items-baseline gap-x-[1em] rounded-lg px-[0.8em] py-[0.3em] text-[1.2em] font-semibold"
    style={{ backgroundColor: alert.watchlist.colour, color: textOn(alert.watchlist.colour) }}>
    <span className="font-mono text-[1.5em] font-black tracking-wider">{alert.detection.plate_text}</span>
    <span>{listOf(alert)}</span>
    {matchOf(alert) !== "" && <span>· {matchOf(alert)}</span>}
    {alert.en_route_by && <span>· on the way: {alert.en_route_by}</span>}
    <span className="ml-auto tabular-nums">{placeOf(alert)} · {formatTime(alert.last_seen_at)}</span>
  </li>
)

/**
 * New alerts over the wall, most urgent first; each goes when someone acknowledges or resolves it
 * (from a phone, Telegram or the operator's page). Announced to screen readers as they appear.
 */
export const AlertBanners = ({ alerts, failed }: {
  readonly alerts: ReadonlyArray<Alert>
  readonly failed: Problem | undefined
}) => {
  const [first, ...rest] = alerts
  return (
    <section id="wall-alerts" aria-label="Alerts" aria-live="assertive" className="flex flex-col gap-[0.5em] empty:hidden">
      {failed && alerts.length === 0 && (
        <p className="rounded-lg bg-amber-400 px-[1em] py-[0.3em] text-[1.1em] font-bold text-slate-950">
          Open alerts could not be loaded: {failed.message} New ones still appear here.
        </p>
      )}
      {first && <Banner key={first.id} alert={first} />}
      {rest.length > 0 && (
        <ul className="flex flex-col gap-[0.35em]">
          {rest.slice(0, SHOWN - 1).map((alert) => <Line key={alert.id} alert={alert} />)}
          {rest.length >= SHOWN && (
            <li className="text-[1.1em] font-semibold text-slate-200">and {rest.length - SHOWN + 1} more new alerts</li>
          )}
        </ul>
      )}
    </section>
  )
}
