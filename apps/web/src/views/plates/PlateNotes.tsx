import { normalizePlate } from "@chaverim/domain/Plate"
import { checkKnownPlateValue, type KnownPlate, type KnownPlateDetail, MAX_NOTE_LENGTH, MAX_TAGS } from "@chaverim/domain/KnownPlates"
import * as Either from "effect/Either"
import { useId, useState } from "react"
import { useRpc, useRpcAction, withRpc } from "../../client/rpc"
import { Link } from "../../router"
import { Button, Loaded, Notice, ProblemNote } from "../../ui/controls"
import { formatDateTime } from "../../ui/format"
import { rememberKnownPlate } from "./knownPlates"
import { TAG } from "./PlateTags"

/** The tags as typed in the box: separated by commas or spaces. */
const typedTags = (text: string) => text.split(/[\s,]+/).map((t) => t.trim().toLowerCase()).filter((t) => t !== "")

const Version = ({ version }: { readonly version: KnownPlate }) => (
  <li className="flex flex-col gap-0.5 border-l-2 border-slate-300 pl-3">
    <span className="text-sm text-slate-700">
      <time dateTime={version.set_at}>{formatDateTime(version.set_at)}</time> · {version.set_by_name} · version {version.version}
    </span>
    {version.note === "" && version.tags.length === 0
      ? <span className="text-slate-800">Cleared: no note, no tags</span>
      : (
        <span className="flex flex-wrap items-center gap-1 text-slate-900">
          {version.tags.map((tag) => <span key={tag} className={TAG}>{tag}</span>)}
          {version.note !== "" && <span className="whitespace-pre-wrap">“{version.note}”</span>}
        </span>
      )}
  </li>
)

/** The note and tags of a plate, its editor and its history (PlateTags.tsx' `PlateNotes` loads it). */
const PlateNotes = ({ plate: typed }: { readonly plate: string }) => {
  const plate = normalizePlate(typed)
  const id = useId()
  const [detail] = useRpc(() => withRpc((rpc) => rpc.knownPlates.get({ plate })), [plate])
  // What a change answered: shown at once, instead of the loaded value until a reload comes back.
  const [changed, setChanged] = useState<KnownPlateDetail | undefined>(undefined)
  const changedNow = (next: KnownPlateDetail) => {
    rememberKnownPlate(plate, next.current)
    setChanged(next)
  }
  const [inUse] = useRpc(() => withRpc((rpc) => rpc.knownPlates.tags({})), [])
  const [editing, setEditing] = useState<{ note: string; tags: ReadonlyArray<string>; typing: string } | undefined>(undefined)
  const [invalid, setInvalid] = useState<string | undefined>(undefined)
  const [saved, save, resetSaved] = useRpcAction((note: string, tags: ReadonlyArray<string>) =>
    withRpc((rpc) => rpc.knownPlates.set({ plate, note, tags })))
  const [cleared, clear] = useRpcAction(() => withRpc((rpc) => rpc.knownPlates.clear({ plate })))

  const suggestions = inUse.state === "ready" ? inUse.value.map((t) => t.tag) : []
  const addTyped = (draft: NonNullable<typeof editing>) => ({
    ...draft,
    tags: [...new Set([...draft.tags, ...typedTags(draft.typing)])],
    typing: ""
  })

  return (
    <section aria-labelledby={`${id}-title`} className="flex flex-col gap-3 rounded-xl bg-white p-3 shadow-sm ring-1 ring-slate-200">
      <div className="flex flex-wrap items-center gap-2">
        <h2 id={`${id}-title`} className="font-semibold text-slate-900">Notes and tags</h2>
        <Link to="/known" className="ml-auto text-sm font-medium text-blue-800 underline underline-offset-2">All known plates</Link>
      </div>
      <Loaded remote={detail}>
        {(loaded) => {
          const { current, history } = changed?.plate === plate ? changed : loaded
          return (
            <>
              {editing === undefined
                ? (
                  <div className="flex flex-col gap-2">
                    {current === null
                      ? <p className="text-slate-700">No note and no tags for this plate.</p>
                      : (
                        <>
                          {current.tags.length > 0 && (
                            <p role="group" className="flex flex-wrap gap-1" aria-label="Its tags">
                              {current.tags.map((tag) => <span key={tag} className={TAG}>{tag}</span>)}
                            </p>
                          )}
                          {current.note !== "" && <p className="whitespace-pre-wrap text-slate-900">{current.note}</p>}
                          <p className="text-sm text-slate-700">
                            Set by {current.set_by_name}, <time dateTime={current.set_at}>{formatDateTime(current.set_at)}</time>
                          </p>
                        </>
                      )}
                    <div className="flex flex-wrap gap-2">
                      <Button variant="secondary" onClick={() => {
                        setInvalid(undefined)
                        resetSaved()
                        setEditing({ note: current?.note ?? "", tags: current?.tags ?? [], typing: "" })
                      }}>
                        {current === null ? "Add a note or tags" : "Edit note and tags"}
                      </Button>
                      {current !== null && (
                        <Button variant="danger" disabled={cleared.state === "loading"} onClick={async () => {
                          resetSaved()
                          const result = await clear()
                          if (result.state === "ready") changedNow(result.value)
                        }}>
                          Clear
                        </Button>
                      )}
                    </div>
                    {cleared.state === "failed" && <ProblemNote problem={cleared.problem} />}
                    {saved.state === "ready" && <Notice tone="success">Saved.</Notice>}
                  </div>
                )
                : (
                  <form className="flex flex-col gap-3" aria-label={`Note and tags of ${plate}`}
                    onSubmit={async (event) => {
                      event.preventDefault()
                      const draft = addTyped(editing)
                      setEditing(draft)
                      const checked = checkKnownPlateValue({ note: draft.note, tags: draft.tags })
                      if (Either.isLeft(checked)) return setInvalid(checked.left)
                      setInvalid(undefined)
                      const result = await save(draft.note, draft.tags)
                      if (result.state === "ready") {
                        changedNow(result.value)
                        setEditing(undefined)
                      }
                    }}>
                    <div className="flex flex-col gap-1">
                      {/* not wrapped in its label: the note typed would become part of the field's name */}
                      <label htmlFor={`${id}-note`} className="text-sm font-medium text-slate-800">Note</label>
                      <textarea id={`${id}-note`} value={editing.note} rows={3} maxLength={MAX_NOTE_LENGTH}
                        onChange={(e) => setEditing({ ...editing, note: e.target.value })}
                        className="rounded-lg border border-slate-400 bg-white p-2 text-base text-slate-900 focus:outline-2 focus:outline-blue-600" />
                    </div>
                    <fieldset className="flex flex-col gap-1">
                      <legend className="mb-1 text-sm font-medium text-slate-800">Tags</legend>
                      {editing.tags.length > 0 && (
                        <ul className="flex flex-wrap gap-1" aria-label="Tags to keep">
                          {editing.tags.map((tag) => (
                            <li key={tag}>
                              <button type="button" className={`${TAG} min-h-8 gap-1 hover:bg-indigo-200`}
                                aria-label={`Remove tag ${tag}`}
                                onClick={() => setEditing({ ...editing, tags: editing.tags.filter((t) => t !== tag) })}>
                                {tag} <span aria-hidden>×</span>
                              </button>
                            </li>
                          ))}
                        </ul>
                      )}
                      <div className="flex gap-2">
                        <input aria-label="Add a tag" list={`${id}-tags`} value={editing.typing} autoComplete="off" spellCheck={false}
                          aria-describedby={`${id}-tags-hint`}
                          onChange={(e) => setEditing({ ...editing, typing: e.target.value })}
                          onKeyDown={(e) => {
                            if (e.key === "Enter" && editing.typing.trim() !== "") {
                              e.preventDefault()
                              setEditing(addTyped(editing))
                            }
                          }}
                          className="block min-h-11 w-full rounded-lg border border-slate-400 bg-white px-3 py-2 text-slate-900 focus:border-blue-700 focus:outline-2 focus:outline-blue-600" />
                        <Button variant="secondary" disabled={editing.typing.trim() === ""} onClick={() => setEditing(addTyped(editing))}>
                          Add
                        </Button>
                      </div>
                      <datalist id={`${id}-tags`}>
                        {suggestions.filter((t) => !editing.tags.includes(t)).map((t) => <option key={t} value={t} />)}
                      </datalist>
                      <p id={`${id}-tags-hint`} className="text-sm text-slate-600">
                        Lower-case words such as resident, staff, delivery; at most {MAX_TAGS}.
                      </p>
                    </fieldset>
                    {invalid !== undefined && <p role="alert" className="rounded-lg border border-red-300 bg-red-50 px-3 py-2 text-red-900">{invalid}</p>}
                    {saved.state === "failed" && <ProblemNote problem={saved.problem} />}
                    <div className="flex flex-wrap gap-2">
                      <Button type="submit" disabled={saved.state === "loading"}>Save</Button>
                      <Button variant="secondary" onClick={() => setEditing(undefined)}>Cancel</Button>
                    </div>
                  </form>
                )}
              {history.length > 0 && (
                <details className="rounded-lg border border-slate-200">
                  <summary className="min-h-11 cursor-pointer px-3 py-2.5 font-medium text-slate-900">
                    History ({history.length} version{history.length === 1 ? "" : "s"})
                  </summary>
                  <ol className="flex flex-col gap-2 px-3 pb-3" aria-label="Earlier versions">
                    {history.map((version) => <Version key={version.version} version={version} />)}
                  </ol>
                </details>
              )}
            </>
          )
        }}
      </Loaded>
    </section>
  )
}

export default PlateNotes
