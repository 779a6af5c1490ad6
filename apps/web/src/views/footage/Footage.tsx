import type { FootageUploadStart } from "@chaverim/domain/Footage"
import { useEffect, useRef, useState } from "react"
import { definedFields } from "../../client/fields"
import { type UploadProgress, uploadFootage } from "../../client/footageUpload"
import type { Problem } from "../../client/problem"
import { useMe } from "../../client/session"
import { Button, Notice, ProblemNote, ProgressBar, TextField } from "../../ui/controls"
import { formatBytes, formatPercent, localZone } from "../../ui/format"
import { JobPanel, YourFootage } from "./Jobs"

interface Draft {
  readonly camera: string
  readonly reason: string
  /** datetime-local, in the browser's zone; "" when not given */
  readonly at: string
  readonly lat: string
  readonly lon: string
}

const EMPTY: Draft = { camera: "", reason: "", at: "", lat: "", lon: "" }

/** "2026-12-01T10:00" typed in the browser's zone, as ISO 8601 with that zone's offset at that time. */
const withLocalOffset = (local: string) => {
  const minutes = -new Date(local).getTimezoneOffset()
  const pad = (n: number) => String(n).padStart(2, "0")
  const seconds = /T\d{2}:\d{2}$/.test(local) ? `${local}:00` : local
  return `${seconds}${minutes < 0 ? "-" : "+"}${pad(Math.floor(Math.abs(minutes) / 60))}:${pad(Math.abs(minutes) % 60)}`
}

const factsOf = (file: File, draft: Draft): FootageUploadStart => ({
  camera_name: draft.camera.trim(),
  reason: draft.reason.trim(),
  file_name: file.name || "footage",
  size_bytes: file.size,
  ...definedFields({
    at: draft.at === "" ? undefined : withLocalOffset(draft.at),
    lat: draft.lat.trim() === "" ? undefined : Number(draft.lat),
    lon: draft.lon.trim() === "" ? undefined : Number(draft.lon)
  })
})

type Sending =
  | { readonly phase: "idle" }
  | { readonly phase: "sending"; readonly size: number; readonly progress?: UploadProgress }
  | { readonly phase: "failed"; readonly problem: Problem }
  | { readonly phase: "cancelled" }
  | { readonly phase: "sent"; readonly size: number }

/** How far the upload is: bytes sent of the file's, a bar, and "reconnecting…" while it finds its place again. */
const UploadStatus = ({ sending, onCancel }: { readonly sending: Sending; readonly onCancel: () => void }) => {
  if (sending.phase === "failed") return <ProblemNote problem={sending.problem} />
  if (sending.phase === "cancelled") return <Notice>Upload cancelled: nothing of it is kept as footage.</Notice>
  if (sending.phase === "sent") {
    return (
      <div className="flex flex-col gap-1">
        <p role="status" className="text-slate-900">Uploaded {formatBytes(sending.size)} (100%).</p>
        <ProgressBar label="Upload" fraction={1} />
      </div>
    )
  }
  if (sending.phase !== "sending") return null
  const sent = sending.progress?.state.offset ?? 0
  const fraction = sending.size === 0 ? 0 : sent / sending.size
  return (
    <div className="flex flex-col gap-2">
      <p className="text-slate-900">
        {sending.progress === undefined ? "Starting the upload…" : `Sent ${formatBytes(sent)} of ${formatBytes(sending.size)} (${formatPercent(fraction)})`}
        {sending.progress !== undefined && sent >= sending.size && " · the server is taking the file in…"}
      </p>
      <ProgressBar label="Upload" fraction={fraction} />
      {sending.progress?.reconnecting === true && sent < sending.size && <Notice tone="warning">Reconnecting… the upload goes on from where the server has it.</Notice>}
      <Button variant="danger" className="self-start" onClick={onCancel}>Cancel the upload</Button>
    </div>
  )
}

/**
 * The upload: the file, where and when it is from and why it is uploaded, then its bytes in chunks,
 * resuming after a dropped connection. Ends with the footage's job.
 */
const UploadForm = ({ onUploaded }: { readonly onUploaded: (job: { readonly id: string; readonly fileName: string }) => void }) => {
  const [file, setFile] = useState<File | undefined>(undefined)
  // a new key empties the file field: a file sent is not sent twice by a second click
  const [fileField, setFileField] = useState(0)
  const [draft, setDraft] = useState<Draft>(EMPTY)
  const [sending, setSending] = useState<Sending>({ phase: "idle" })
  const controller = useRef<AbortController | undefined>(undefined)
  const set = (change: Partial<Draft>) => setDraft({ ...draft, ...change })
  const busy = sending.phase === "sending"

  // Leaving the page stops the upload (it could be resumed only by this page); the browser asks first.
  useEffect(() => () => controller.current?.abort(), [])
  useEffect(() => {
    if (!busy) return
    const warn = (event: BeforeUnloadEvent) => event.preventDefault()
    window.addEventListener("beforeunload", warn)
    return () => window.removeEventListener("beforeunload", warn)
  }, [busy])

  const start = async (chosen: File) => {
    const abort = new AbortController()
    controller.current = abort
    setSending({ phase: "sending", size: chosen.size })
    const result = await uploadFootage(chosen, factsOf(chosen, draft), (progress) => {
      if (!abort.signal.aborted) setSending({ phase: "sending", size: chosen.size, progress })
    }, abort.signal)
    if (abort.signal.aborted) return
    controller.current = undefined
    if (result.state === "ready") {
      setSending({ phase: "sent", size: chosen.size })
      setFile(undefined)
      setFileField((n) => n + 1)
      onUploaded({ id: result.value.job_id!, fileName: chosen.name || "footage" })
    } else if (result.state === "failed") {
      setSending({ phase: "failed", problem: result.problem })
    }
  }

  return (
    <form aria-label="Upload footage" className="flex flex-col gap-3 rounded-lg bg-white p-3 ring-1 ring-slate-200"
      onSubmit={(event) => {
        event.preventDefault()
        if (file !== undefined && !busy) void start(file)
      }}>
      <TextField key={fileField} label="Photo or video" type="file" accept="image/*,video/*" required disabled={busy}
        hint="JPEG, PNG, WebP or HEIC photos; MP4, MOV, MKV, WebM or AVI video, up to 4 GiB."
        className="[&_input]:h-auto [&_input]:py-2"
        onChange={(e) => {
          setFile(e.target.files?.[0])
          setSending({ phase: "idle" })
        }} />
      <div className="grid gap-3 sm:grid-cols-2">
        <TextField label="Camera" value={draft.camera} onChange={(e) => set({ camera: e.target.value })} required maxLength={200}
          disabled={busy} hint="The camera, phone or place it is from: the same name is the same camera." />
        <TextField label="Why it is uploaded" value={draft.reason} onChange={(e) => set({ reason: e.target.value })} required
          minLength={3} maxLength={1000} disabled={busy} hint="Recorded with the footage in the audit log." />
      </div>
      <TextField label="When it starts (optional)" type="datetime-local" step={1} value={draft.at} disabled={busy}
        onChange={(e) => set({ at: e.target.value })} className="sm:max-w-sm"
        hint={`In your time zone (${localZone()}). A photo needs it; a video usually records it, and a time given here comes first.`} />
      <fieldset className="grid gap-3 sm:grid-cols-2">
        <legend className="mb-1 text-sm font-medium text-slate-800">Where (optional: both or neither)</legend>
        <TextField label="Latitude" type="number" inputMode="decimal" step="any" min={-90} max={90} value={draft.lat}
          disabled={busy} required={draft.lon.trim() !== ""} onChange={(e) => set({ lat: e.target.value })} />
        <TextField label="Longitude" type="number" inputMode="decimal" step="any" min={-180} max={180} value={draft.lon}
          disabled={busy} required={draft.lat.trim() !== ""} onChange={(e) => set({ lon: e.target.value })} />
      </fieldset>
      <UploadStatus sending={sending} onCancel={() => {
        controller.current?.abort()
        controller.current = undefined
        setSending({ phase: "cancelled" })
      }} />
      {!busy && <Button type="submit" className="self-start" disabled={file === undefined}>Upload</Button>}
    </form>
  )
}

/**
 * Footage in: a photo or a video uploaded from a phone or a computer, its plates read by the server's
 * recogniser. Its reads wait for review before they alert (see Review).
 */
const Footage = () => {
  const me = useMe()
  const [job, setJob] = useState<{ readonly id: string; readonly fileName: string } | undefined>(undefined)
  const [version, setVersion] = useState(0)
  const changed = () => setVersion((v) => v + 1)
  if (me.role === "viewer") {
    return <p className="py-6 text-slate-800">Uploading footage is for operators and admins; you are signed in as a viewer.</p>
  }
  return (
    <div className="flex flex-col gap-4">
      <h1 className="text-xl font-bold text-slate-900" tabIndex={-1}>Footage</h1>
      <p className="text-slate-800">
        A doorbell clip, a shop's CCTV export or a photo from a phone: the original is kept as evidence, and the
        plates found in it become reads of the camera you name. They wait for review before they alert.
      </p>
      <UploadForm onUploaded={(uploaded) => {
        setJob(uploaded)
        changed()
      }} />
      {job !== undefined && <JobPanel key={job.id} id={job.id} fileName={job.fileName} onSettled={changed} />}
      <YourFootage version={version} />
    </div>
  )
}

export default Footage
