import { type KeyboardEvent, type PointerEvent, useEffect, useRef, useState } from "react"
import { Button } from "../../ui/controls"

const MIN = 1
const MAX = 8
const STEP = 1.25

interface View {
  readonly scale: number
  readonly x: number
  readonly y: number
}

const FIT: View = { scale: 1, x: 0, y: 0 }

const clampScale = (scale: number) => Math.min(MAX, Math.max(MIN, scale))

/** Zoomed by `factor` about the point (`cx`, `cy`), given from the frame's centre: that point stays under the finger or pointer. */
const zoomAbout = (view: View, factor: number, cx = 0, cy = 0): View => {
  const scale = clampScale(view.scale * factor)
  if (scale === MIN) return FIT
  const k = scale / view.scale
  return { scale, x: cx - (cx - view.x) * k, y: cy - (cy - view.y) * k }
}

/**
 * A photo opened large over the page (a modal `<dialog>`: Escape closes it, focus stays inside and
 * goes back where it was): + and − buttons, the wheel and two fingers zoom, dragging pans, and the
 * keyboard does both (+, −, arrows, 0 to fit).
 */
export const PhotoZoom = ({ src, alt, onClose }: {
  readonly src: string
  readonly alt: string
  readonly onClose: () => void
}) => {
  const dialog = useRef<HTMLDialogElement>(null)
  const frame = useRef<HTMLDivElement>(null)
  const [view, setView] = useState<View>(FIT)
  const pointers = useRef(new Map<number, { x: number; y: number }>())
  const pinch = useRef<number | undefined>(undefined)

  useEffect(() => {
    const element = dialog.current
    if (element === null) return
    const before = document.activeElement as HTMLElement | null
    element.showModal()
    return () => {
      if (element.open) element.close()
      before?.focus()
    }
  }, [])

  // The wheel zooms the photo, not the page: a listener that may cancel (React's wheel handlers are passive).
  useEffect(() => {
    const element = frame.current
    if (element === null) return
    const wheel = (event: WheelEvent) => {
      event.preventDefault()
      const box = element.getBoundingClientRect()
      const cx = event.clientX - box.left - box.width / 2
      const cy = event.clientY - box.top - box.height / 2
      setView((v) => zoomAbout(v, event.deltaY < 0 ? STEP : 1 / STEP, cx, cy))
    }
    element.addEventListener("wheel", wheel, { passive: false })
    return () => element.removeEventListener("wheel", wheel)
  }, [])

  const fromCentre = (event: { clientX: number; clientY: number }) => {
    const box = frame.current!.getBoundingClientRect()
    return { x: event.clientX - box.left - box.width / 2, y: event.clientY - box.top - box.height / 2 }
  }

  const down = (event: PointerEvent<HTMLDivElement>) => {
    event.currentTarget.setPointerCapture(event.pointerId)
    pointers.current.set(event.pointerId, { x: event.clientX, y: event.clientY })
    pinch.current = undefined
  }
  const move = (event: PointerEvent<HTMLDivElement>) => {
    const last = pointers.current.get(event.pointerId)
    if (last === undefined) return
    const now = { x: event.clientX, y: event.clientY }
    pointers.current.set(event.pointerId, now)
    if (pointers.current.size === 1) {
      setView((v) => (v.scale === MIN ? v : { ...v, x: v.x + now.x - last.x, y: v.y + now.y - last.y }))
      return
    }
    const [a, b] = [...pointers.current.values()] as [{ x: number; y: number }, { x: number; y: number }]
    const distance = Math.hypot(a.x - b.x, a.y - b.y)
    const before = pinch.current
    pinch.current = distance
    if (before === undefined || before === 0) return
    const centre = fromCentre({ clientX: (a.x + b.x) / 2, clientY: (a.y + b.y) / 2 })
    setView((v) => zoomAbout(v, distance / before, centre.x, centre.y))
  }
  const up = (event: PointerEvent<HTMLDivElement>) => {
    pointers.current.delete(event.pointerId)
    pinch.current = undefined
  }

  const PAN = 60
  const keys = (event: KeyboardEvent) => {
    const change: Record<string, (v: View) => View> = {
      "+": (v) => zoomAbout(v, STEP),
      "=": (v) => zoomAbout(v, STEP),
      "-": (v) => zoomAbout(v, 1 / STEP),
      "0": () => FIT,
      ArrowLeft: (v) => ({ ...v, x: v.x + PAN }),
      ArrowRight: (v) => ({ ...v, x: v.x - PAN }),
      ArrowUp: (v) => ({ ...v, y: v.y + PAN }),
      ArrowDown: (v) => ({ ...v, y: v.y - PAN })
    }
    const apply = change[event.key]
    if (apply === undefined) return
    event.preventDefault()
    setView((v) => (v.scale === MIN && event.key.startsWith("Arrow") ? v : apply(v)))
  }

  return (
    <dialog ref={dialog} aria-label={`${alt}, zoomed`} onClose={onClose} onKeyDown={keys}
      className="m-0 hidden h-dvh max-h-none w-screen max-w-none flex-col bg-slate-950 p-0 text-white backdrop:bg-black/80 open:flex">
      <div className="flex flex-wrap items-center gap-2 p-2">
        <Button variant="secondary" aria-label="Zoom in" onClick={() => setView((v) => zoomAbout(v, STEP))} disabled={view.scale >= MAX}>+</Button>
        <Button variant="secondary" aria-label="Zoom out" onClick={() => setView((v) => zoomAbout(v, 1 / STEP))} disabled={view.scale <= MIN}>−</Button>
        <Button variant="secondary" onClick={() => setView(FIT)} disabled={view.scale === MIN}>Fit</Button>
        <span role="status" className="px-2 text-sm text-slate-200">{Math.round(view.scale * 100)}%</span>
        <Button variant="secondary" className="ml-auto" autoFocus onClick={() => dialog.current?.close()}>Close</Button>
      </div>
      <p className="sr-only">Plus and minus zoom, the arrow keys move the photo, 0 fits it, Escape closes.</p>
      <div ref={frame} tabIndex={0} aria-label="The photo: drag or use the arrow keys to move it"
        onPointerDown={down} onPointerMove={move} onPointerUp={up} onPointerCancel={up}
        className={`relative min-h-0 flex-1 touch-none overflow-hidden select-none focus-visible:outline-3 focus-visible:outline-blue-400 ${view.scale > MIN ? "cursor-grab active:cursor-grabbing" : ""}`}>
        <img src={src} alt={alt} draggable={false} data-scale={view.scale}
          style={{ transform: `translate(${view.x}px, ${view.y}px) scale(${view.scale})` }}
          className="absolute inset-0 size-full object-contain transition-transform duration-75 ease-out" />
      </div>
    </dialog>
  )
}
