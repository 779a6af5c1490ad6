import type { TransparencyReport } from "@chaverim/domain/Transparency"
import { withApi } from "../../client/api"
import { useApi } from "../../client/useApi"
import { Loaded } from "../../ui/controls"
import { formatShort } from "../../ui/format"

const number = new Intl.NumberFormat()

const days = (n: number) =>
  n % 365 === 0
    ? `${n / 365} year${n === 365 ? "" : "s"}`
    : n > 365
    ? `${number.format(n)} days (about ${Math.round(n / 365.25)} years)`
    : `${number.format(n)} days`

const Figure = ({ label, value }: { readonly label: string; readonly value: number }) => (
  <div className="rounded-lg bg-white p-3 ring-1 ring-slate-200">
    <dt className="text-sm text-slate-700">{label}</dt>
    <dd className="text-2xl font-bold text-slate-900">{number.format(value)}</dd>
  </div>
)

const Report = ({ report }: { readonly report: TransparencyReport }) => (
  <>
    <section aria-labelledby="activity" className="flex flex-col gap-3">
      <h2 id="activity" className="text-lg font-bold text-slate-900">The last {report.period_days} days</h2>
      <dl className="grid grid-cols-2 gap-3 sm:grid-cols-3">
        <Figure label="Cameras" value={report.cameras} />
        <Figure label="Sites" value={report.sites} />
        <Figure label="Plates read" value={report.reads} />
        <Figure label="Searches and investigations" value={report.lookups} />
        <Figure label="Scene photos opened" value={report.photo_views} />
        <Figure label="Alerts raised" value={report.alerts_raised} />
        <Figure label="Evidence exports" value={report.evidence_exports} />
        <Figure label="Legal holds made" value={report.holds_created} />
        <Figure label="Legal holds in force" value={report.holds_active} />
      </dl>
    </section>
    <section aria-labelledby="reasons" className="flex flex-col gap-2">
      <h2 id="reasons" className="text-lg font-bold text-slate-900">Why people searched</h2>
      {report.lookups_by_reason.length === 0
        ? <p className="text-slate-800">Nobody searched in this period.</p>
        : (
          <table className="max-w-xl text-left">
            <thead>
              <tr className="border-b border-slate-300 text-sm text-slate-700">
                <th scope="col" className="py-1 pr-4 font-semibold">Reason</th>
                <th scope="col" className="py-1 text-right font-semibold">Searches</th>
              </tr>
            </thead>
            <tbody>
              {report.lookups_by_reason.map((row) => (
                <tr key={row.reason_code ?? "none"} className="border-b border-slate-200">
                  <td className="py-1 pr-4 text-slate-900">{row.label ?? row.reason_code ?? "No reason code given"}</td>
                  <td className="py-1 text-right font-mono text-slate-900">{number.format(row.count)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
    </section>
    <section aria-labelledby="retention" className="flex flex-col gap-2">
      <h2 id="retention" className="text-lg font-bold text-slate-900">How long data is kept</h2>
      <ul className="list-disc pl-6 text-slate-800">
        <li>Scene photos: {days(report.retention.scene_image_days)}</li>
        <li>Plate crops: {days(report.retention.plate_image_days)}</li>
        <li>Reads (plate, time, place): {days(report.retention.detection_days)}</li>
        <li>
          Reads that matched no watchlist:{" "}
          {report.retention.nonhit_minutes === null
            ? "as other reads"
            : `${number.format(report.retention.nonhit_minutes)} minutes`}
        </li>
      </ul>
      <p className="text-sm text-slate-700">Reads under a legal hold for a case are kept until the hold is released.</p>
    </section>
    <section aria-labelledby="does-not" className="flex flex-col gap-2">
      <h2 id="does-not" className="text-lg font-bold text-slate-900">What this system does not do</h2>
      <ul className="list-disc pl-6 text-slate-800">
        {report.does_not.map((line) => <li key={line}>{line}</li>)}
      </ul>
    </section>
    <p className="text-sm text-slate-700">Figures as of {formatShort(report.generated_at)}, updated every few minutes.</p>
  </>
)

/** The public transparency page: no sign-in, counts only (GET /api/v1/transparency). */
const Transparency = () => {
  const [report] = useApi(() => withApi((api) => api.transparency.report()), [])
  return (
    <main className="mx-auto flex max-w-4xl flex-col gap-6 p-4 sm:p-6">
      <h1 className="text-2xl font-bold text-slate-900" tabIndex={-1}>Transparency</h1>
      <p className="text-slate-800">
        This licence-plate reader is run by a community safety organisation. These are the numbers of what it
        collected and how it was used, straight from its database.
      </p>
      <Loaded remote={report}>{(r) => <Report report={r} />}</Loaded>
    </main>
  )
}

export default Transparency
