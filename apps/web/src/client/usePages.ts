import { useMemo, useState } from "react"
import type { Remote } from "./problem"

/** A page of a keyset-paged list, as every list endpoint answers. */
export interface Page<I> {
  readonly items: ReadonlyArray<I>
  readonly next_cursor: string | null
}

/**
 * The pages after `first` (loaded with `useApi`/`useRpc`), added with `add` as "More" brings them. They
 * belong to the first page they followed: a new first page (another filter, a reload) starts over by
 * itself. `next` is the cursor of the last page, null at the end.
 */
export const usePages = <I,>(first: Remote<Page<I>>) => {
  const [later, setLater] = useState<{ readonly after: Page<I>; readonly pages: ReadonlyArray<Page<I>> }>()
  const head = first.state === "ready" ? first.value : undefined
  const pages = useMemo(
    () => (head === undefined ? [] : [head, ...(later?.after === head ? later.pages : [])]),
    [head, later]
  )
  const add = (items: ReadonlyArray<I>, next_cursor: string | null) => {
    if (head === undefined) return
    setLater((l) => ({ after: head, pages: [...(l?.after === head ? l.pages : []), { items, next_cursor }] }))
  }
  const items = useMemo(() => pages.flatMap((page) => page.items), [pages])
  return {
    items,
    next: pages.length > 0 ? pages[pages.length - 1]!.next_cursor : null,
    add
  }
}
