import { normalizePlate } from "@chaverim/domain/Plate"
import type { PlateBox, PlateCandidate, PlateFind } from "../recognise/Recogniser"

/**
 * One vehicle across frames (issue 20): consecutive sampled frames see the same plate again and
 * again, read a little differently each time. Finds that are alike (the same characters give or take
 * two, where the last one was) and close in time join one track; a track becomes one read, with the
 * reading most of its frames agree on and the frame that read it best.
 */

/** A find as a frame gave it. */
export interface FrameFind {
  readonly frame: number
  readonly offsetS: number
  readonly find: PlateFind
}

export interface Track {
  readonly finds: Array<FrameFind>
}

/** The read a track makes. */
export interface TrackRead {
  readonly plate: string
  readonly confidence: number
  /** the frame whose find read `plate` best: its picture is the read's photo, its time the read's */
  readonly best: FrameFind
  readonly firstS: number
  readonly lastS: number
  readonly frames: number
  /** the other readings of the track, best first */
  readonly candidates: ReadonlyArray<PlateCandidate>
}

/** How long a track waits for its plate to be seen again before it ends. */
export const TRACK_GAP_S = 3

/** Edit distance, for short strings. */
const distance = (a: string, b: string): number => {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1))
      diagonal = above
    }
  }
  return row[b.length]!
}

const alike = (a: string, b: string) => {
  const x = normalizePlate(a)
  const y = normalizePlate(b)
  return x === y || (Math.min(x.length, y.length) >= 4 && distance(x, y) <= 2)
}

/** Boxes far apart in one picture are two vehicles, even with similar plates. */
const near = (a: PlateBox | null, b: PlateBox | null) => {
  if (a === null || b === null) return true
  const dx = (a.x + a.width / 2) - (b.x + b.width / 2)
  const dy = (a.y + a.height / 2) - (b.y + b.height / 2)
  const reach = 3 * Math.max(a.width, b.width, 1)
  return dx * dx + dy * dy <= reach * reach
}

/**
 * Tracks being built from frames given in order. `add` takes one frame's finds; `finish` ends every
 * track and returns them all, in the order they began.
 */
export const makeTracker = (gapS = TRACK_GAP_S) => {
  const done: Array<Track> = []
  let open: Array<Track> = []
  return {
    add: (frame: number, offsetS: number, finds: ReadonlyArray<PlateFind>) => {
      const stillOpen: Array<Track> = []
      for (const track of open) {
        if (offsetS - track.finds[track.finds.length - 1]!.offsetS > gapS) done.push(track)
        else stillOpen.push(track)
      }
      open = stillOpen
      const taken = new Set<Track>()
      for (const find of [...finds].sort((a, b) => b.confidence - a.confidence)) {
        const track = open.find((t) => {
          if (taken.has(t)) return false
          const last = t.finds[t.finds.length - 1]!
          return last.frame !== frame && alike(last.find.plate, find.plate) && near(last.find.box, find.box)
        })
        const entry = { frame, offsetS, find }
        if (track === undefined) {
          const fresh = { finds: [entry] }
          open.push(fresh)
          taken.add(fresh)
        } else {
          track.finds.push(entry)
          taken.add(track)
        }
      }
    },
    /** every track so far, ended or not */
    peek: (): ReadonlyArray<Track> => [...done, ...open],
    finish: (): Array<Track> => {
      const all = [...done, ...open]
      open = []
      done.length = 0
      return all.sort((a, b) => a.finds[0]!.offsetS - b.finds[0]!.offsetS || a.finds[0]!.frame - b.finds[0]!.frame)
    }
  }
}

/**
 * A track's read: each reading (the frames' finds and their candidates, by normalised plate) scores
 * the sum of its confidences; the best scoring wins, its confidence the best any frame gave it.
 */
export const readOf = (track: Track): TrackRead => {
  // per reading: its score, the best confidence any frame gave it (as its reading or a candidate), and
  // the frame that read it best as its own reading
  const scores = new Map<string, { plate: string; score: number; highest: number; best: number; at?: FrameFind }>()
  for (const entry of track.finds) {
    const readings = [{ plate: entry.find.plate, confidence: entry.find.confidence, main: true }, ...entry.find.candidates.map((c) => ({ ...c, main: false }))]
    for (const reading of readings) {
      const key = normalizePlate(reading.plate)
      if (key === "") continue
      const score = scores.get(key) ?? { plate: reading.plate, score: 0, highest: 0, best: 0 }
      // a frame's own reading counts in full, its candidates at half
      score.score += reading.main ? reading.confidence : reading.confidence / 2
      score.highest = Math.max(score.highest, reading.confidence)
      if (reading.main && (score.at === undefined || reading.confidence > score.best)) {
        score.best = reading.confidence
        score.plate = reading.plate
        score.at = entry
      }
      scores.set(key, score)
    }
  }
  const ranked = [...scores.values()].filter((s) => s.at !== undefined).sort((a, b) => b.score - a.score)
  const winner = ranked[0]!
  return {
    plate: winner.plate,
    confidence: Math.round(winner.best * 1000) / 1000,
    best: winner.at!,
    firstS: track.finds[0]!.offsetS,
    lastS: track.finds[track.finds.length - 1]!.offsetS,
    frames: new Set(track.finds.map((f) => f.frame)).size,
    candidates: [...scores.values()]
      .filter((s) => s !== winner)
      .sort((a, b) => b.score - a.score)
      .slice(0, 5)
      .map((s) => ({ plate: s.plate, confidence: Math.round(s.highest * 1000) / 1000 }))
  }
}
