import { lazy, type ReactNode, Suspense, useEffect, useRef } from "react"
import { useSession } from "./client/session"
import { useLocation } from "./router"
import { Loading } from "./ui/controls"
import { Unreachable } from "./views/Unreachable"
import { Search } from "./views/operator/Search"
import { Shell } from "./views/Shell"
import { SignIn } from "./views/signin/SignIn"

// Leaflet, the admin panel, the wall and every page but search are loaded when first visited, not with
// the operator's first page.
const PlatePage = lazy(() => import("./views/plate/PlatePage"))
const Admin = lazy(() => import("./views/admin/Admin"))
const Wall = lazy(() => import("./views/wall/Wall"))
const Alerts = lazy(() => import("./views/alerts/Alerts"))
const Watchlists = lazy(() => import("./views/watchlists/Watchlists"))
const Telegram = lazy(() => import("./views/telegram/Telegram"))

const NotFound = () => (
  <div className="py-8">
    <h1 className="text-2xl font-bold" tabIndex={-1}>Page not found</h1>
    <p className="mt-2 text-slate-700">There is nothing at this address. Use the menu above.</p>
  </div>
)

const routeOf = (path: string): { readonly key: string; readonly view: ReactNode; readonly bare?: boolean } => {
  if (path === "/") return { key: "search", view: <Search /> }
  const plate = /^\/plate\/([^/]+)$/.exec(path)
  if (plate) return { key: `plate:${plate[1]}`, view: <PlatePage plate={decodeURIComponent(plate[1]!)} /> }
  const admin = /^\/admin(?:\/([a-z]+))?$/.exec(path)
  if (admin) return { key: "admin", view: <Admin section={admin[1] ?? "users"} /> }
  if (path === "/wall") return { key: "wall", view: <Wall />, bare: true }
  if (path === "/alerts") return { key: "alerts", view: <Alerts /> }
  if (path === "/lists") return { key: "lists", view: <Watchlists /> }
  if (path === "/telegram") return { key: "telegram", view: <Telegram /> }
  return { key: "not-found", view: <NotFound /> }
}

/** After a navigation, focus moves to the new page's heading (not on the first load). */
const useFocusHeadingOnNavigation = (key: string) => {
  const first = useRef(true)
  useEffect(() => {
    if (first.current) {
      first.current = false
      return
    }
    const heading = document.querySelector<HTMLElement>("main h1")
    heading?.focus({ preventScroll: true })
  }, [key])
}

export const App = () => {
  const { session, recheck } = useSession()
  const { path } = useLocation()
  const route = routeOf(path)
  useFocusHeadingOnNavigation(route.key)

  if (session.state === "checking") return <main className="p-6"><Loading label="Connecting" /></main>
  if (session.state === "unreachable") return <Unreachable problem={session.problem} onRetry={recheck} dark={route.bare === true} />
  if (session.state === "signed-out") return <SignIn notice={session.notice} />

  const view = <Suspense fallback={<Loading />}>{route.view}</Suspense>
  return route.bare ? view : <Shell>{view}</Shell>
}
