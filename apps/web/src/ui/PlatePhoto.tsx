import { useEffect, useState } from "react"

/**
 * Removing an element does not stop its request; emptying its source does. One function for every
 * photo, so that React calls it when the element comes and goes, not at every render (a new callback
 * each render would be detached and attached again, and empty a photo still loading).
 */
const abandonWhenRemoved = (img: HTMLImageElement | null) => {
  if (img === null) return
  return () => {
    if (!img.complete) img.src = ""
  }
}

const VIEW_PARAM = /[?&]view=/

/** A link without its view token: the photo asked for by itself (audited by itself). */
const withoutView = (src: string) => {
  const at = src.indexOf("?")
  const params = new URLSearchParams(src.slice(at + 1))
  params.delete("view")
  params.delete("event")
  const query = params.toString()
  return query === "" ? src.slice(0, at) : `${src.slice(0, at)}?${query}`
}

/**
 * A photo from the evidence store (same origin, with the session cookie); a plain box when there is none.
 *
 * `delayMs`: ask for it only once it has been on screen that long. The wall's live tiles come and go
 * faster than anyone can look at them at a busy time (24 tiles at 50 reads a second live half a
 * second): each photo is an audited request, and a queue of them would hold gone tiles in memory and
 * delay the ones still on screen. A photo still loading when its element goes is abandoned.
 *
 * A link with a view token (a search page's, the live feed's) whose view has expired by the time the
 * photo is shown again is asked for once more without it.
 */
export const PlatePhoto = ({ src, alt, className = "", dark = false, delayMs = 0 }: {
  readonly src: string | undefined
  readonly alt: string
  readonly className?: string
  readonly dark?: boolean
  readonly delayMs?: number
}) => {
  const [due, setDue] = useState<string | undefined>(undefined)
  const [broken, setBroken] = useState<string | undefined>(undefined)
  const [unviewed, setUnviewed] = useState<string | undefined>(undefined)
  useEffect(() => {
    if (delayMs === 0 || src === undefined) return
    const timer = setTimeout(() => setDue(src), delayMs)
    return () => clearTimeout(timer)
  }, [src, delayMs])
  const asked = delayMs === 0 || due === src ? src : undefined
  const shown = asked !== undefined && unviewed === asked ? withoutView(asked) : asked
  const box = `flex items-center justify-center rounded text-xs ${dark ? "bg-slate-800 text-slate-300" : "bg-slate-200 text-slate-700"} ${className}`
  if (src === undefined || broken === src) {
    return <div className={box}>{src === undefined ? "no photo" : "photo unavailable"}</div>
  }
  if (shown === undefined) return <div className={box} aria-hidden />
  return (
    <img src={shown} alt={alt} loading="lazy" decoding="async" onError={() => (VIEW_PARAM.test(shown) ? setUnviewed(src) : setBroken(src))}
      ref={abandonWhenRemoved}
      className={`rounded bg-black object-contain ${className}`} />
  )
}
