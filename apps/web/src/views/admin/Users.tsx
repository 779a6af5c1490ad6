import type { Role } from "@chaverim/domain/Auth"
import type { UserSummary } from "@chaverim/domain/rpc/Users"
import { useState } from "react"
import { useRpc, useRpcAction, withRpc } from "../../client/rpc"
import { useMe } from "../../client/session"
import { Badge, Button, Loaded, OnceValue, ProblemNote, SelectField, TextField } from "../../ui/controls"
import { formatDate } from "../../ui/format"
import { LinkCodeCard } from "../telegram/LinkCodeCard"

const ROLES: ReadonlyArray<Role> = ["viewer", "operator", "admin"]

const CreateUser = ({ onCreated }: { readonly onCreated: () => void }) => {
  const [username, setUsername] = useState("")
  const [role, setRole] = useState<Role>("operator")
  const [created, create] = useRpcAction((payload: { username: string; role: Role }) => withRpc((rpc) => rpc.users.create(payload)))
  return (
    <form className="flex flex-col gap-3 rounded-lg bg-white p-3 ring-1 ring-slate-200"
      onSubmit={async (event) => {
        event.preventDefault()
        const result = await create({ username: username.trim(), role })
        if (result.state === "ready") {
          setUsername("")
          onCreated()
        }
      }}>
      <h2 className="font-semibold text-slate-900">New account</h2>
      <div className="flex flex-wrap items-end gap-3">
        <TextField label="Username" value={username} onChange={(e) => setUsername(e.target.value)} required
          autoCapitalize="none" spellCheck={false} pattern="[A-Za-z0-9._@\-]{1,64}" className="min-w-48 flex-1" />
        <SelectField label="Role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
          {ROLES.map((r) => <option key={r} value={r}>{r}</option>)}
        </SelectField>
        <Button type="submit" disabled={created.state === "loading"}>Create</Button>
      </div>
      {created.state === "failed" && <ProblemNote problem={created.problem} />}
      {created.state === "ready" && (
        <OnceValue label={`One-time password for ${created.value.username}: give it to them in person. It is shown only now.`}
          value={created.value.password} />
      )}
    </form>
  )
}

const UserRow = ({ user, onChanged }: { readonly user: UserSummary; readonly onChanged: () => void }) => {
  const me = useMe()
  const ref = { user_id: user.user_id }
  const [change, run] = useRpcAction((what: "disable" | "enable" | "resetTotp" | { role: Role }) =>
    withRpc((rpc) =>
      what === "disable" ? rpc.users.disable(ref)
        : what === "enable" ? rpc.users.enable(ref)
        : what === "resetTotp" ? rpc.users.resetTotp(ref)
        : rpc.users.setRole({ ...ref, role: what.role })))
  const [reset, resetPassword] = useRpcAction(() => withRpc((rpc) => rpc.users.resetPassword(ref)))
  const [link, makeLink] = useRpcAction(() => withRpc((rpc) => rpc.users.telegramLinkCode(ref)))
  const act = async (what: Parameters<typeof run>[0], question?: string) => {
    if (question !== undefined && !window.confirm(question)) return
    if ((await run(what)).state === "ready") onChanged()
  }
  return (
    <li className="flex flex-col gap-2 rounded-lg bg-white p-3 ring-1 ring-slate-200">
      <div className="flex flex-wrap items-center gap-2">
        <span className="font-semibold text-slate-900">{user.username}</span>
        {user.disabled_at ? <Badge tone="bad">disabled</Badge> : <Badge tone="good">active</Badge>}
        {!user.totp_enrolled && <Badge tone="warn">authenticator not set up</Badge>}
        {user.must_change_password && <Badge tone="warn">one-time password</Badge>}
        <span className="text-sm text-slate-700">since {formatDate(user.created_at)} · {user.active_sessions} session{user.active_sessions === 1 ? "" : "s"}</span>
      </div>
      <div className="flex flex-wrap items-end gap-2">
        <SelectField label={`Role of ${user.username}`} value={user.role}
          onChange={(e) => void act({ role: e.target.value as Role }, `Make ${user.username} ${e.target.value}?`)}>
          {ROLES.map((r) => <option key={r} value={r}>{r}</option>)}
        </SelectField>
        {user.disabled_at
          ? <Button variant="secondary" onClick={() => void act("enable")}>Enable</Button>
          : user.user_id !== me.user_id &&
            <Button variant="danger" onClick={() => void act("disable", `Disable ${user.username}? Their sessions end at once.`)}>Disable</Button>}
        <Button variant="secondary" onClick={() => void act("resetTotp", `Reset ${user.username}'s authenticator? They set it up again at their next sign-in.`)}>
          Reset authenticator
        </Button>
        <Button variant="secondary" onClick={() => {
          if (window.confirm(`Give ${user.username} a new one-time password? Their sessions end.`)) void resetPassword().then(onChanged)
        }}>
          New password
        </Button>
        {!user.disabled_at && (
          <Button variant="secondary" onClick={() => void makeLink()} aria-label={`Telegram link code for ${user.username}`}>
            Telegram link code
          </Button>
        )}
      </div>
      {change.state === "failed" && <ProblemNote problem={change.problem} />}
      {reset.state === "failed" && <ProblemNote problem={reset.problem} />}
      {link.state === "failed" && <ProblemNote problem={link.problem} />}
      {link.state === "ready" && <LinkCodeCard code={link.value} forOther />}
      {reset.state === "ready" && <OnceValue label={`New one-time password for ${user.username} (shown only now)`} value={reset.value.password} />}
    </li>
  )
}

export const Users = () => {
  const [users, reload] = useRpc(() => withRpc((rpc) => rpc.users.list()), [])
  return (
    <section className="flex flex-col gap-4" aria-label="Users">
      <CreateUser onCreated={reload} />
      <Loaded remote={users}>
        {(list) => <ul className="flex flex-col gap-2">{list.map((user) => <UserRow key={user.user_id} user={user} onChanged={reload} />)}</ul>}
      </Loaded>
    </section>
  )
}
