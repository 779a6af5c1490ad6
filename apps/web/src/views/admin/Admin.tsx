import { useMe } from "../../client/session"
import { Link } from "../../router"
import { Audit } from "./Audit"
import { Cameras } from "./Cameras"
import { WatchlistManager } from "../watchlists/Watchlists"
import { Collectors } from "./Collectors"
import { Deliveries } from "./Deliveries"
import { Displays } from "./Displays"
import { Email } from "./Email"
import { Evidence } from "./Evidence"
import { Health } from "./Health"
import { Mqtt } from "./Mqtt"
import { ReasonCodes } from "./ReasonCodes"
import { Partners } from "./Partners"
import { Retention } from "./Retention"
import { Users } from "./Users"
import { Webhooks } from "./Webhooks"

const AllWatchlists = () => <WatchlistManager path="/admin/watchlists" />

const SECTIONS = [
  { key: "users", label: "Users", view: Users },
  { key: "collectors", label: "Collectors", view: Collectors },
  { key: "health", label: "Health", view: Health },
  { key: "displays", label: "Displays", view: Displays },
  { key: "cameras", label: "Cameras", view: Cameras },
  { key: "watchlists", label: "Watchlists", view: AllWatchlists },
  { key: "telegram", label: "Telegram", view: Deliveries },
  { key: "webhooks", label: "Webhooks", view: Webhooks },
  { key: "mqtt", label: "MQTT", view: Mqtt },
  { key: "email", label: "E-mail", view: Email },
  { key: "reasons", label: "Reason codes", view: ReasonCodes },
  { key: "evidence", label: "Evidence exports", view: Evidence },
  { key: "partners", label: "Partners", view: Partners },
  { key: "retention", label: "Retention", view: Retention },
  { key: "audit", label: "Audit log", view: Audit }
] as const

/** The admin panel: everything here goes over the RPC socket, and every change is audited. */
const Admin = ({ section }: { readonly section: string }) => {
  const me = useMe()
  const current = SECTIONS.find((s) => s.key === section)
  if (me.role !== "admin") {
    return <p className="py-6 text-slate-800">The admin panel needs the admin role; you are signed in as {me.role}.</p>
  }
  return (
    <div className="flex flex-col gap-4">
      <h1 className="text-xl font-bold text-slate-900" tabIndex={-1}>Admin: {current?.label ?? "not found"}</h1>
      <nav aria-label="Admin sections" className="flex flex-wrap gap-x-1 border-b border-slate-300">
        {SECTIONS.map((s) => (
          <Link key={s.key} to={`/admin/${s.key}`} aria-current={s.key === section ? "page" : undefined}
            className={`min-h-11 whitespace-nowrap border-b-3 px-2 py-2.5 font-medium sm:px-3 ${
              s.key === section ? "border-blue-700 text-blue-900" : "border-transparent text-slate-700 hover:text-slate-950"}`}>
            {s.label}
          </Link>
        ))}
      </nav>
      {current ? <current.view /> : <p>There is no such section.</p>}
    </div>
  )
}

export default Admin
