import { type ComponentProps, lazy, Suspense } from "react"

const CameraMap = lazy(() => import("./CameraMap"))

/** The map with Leaflet loaded on first use: its code is not part of the first page. */
export const LazyMap = (props: ComponentProps<typeof CameraMap>) => (
  <Suspense fallback={<div className={`animate-pulse rounded-lg ${props.dark ? "bg-slate-900" : "bg-slate-300"} ${props.className ?? "h-80"}`} aria-hidden />}>
    <CameraMap {...props} />
  </Suspense>
)
