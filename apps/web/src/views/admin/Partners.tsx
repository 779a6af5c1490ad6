import { PARTNER_SCOPES, type Partner, type PartnerScope } from "@chaverim/domain/rpc/Partners"
import { useState } from "react"
import { useRpc, useRpcAction, withRpc } from "../../client/rpc"
import { Badge, Button, Loaded, OnceValue, ProblemNote, TextField } from "../../ui/controls"
import { formatDate } from "../../ui/format"

const SCOPE_LABEL: Readonly<Record<PartnerScope, string>> = {
  upload: "Upload footage",
  search: "Search (with a reason)",
  export: "Export"
}

const quotaOf = (text: string) => (text.trim() === "" ? undefined : Number(text))

const NewPartner = ({ onCreated }: { readonly onCreated: (token: string, partner: Partner) => void }) => {
  const [organisation, setOrganisation] = useState("")
  const [scopes, setScopes] = useState<ReadonlyArray<PartnerScope>>(["upload"])
  const [daily, setDaily] = useState("")
  const [monthly, setMonthly] = useState("")
  const [created, create] = useRpcAction(() =>
    withRpc((rpc) =>
      rpc.partners.create({
        organisation: organisation.trim(),
        scopes,
        ...(quotaOf(daily) === undefined ? {} : { daily_quota: quotaOf(daily)! }),
        ...(quotaOf(monthly) === undefined ? {} : { monthly_quota: quotaOf(monthly)! })
      })
    )
  )
  return (
    <form className="flex flex-col gap-3 rounded-lg bg-white p-3 ring-1 ring-slate-200" aria-label="New partner token"
      onSubmit={async (event) => {
        event.preventDefault()
        const result = await create()
        if (result.state === "ready") {
          setOrganisation("")
          onCreated(result.value.token, result.value.partner)
        }
      }}>
      <h2 className="font-semibold text-slate-900">New partner token</h2>
      <div className="grid gap-3 sm:grid-cols-3">
        <TextField label="Organisation" value={organisation} onChange={(e) => setOrganisation(e.target.value)} required maxLength={200} />
        <TextField label="Calls a day" type="number" min={1} value={daily} onChange={(e) => setDaily(e.target.value)}
          hint="Empty: no daily limit. Counted per UTC day." />
        <TextField label="Calls a month" type="number" min={1} value={monthly} onChange={(e) => setMonthly(e.target.value)}
          hint="Empty: no monthly limit." />
      </div>
      <fieldset className="flex flex-wrap gap-3">
        <legend className="text-sm font-medium text-slate-800">What it may do</legend>
        {PARTNER_SCOPES.map((scope) => (
          <label key={scope} className="flex items-center gap-1 text-slate-800">
            <input type="checkbox" checked={scopes.includes(scope)}
              onChange={(e) => setScopes(e.target.checked ? [...scopes, scope] : scopes.filter((s) => s !== scope))} />
            {SCOPE_LABEL[scope]}
          </label>
        ))}
      </fieldset>
      {created.state === "failed" && <ProblemNote problem={created.problem} />}
      <Button type="submit" disabled={created.state === "loading" || scopes.length === 0} className="self-start">Issue token</Button>
    </form>
  )
}

const PartnerRow = ({ partner, onChanged }: { readonly partner: Partner; readonly onChanged: () => void }) => {
  const [revoked, revoke] = useRpcAction(() => withRpc((rpc) => rpc.partners.revoke({ partner_id: partner.partner_id })))
  const limit = (used: number, quota: number | null) => (quota === null ? `${used}` : `${used} of ${quota}`)
  return (
    <li className="flex flex-col gap-1 rounded-lg bg-white p-3 ring-1 ring-slate-200" aria-label={`Partner ${partner.organisation}`}>
      <div className="flex flex-wrap items-center gap-2">
        <span className="font-semibold text-slate-900">{partner.organisation}</span>
        {partner.revoked_at === null ? <Badge tone="good">active</Badge> : <Badge tone="neutral">revoked {formatDate(partner.revoked_at)}</Badge>}
        <code className="text-sm text-slate-700">{partner.token_prefix}…</code>
        <span className="text-sm text-slate-700">{partner.scopes.map((s) => SCOPE_LABEL[s]).join(", ")}</span>
      </div>
      <p className="text-sm text-slate-800">
        Calls today {limit(partner.calls_today, partner.daily_quota)}, this month {limit(partner.calls_this_month, partner.monthly_quota)}
        {partner.refused_this_month > 0 ? `, ${partner.refused_this_month} refused this month` : ""}
        {partner.last_used_at === null ? ", never used" : `, last used ${formatDate(partner.last_used_at)}`}. Audited as {partner.username}.
      </p>
      {partner.revoked_at === null && (
        <Button variant="danger" className="self-start" disabled={revoked.state === "loading"} onClick={async () => {
          if (window.confirm(`Revoke the token of ${partner.organisation}? It stops working at once.`) && (await revoke()).state === "ready") onChanged()
        }}>Revoke</Button>
      )}
      {revoked.state === "failed" && <ProblemNote problem={revoked.problem} />}
    </li>
  )
}

/** Admin › Partners: API tokens for partner organisations, with their scopes, quotas and use. */
export const Partners = () => {
  const [partners, reload] = useRpc(() => withRpc((rpc) => rpc.partners.list()), [])
  const [issued, setIssued] = useState<{ readonly token: string; readonly organisation: string } | undefined>(undefined)
  return (
    <section className="flex flex-col gap-4" aria-label="Partners">
      <p className="text-slate-800">
        A partner organisation calls the API with its token as <code>Authorization: Bearer …</code>: only the routes of its
        scopes, within its quotas (429 past them). Every call is counted and audited as the token's own account.
      </p>
      {issued !== undefined && (
        <OnceValue label={`The token of ${issued.organisation}: shown this once. Give it to them over a safe channel.`} value={issued.token} />
      )}
      <NewPartner onCreated={(token, partner) => {
        setIssued({ token, organisation: partner.organisation })
        reload()
      }} />
      <Loaded remote={partners}>
        {(all) =>
          all.length === 0 ? <p className="text-slate-700">No partner tokens yet.</p> : (
            <ul className="flex flex-col gap-2" aria-label="Partner tokens">
              {all.map((p) => <PartnerRow key={`${p.partner_id}|${p.revoked_at}`} partner={p} onChanged={reload} />)}
            </ul>
          )}
      </Loaded>
    </section>
  )
}
