import { type KeyboardEvent, type ReactNode, useId, useRef } from "react"

export interface Tab<K extends string> {
  readonly key: K
  readonly label: string
}

/** WAI-ARIA tabs: arrow keys move between tabs, the panel follows the selected one. */
export const Tabs = <K extends string,>({ tabs, selected, onSelect, label, children }: {
  readonly tabs: ReadonlyArray<Tab<K>>
  readonly selected: K
  readonly onSelect: (key: K) => void
  readonly label: string
  readonly children: ReactNode
}) => {
  const id = useId()
  const list = useRef<HTMLDivElement>(null)
  const onKeyDown = (event: KeyboardEvent) => {
    const index = tabs.findIndex((t) => t.key === selected)
    const step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0
    const target = event.key === "Home" ? 0 : event.key === "End" ? tabs.length - 1 : step === 0 ? -1 : (index + step + tabs.length) % tabs.length
    if (target < 0) return
    event.preventDefault()
    onSelect(tabs[target]!.key)
    list.current?.querySelectorAll<HTMLButtonElement>("[role=tab]")[target]?.focus()
  }
  return (
    <div>
      <div ref={list} role="tablist" aria-label={label} onKeyDown={onKeyDown}
        className="flex gap-0.5 overflow-x-auto border-b border-slate-300 sm:gap-1">
        {tabs.map((tab) => (
          <button key={tab.key} type="button" role="tab" id={`${id}-${tab.key}`} aria-controls={`${id}-panel`}
            aria-selected={tab.key === selected} tabIndex={tab.key === selected ? 0 : -1} onClick={() => onSelect(tab.key)}
            className={`min-h-11 whitespace-nowrap border-b-3 px-1.5 font-medium sm:px-3 focus-visible:outline-2 focus-visible:outline-blue-600 ${
              tab.key === selected ? "border-blue-700 text-blue-900" : "border-transparent text-slate-700 hover:text-slate-950"}`}>
            {tab.label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`${id}-panel`} aria-labelledby={`${id}-${selected}`} tabIndex={0} className="pt-4 focus-visible:outline-2 focus-visible:outline-blue-600">
        {children}
      </div>
    </div>
  )
}
