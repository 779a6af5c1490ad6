import { normalizePlate } from "@chaverim/domain/Plate"
import { type KnownPlate, MAX_LOOKUP } from "@chaverim/domain/KnownPlates"
import { useCallback, useEffect, useSyncExternalStore } from "react"
import { onSessionChanged } from "../../client/sessionEvents"

/**
 * The known plates the app has looked up, by normalised plate (null: not known), shared by every view.
 * The plates a page shows ask in the same moment, so they go to the server in one lookup (200 at most a
 * call); an answer is kept a minute, and a change made here replaces it at once.
 */
interface Entry {
  readonly value: KnownPlate | null
  readonly at: number
}

const FRESH_MS = 60_000

const cache = new Map<string, Entry>()
const asking = new Set<string>()
const listeners = new Map<string, Set<() => void>>()
let queued = new Set<string>()
let timer: ReturnType<typeof setTimeout> | undefined

const notify = (plate: string) => listeners.get(plate)?.forEach((listener) => listener())

/** What this session looked up is not the next one's to see. */
onSessionChanged(() => {
  const plates = [...cache.keys()]
  cache.clear()
  plates.forEach(notify)
})

const flush = () => {
  timer = undefined
  const plates = [...queued]
  queued = new Set()
  for (let i = 0; i < plates.length; i += MAX_LOOKUP) {
    const chunk = plates.slice(i, i + MAX_LOOKUP)
    chunk.forEach((plate) => asking.add(plate))
    // The RPC client is loaded with the first lookup, not with the search page that shows the cards.
    void import("../../client/rpc").then(({ callRpc }) => callRpc((rpc) => rpc.knownPlates.lookup({ plates: chunk }))).then((answer) => {
      chunk.forEach((plate) => asking.delete(plate))
      // A failed lookup leaves the plates unknown to the cache: the next view that shows them asks again.
      if (answer.state !== "ready") return
      const found = new Map(answer.value.map((known) => [known.plate, known]))
      const at = Date.now()
      for (const plate of chunk) {
        cache.set(plate, { value: found.get(plate) ?? null, at })
        notify(plate)
      }
    })
  }
}

const ask = (plate: string) => {
  const entry = cache.get(plate)
  if (asking.has(plate) || (entry !== undefined && Date.now() - entry.at < FRESH_MS)) return
  queued.add(plate)
  timer ??= setTimeout(flush, 0)
}

/** After a change here: every view of the plate shows the new value without asking the server. */
export const rememberKnownPlate = (plate: string, value: KnownPlate | null) => {
  cache.set(plate, { value, at: Date.now() })
  notify(plate)
}

/** A plate's note and tags: undefined until known, null when it carries none. */
export const useKnownPlate = (typed: string): KnownPlate | null | undefined => {
  const plate = normalizePlate(typed)
  const subscribe = useCallback((listener: () => void) => {
    const set = listeners.get(plate) ?? new Set()
    set.add(listener)
    listeners.set(plate, set)
    return () => {
      set.delete(listener)
      if (set.size === 0) listeners.delete(plate)
    }
  }, [plate])
  const entry = useSyncExternalStore(subscribe, () => cache.get(plate))
  useEffect(() => {
    if (plate !== "") ask(plate)
  }, [plate])
  return entry?.value
}
