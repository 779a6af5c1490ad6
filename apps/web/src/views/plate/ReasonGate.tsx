import { type ReactNode, useState } from "react"
import { describeReason, noReason, savedReason, saveReason, type SessionReason } from "../../client/reason"
import { useReasonCodes } from "../../client/reasonCodes"
import { Button } from "../../ui/controls"
import { ReasonFields } from "../operator/ReasonFields"

/**
 * Looking into a plate is audited with a reason: the one given in this tab (with the search, or here
 * before), else asked here. It can be changed at any time, and is then remembered for the tab.
 */
export const ReasonGate = ({ children }: { readonly children: (reason: SessionReason) => ReactNode }) => {
  const codes = useReasonCodes()
  const required = codes.state !== "ready" || codes.value.required
  const [given, setGiven] = useState(savedReason)
  const [asking, setAsking] = useState(false)
  const [draft, setDraft] = useState(() => given ?? noReason)
  const usable = given !== undefined && (given.code !== "" || !required)

  if (usable && !asking) {
    const labelOf = (code: string) => codes.state === "ready" ? codes.value.codes.find((c) => c.code === code)?.label : undefined
    return (
      <>
        <p className="flex flex-wrap items-center gap-x-2 text-sm text-slate-800">
          <span>Reason: <strong>{describeReason(given, labelOf)}</strong></span>
          <button type="button" onClick={() => {
            setDraft(given)
            setAsking(true)
          }} className="inline-flex min-h-11 items-center px-1 font-medium text-blue-800 underline underline-offset-2">
            Change reason
          </button>
        </p>
        {children(given)}
      </>
    )
  }
  return (
    <form className="flex max-w-md flex-col gap-3" aria-label="Why you look into this plate"
      onSubmit={(event) => {
        event.preventDefault()
        saveReason(draft)
        setGiven(savedReason())
        setAsking(false)
      }}>
      <ReasonFields value={draft} onChange={setDraft} doing="what you look at" />
      <Button type="submit">Continue</Button>
    </form>
  )
}
