import type { Alert } from "@chaverim/domain/Alerts"
import type { Problem } from "../../client/problem"
import { textOn } from "../../ui/colour"
import { listOf, matchOf, whyOf } from "../alerts/describe"
import { formatWhen } from "../../ui/format"
import { PlatePhoto } from "../../ui/PlatePhoto"

/**
 * Lines under the banner, at most: with the count beside them they fill two rows of three columns on a
 * wall screen (two columns on a smaller one), so that ten or more open alerts leave the live reads and
 * the map their space; the rest are counted, in type read from across the room.
 */
const SHOWN_LINES = 5

const placeOf = (alert: Alert) =>
  [alert.detection.camera.name ?? "unnamed camera", alert.detection.camera.site].filter(Boolean).join(" · ")

const why = (alert: Alert) => whyOf(alert, " · ")

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
      <p className="tabular-nums">{formatWhen(alert.last_seen_at)}{alert.sightings > 1 ? ` · seen ${alert.sightings} times` : ""}</p>
      {alert.en_route_by && <p>On the way: {alert.en_route_by}</p>}
    </div>
  </article>
)

/**
 * The others, a line each, in their lists' colours: the new ones bright, the acknowledged ones on the
 * dark ground with their list's colour at the side, saying who took them and when.
 */
const Line = ({ alert }: { readonly alert: Alert }) => {
  const taken = alert.status === "acknowledged"
  const label = `Alert ${alert.detection.plate_text}${taken ? ", acknowledged" : ""}`
  return (
    <li aria-label={label}
      className={`flex min-w-0 items-baseline gap-x-[0.7em] overflow-hidden whitespace-nowrap rounded-lg px-[0.8em] py-[0.25em] text-[1.2em] font-semibold ${
        taken ? "border-l-[0.5em] bg-slate-800 text-slate-100" : ""
      }`}
      style={taken
        ? { borderColor: alert.watchlist.colour }
        : { backgroundColor: alert.watchlist.colour, color: textOn(alert.watchlist.colour) }}>
      <span className="shrink-0 font-mono text-[1.4em] font-black tracking-wider">{alert.detection.plate_text}</span>
      {/* one line whatever the width: what matters most is cut last */}
      <span className="min-w-0 flex-1 truncate">
        {taken
          ? `✓ ${alert.acknowledged_by ?? "acknowledged"}${alert.acknowledged_at !== null ? ` ${formatWhen(alert.acknowledged_at)}` : ""} · `
          : ""}
        {alert.watchlist.name}
        {matchOf(alert) !== "" ? ` · ${matchOf(alert)}` : ""}
        {alert.en_route_by ? ` · on the way: ${alert.en_route_by}` : ""}
      </span>
      <span className="min-w-0 shrink-[0.25] truncate">{alert.detection.camera.name ?? "unnamed camera"}</span>
      <span className="shrink-0 tabular-nums">{formatWhen(alert.last_seen_at)}</span>
    </li>
  )
}

/**
 * Open alerts over the wall: the most urgent new one as a banner, then a queue of the others (new ones
 * first, most urgent first; then the acknowledged ones, which stay until resolved or aged out). A new
 * alert goes to the queue when someone acknowledges it (from a phone, Telegram or the operator's page).
 * Announced to screen readers as they appear.
 */
export const AlertBanners = ({ alerts, failed }: {
  readonly alerts: ReadonlyArray<Alert>
  readonly failed: Problem | undefined
}) => {
  const [first, ...rest] = alerts
  const banner = first?.status === "new" ? first : undefined
  const queue = banner === undefined ? alerts : rest
  const hidden = queue.length - SHOWN_LINES
  return (
    <section id="wall-alerts" aria-label="Alerts" aria-live="assertive" className="flex flex-col gap-[0.5em] empty:hidden">
      {failed && alerts.length === 0 && (
        <p className="rounded-lg bg-amber-400 px-[1em] py-[0.3em] text-[1.1em] font-bold text-slate-950">
          Open alerts could not be loaded: {failed.message} New ones still appear here.
        </p>
      )}
      {banner && <Banner key={banner.id} alert={banner} />}
      {queue.length > 0 && (
        <ul className="grid gap-[0.35em] lg:grid-cols-2 2xl:grid-cols-3">
          {queue.slice(0, SHOWN_LINES).map((alert) => <Line key={alert.id} alert={alert} />)}
          {hidden > 0 && (
            <li className="flex items-center rounded-lg bg-slate-800 px-[0.8em] py-[0.2em] text-[1.4em] font-bold text-white">
              and {hidden} more open alert{hidden === 1 ? "" : "s"}
            </li>
          )}
        </ul>
      )}
    </section>
  )
}
