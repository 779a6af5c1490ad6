import type { LoginResponse, Me } from "@chaverim/domain/Accounts"
import { useEffect, useRef, useState } from "react"
import { withApi } from "../../client/api"
import { useSession } from "../../client/session"
import { useApiAction } from "../../client/useApi"
import { Notice } from "../../ui/controls"
import { Credentials } from "./Credentials"
import { RecoveryCodes } from "./RecoveryCodes"
import { SecondStep } from "./SecondStep"

type Step =
  | { readonly step: "credentials" }
  | { readonly step: "second"; readonly username: string; readonly login: LoginResponse }
  | { readonly step: "recovery-codes"; readonly me: Me; readonly codes: ReadonlyArray<string> }

/** Password, then a TOTP code (enrolling the authenticator the first time), then in. */
export const SignIn = ({ notice }: { readonly notice?: string | undefined }) => {
  const { signedIn } = useSession()
  const [step, setStep] = useState<Step>({ step: "credentials" })
  const [login, submitLogin] = useApiAction((username: string, password: string) =>
    withApi((api) => api.auth.login({ payload: { username, password } })))
  // Each step replaces the form that had the focus: unless a field of the new step took it, the
  // heading does, so that the keyboard and screen readers go on from the top of the step.
  const heading = useRef<HTMLHeadingElement>(null)
  useEffect(() => {
    if (document.activeElement === null || document.activeElement === document.body) heading.current?.focus()
  }, [step.step])

  return (
    <main id="main" className="mx-auto flex min-h-dvh max-w-md flex-col justify-center gap-6 px-4 py-8">
      <header>
        <p className="text-sm font-semibold uppercase tracking-wide text-blue-800">Chaverim ALPR</p>
        <h1 ref={heading} className="text-2xl font-bold text-slate-900" tabIndex={-1}>
          {step.step === "recovery-codes" ? "Save your recovery codes" : "Sign in"}
        </h1>
      </header>
      {notice && step.step === "credentials" && <Notice tone="warning">{notice}</Notice>}
      {step.step === "credentials" && (
        <Credentials
          remote={login}
          onSubmit={async (username, password) => {
            const result = await submitLogin(username, password)
            if (result.state === "ready") setStep({ step: "second", username, login: result.value })
          }}
        />
      )}
      {step.step === "second" && (
        <SecondStep
          username={step.username}
          login={step.login}
          onBack={() => setStep({ step: "credentials" })}
          onDone={(response) =>
            response.recovery_codes && response.recovery_codes.length > 0
              ? setStep({ step: "recovery-codes", me: response.user, codes: response.recovery_codes })
              : signedIn(response.user)}
        />
      )}
      {step.step === "recovery-codes" && <RecoveryCodes codes={step.codes} onDone={() => signedIn(step.me)} />}
    </main>
  )
}
