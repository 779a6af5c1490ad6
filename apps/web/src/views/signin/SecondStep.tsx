import type { LoginResponse, TotpResponse } from "@chaverim/domain/Accounts"
import { useState } from "react"
import { useOperatorApiAction, withOperatorApi } from "../../client/operatorApi"
import { Button, ProblemNote, TextField } from "../../ui/controls"
import { QrCode } from "../../ui/QrCode"

type Totp = typeof TotpResponse.Type

interface Answer {
  readonly code?: string
  readonly recovery_code?: string
  readonly new_password?: string
}

/** The authenticator's code (or a recovery code), and a new password while the current one is one-time. */
export const SecondStep = ({ username, login, onBack, onDone }: {
  readonly username: string
  readonly login: LoginResponse
  readonly onBack: () => void
  readonly onDone: (response: Totp) => void
}) => {
  const enrolling = login.status === "totp_enrollment_required"
  const [useRecovery, setUseRecovery] = useState(false)
  const [code, setCode] = useState("")
  const [password, setPassword] = useState("")
  const [repeat, setRepeat] = useState("")
  const [mismatch, setMismatch] = useState<string>()
  const [totp, submit] = useOperatorApiAction((answer: Answer) => withOperatorApi((api) => api.auth.totp({ payload: answer })))

  return (
    <form
      className="flex flex-col gap-4"
      onSubmit={async (event) => {
        event.preventDefault()
        if (login.password_change_required && password !== repeat) {
          setMismatch("The two passwords differ.")
          return
        }
        setMismatch(undefined)
        const answer: Answer = {
          ...(useRecovery ? { recovery_code: code.trim() } : { code: code.replace(/\s/g, "") }),
          ...(login.password_change_required ? { new_password: password } : {})
        }
        const result = await submit(answer)
        if (result.state === "ready") onDone(result.value)
      }}
    >
      {login.status === "totp_enrollment_required" && <Enrolment otpauthUrl={login.otpauth_url} secret={login.secret} />}
      {useRecovery
        ? (
          <TextField label="Recovery code" name="recovery_code" autoComplete="off" autoCapitalize="characters"
            spellCheck={false} required autoFocus value={code} onChange={(e) => setCode(e.target.value)}
            hint="One of the ten codes you saved when you set up your authenticator. Each works once." />
        )
        : (
          <TextField label={enrolling ? "Code shown by the app" : "Code from your authenticator app"} name="code"
            inputMode="numeric" autoComplete="one-time-code" pattern="[0-9 ]{6,7}" maxLength={7} required
            autoFocus={!enrolling} value={code} onChange={(e) => setCode(e.target.value)}
            hint="Six digits; a new one every 30 seconds." />
        )}
      {login.password_change_required && (
        <fieldset className="flex flex-col gap-4 rounded-lg border border-slate-300 p-3">
          <legend className="px-1 font-medium text-slate-900">Choose your own password</legend>
          <p className="text-sm text-slate-700">
            You signed in with a one-time password. At least 12 characters, not containing your username ({username}).
          </p>
          <TextField label="New password" name="new_password" type="password" autoComplete="new-password"
            minLength={12} required value={password} onChange={(e) => setPassword(e.target.value)} />
          <TextField label="New password again" name="repeat_password" type="password" autoComplete="new-password"
            minLength={12} required value={repeat} onChange={(e) => setRepeat(e.target.value)} error={mismatch} />
        </fieldset>
      )}
      {totp.state === "failed" && <ProblemNote problem={totp.problem} />}
      <Button type="submit" disabled={totp.state === "loading"}>
        {totp.state === "loading" ? "Checking…" : "Sign in"}
      </Button>
      <div className="flex flex-wrap justify-between gap-2">
        <Button variant="secondary" onClick={onBack}>Back</Button>
        {!enrolling && (
          <Button variant="secondary" onClick={() => { setUseRecovery(!useRecovery); setCode("") }}>
            {useRecovery ? "Use the authenticator code" : "Use a recovery code"}
          </Button>
        )}
      </div>
    </form>
  )
}

const Enrolment = ({ otpauthUrl, secret }: { readonly otpauthUrl: string; readonly secret: string }) => (
  <section aria-labelledby="enrol-title" className="flex flex-col gap-3 rounded-lg border border-slate-300 bg-white p-4">
    <h2 id="enrol-title" className="text-lg font-semibold text-slate-900">Set up your authenticator</h2>
    <ol className="list-decimal space-y-1 pl-5 text-slate-800">
      <li>Open an authenticator app (Aegis, Google Authenticator, 1Password, …).</li>
      <li>Scan this code, or type the key below.</li>
      <li>Enter the six digits the app shows.</li>
    </ol>
    <div className="self-center"><QrCode text={otpauthUrl} label="QR code for your authenticator app" /></div>
    <p className="text-sm text-slate-700">Key, if you cannot scan:</p>
    <code className="select-all rounded bg-slate-100 px-2 py-1 font-mono text-slate-900" data-testid="totp-secret">
      {secret.replace(/(.{4})/g, "$1 ").trim()}
    </code>
  </section>
)
