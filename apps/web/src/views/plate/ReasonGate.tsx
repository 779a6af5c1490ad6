import { type ReactNode, useState } from "react"
import { savedReason, saveReason } from "../../client/reason"
import { Button, TextField } from "../../ui/controls"

/** Looking into a plate is audited with a reason: asked here when the search did not give one. */
export const ReasonGate = ({ children }: { readonly children: (reason: string) => ReactNode }) => {
  const [reason, setReason] = useState(savedReason)
  const [draft, setDraft] = useState("")
  if (reason !== "") return <>{children(reason)}</>
  return (
    <form className="flex max-w-md flex-col gap-3"
      onSubmit={(event) => {
        event.preventDefault()
        saveReason(draft)
        setReason(draft.trim())
      }}>
      <TextField label="Reason" value={draft} onChange={(e) => setDraft(e.target.value)} required maxLength={500}
        autoFocus hint="Case or incident number; recorded with what you look at." />
      <Button type="submit">Continue</Button>
    </form>
  )
}
