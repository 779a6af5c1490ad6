import { CASE_NUMBER_MAX } from "@chaverim/domain/Reason"
import type { SessionReason } from "../../client/reason"
import { useReasonCodes } from "../../client/reasonCodes"
import { Loading, ProblemNote, SelectField, TextField } from "../../ui/controls"

/**
 * Why: a reason code from the admins' list, a case number and words, each recorded in the audit log
 * with what is done. The code is required when the server requires it (AUDIT_REASON_REQUIRED).
 */
export const ReasonFields = ({ value, onChange, doing, autoFocus = false }: {
  readonly value: SessionReason
  readonly onChange: (reason: SessionReason) => void
  /** "the search", "what you look at" */
  readonly doing: string
  /** the reason code takes the focus once it is shown (when the reason is what is asked for) */
  readonly autoFocus?: boolean
}) => {
  const codes = useReasonCodes()
  if (codes.state === "failed") return <ProblemNote problem={codes.problem} />
  if (codes.state !== "ready") return <Loading label="Loading the reason codes" />
  const { codes: active, required } = codes.value
  const set = (change: Partial<SessionReason>) => onChange({ ...value, ...change })
  // A code retired since it was chosen is chosen again.
  const code = active.some((c) => c.code === value.code) ? value.code : ""
  return (
    <>
      <SelectField label="Reason" name="reason_code" value={code} required={required} autoFocus={autoFocus}
        onChange={(e) => set({ code: e.target.value })} hint={`Recorded with ${doing} in the audit log.`}>
        <option value="">{required ? "Choose a reason…" : "No reason code"}</option>
        {active.map((c) => <option key={c.code} value={c.code}>{c.label}</option>)}
      </SelectField>
      <TextField label="Case number (optional)" name="case_number" value={value.caseNumber} maxLength={CASE_NUMBER_MAX}
        autoComplete="off" spellCheck={false} onChange={(e) => set({ caseNumber: e.target.value })} />
      <TextField label="Details (optional)" name="reason" value={value.text} maxLength={500}
        onChange={(e) => set({ text: e.target.value })} hint="What the code does not say." />
    </>
  )
}
