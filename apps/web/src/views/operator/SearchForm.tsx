import type { SearchMode } from "@chaverim/domain/Search"
import { useId, useState } from "react"
import { noReason, savedReason, saveReason } from "../../client/reason"
import { Button, TextField } from "../../ui/controls"
import { filterCount, type SearchQuery } from "./query"
import { ReasonFields } from "./ReasonFields"
import { optionsAfterComma, useSuggestions } from "./suggestions"
import { TagFilter } from "../plates/TagFilter"

const MODES: ReadonlyArray<{ readonly mode: SearchMode; readonly label: string; readonly hint: string }> = [
  { mode: "exact", label: "Exact", hint: "The plate as typed; spaces, dashes and dots are ignored." },
  { mode: "ocr", label: "Look-alike", hint: "Also plates that differ by characters a camera confuses: 0/O/D, 1/I, 5/S, 8/B…" },
  { mode: "partial", label: "Partial", hint: "Part of a plate: * stands for any run of characters, ? for one. At least two characters." },
  { mode: "fuzzy", label: "Fuzzy", hint: "Plates one or two characters off, closest first." }
]

const ModePicker = ({ mode, onChange }: { readonly mode: SearchMode; readonly onChange: (mode: SearchMode) => void }) => (
  <fieldset>
    <legend className="mb-1 text-sm font-medium text-slate-800">Match</legend>
    <div className="grid grid-cols-4 overflow-hidden rounded-lg border border-slate-400 bg-white">
      {MODES.map((m) => (
        <label key={m.mode}
          className={`flex min-h-11 cursor-pointer items-center justify-center px-1 text-sm font-medium has-[:focus-visible]:outline-3 has-[:focus-visible]:-outline-offset-3 has-[:focus-visible]:outline-blue-600 ${
            mode === m.mode ? "bg-blue-700 text-white" : "text-slate-900 hover:bg-slate-100"}`}>
          <input type="radio" name="mode" value={m.mode} className="sr-only" checked={mode === m.mode}
            onChange={() => onChange(m.mode)} />
          {m.label}
        </label>
      ))}
    </div>
    <p className="mt-1 text-sm text-slate-600">{MODES.find((m) => m.mode === mode)!.hint}</p>
  </fieldset>
)

/** A text field offering the values that exist (a datalist), one after another when separated by commas. */
const SuggestedField = ({ label, value, onChange, values, hint }: {
  readonly label: string
  readonly value: string
  readonly onChange: (value: string) => void
  readonly values: ReadonlyArray<string>
  readonly hint: string
}) => {
  const id = useId()
  return (
    <>
      <TextField label={label} value={value} onChange={(e) => onChange(e.target.value)} hint={hint} list={id} autoComplete="off" />
      <datalist id={id}>
        {optionsAfterComma(value, values).map((option) => <option key={option} value={option} />)}
      </datalist>
    </>
  )
}

const Filters = ({ draft, set }: { readonly draft: SearchQuery; readonly set: (change: Partial<SearchQuery>) => void }) => {
  const suggestions = useSuggestions()
  return (
  <details className="rounded-lg border border-slate-300 bg-white" open={filterCount(draft) > 0}>
    <summary className="min-h-11 cursor-pointer px-3 py-2.5 font-medium text-slate-900">
      Filters{filterCount(draft) > 0 ? ` (${filterCount(draft)})` : ""}
    </summary>
    <div className="grid gap-3 p-3 pt-0 sm:grid-cols-2">
      {/* A whole row each: date and time need the width (the sidebar's half of it cuts the time off). */}
      <TextField label="From" type="datetime-local" value={draft.from} onChange={(e) => set({ from: e.target.value })}
        className="sm:col-span-2" />
      <TextField label="Until" type="datetime-local" value={draft.to} onChange={(e) => set({ to: e.target.value })}
        className="sm:col-span-2" />
      <SuggestedField label="Site" value={draft.site} onChange={(site) => set({ site })} values={suggestions.sites}
        hint="Several: separate with commas." />
      <SuggestedField label="Direction" value={draft.direction} onChange={(direction) => set({ direction })}
        values={suggestions.directions} hint="e.g. in, out" />
      <SuggestedField label="Vehicle type" value={draft.vehicleType} onChange={(vehicleType) => set({ vehicleType })}
        values={suggestions.vehicle_types} hint="e.g. car, truck" />
      <SuggestedField label="Vehicle colour" value={draft.vehicleColor} onChange={(vehicleColor) => set({ vehicleColor })}
        values={suggestions.vehicle_colors} hint="e.g. blue, white" />
      <TextField label="Lowest confidence (%)" type="number" min={0} max={100} step={1} inputMode="numeric"
        value={draft.minConfidence} onChange={(e) => set({ minConfidence: e.target.value })} />
      <TagFilter value={draft.tags} onChange={(tags) => set({ tags })} />
    </div>
  </details>
  )
}

/** What to look for, and why (audited with every search). */
export const SearchForm = ({ initial, onSearch }: {
  readonly initial: SearchQuery
  readonly onSearch: (query: SearchQuery) => void
}) => {
  const [draft, setDraft] = useState(initial)
  const [reason, setReason] = useState(() => savedReason() ?? noReason)
  // Opened with a plate (a link, a bookmark) before any reason was given in this tab: nothing is
  // searched yet, and the reason is asked for here.
  const [asking, setAsking] = useState(() => initial.plate.trim() !== "" && savedReason() === undefined)
  const set = (change: Partial<SearchQuery>) => setDraft((d) => ({ ...d, ...change }))
  return (
    <form
      role="search"
      aria-label="Plate search"
      className="flex flex-col gap-3"
      onSubmit={(event) => {
        event.preventDefault()
        saveReason(reason)
        setAsking(false)
        onSearch(draft)
      }}
    >
      <TextField label="Plate" name="plate" value={draft.plate} onChange={(e) => set({ plate: e.target.value })}
        required maxLength={32} autoComplete="off" autoCapitalize="characters" spellCheck={false} autoFocus={initial.plate === ""}
        className="[&_input]:font-mono [&_input]:text-2xl [&_input]:uppercase [&_input]:tracking-wider" />
      <ModePicker mode={draft.mode} onChange={(mode) => set({ mode })} />
      <Filters draft={draft} set={set} />
      <div className={asking ? "flex flex-col gap-3 rounded-lg bg-amber-50 p-3 ring-2 ring-amber-400" : "contents"}>
        {asking && <p role="status" className="font-medium text-amber-950">Say why you are searching, then Search.</p>}
        {/* the reason codes load first: the select takes the focus when it is there */}
        <ReasonFields value={reason} onChange={setReason} doing="the search" autoFocus={asking} />
      </div>
      <Button type="submit" className="text-lg">Search</Button>
    </form>
  )
}
