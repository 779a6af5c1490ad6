import type { Correction, CorrectionAction } from "@chaverim/domain/Corrections"
import type { DetectionItem } from "@chaverim/domain/Search"
import { useState } from "react"
import { useOperatorApi, useOperatorApiAction, withOperatorApi } from "../../client/operatorApi"
import { photoWithReason, type SessionReason } from "../../client/reason"
import { Button, Notice, ProblemNote, TextField } from "../../ui/controls"
import { formatDateTime } from "../../ui/format"
import { PlatePhoto } from "../../ui/PlatePhoto"

const ACTIONS: ReadonlyArray<{ readonly action: CorrectionAction; readonly label: string }> = [
  { action: "confirm", label: "The read is right" },
  { action: "correct", label: "The plate is different" },
  { action: "reject", label: "Not a plate at all" }
]

const History = ({ id }: { readonly id: number }) => {
  const [history] = useOperatorApi(() => withOperatorApi((api) => api.corrections.list({ path: { id } })), [id])
  if (history.state !== "ready" || history.value.length === 0) return null
  return (
    <div>
      <h2 className="text-sm font-semibold text-slate-900">Earlier checks</h2>
      <ul className="text-sm text-slate-700">
        {history.value.map((c) => (
          <li key={c.id}>{formatDateTime(c.at)}: {c.by} — {c.action}{c.plate_text ? ` ${c.plate_text}` : ""}{c.note ? ` (${c.note})` : ""}</li>
        ))}
      </ul>
    </div>
  )
}

/**
 * Confirm, correct or reject a read: the read itself never changes, the correction is kept beside it.
 * Nothing is chosen at first: the operator says what they saw.
 */
export const CorrectionPanel = ({ item, onCorrected, reason, compact = false }: {
  readonly item: DetectionItem
  readonly onCorrected: (correction: Correction) => void
  /** why the read is looked at: opening its scene photo is audited with it */
  readonly reason: SessionReason | undefined
  /** the form alone: the read's page shows the photo and the earlier checks itself */
  readonly compact?: boolean
}) => {
  const id = Number(item.id)
  const [action, setAction] = useState<CorrectionAction | undefined>(undefined)
  const [plate, setPlate] = useState(item.plate_text)
  const [note, setNote] = useState("")
  const [sent, send] = useOperatorApiAction((payload: { action: CorrectionAction; plate?: string; note?: string }) =>
    withOperatorApi((api) => api.corrections.create({ path: { id }, payload })))

  return (
    <form
      className="mt-3 flex flex-col gap-3 border-t border-slate-200 pt-3"
      onSubmit={async (event) => {
        event.preventDefault()
        if (action === undefined) return
        const result = await send({
          action,
          ...(action === "correct" ? { plate: plate.trim() } : {}),
          ...(note.trim() !== "" ? { note: note.trim() } : {})
        })
        if (result.state === "ready") onCorrected(result.value)
      }}
    >
      {!compact && <PlatePhoto src={photoWithReason(item.images.scene, reason)} alt={`Scene photo of the read ${item.plate_text}`} className="max-h-72 w-full" />}
      <fieldset className="flex flex-col gap-1">
        <legend className="mb-1 text-sm font-medium text-slate-800">What is right?</legend>
        {ACTIONS.map((a) => (
          <label key={a.action} className="flex min-h-11 items-center gap-3 text-slate-900">
            <input type="radio" name={`action-${item.id}`} className="size-5" checked={action === a.action}
              onChange={() => setAction(a.action)} required />
            {a.label}
          </label>
        ))}
      </fieldset>
      {action === "correct" && (
        <TextField label="Correct plate" value={plate} onChange={(e) => setPlate(e.target.value)} required maxLength={32}
          autoCapitalize="characters" spellCheck={false} className="[&_input]:font-mono [&_input]:uppercase" />
      )}
      <TextField label="Note (optional)" value={note} onChange={(e) => setNote(e.target.value)} maxLength={500} />
      {sent.state === "failed" && <ProblemNote problem={sent.problem} />}
      {sent.state === "ready" && <Notice tone="success">Saved. The corrected plate is searched and exported beside what the camera read.</Notice>}
      <Button type="submit" disabled={sent.state === "loading"}>Save</Button>
      {!compact && <History id={id} />}
    </form>
  )
}
