import type { Subscriptions } from "@chaverim/domain/Telegram"
import type { WatchlistCategory } from "@chaverim/domain/Watchlist"
import { useEffect, useState } from "react"
import { withApi } from "../../client/api"
import { valueOf } from "../../client/problem"
import { useRpc, withRpc } from "../../client/rpc"
import { useApi, useApiAction } from "../../client/useApi"
import { usePolling } from "../../client/usePolling"
import { CATEGORY_LABEL } from "../../ui/colour"
import { Button, Loading, Notice, ProblemNote } from "../../ui/controls"
import { formatShort } from "../../ui/format"
import { LinkCodeCard } from "./LinkCodeCard"

const CATEGORIES = Object.keys(CATEGORY_LABEL) as ReadonlyArray<WatchlistCategory>

const noop = () => undefined

/** A one-time code and what to do with it: the bot links the chat it is sent from. */
const LinkCode = ({ onMade }: { readonly onMade: () => void }) => {
  const [code, make] = useApiAction(() => withApi((api) => api.telegram.linkCode()))
  return (
    <section aria-labelledby="link-title" className="flex flex-col gap-3 rounded-lg bg-white p-3 ring-1 ring-slate-200">
      <h2 id="link-title" className="font-semibold text-slate-900">Link your Telegram</h2>
      <p className="text-slate-800">
        Alerts reach you in a private chat with the bot. Make a code here, then send it to the bot from your phone.
      </p>
      <Button className="self-start" disabled={code.state === "loading"} onClick={async () => {
        if ((await make()).state === "ready") onMade()
      }}>
        {code.state === "ready" ? "Make a new code" : "Make a link code"}
      </Button>
      {code.state === "failed" && <ProblemNote problem={code.problem} />}
      {code.state === "ready" && <LinkCodeCard code={code.value} />}
    </section>
  )
}

const Checkbox = ({ label, checked, onChange }: { readonly label: string; readonly checked: boolean; readonly onChange: (on: boolean) => void }) => (
  <label className="flex min-h-11 items-center gap-3 text-slate-900">
    <input type="checkbox" className="size-5" checked={checked} onChange={(e) => onChange(e.target.checked)} />
    {label}
  </label>
)

const toggle = <T,>(set: ReadonlyArray<T>, item: T, on: boolean) => (on ? [...new Set([...set, item])] : set.filter((x) => x !== item))

/** Which whole categories and which lists message this person; saved as one set. */
const SubscriptionForm = ({ current, onSaved }: { readonly current: Subscriptions; readonly onSaved: (s: Subscriptions) => void }) => {
  const [lists] = useRpc(() => withRpc((rpc) => rpc.watchlists.list({})), [])
  const [categories, setCategories] = useState(current.categories)
  const [ids, setIds] = useState(current.watchlist_ids)
  const [saved, save] = useApiAction(() =>
    withApi((api) => api.telegram.setSubscriptions({ payload: { categories, watchlist_ids: ids } })))
  return (
    <form className="flex flex-col gap-3" onSubmit={async (event) => {
      event.preventDefault()
      const result = await save()
      if (result.state === "ready") onSaved(result.value)
    }}>
      <fieldset>
        <legend className="mb-1 font-medium text-slate-900">Every list of a category</legend>
        {CATEGORIES.filter((c) => c !== "allow").map((c) => (
          <Checkbox key={c} label={CATEGORY_LABEL[c]} checked={categories.includes(c)} onChange={(on) => setCategories(toggle(categories, c, on))} />
        ))}
      </fieldset>
      <fieldset>
        <legend className="mb-1 font-medium text-slate-900">Single lists</legend>
        {lists.state === "failed" && <ProblemNote problem={lists.problem} />}
        {valueOf(lists)?.length === 0 && <p className="text-slate-700">There are no lists you can see.</p>}
        {valueOf(lists)?.map((l) => (
          <Checkbox key={l.watchlist_id} label={`${l.name} (${CATEGORY_LABEL[l.category]})`} checked={ids.includes(l.watchlist_id)}
            onChange={(on) => setIds(toggle(ids, l.watchlist_id, on))} />
        ))}
      </fieldset>
      {saved.state === "failed" && <ProblemNote problem={saved.problem} />}
      {saved.state === "ready" && <Notice tone="success">Saved.</Notice>}
      <Button type="submit" className="self-start" disabled={saved.state === "loading"}>Save subscriptions</Button>
    </form>
  )
}

/** A volunteer's Telegram: link a chat with a one-time code, choose what alerts it, unlink. */
const Telegram = () => {
  const [loaded, reload] = useApi(() => withApi((api) => api.telegram.subscriptions()), [])
  const [subscriptions, setSubscriptions] = useState<Subscriptions>()
  useEffect(() => {
    if (loaded.state === "ready") setSubscriptions(loaded.value)
  }, [loaded])
  const [unlinked, unlink] = useApiAction(() => withApi((api) => api.telegram.unlink()))
  // While a code is out, the page looks every 5 s for the chat the bot links with it.
  const [waiting, setWaiting] = useState(false)
  const linked = subscriptions?.linked === true
  usePolling(waiting && !linked ? reload : noop, 5)
  useEffect(() => {
    if (linked) setWaiting(false)
  }, [linked])
  return (
    <div className="mx-auto flex max-w-2xl flex-col gap-4">
      <h1 className="text-xl font-bold text-slate-900" tabIndex={-1}>Telegram alerts</h1>
      {loaded.state === "failed" && <ProblemNote problem={loaded.problem} />}
      {subscriptions === undefined
        ? loaded.state !== "failed" && <Loading />
        : (
          <>
            <section aria-label="Linked chat" className="flex flex-wrap items-center gap-3 rounded-lg bg-white p-3 ring-1 ring-slate-200">
              {subscriptions.linked
                ? (
                  <>
                    <p className="text-slate-900">
                      Linked{subscriptions.telegram_username ? ` to @${subscriptions.telegram_username}` : ""}
                      {subscriptions.linked_at ? ` since ${formatShort(subscriptions.linked_at)}` : ""}.
                    </p>
                    <Button variant="danger" className="ml-auto" disabled={unlinked.state === "loading"} onClick={async () => {
                      if (!window.confirm("Unlink your Telegram? Alerts stop reaching it at once.")) return
                      if ((await unlink()).state === "ready") reload()
                    }}>
                      Unlink
                    </Button>
                  </>
                )
                : <p className="text-slate-900">No chat is linked: alerts do not reach your Telegram yet.</p>}
              {unlinked.state === "failed" && <ProblemNote problem={unlinked.problem} />}
            </section>
            {!subscriptions.linked && <LinkCode onMade={() => setWaiting(true)} />}
            <section aria-labelledby="subs-title" className="flex flex-col gap-3 rounded-lg bg-white p-3 ring-1 ring-slate-200">
              <h2 id="subs-title" className="font-semibold text-slate-900">What alerts you</h2>
              <SubscriptionForm key={subscriptions.linked_at ?? "none"} current={subscriptions} onSaved={setSubscriptions} />
            </section>
          </>
        )}
    </div>
  )
}

export default Telegram
