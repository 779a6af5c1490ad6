import { useRpc, withRpc } from "../../client/rpc"
import { Link } from "../../router"
import { Badge, Loaded } from "../../ui/controls"
import { formatDateTime, formatShort } from "../../ui/format"

const minutesText = (minutes: number | null) =>
  minutes === null ? "none" : minutes % 1440 === 0 ? `${minutes / 1440} days` : `${minutes} minutes`

/**
 * Retention for admins: how long each class of data is kept (the settings, and the floor the database
 * enforces whatever a server asks), how long derived tables keep rows, and what the last runs did.
 */
export const Retention = () => {
  const [status] = useRpc(() => withRpc((rpc) => rpc.retention.status()), [])
  return (
    <Loaded remote={status}>
      {(s) => (
        <div className="flex flex-col gap-5">
          <section aria-labelledby="retention-periods">
            <h2 id="retention-periods" className="text-lg font-semibold text-slate-900">Periods</h2>
            <p className="text-slate-800">
              Counted from the moment of the read. Changed with the settings named here, by whoever starts the server
              with the database owner's address (the change is audited as retention.policy).
            </p>
            <div className="overflow-x-auto">
              <table className="mt-2 w-full text-left text-sm">
                <thead>
                  <tr className="border-b border-slate-300 text-slate-700">
                    <th className="py-2 pr-3">Data (setting)</th><th className="py-2 pr-3">Kept</th>
                    <th className="py-2">Enforced by the database</th>
                  </tr>
                </thead>
                <tbody>
                  {s.periods.map((p) => (
                    <tr key={p.data_class} className="border-b border-slate-200">
                      <td className="py-2 pr-3 text-slate-900">
                        {p.label}
                        <code className="block break-all text-xs text-slate-700">{p.setting}</code>
                      </td>
                      <td className="py-2 pr-3 font-medium text-slate-900">{p.text}</td>
                      <td className="py-2 text-slate-800">{minutesText(p.enforced_minutes)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <p className="mt-2 text-slate-800">
              {s.interval_minutes === null
                ? "The job is not scheduled on this server: run it with npm run alpr -- retention run."
                : `The job runs every ${s.interval_minutes} minutes, on one server at a time.`}{" "}
              <Link to="/holds" className="text-blue-800 underline">{s.active_holds} active legal hold{s.active_holds === 1 ? "" : "s"}</Link>;
              {" "}{s.kept_reads} read{s.kept_reads === 1 ? "" : "s"} kept at the last run though due; {s.pending_objects} photo
              {s.pending_objects === 1 ? "" : "s"} waiting to be removed from the store.
            </p>
          </section>
          <section aria-labelledby="retention-derived">
            <h2 id="retention-derived" className="text-lg font-semibold text-slate-900">Other tables</h2>
            <ul className="mt-1 list-disc pl-5 text-slate-800">
              {s.derived.map((d) => <li key={d.table}><code>{d.table}</code>: {d.kept}</li>)}
            </ul>
          </section>
          <section aria-labelledby="retention-runs">
            <h2 id="retention-runs" className="text-lg font-semibold text-slate-900">Recent runs</h2>
            {s.runs.length === 0 ? <p className="text-slate-700">No run yet.</p> : (
              <div className="overflow-x-auto">
                <table className="mt-2 w-full text-left text-sm">
                  <thead>
                    <tr className="border-b border-slate-300 text-slate-700">
                      <th className="py-2 pr-3">Started</th><th className="py-2 pr-3">Scene photos</th>
                      <th className="py-2 pr-3">Plate crops</th><th className="py-2 pr-3">Reads</th>
                      <th className="py-2 pr-3">Kept for holds</th><th className="py-2">Outcome</th>
                    </tr>
                  </thead>
                  <tbody>
                    {s.runs.map((run) => (
                      <tr key={run.id} className="border-b border-slate-200">
                        <td className="py-2 pr-3"><time dateTime={run.started_at} title={formatDateTime(run.started_at)}>{formatShort(run.started_at)}</time></td>
                        <td className="py-2 pr-3">{run.scene_images_deleted}</td>
                        <td className="py-2 pr-3">{run.plate_images_deleted}</td>
                        <td className="py-2 pr-3">{run.detections_deleted}</td>
                        <td className="py-2 pr-3">{run.held_skipped}</td>
                        <td className="py-2">
                          {run.error !== null ? <Badge tone="bad">failed</Badge>
                            : run.finished_at === null ? <Badge tone="warn">running</Badge>
                            : run.dry_run ? <Badge>dry run</Badge> : <Badge tone="good">done</Badge>}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </section>
        </div>
      )}
    </Loaded>
  )
}
