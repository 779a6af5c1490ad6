import { lazy, type ReactNode, Suspense, useEffect, useRef } from "react"
import { DISPLAY_ENDED, type SessionState, useSession, wasDisplay } from "./client/session"
import { navigate, useLocation } from "./router"
import { Loading } from "./ui/controls"
import { PageBoundary } from "./ui/PageBoundary"
import { Unreachable } from "./views/Unreachable"
import { Search } from "./views/operator/Search"
import { Shell } from "./views/Shell"
import { SignIn } from "./views/signin/SignIn"

// Leaflet, the admin panel, the wall and every page but search are loaded when first visited, not with
// the operator's first page.
const PlatePage = lazy(() => import("./views/plate/PlatePage"))
const ReadPage = lazy(() => import("./views/read/ReadPage"))
const Admin = lazy(() => import("./views/admin/Admin"))
const Wall = lazy(() => import("./views/wall/Wall"))
const Alerts = lazy(() => import("./views/alerts/Alerts"))
const Watchlists = lazy(() => import("./views/watchlists/Watchlists"))
const Telegram = lazy(() => import("./views/telegram/Telegram"))
const EmailAlerts = lazy(() => import("./views/email/EmailAlerts"))
const Pair = lazy(() => import("./views/pair/Pair"))
const Holds = lazy(() => import("./views/holds/Holds"))
const KnownPlates = lazy(() => import("./views/plates/KnownPlates"))
const Places = lazy(() => import("./views/places/Places"))
const Stats = lazy(() => import("./views/stats/Stats"))
const Transparency = lazy(() => import("./views/transparency/Transparency"))
const Footage = lazy(() => import("./views/footage/Footage"))
const Review = lazy(() => import("./views/review/Review"))

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
  const read = /^\/read\/([^/]+)$/.exec(path)
  if (read) return { key: `read:${read[1]}`, view: <ReadPage key={read[1]} id={decodeURIComponent(read[1]!)} /> }
  const admin = /^\/admin(?:\/([a-z]+))?$/.exec(path)
  if (admin) return { key: "admin", view: <Admin section={admin[1] ?? "users"} /> }
  if (path === "/wall") return { key: "wall", view: <Wall />, bare: true }
  if (path === "/pair") return { key: "pair", view: null, bare: true }
  if (path === "/transparency") return { key: "transparency", view: <Transparency />, bare: true }
  if (path === "/alerts") return { key: "alerts", view: <Alerts /> }
  if (path === "/lists") return { key: "lists", view: <Watchlists /> }
  if (path === "/telegram") return { key: "telegram", view: <Telegram /> }
  if (path === "/email") return { key: "email", view: <EmailAlerts /> }
  if (path === "/holds") return { key: "holds", view: <Holds /> }
  if (path === "/known") return { key: "known", view: <KnownPlates /> }
  if (path === "/places") return { key: "places", view: <Places /> }
  if (path === "/stats") return { key: "stats", view: <Stats /> }
  if (path === "/footage") return { key: "footage", view: <Footage /> }
  if (path === "/review") return { key: "review", view: <Review /> }
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

/**
 * Where a session may not be: a wall display's shows the wall and nothing else; a display whose
 * session ended pairs again (so does a signed-out `/wall` in a browser that was a display, the kiosk).
 */
const redirectOf = (session: SessionState, path: string): string | undefined => {
  if (session.state === "signed-in" && session.me.display) return path === "/wall" ? undefined : "/wall"
  // A volunteer (viewer) lands on the alerts: searching and a plate's pages need the operator role.
  if (session.state === "signed-in" && session.me.role === "viewer" && (path === "/" || path === "/places" || path === "/stats" || path === "/known" || path === "/footage" || path === "/review" || path.startsWith("/plate/") || path.startsWith("/read/"))) return "/alerts"
  if (session.state === "signed-out" && path === "/wall" && (session.display === true || wasDisplay())) return "/pair"
  return undefined
}

export const App = () => {
  const { session, recheck } = useSession()
  const { path } = useLocation()
  const redirect = redirectOf(session, path)
  const route = routeOf(redirect ?? path)
  useFocusHeadingOnNavigation(route.key)
  useEffect(() => {
    if (redirect !== undefined) navigate(redirect, { replace: true })
  }, [redirect])

  // The transparency page is public: the same for everyone, signed in or not.
  if (route.key === "transparency") return <Suspense fallback={<Loading />}>{route.view}</Suspense>
  if (session.state === "checking") return <main className="p-6"><Loading label="Connecting" /></main>
  if (session.state === "unreachable") return <Unreachable problem={session.problem} onRetry={recheck} dark={route.bare === true} />
  // Pairing is public; a person's session in this browser is replaced by the display's.
  if (route.key === "pair") {
    return (
      <Suspense fallback={<Loading />}>
        {session.state === "signed-out"
          ? <Pair notice={session.display === true || wasDisplay() ? DISPLAY_ENDED : undefined} />
          : <Pair signedInAs={session.me} />}
      </Suspense>
    )
  }
  if (session.state === "signed-out") return <SignIn notice={session.display === true ? undefined : session.notice} onWall={path === "/wall"} />

  const view = (
    <PageBoundary resetKey={route.key} dark={route.bare === true}>
      <Suspense fallback={<Loading />}>{route.view}</Suspense>
    </PageBoundary>
  )
  return route.bare ? view : <Shell>{view}</Shell>
}
