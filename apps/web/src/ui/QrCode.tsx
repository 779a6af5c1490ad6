import { useEffect, useState } from "react"

/** A QR code drawn as SVG; the encoder is loaded only when one is shown. */
export const QrCode = ({ text, label, size = 224 }: { readonly text: string; readonly label: string; readonly size?: number }) => {
  const [src, setSrc] = useState<string>()
  useEffect(() => {
    let live = true
    void import("qrcode")
      .then(({ toString }) => toString(text, { type: "svg", margin: 2, errorCorrectionLevel: "M" }))
      .then((svg) => live && setSrc(`data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`))
    return () => void (live = false)
  }, [text])
  return src === undefined
    ? <div style={{ width: size, height: size }} className="animate-pulse rounded bg-slate-200" aria-hidden />
    : <img src={src} alt={label} width={size} height={size} className="rounded bg-white" />
}
