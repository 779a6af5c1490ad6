import type { LoginResponse } from "@chaverim/domain/Accounts"
import { useState } from "react"
import type { Remote } from "../../client/problem"
import { Button, ProblemNote, TextField } from "../../ui/controls"

export const Credentials = ({ remote, onSubmit }: {
  readonly remote: Remote<LoginResponse>
  readonly onSubmit: (username: string, password: string) => void
}) => {
  const [username, setUsername] = useState("")
  const [password, setPassword] = useState("")
  return (
    <form
      className="flex flex-col gap-4"
      onSubmit={(event) => {
        event.preventDefault()
        onSubmit(username.trim(), password)
      }}
    >
      <TextField label="Username" name="username" autoComplete="username" autoCapitalize="none" spellCheck={false}
        required autoFocus value={username} onChange={(e) => setUsername(e.target.value)} />
      <TextField label="Password" name="password" type="password" autoComplete="current-password" required
        value={password} onChange={(e) => setPassword(e.target.value)} />
      {remote.state === "failed" && <ProblemNote problem={remote.problem} />}
      <Button type="submit" disabled={remote.state === "loading"}>
        {remote.state === "loading" ? "Checking…" : "Continue"}
      </Button>
    </form>
  )
}
