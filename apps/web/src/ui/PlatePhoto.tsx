import { useState } from "react"

/** A photo from the evidence store (same origin, with the session cookie); a plain box when there is none. */
export const PlatePhoto = ({ src, alt, className = "", dark = false }: {
  readonly src: string | undefined
  readonly alt: string
  readonly className?: string
  readonly dark?: boolean
}) => {
  const [broken, setBroken] = useState(false)
  if (src === undefined || broken) {
    return (
      <div className={`flex items-center justify-center rounded text-xs ${dark ? "bg-slate-800 text-slate-300" : "bg-slate-200 text-slate-700"} ${className}`}>
        {src === undefined ? "no photo" : "photo unavailable"}
      </div>
    )
  }
  return <img src={src} alt={alt} loading="lazy" decoding="async" onError={() => setBroken(true)}
    className={`rounded bg-black object-contain ${className}`} />
}
