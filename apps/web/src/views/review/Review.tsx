import type { CorrectionAction } from "@chaverim/domain/Corrections"
import type { ReviewItem } from "@chaverim/domain/rpc/Footage"
import { type ReactNode, useEffect, useRef, useState } from "react"
import { withApi } from "../../client/api"
import { valueOf } from "../../client/problem"
import { photoWithReason, savedReason } from "../../client/reason"
import { setReviewCount } from "../../client/reviewCount"
import { useRpc, withRpc } from "../../client/rpc"
import { useMe } from "../../client/session"
import { useApiAction } from "../../client/useApi"
import { Link } from "../../router"
import { Button, Loading, Notice, PlateText, ProblemNote, TextField } from "../../ui/controls"
import { formatDateTime, formatPercent, formatShort } from "../../ui/format"
import { PlatePhoto } from "../../ui/PlatePhoto"
import { ReasonGate } from "../plate/ReasonGate"

const WHY: Record<ReviewItem["reason"], string> = {
  footage: "from footage",
  low_confidence: "below the camera's confidence threshold"
}

const linkClass = "font-medium text-blue-800 underline underline-offset-2"

const photo = (item: ReviewItem, kind: "plate" | "scene") => `/api/v1/detections/${item.read_id}/images/${kind}`

/** A key as the keyboard shows it. */
const Key = ({ children }: { readonly children: ReactNode }) => (
  <kbd className="rounded border border-slate-400 bg-white px-1.5 py-0.5 font-mono text-xs font-semibold text-slate-900 shadow-sm">{children}</kbd>
)

const KEYS: ReadonlyArray<{ readonly keys: ReadonlyArray<string>; readonly does: string }> = [
  { keys: ["Enter", "C"], does: "confirm: the read is right" },
  { keys: ["X", "R"], does: "reject: not a plate" },
  { keys: ["E"], does: "edit the plate (Enter saves, Esc leaves)" },
  { keys: ["1", "–", "5"], does: "correct to that reading" },
  { keys: ["J", "→"], does: "next" },
  { keys: ["K", "←"], does: "previous" }
]

const KeyLegend = () => (
  <section aria-labelledby="review-keys" className="rounded-lg bg-white p-3 ring-1 ring-slate-200">
    <h2 id="review-keys" className="mb-1 text-sm font-semibold text-slate-900">Keys</h2>
    <ul className="flex flex-wrap gap-x-5 gap-y-1 text-sm text-slate-800">
      {KEYS.map(({ keys, does }) => (
        <li key={does} className="flex items-center gap-1">
          {keys.map((k) => k === "–" ? <span key={k} aria-hidden>–</span> : <Key key={k}>{k}</Key>)}
          <span className="ml-1">{does}</span>
        </li>
      ))}
    </ul>
  </section>
)

/**
 * The scene photo: opening it is audited with a reason, asked here (as on a read's page) the first
 * time; the plate crop beside it needs none.
 */
const ScenePhoto = ({ item, shown, onShow }: { readonly item: ReviewItem; readonly shown: boolean; readonly onShow: () => void }) => {
  const alt = `Scene photo of the read ${item.plate}, ${formatDateTime(item.detected_at)}`
  if (!item.has_scene_photo) return <PlatePhoto src={undefined} alt={alt} className="aspect-video w-full" />
  if (!shown) {
    return (
      <div className="flex aspect-video w-full flex-col items-center justify-center gap-2 rounded bg-slate-200 p-3 text-center">
        <Button variant="secondary" onClick={onShow}>Show the scene photo</Button>
        <p className="text-sm text-slate-800">Opening it is recorded in the audit log with a reason.</p>
      </div>
    )
  }
  return (
    <div className="flex flex-col gap-2">
      <ReasonGate>
        {(reason) => <PlatePhoto src={photoWithReason(photo(item, "scene"), reason)} alt={alt} className="aspect-video max-h-[60vh] w-full" />}
      </ReasonGate>
    </div>
  )
}

const Field = ({ label, children }: { readonly label: string; readonly children: ReactNode }) => (
  <div className="grid grid-cols-[8rem_minmax(0,1fr)] gap-x-3 border-t border-slate-100 py-1.5 first:border-t-0">
    <dt className="text-sm text-slate-700">{label}</dt>
    <dd className="break-words text-slate-900">{children}</dd>
  </div>
)

/** The plate as it really is, typed: Enter saves it as the correction, Esc leaves it as it was. */
const EditPlate = ({ item, busy, onSave, onCancel }: {
  readonly item: ReviewItem
  readonly busy: boolean
  readonly onSave: (plate: string) => void
  readonly onCancel: () => void
}) => {
  const [plate, setPlate] = useState(item.plate)
  return (
    <form aria-label="Correct the plate" className="flex flex-wrap items-end gap-2"
      onSubmit={(event) => {
        event.preventDefault()
        if (plate.trim() !== "") onSave(plate.trim())
      }}>
      <TextField label="Correct plate" value={plate} onChange={(e) => setPlate(e.target.value)} required maxLength={32}
        autoFocus autoCapitalize="characters" spellCheck={false} className="min-w-48 flex-1 [&_input]:font-mono [&_input]:uppercase"
        onFocus={(e) => e.target.select()}
        onKeyDown={(e) => {
          if (e.key === "Escape") {
            e.preventDefault()
            onCancel()
          }
        }} />
      <Button type="submit" disabled={busy}>Save correction</Button>
      <Button variant="secondary" onClick={onCancel}>Cancel</Button>
    </form>
  )
}

interface Decision {
  readonly action: CorrectionAction
  readonly plate?: string
}

/** One waiting read, large: its photos, what was read, why it waits, and the decisions. */
const Item = ({ item, position, count, busy, editing, sceneShown, onShowScene, onDecide, onEdit, onMove }: {
  readonly item: ReviewItem
  readonly position: number
  readonly count: number
  readonly busy: boolean
  readonly editing: boolean
  readonly sceneShown: boolean
  readonly onShowScene: () => void
  readonly onDecide: (decision: Decision) => void
  readonly onEdit: (editing: boolean) => void
  readonly onMove: (by: number) => void
}) => (
  <div className="flex flex-col gap-4">
    <div className="grid gap-4 lg:grid-cols-[minmax(0,2fr)_minmax(0,3fr)] lg:items-start">
      <div className="flex min-w-0 flex-col gap-3">
        <PlatePhoto src={item.has_plate_photo ? photo(item, "plate") : undefined} alt={`Plate crop of the read ${item.plate}`}
          className="h-32 w-full sm:h-44" />
        <p className="flex flex-wrap items-baseline gap-x-3">
          <span className="text-sm text-slate-700">Read as</span>
          <PlateText plate={item.plate} className="text-4xl text-slate-900 sm:text-5xl" />
        </p>
        <dl>
          <Field label="Confidence">{formatPercent(item.confidence)}</Field>
          <Field label="Camera">{item.camera_name}</Field>
          <Field label="Read at"><time dateTime={item.detected_at}>{formatDateTime(item.detected_at)}</time></Field>
          <Field label="Why it waits">{WHY[item.reason]}</Field>
          <Field label="Waiting since"><time dateTime={item.waiting_since}>{formatShort(item.waiting_since)}</time></Field>
        </dl>
        <Link to={`/read/${item.read_id}`} className={`${linkClass} self-start py-2`}>Open the read's page</Link>
      </div>
      <ScenePhoto item={item} shown={sceneShown} onShow={onShowScene} />
    </div>

    {item.candidates.length > 0 && (
      <div className="flex flex-col gap-1">
        <h2 className="text-sm font-semibold text-slate-900">Other readings: choose one to correct the plate to it</h2>
        <ul className="flex flex-wrap gap-2" aria-label="Other readings">
          {item.candidates.map((candidate, i) => (
            <li key={`${candidate.plate}-${i}`}>
              {/* named by what it shows ("1 HXR4871 55%"), so that voice control finds it by what is seen */}
              <Button variant="secondary" disabled={busy} onClick={() => onDecide({ action: "correct", plate: candidate.plate })}>
                <Key>{i + 1}</Key>{" "}
                <PlateText plate={candidate.plate} />{" "}
                <span className="text-sm font-normal text-slate-700">{formatPercent(candidate.confidence)}</span>
              </Button>
            </li>
          ))}
        </ul>
      </div>
    )}

    {editing
      ? <EditPlate key={item.read_id} item={item} busy={busy} onSave={(plate) => onDecide({ action: "correct", plate })} onCancel={() => onEdit(false)} />
      : (
        <div className="flex flex-wrap gap-2">
          <Button disabled={busy} onClick={() => onDecide({ action: "confirm" })}><Key>Enter</Key> Confirm</Button>
          <Button variant="danger" disabled={busy} onClick={() => onDecide({ action: "reject" })}><Key>X</Key> Reject: not a plate</Button>
          <Button variant="secondary" disabled={busy} onClick={() => onEdit(true)}><Key>E</Key> Edit the plate</Button>
        </div>
      )}
    <div className="flex flex-wrap items-center gap-2">
      <Button variant="secondary" disabled={position === 0} onClick={() => onMove(-1)}><Key>K</Key> Previous</Button>
      <Button variant="secondary" disabled={position >= count - 1} onClick={() => onMove(1)}><Key>J</Key> Next</Button>
      <span className="text-sm text-slate-700">{position + 1} of {count}</span>
    </div>
  </div>
)

const DONE: Record<CorrectionAction, string> = { confirm: "Confirmed", correct: "Corrected to", reject: "Rejected" }

/** Keys typed into a field, or Enter and Space on a button or link, are theirs, not the review's. */
const ownKey = (event: KeyboardEvent) => {
  const target = event.target
  if (!(target instanceof Element)) return false
  if (target.closest("input, textarea, select, [contenteditable=true]") !== null) return true
  return (event.key === "Enter" || event.key === " ") && target.closest("button, a[href], summary") !== null
}

/**
 * The review queue: reads from footage, and camera reads below their camera's confidence threshold,
 * alert no one until a person confirms or corrects them (a rejected read never alerts). Oldest first,
 * one at a time, by the keyboard or the buttons; a decision is a correction of the read, and the next
 * one comes up.
 */
const Review = () => {
  const me = useMe()
  const [queue, reload] = useRpc(() => withRpc((rpc) => rpc.review.queue({ limit: 50 })), [])
  const [decided, setDecided] = useState<ReadonlySet<string>>(new Set())
  const [position, setPosition] = useState(0)
  const [editing, setEditing] = useState(false)
  const [sceneShown, setSceneShown] = useState(() => savedReason() !== undefined)
  const [done, setDone] = useState<string | undefined>(undefined)
  const [sent, send] = useApiAction((id: string, decision: Decision) =>
    withApi((api) => api.corrections.create({ path: { id: Number(id) }, payload: decision })))
  const region = useRef<HTMLDivElement>(null)

  const value = valueOf(queue)
  const items = value?.items.filter((i) => !decided.has(i.read_id)) ?? []
  const waiting = value === undefined ? undefined : value.total - value.items.filter((i) => decided.has(i.read_id)).length
  const index = Math.min(position, Math.max(0, items.length - 1))
  const item = items[index]
  const busy = sent.state === "loading"

  useEffect(() => {
    if (waiting !== undefined) setReviewCount(waiting)
  }, [waiting])

  const move = (by: number) => {
    setEditing(false)
    setPosition(Math.min(Math.max(0, index + by), Math.max(0, items.length - 1)))
  }

  const decide = async (decision: Decision) => {
    if (item === undefined || busy) return
    const result = await send(item.read_id, decision)
    if (result.state !== "ready") return
    setDecided((before) => new Set(before).add(item.read_id))
    setEditing(false)
    setDone(decision.action === "correct" ? `${DONE.correct} ${result.value.plate ?? decision.plate}: the read ${item.plate} of ${formatShort(item.detected_at)}.` : `${DONE[decision.action]} ${item.plate}.`)
    // The next one takes the decided one's place; the keys go on working from the page.
    if (document.activeElement === null || document.activeElement === document.body) region.current?.focus({ preventScroll: true })
    reload()
  }

  // The keys, on the whole page, with the latest item and state.
  const onKey = useRef<(event: KeyboardEvent) => void>(() => undefined)
  onKey.current = (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || ownKey(event)) return
    if (item === undefined || editing) return
    const key = event.key.length === 1 ? event.key.toLowerCase() : event.key
    const moving = key === "j" || key === "k" || key === "ArrowRight" || key === "ArrowLeft"
    // A key held down decides once, not for every read that comes up under it.
    if (event.repeat && !moving) return
    if (key === "Enter" || key === "c") void decide({ action: "confirm" })
    else if (key === "x" || key === "r") void decide({ action: "reject" })
    else if (key === "e") setEditing(true)
    else if (/^[1-5]$/.test(key) && item.candidates[Number(key) - 1] !== undefined) {
      void decide({ action: "correct", plate: item.candidates[Number(key) - 1]!.plate })
    } else if (key === "j" || key === "ArrowRight") move(1)
    else if (key === "k" || key === "ArrowLeft") move(-1)
    else return
    event.preventDefault()
  }
  useEffect(() => {
    const listener = (event: KeyboardEvent) => onKey.current(event)
    window.addEventListener("keydown", listener)
    return () => window.removeEventListener("keydown", listener)
  }, [])

  if (me.role === "viewer") {
    return <p className="py-6 text-slate-800">The review queue is for operators and admins; you are signed in as a viewer.</p>
  }
  return (
    <div className="flex flex-col gap-4">
      <h1 className="text-xl font-bold text-slate-900" tabIndex={-1}>
        Review{waiting !== undefined && waiting > 0 && <span className="font-normal text-slate-700"> · {waiting} waiting</span>}
      </h1>
      <p className="text-slate-800">
        Reads from footage, and reads below their camera's confidence threshold, alert no one until someone confirms or
        corrects them; a rejected read never alerts. Oldest first.
      </p>
      {done !== undefined && <Notice tone="success">{done}</Notice>}
      {sent.state === "failed" && <ProblemNote problem={sent.problem} />}
      {queue.state === "failed" && <ProblemNote problem={queue.problem} />}
      <div ref={region} tabIndex={-1} aria-label="Waiting read"
        className="rounded-xl bg-white p-3 shadow-sm ring-1 ring-slate-200 focus-visible:outline-3 focus-visible:outline-offset-2 focus-visible:outline-blue-600"
        role="region">
        {value === undefined
          ? queue.state !== "failed" && <Loading label="Loading the review queue" />
          : item === undefined
          ? <p className="py-6 text-center text-lg text-slate-800">Nothing waits for review.</p>
          : (
            <Item item={item} position={index} count={items.length} busy={busy} editing={editing}
              sceneShown={sceneShown} onShowScene={() => setSceneShown(true)}
              onDecide={(decision) => void decide(decision)} onEdit={setEditing} onMove={move} />
          )}
      </div>
      {item !== undefined && <KeyLegend />}
      {waiting !== undefined && waiting > items.length && items.length > 0 && (
        <p className="text-sm text-slate-700">The {items.length} oldest are here; the rest come as these are done.</p>
      )}
    </div>
  )
}

export default Review
