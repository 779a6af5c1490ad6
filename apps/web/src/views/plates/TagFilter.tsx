import type { TagInUse } from "@chaverim/domain/KnownPlates"
import { useId, useState } from "react"
import { TextField } from "../../ui/controls"

/**
 * The search's tag filter: known plates' tags, comma-separated, suggested from the tags in use (asked
 * for when the field is first focused, so the search page loads no RPC client until then).
 */
export const TagFilter = ({ value, onChange }: { readonly value: string; readonly onChange: (value: string) => void }) => {
  const id = useId()
  const [inUse, setInUse] = useState<ReadonlyArray<TagInUse> | undefined>(undefined)
  const load = () => {
    if (inUse !== undefined) return
    setInUse([])
    void import("../../client/rpc")
      .then(({ callRpc }) => callRpc((rpc) => rpc.knownPlates.tags({})))
      .then((answer) => answer.state === "ready" && setInUse(answer.value))
  }
  // A suggestion completes the tag being typed, after those before the last comma.
  const typed = value.split(",")
  const before = typed.slice(0, -1).map((t) => t.trim()).filter((t) => t !== "")
  return (
    <>
      <TextField label="Tags" value={value} list={`${id}-tags`} autoComplete="off" spellCheck={false} onFocus={load}
        onChange={(e) => onChange(e.target.value)} hint="Only plates tagged so, e.g. resident. Several: separate with commas." />
      <datalist id={`${id}-tags`}>
        {(inUse ?? []).filter((t) => !before.includes(t.tag)).map((t) => (
          <option key={t.tag} value={[...before, t.tag].join(", ")}>{t.tag} ({t.plates})</option>
        ))}
      </datalist>
    </>
  )
}
