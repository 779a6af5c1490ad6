import type { ReactNode } from "react"
import { useReviewCount } from "../client/reviewCount"
import { useMe, useSession } from "../client/session"
import { Link, useLocation } from "../router"

const NavLink = ({ to, children, current }: { readonly to: string; readonly children: ReactNode; readonly current: boolean }) => (
  <Link to={to} aria-current={current ? "page" : undefined}
    className={`rounded-md px-2 py-2 text-sm font-medium sm:px-3 xl:px-2 ${current ? "bg-slate-700 text-white" : "text-slate-200 hover:bg-slate-800"}`}>
    {children}
  </Link>
)

/** The operator's and admin's frame: a compact bar that fits a 360 px phone, and the page. */
export const Shell = ({ children }: { readonly children: ReactNode }) => {
  const me = useMe()
  const { signOut } = useSession()
  const { path } = useLocation()
  const waiting = useReviewCount(me.role !== "viewer", path)
  return (
    <div className="min-h-dvh bg-slate-100">
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-[2000] focus:rounded focus:bg-white focus:px-3 focus:py-2">
        Skip to content
      </a>
      <header className="bg-slate-900 text-white">
        {/* On a phone, a tablet and a small laptop: the name, who is signed in and Sign out on the first
            line, the pages on a second line that scrolls sideways rather than wrapping (on a phone); from
            xl up, one line, the name of who is signed in shortened where the pages need the room. */}
        <nav aria-label="Main" className="mx-auto flex max-w-6xl flex-wrap items-center gap-x-1 gap-y-1 px-1 py-2 sm:px-2 xl:flex-nowrap">
          <Link to="/" className="order-1 mr-1 shrink-0 whitespace-nowrap px-2 py-1 font-bold tracking-tight"><span className="hidden sm:inline">Chaverim </span>ALPR</Link>
          <div className="order-3 flex w-full gap-0.5 overflow-x-auto whitespace-nowrap sm:gap-1 xl:order-2 xl:w-auto xl:shrink-0 xl:overflow-visible">
            {me.role !== "viewer" && <NavLink to="/" current={path === "/" || path.startsWith("/plate/")}>Search</NavLink>}
            {me.role !== "viewer" && <NavLink to="/places" current={path === "/places"}>Places</NavLink>}
            {me.role !== "viewer" && <NavLink to="/footage" current={path === "/footage"}>Footage</NavLink>}
            {me.role !== "viewer" && (
              <NavLink to="/review" current={path === "/review"}>
                Review
                {waiting !== undefined && waiting > 0 && (
                  <>
                    <span aria-hidden className="ml-1 rounded-full bg-amber-300 px-1.5 text-xs font-bold text-slate-950">{waiting}</span>
                    <span className="sr-only"> ({waiting} waiting)</span>
                  </>
                )}
              </NavLink>
            )}
            <NavLink to="/alerts" current={path === "/alerts"}>Alerts</NavLink>
            <NavLink to="/lists" current={path === "/lists"}>Lists</NavLink>
            <NavLink to="/telegram" current={path === "/telegram"}>Telegram</NavLink>
            <NavLink to="/email" current={path === "/email"}>E-mail</NavLink>
            {me.role !== "viewer" && <NavLink to="/holds" current={path === "/holds"}>Holds</NavLink>}
            {me.role !== "viewer" && <NavLink to="/stats" current={path === "/stats"}>Stats</NavLink>}
            {me.role === "admin" && <NavLink to="/admin" current={path.startsWith("/admin")}>Admin</NavLink>}
            <NavLink to="/wall" current={false}>Wall</NavLink>
          </div>
          <span className="order-2 ml-auto flex min-w-0 items-center gap-2 xl:order-3">
            <span className="truncate text-sm text-slate-300" data-testid="signed-in-as">{me.username} · {me.role}</span>
            <button type="button" onClick={() => void signOut()}
              className="shrink-0 rounded-md px-2 py-2 text-sm font-medium text-slate-200 sm:px-3 hover:bg-slate-800 focus-visible:outline-2 focus-visible:outline-white">
              Sign out
            </button>
          </span>
        </nav>
      </header>
      <main id="main" className="mx-auto max-w-6xl px-3 pb-12 pt-4 sm:px-4">{children}</main>
    </div>
  )
}
