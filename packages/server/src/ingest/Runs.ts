/**
 * Linking repeated reads. A camera often reads the same plate several times as a vehicle passes; every
 * read is evidence and is stored, but a read of the same plate at the same camera within 30 s of the
 * read before it belongs to that read's run, and `duplicate_of` points at the first read of the run.
 *
 * Done once per batch rather than per row: the database gives, for each new read, the latest stored
 * read of the same plate at the same camera in the 30 s before it (one indexed lookup each), and the
 * batch's reads are then walked in time order per camera and plate.
 */

export const RUN_GAP_MS = 30_000

/** A read of the batch, not yet stored. */
export interface NewRead {
  /** names the read among the batch's: its collector's id and its detection id */
  readonly key: string
  readonly detectionId: string
  readonly cameraId: string
  readonly plate: string
  readonly at: number
}

/** The latest stored read of the same plate at the same camera at most 30 s before a new read. */
export interface StoredPredecessor {
  readonly at: number
  /** the first read of its run: its `duplicate_of`, or its own id when it starts the run */
  readonly root: string
}

/** Where a new read's run starts: nowhere (it starts one), at a stored read, or at another new read. */
export type RunStart =
  | { readonly _tag: "First" }
  | { readonly _tag: "Stored"; readonly id: string }
  | { readonly _tag: "New"; readonly detectionId: string }

const FIRST: RunStart = { _tag: "First" }

/**
 * For each new read (by its key, as `predecessors` are): where its run starts. A read joins the run of the latest read,
 * stored or new, of the same plate at the same camera at or before its time, if that read is at most
 * 30 s older. At the same instant a new read counts as later than a stored one, and new reads count in
 * the order given, as they are inserted in that order.
 */
export const linkRuns = (
  reads: ReadonlyArray<NewRead>,
  predecessors: ReadonlyMap<string, StoredPredecessor>
): ReadonlyMap<string, RunStart> => {
  const groups = new Map<string, Array<{ read: NewRead; order: number }>>()
  reads.forEach((read, order) => {
    const key = `${read.cameraId}\u0000${read.plate}`
    const group = groups.get(key)
    if (group === undefined) groups.set(key, [{ read, order }])
    else group.push({ read, order })
  })

  const starts = new Map<string, RunStart>()
  for (const group of groups.values()) {
    group.sort((a, b) => a.read.at - b.read.at || a.order - b.order)
    let previous: { at: number; start: RunStart } | undefined
    for (const { read } of group) {
      const recent = previous !== undefined && read.at - previous.at <= RUN_GAP_MS ? previous : undefined
      const stored = predecessors.get(read.key)
      const start: RunStart = stored !== undefined && (recent === undefined || stored.at > recent.at)
        ? { _tag: "Stored", id: stored.root }
        : recent?.start ?? FIRST
      starts.set(read.key, start)
      previous = { at: read.at, start: start._tag === "First" ? { _tag: "New", detectionId: read.detectionId } : start }
    }
  }
  return starts
}
