import type { ButtonHTMLAttributes, InputHTMLAttributes, ReactNode, SelectHTMLAttributes } from "react"
import { useId } from "react"
import { type Problem, type Remote, valueOf } from "../client/problem"

const BUTTON = {
  primary: "bg-blue-700 text-white hover:bg-blue-800 disabled:bg-slate-400",
  secondary: "bg-white text-slate-900 ring-1 ring-slate-300 hover:bg-slate-100 disabled:text-slate-500",
  danger: "bg-white text-red-800 ring-1 ring-red-300 hover:bg-red-50 disabled:text-slate-500"
} as const

export const Button = ({ variant = "primary", className = "", type = "button", ...props }:
  ButtonHTMLAttributes<HTMLButtonElement> & { readonly variant?: keyof typeof BUTTON }) => (
  <button
    type={type}
    className={`inline-flex min-h-11 items-center justify-center gap-2 rounded-lg px-4 py-2 font-medium
      focus-visible:outline-3 focus-visible:outline-offset-2 focus-visible:outline-blue-600 ${BUTTON[variant]} ${className}`}
    {...props}
  />
)

const INPUT = "block w-full min-h-11 rounded-lg border border-slate-400 bg-white px-3 py-2 text-slate-900 " +
  "placeholder:text-slate-500 focus:border-blue-700 focus:outline-2 focus:outline-blue-600"

interface FieldProps {
  readonly label: string
  readonly hint?: ReactNode
  readonly error?: string | undefined
}

/** A labelled input; the hint and the error are tied to it for screen readers. */
export const TextField = ({ label, hint, error, className = "", ...input }:
  FieldProps & InputHTMLAttributes<HTMLInputElement>) => {
  const id = useId()
  const described = [hint ? `${id}-hint` : "", error ? `${id}-error` : ""].filter(Boolean).join(" ")
  return (
    <div className={className}>
      <label htmlFor={id} className="mb-1 block text-sm font-medium text-slate-800">{label}</label>
      <input id={id} className={INPUT} aria-invalid={error ? true : undefined}
        aria-describedby={described || undefined} {...input} />
      {hint && <p id={`${id}-hint`} className="mt-1 text-sm text-slate-600">{hint}</p>}
      {error && <p id={`${id}-error`} className="mt-1 text-sm text-red-800">{error}</p>}
    </div>
  )
}

export const SelectField = ({ label, hint, className = "", children, ...select }:
  FieldProps & SelectHTMLAttributes<HTMLSelectElement>) => {
  const id = useId()
  return (
    <div className={className}>
      <label htmlFor={id} className="mb-1 block text-sm font-medium text-slate-800">{label}</label>
      <select id={id} className={INPUT} aria-describedby={hint ? `${id}-hint` : undefined} {...select}>{children}</select>
      {hint && <p id={`${id}-hint`} className="mt-1 text-sm text-slate-600">{hint}</p>}
    </div>
  )
}

/** A failure, announced to screen readers as it appears. */
export const ProblemNote = ({ problem }: { readonly problem: Problem }) => (
  <p role="alert" className="rounded-lg border border-red-300 bg-red-50 px-3 py-2 text-red-900">{problem.message}</p>
)

export const Notice = ({ children, tone = "info" }: { readonly children: ReactNode; readonly tone?: "info" | "success" | "warning" }) => {
  const tones = {
    info: "border-blue-200 bg-blue-50 text-blue-950",
    success: "border-green-300 bg-green-50 text-green-950",
    warning: "border-amber-300 bg-amber-50 text-amber-950"
  }
  return <div role="status" className={`rounded-lg border px-3 py-2 ${tones[tone]}`}>{children}</div>
}

export const Loading = ({ label = "Loading" }: { readonly label?: string }) => (
  <p role="status" className="flex items-center gap-2 py-4 text-slate-700">
    <span aria-hidden className="size-4 animate-spin rounded-full border-2 border-slate-300 border-t-blue-700" />
    {label}…
  </p>
)

export const Badge = ({ children, tone = "neutral" }: { readonly children: ReactNode; readonly tone?: "neutral" | "good" | "bad" | "warn" }) => {
  const tones = {
    neutral: "bg-slate-200 text-slate-900",
    good: "bg-green-100 text-green-900",
    bad: "bg-red-100 text-red-900",
    warn: "bg-amber-100 text-amber-950"
  }
  return <span className={`inline-block rounded px-2 py-0.5 text-xs font-semibold ${tones[tone]}`}>{children}</span>
}

/** A plate as people read it: large, monospaced, letter-spaced. */
export const PlateText = ({ plate, className = "" }: { readonly plate: string; readonly className?: string }) => (
  <span className={`font-mono font-bold tracking-wider ${className}`}>{plate}</span>
)

/** A secret shown once (one-time password, claim code): selectable, with a copy button. */
export const OnceValue = ({ label, value }: { readonly label: string; readonly value: string }) => (
  <div className="rounded-lg border-2 border-amber-400 bg-amber-50 p-3">
    <p className="text-sm font-medium text-amber-950">{label}</p>
    <div className="mt-1 flex flex-wrap items-center gap-2">
      <code className="select-all break-all rounded bg-white px-2 py-1 font-mono text-lg text-slate-900">{value}</code>
      <Button variant="secondary" onClick={() => void navigator.clipboard?.writeText(value)}>Copy</Button>
    </div>
  </div>
)

/**
 * The button under a keyset-paged list: fetches the page after `next` and hands its items and the
 * following cursor to `onPage`; says why when a page cannot be had. Nothing when there is no next page.
 */
export const MorePages = <I,>({ next, more, load, onPage, label }: {
  readonly next: string | null
  readonly more: Remote<unknown>
  readonly load: (cursor: string) => Promise<Remote<{ readonly items: ReadonlyArray<I>; readonly next_cursor: string | null }>>
  readonly onPage: (items: ReadonlyArray<I>, next: string | null) => void
  readonly label: string
}) => (
  <>
    {more.state === "failed" && <ProblemNote problem={more.problem} />}
    {next !== null && (
      <Button variant="secondary" disabled={more.state === "loading"} onClick={async () => {
        const page = await load(next)
        if (page.state === "ready") onPage(page.value.items, page.value.next_cursor)
      }}>
        {label}
      </Button>
    )}
  </>
)

/**
 * A loaded value's place on the page: the problem when loading failed, "Loading" until a value
 * comes, then `children(value)` (the last value stays shown while a reload runs or fails).
 */
export const Loaded = <A,>({ remote, children }: { readonly remote: Remote<A>; readonly children: (value: A) => ReactNode }) => {
  const value = valueOf(remote)
  return (
    <>
      {remote.state === "failed" && <ProblemNote problem={remote.problem} />}
      {value === undefined ? remote.state !== "failed" && <Loading /> : children(value)}
    </>
  )
}

/** How far something is (an upload, a job): a bar with its label and value for screen readers. */
export const ProgressBar = ({ label, fraction, className = "" }: {
  readonly label: string
  /** 0 to 1 */
  readonly fraction: number
  readonly className?: string
}) => {
  const percent = Math.round(Math.min(1, Math.max(0, fraction)) * 100)
  return (
    <div role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={percent}
      className={`h-3 w-full overflow-hidden rounded-full bg-slate-200 ring-1 ring-slate-300 ${className}`}>
      <div className="h-full rounded-full bg-blue-700 transition-[width]" style={{ width: `${percent}%` }} />
    </div>
  )
}
