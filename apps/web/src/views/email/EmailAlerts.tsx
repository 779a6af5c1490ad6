import type { EmailMe } from "@chaverim/domain/rpc/Email"
import type { WatchlistCategory } from "@chaverim/domain/Watchlist"
import { useEffect, useState } from "react"
import { valueOf } from "../../client/problem"
import { useRpc, useRpcAction, withRpc } from "../../client/rpc"
import { CATEGORY_LABEL } from "../../ui/colour"
import { Button, Loading, Notice, ProblemNote, TextField } from "../../ui/controls"

const CATEGORIES = (Object.keys(CATEGORY_LABEL) as ReadonlyArray<WatchlistCategory>).filter((c) => c !== "allow")

const Address = ({ me, onSaved }: { readonly me: EmailMe; readonly onSaved: (me: EmailMe) => void }) => {
  const [address, setAddress] = useState(me.address ?? "")
  const [saved, save] = useRpcAction(() =>
    withRpc((rpc) => rpc.email.setAddress({ address: address.trim() === "" ? null : address.trim() })))
  return (
    <form className="flex flex-wrap items-end gap-2" aria-label="Address for alerts" onSubmit={async (event) => {
      event.preventDefault()
      const result = await save()
      if (result.state === "ready") onSaved(result.value)
    }}>
      <TextField label="Your e-mail address" type="email" value={address} onChange={(e) => setAddress(e.target.value)}
        maxLength={254} autoComplete="email" className="min-w-64 flex-1" hint="Empty: no e-mail alerts." />
      <Button type="submit" disabled={saved.state === "loading"}>Save address</Button>
      {saved.state === "failed" && <ProblemNote problem={saved.problem} />}
    </form>
  )
}

const Toggle = ({ label, on, onChange }: { readonly label: string; readonly on: boolean; readonly onChange: (on: boolean) => Promise<void> }) => {
  const [busy, setBusy] = useState(false)
  return (
    <label className="flex min-h-11 items-center gap-3 text-slate-900">
      <input type="checkbox" className="size-5" checked={on} disabled={busy} onChange={async (e) => {
        setBusy(true)
        await onChange(e.target.checked)
        setBusy(false)
      }} />
      {label}
    </label>
  )
}

/** A person's e-mail alerts: their address, and which categories and lists e-mail them (saved at each click). */
const EmailAlerts = () => {
  const [loaded] = useRpc(() => withRpc((rpc) => rpc.email.me()), [])
  const [lists] = useRpc(() => withRpc((rpc) => rpc.watchlists.list({})), [])
  const [me, setMe] = useState<EmailMe>()
  useEffect(() => {
    if (loaded.state === "ready") setMe(loaded.value)
  }, [loaded])
  const [changed, change] = useRpcAction((on: boolean, to: { readonly watchlist_id: string } | { readonly category: WatchlistCategory }) =>
    withRpc((rpc) => (on ? rpc.email.subscribe(to) : rpc.email.unsubscribe(to))))
  const set = async (on: boolean, to: { readonly watchlist_id: string } | { readonly category: WatchlistCategory }) => {
    const result = await change(on, to)
    if (result.state === "ready") setMe(result.value)
  }
  return (
    <div className="mx-auto flex max-w-2xl flex-col gap-4">
      <h1 className="text-xl font-bold text-slate-900" tabIndex={-1}>E-mail alerts</h1>
      {loaded.state === "failed" && <ProblemNote problem={loaded.problem} />}
      {me === undefined ? loaded.state !== "failed" && <Loading /> : (
        <>
          {!me.enabled && <Notice tone="warning">This server does not send e-mail yet (an admin sets it up); what you choose here waits for it.</Notice>}
          <section className="rounded-lg bg-white p-3 ring-1 ring-slate-200">
            <Address me={me} onSaved={setMe} />
          </section>
          <section aria-labelledby="email-subs" className="flex flex-col gap-2 rounded-lg bg-white p-3 ring-1 ring-slate-200">
            <h2 id="email-subs" className="font-semibold text-slate-900">What e-mails you</h2>
            <p className="text-sm text-slate-700">Alerts close together come in one e-mail.</p>
            <fieldset>
              <legend className="mb-1 font-medium text-slate-900">Every list of a category</legend>
              {CATEGORIES.map((c) => (
                <Toggle key={c} label={CATEGORY_LABEL[c]} on={me.categories.includes(c)} onChange={(on) => set(on, { category: c })} />
              ))}
            </fieldset>
            <fieldset>
              <legend className="mb-1 font-medium text-slate-900">Single lists</legend>
              {lists.state === "failed" && <ProblemNote problem={lists.problem} />}
              {valueOf(lists)?.map((l) => (
                <Toggle key={l.watchlist_id} label={`${l.name} (${CATEGORY_LABEL[l.category]})`} on={me.watchlist_ids.includes(l.watchlist_id)}
                  onChange={(on) => set(on, { watchlist_id: l.watchlist_id })} />
              ))}
            </fieldset>
            {changed.state === "failed" && <ProblemNote problem={changed.problem} />}
          </section>
        </>
      )}
    </div>
  )
}

export default EmailAlerts
