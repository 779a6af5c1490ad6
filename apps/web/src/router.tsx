import { type AnchorHTMLAttributes, type MouseEvent, useSyncExternalStore } from "react"

/** A small router over the History API: the app has a handful of routes, all listed in App.tsx. */

const NAVIGATED = "alpr:navigated"

const subscribe = (onChange: () => void) => {
  window.addEventListener("popstate", onChange)
  window.addEventListener(NAVIGATED, onChange)
  return () => {
    window.removeEventListener("popstate", onChange)
    window.removeEventListener(NAVIGATED, onChange)
  }
}

const snapshot = () => window.location.pathname + window.location.search

export const navigate = (to: string, options: { readonly replace?: boolean } = {}) => {
  if (to === snapshot()) return
  if (options.replace) window.history.replaceState(null, "", to)
  else window.history.pushState(null, "", to)
  window.scrollTo(0, 0)
  window.dispatchEvent(new Event(NAVIGATED))
}

/** The current path and query, e.g. `/plate/ABC123` and `?plate=ABC&mode=ocr`. */
export const useLocation = () => {
  const current = useSyncExternalStore(subscribe, snapshot)
  const url = new URL(current, window.location.origin)
  return { path: url.pathname, query: url.searchParams }
}

const plainClick = (event: MouseEvent) =>
  event.button === 0 && !event.metaKey && !event.ctrlKey && !event.shiftKey && !event.altKey

export const Link = ({ to, onClick, ...props }: { readonly to: string } & AnchorHTMLAttributes<HTMLAnchorElement>) => (
  <a
    href={to}
    onClick={(event) => {
      onClick?.(event)
      if (event.defaultPrevented || !plainClick(event)) return
      event.preventDefault()
      navigate(to)
    }}
    {...props}
  />
)
