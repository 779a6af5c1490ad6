import type { Me } from "@chaverim/domain/Accounts"
import * as Effect from "effect/Effect"
import { useEffect, useId, useState } from "react"
import { withApi } from "../../client/api"
import { useSession } from "../../client/session"
import { useApiAction } from "../../client/useApi"
import { Link, navigate, useLocation } from "../../router"
import { Button, Notice, ProblemNote } from "../../ui/controls"

/** The server's answer to a wrong, used or expired code (its Unauthorized), with its message. */
class WrongCode {
  readonly _tag = "WrongCode"
  constructor(readonly message: string) {}
}

/** Seconds left until `until` (ms since the epoch), ticking every second while there are any. */
const useSecondsLeft = (until: number | undefined) => {
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    if (until === undefined) return
    setNow(Date.now())
    const timer = window.setInterval(() => setNow(Date.now()), 1000)
    return () => window.clearInterval(timer)
  }, [until])
  return until === undefined ? 0 : Math.max(0, Math.ceil((until - now) / 1000))
}

const minutesAndSeconds = (s: number) => `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`

/**
 * `/pair`: a wall screen signs in with the pairing code an admin made in Admin › Displays, and then
 * shows the wall for as long as the display's session lasts (DISPLAY_SESSION_DAYS), nobody signing in.
 * Public, large enough to read across a control room, in the wall's colours. `?code=` fills the field.
 */
const Pair = ({ notice, signedInAs }: {
  /** why the screen is here again: its session ended */
  readonly notice?: string | undefined
  /** a person's session in this browser, which pairing replaces */
  readonly signedInAs?: Me | undefined
}) => {
  const { signedIn } = useSession()
  const { query } = useLocation()
  const id = useId()
  const [code, setCode] = useState(() => query.get("code") ?? "")
  const [paired, pair] = useApiAction((typed: string) =>
    withApi((api) => api.auth.pair({ payload: { code: typed } })).pipe(
      // A wrong code is no session ending (as Unauthorized elsewhere is): a person signed in here stays so.
      Effect.catchTag("Unauthorized", (error) => Effect.fail(new WrongCode(error.message)))
    ))
  const [waitUntil, setWaitUntil] = useState<number>()
  const wait = useSecondsLeft(waitUntil)
  const problem = paired.state === "failed" ? paired.problem : undefined
  // The code refused (rather than the server unreachable, or the wait after too many).
  const wrong = problem?.kind === "failed" && problem.retryAfterS === undefined

  return (
    <main id="main" className="wall flex min-h-dvh flex-col justify-center bg-slate-950 px-4 py-8 text-slate-100">
      <div className="mx-auto flex w-full max-w-[34em] flex-col gap-[1.5em]">
        <header className="flex flex-col gap-[0.5em]">
          <p className="font-semibold uppercase tracking-wide text-blue-300">Chaverim ALPR</p>
          <h1 className="text-[2.25em] font-bold leading-tight" tabIndex={-1}>Pair this screen</h1>
          <p className="text-[1.2em] text-slate-300">
            Type the pairing code an admin made for this display (Admin › Displays). The screen then shows the
            wall and stays signed in on its own.
          </p>
        </header>
        {notice && <Notice tone="warning">{notice}</Notice>}
        {signedInAs && (
          <Notice>
            This browser is signed in as {signedInAs.username}. Pairing signs it in as the display instead.
          </Notice>
        )}
        <form
          className="flex flex-col gap-[1em]"
          onSubmit={async (event) => {
            event.preventDefault()
            if (wait > 0) return
            const result = await pair(code.trim())
            if (result.state === "ready") {
              signedIn(result.value)
              navigate("/wall", { replace: true })
            } else if (result.state === "failed" && result.problem.retryAfterS !== undefined) {
              setWaitUntil(Date.now() + result.problem.retryAfterS * 1000)
            }
          }}
        >
          <div className="flex flex-col gap-[0.5em]">
            <label htmlFor={id} className="text-[1.25em] font-semibold">Pairing code</label>
            <input id={id} name="code" value={code} onChange={(e) => setCode(e.target.value)}
              required maxLength={32} autoComplete="off" autoCapitalize="characters" autoCorrect="off" spellCheck={false}
              autoFocus aria-describedby={`${id}-hint`} aria-invalid={wrong || undefined}
              className="block w-full rounded-lg border-2 border-slate-400 bg-white px-[0.5em] py-[0.2em] font-mono text-[2.25em] font-bold uppercase tracking-[0.12em] text-slate-950 focus:border-blue-500 focus:outline-3 focus:outline-offset-2 focus:outline-blue-400" />
            <p id={`${id}-hint`} className="text-slate-300">
              Two groups of four letters and digits, like ABCD-EFGH. Small or capital letters, with or without the dash.
            </p>
          </div>
          {problem && <ProblemNote problem={problem} />}
          {wait > 0 && (
            <p className="text-[1.2em] font-semibold text-amber-300">
              Too many wrong codes from this screen: wait {minutesAndSeconds(wait)} before the next try.
            </p>
          )}
          <Button type="submit" disabled={paired.state === "loading" || wait > 0} className="text-[1.25em]">
            {paired.state === "loading" ? "Pairing…" : "Pair this screen"}
          </Button>
        </form>
        <p className="text-slate-300">
          Not a wall screen?{" "}
          <Link to="/" className="text-blue-300 underline underline-offset-2 hover:text-blue-200">
            {signedInAs ? "Back to the app" : "Sign in with your account"}
          </Link>
        </p>
      </div>
    </main>
  )
}

export default Pair
