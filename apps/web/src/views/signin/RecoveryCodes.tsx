import { useState } from "react"
import { Button, Notice } from "../../ui/controls"

/** Shown once, right after enrolment: the server keeps only their hashes. */
export const RecoveryCodes = ({ codes, onDone }: { readonly codes: ReadonlyArray<string>; readonly onDone: () => void }) => {
  const [saved, setSaved] = useState(false)
  const text = codes.join("\n")
  return (
    <div className="flex flex-col gap-4">
      <Notice tone="warning">
        If you lose your phone, each of these codes signs you in once instead of the authenticator. They are shown only
        now: print them or keep them in a password manager.
      </Notice>
      <ol className="grid grid-cols-1 gap-2 rounded-lg border border-slate-300 bg-white p-4 font-mono text-lg text-slate-900 min-[380px]:grid-cols-2"
        aria-label="Recovery codes">
        {codes.map((code) => <li key={code} className="select-all whitespace-nowrap">{code}</li>)}
      </ol>
      <div className="flex flex-wrap gap-2">
        <Button variant="secondary" onClick={() => void navigator.clipboard?.writeText(text)}>Copy all</Button>
        <a className="inline-flex min-h-11 items-center rounded-lg px-4 py-2 font-medium text-blue-800 underline"
          href={`data:text/plain;charset=utf-8,${encodeURIComponent(text + "\n")}`} download="chaverim-alpr-recovery-codes.txt">
          Download as a file
        </a>
      </div>
      <label className="flex items-center gap-3 text-slate-900">
        <input type="checkbox" className="size-5" checked={saved} onChange={(e) => setSaved(e.target.checked)} />
        I have stored these codes somewhere safe
      </label>
      <Button disabled={!saved} onClick={onDone}>Continue</Button>
    </div>
  )
}
