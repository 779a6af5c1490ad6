import type { LoginResponse, Me } from "@chaverim/domain/Accounts"
import { useEffect, useRef, useState } from "react"
import { useOperatorApiAction, withOperatorApi } from "../../client/operatorApi"
import { useSession } from "../../client/session"
import { Link } from "../../router"
import { Notice } from "../../ui/controls"
import { Credentials } from "./Credentials"
import { RecoveryCodes } from "./RecoveryCodes"
import { SecondStep } from "./SecondStep"

type Step =
  | { readonly step: "credentials" }
  | { readonly step: "second"; readonly username: string; readonly login: LoginResponse }
  | { readonly step: "recovery-codes"; readonly me: Me; readonly codes: ReadonlyArray<string> }

/**
 * Password, then a TOTP code (enrolling the authenticator the first time), then in. A wall screen
 * pairs instead (`/pair`): on `/wall`, the address the kiosk opens, that comes first.
 */
export const SignIn = ({ notice, onWall = false }: {
  readonly notice?: string | undefined
  /** signed out at `/wall`: most likely a wall screen not paired yet */
  readonly onWall?: boolean
}) => {
  const { signedIn } = useSession()
  const [step, setStep] = useState<Step>({ step: "credentials" })
  const [login, submitLogin] = useOperatorApiAction((username: string, password: string) =>
    withOperatorApi((api) => api.auth.login({ payload: { username, password } })))
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
      {onWall && step.step === "credentials" && (
        <section aria-labelledby="pair-title" className="flex flex-col gap-2 rounded-lg border-2 border-blue-300 bg-blue-50 p-4 text-blue-950">
          <h2 id="pair-title" className="text-lg font-semibold">Is this the control-room wall screen?</h2>
          <p>A wall screen does not sign in: it is paired once with a code an admin makes in Admin › Displays.</p>
          <Link to="/pair" className="inline-flex min-h-11 items-center justify-center self-start rounded-lg bg-blue-700 px-4 py-2 font-medium text-white hover:bg-blue-800 focus-visible:outline-3 focus-visible:outline-offset-2 focus-visible:outline-blue-600">
            Pair this screen
          </Link>
          <p className="text-sm">Or sign in below to open the wall with your own account.</p>
        </section>
      )}
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
      {step.step === "credentials" && !onWall && (
        <p className="text-sm text-slate-700">
          <Link to="/pair" className="text-blue-800 underline underline-offset-2">Pair a wall display</Link>
        </p>
      )}
    </main>
  )
}
