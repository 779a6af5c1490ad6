import type { FootageResult, JobView } from "@chaverim/domain/Footage"
import { useEffect } from "react"
import { withApi } from "../../client/api"
import { valueOf } from "../../client/problem"
import { useRpc, withRpc } from "../../client/rpc"
import { useMe } from "../../client/session"
import { useApi, useApiAction } from "../../client/useApi"
import { usePolling } from "../../client/usePolling"
import { Link } from "../../router"
import { Badge, Button, Loaded, PlateText, ProblemNote, ProgressBar } from "../../ui/controls"
import { formatDateTime, formatPercent, formatShort } from "../../ui/format"

const noop = () => undefined

const linkClass = "font-medium text-blue-800 underline underline-offset-2"

export const STATUS_LABEL: Record<JobView["status"], string> = {
  queued: "waiting to start",
  running: "reading the frames",
  done: "done",
  failed: "failed",
  cancelled: "cancelled"
}

const STATUS_TONE = { queued: "warn", running: "warn", done: "good", failed: "bad", cancelled: "neutral" } as const

export const isActive = (job: Pick<JobView, "status">) => job.status === "queued" || job.status === "running"

/** The job's state in a line: its status, and how far it is while it runs. */
const JobState = ({ job, label }: { readonly job: JobView; readonly label: string }) => (
  <div className="flex flex-col gap-1">
    <p className="flex flex-wrap items-center gap-2 text-slate-900">
      <Badge tone={STATUS_TONE[job.status]}>{STATUS_LABEL[job.status]}</Badge>
      {isActive(job) && <span className="text-sm text-slate-800">{formatPercent(job.progress)}{job.progress_note ? ` · ${job.progress_note}` : ""}</span>}
      {job.attempts > 1 && isActive(job) && <span className="text-sm text-slate-700">try {job.attempts}</span>}
    </p>
    {isActive(job) && <ProgressBar label={label} fraction={job.progress} />}
    {job.status === "failed" && job.error !== null && <p className="text-sm text-red-900">{job.error}</p>}
  </div>
)

/** The reads a finished job found, each linking to its page. */
export const JobReads = ({ result }: { readonly result: FootageResult }) => (
  <div className="flex flex-col gap-2">
    <p className="text-slate-800">
      {result.reads.length === 0
        ? `No plate found in ${result.frames} frame${result.frames === 1 ? "" : "s"}.`
        : <>
          {result.reads.length} read{result.reads.length === 1 ? "" : "s"} found in {result.frames} frame{result.frames === 1 ? "" : "s"}.
          {" "}They alert once someone has <Link to="/review" className={linkClass}>reviewed them</Link>.
        </>}
    </p>
    {result.reads.length > 0 && (
      <ul aria-label="Reads found" className="flex flex-col">
        {result.reads.map((read) => (
          <li key={read.read_id} className="flex min-h-11 flex-wrap items-center gap-x-3 border-t border-slate-100 py-1 first:border-t-0">
            <Link to={`/read/${read.read_id}`} className={`${linkClass} inline-flex min-h-11 items-center`}
              aria-label={`Read ${read.plate}, ${formatPercent(read.confidence)}, ${formatDateTime(read.at)}`}>
              <PlateText plate={read.plate} className="text-lg" />
            </Link>
            <span className="text-sm text-slate-800">{formatPercent(read.confidence)}</span>
            <time dateTime={read.at} className="text-sm text-slate-700">{formatDateTime(read.at)}</time>
            {read.frames > 1 && <span className="text-sm text-slate-700">seen in {read.frames} frames</span>}
          </li>
        ))}
      </ul>
    )}
  </div>
)

/**
 * The job of the footage just uploaded, asked every second while it waits or runs: its progress, a
 * way to stop it, and the reads it found.
 */
export const JobPanel = ({ id, fileName, onSettled }: {
  readonly id: string
  readonly fileName: string
  /** the job has ended (done, failed or cancelled) */
  readonly onSettled: () => void
}) => {
  const [job, reload] = useApi(() => withApi((api) => api.footage.job({ path: { id } })), [id])
  const [cancelled, cancel] = useApiAction(() => withApi((api) => api.footage.cancel({ path: { id } })))
  const current = valueOf(job)
  const active = current === undefined || isActive(current)
  usePolling(active ? reload : noop, 1)
  useEffect(() => {
    if (!active) onSettled()
  }, [active])
  return (
    <section aria-labelledby="job-title" className="flex flex-col gap-3 rounded-lg bg-white p-3 ring-1 ring-slate-200">
      <h2 id="job-title" className="font-semibold text-slate-900">Reading {fileName}</h2>
      <Loaded remote={job}>
        {(value) => (
          <>
            <JobState job={value} label={`Reading ${fileName}`} />
            {isActive(value) && (
              <Button variant="danger" className="self-start" disabled={cancelled.state === "loading"} onClick={async () => {
                if ((await cancel()).state === "ready") reload()
              }}>
                Cancel the job
              </Button>
            )}
            {cancelled.state === "failed" && <ProblemNote problem={cancelled.problem} />}
            {value.status === "done" && value.result !== null && <JobReads result={value.result} />}
          </>
        )}
      </Loaded>
    </section>
  )
}

/** The person's footage jobs, newest first (an admin's: everyone's), followed while any runs. */
export const YourFootage = ({ version }: { readonly version: number }) => {
  const me = useMe()
  const [jobs, reload] = useRpc(() => withRpc((rpc) => rpc.footage.jobs({ limit: 20 })), [version])
  const running = (valueOf(jobs) ?? []).some(isActive)
  usePolling(running ? reload : noop, 3)
  return (
    <section aria-labelledby="your-footage-title" className="flex flex-col gap-3">
      <h2 id="your-footage-title" className="text-lg font-semibold text-slate-900">{me.role === "admin" ? "Footage uploaded" : "Your footage"}</h2>
      <Loaded remote={jobs}>
        {(items) => items.length === 0
          ? <p className="text-slate-700">No footage uploaded yet.</p>
          : (
            <ul aria-label="Footage jobs" className="flex flex-col gap-2">
              {items.map((job) => {
                const name = job.file_name ?? "footage"
                return (
                  <li key={job.id} aria-label={`${name}, ${STATUS_LABEL[job.status]}`} className="flex flex-col gap-2 rounded-lg bg-white p-3 ring-1 ring-slate-200">
                    <div className="flex flex-wrap items-baseline gap-x-3 gap-y-1">
                      <span className="break-all font-medium text-slate-900">{name}</span>
                      <span className="text-sm text-slate-700">
                        {job.media ?? "footage"}{job.camera_name ? ` from ${job.camera_name}` : ""} · {formatShort(job.created_at)}
                        {job.uploaded_by !== null && job.uploaded_by !== me.username ? ` · by ${job.uploaded_by}` : ""}
                      </span>
                    </div>
                    <JobState job={job} label={`Reading ${name}`} />
                    {job.status === "done" && job.result !== null && (
                      job.result.reads.length === 0
                        ? <p className="text-sm text-slate-700">No plate found.</p>
                        : (
                          <details>
                            <summary className="inline-flex min-h-11 cursor-pointer items-center font-medium text-blue-800">
                              {job.result.reads.length} read{job.result.reads.length === 1 ? "" : "s"} found
                            </summary>
                            <JobReads result={job.result} />
                          </details>
                        )
                    )}
                  </li>
                )
              })}
            </ul>
          )}
      </Loaded>
    </section>
  )
}
