import { ocrKey } from "@chaverim/domain/Plate"
import { type EntryKind, MAX_PLATE_LENGTH, parseEntryValue, type WatchlistCategory } from "@chaverim/domain/Watchlist"
import * as Either from "effect/Either"
import { compilePattern, type PlatePattern } from "../watchlists/EntryPattern"

/**
 * The in-memory watchlist matcher: every read is checked against every live entry without testing them
 * one by one. Exact and OCR entries are found by hashed lookup; wildcard and regex entries are filed
 * under a literal that any plate they match must contain, so a read tests only the patterns filed under
 * one of its own substrings (plus the few with no such literal). Patterns run in RE2 (linear in the
 * plate's length), and one read tests at most a budget of them.
 */

export interface MatcherList {
  readonly id: string
  readonly category: WatchlistCategory
  /** the cameras an allow list gates; ignored for the other categories */
  readonly cameraIds: ReadonlyArray<string>
  readonly active: boolean
}

export interface MatcherEntry {
  readonly id: string
  readonly watchlistId: string
  readonly kind: EntryKind
  /** canonical, as `parseEntryValue` gives it */
  readonly value: string
  readonly expiresAt: Date | null
}

export interface MatchRead {
  /** normalised */
  readonly plate: string
  readonly cameraId: string
  readonly detectedAt: Date
}

export type Match =
  | { readonly _tag: "Entry"; readonly watchlistId: string; readonly entryId: string; readonly kind: EntryKind }
  | { readonly _tag: "NotAllowed"; readonly watchlistId: string }

export interface MatchOutcome {
  readonly matches: ReadonlyArray<Match>
  /**
   * False when the read's pattern budget ran out before every candidate pattern was tested: a pattern
   * entry may have been missed (and an allow list may report a plate one of its patterns lets through).
   */
  readonly complete: boolean
}

/**
 * How many wildcard and regular-expression entries one read may test. An RE2 test of a plate takes
 * about a microsecond, and 50 at the most for the largest pattern RE2 compiles, so this holds a read
 * under about 50 ms whatever the entries; the read's remaining patterns are skipped (and the read is
 * reported) rather than holding every other request of the server. A count, not a clock, so that a
 * garbage-collection pause never costs an alert.
 */
export const PATTERN_TESTS_PER_READ = 1_000

export interface MatcherOptions {
  readonly patternTestsPerRead?: number
}

// ---------------------------------------------------------------------------------------------------------
// Required literals

/** What a piece of a regular expression says about the text it consumes. */
interface Info {
  /** the only string it matches, when there is one */
  readonly exact: string | null
  /** strings of which every match contains at least one, when known */
  readonly any: ReadonlyArray<string> | null
}

const OPAQUE: Info = { exact: null, any: null }
const literal = (s: string): Info => ({ exact: s, any: s === "" ? null : [s] })

// A set of required strings is as selective as its shortest member; fewer members means fewer lookups.
const moreSelective = (a: ReadonlyArray<string>, b: ReadonlyArray<string>): boolean => {
  const shortest = (xs: ReadonlyArray<string>) => Math.min(...xs.map((x) => x.length))
  const [la, lb] = [shortest(a), shortest(b)]
  return la !== lb ? la > lb : a.length < b.length
}

/**
 * Strings of which every plate the (validated, `u`-flag) expression matches contains at least one, or
 * undefined when none can be proved. Anything not understood counts as matching anything (character
 * classes, `.`, escapes such as `\d`, optional parts) and lookarounds and anchors break a run of
 * literals, so the answer is conservative.
 */
const regexLiterals = (source: string): ReadonlyArray<string> | undefined => {
  const cs = [...source]
  let i = 0
  const skipPast = (c: string) => {
    while (i < cs.length && cs[i] !== c) i++
    i++
  }
  const close = (info: Info): Info => {
    i++ // ")"
    return info
  }

  const escape = (): Info => {
    const c = cs[i++] ?? ""
    if (c === "p" || c === "P" || (c === "u" && cs[i] === "{")) skipPast("}")
    else if (c === "u") i += 4
    else if (c === "x") i += 2
    else if (c === "c") i += 1
    else if (c === "k") skipPast(">")
    else if (!/[A-Za-z0-9]/.test(c)) return literal(c) // an escaped syntax character stands for itself
    return OPAQUE
  }

  const group = (): Info => {
    if (cs[i] !== "?") return close(alternation())
    const a = cs[i + 1]
    if (a === ":") {
      i += 2
      return close(alternation())
    }
    if (a === "=" || a === "!" || (a === "<" && (cs[i + 2] === "=" || cs[i + 2] === "!"))) {
      i += a === "<" ? 3 : 2
      alternation()
      return close(OPAQUE)
    }
    if (a === "<") {
      skipPast(">")
      return close(alternation())
    }
    skipPast(":") // inline flags, refused by validation: understood as anything
    alternation()
    return close(OPAQUE)
  }

  const atom = (): Info => {
    const c = cs[i++]!
    switch (c) {
      case "\\":
        return escape()
      case "[":
        // `[]` and `[^]` close at the first unescaped "]" in JavaScript
        while (i < cs.length && cs[i] !== "]") i += cs[i] === "\\" ? 2 : 1
        i++
        return OPAQUE
      case "(":
        return group()
      case ".":
      case "^":
      case "$":
        return OPAQUE
      default:
        return literal(c)
    }
  }

  // The bounds of the quantifier at `i`, if there is one, leaving `i` on its last character.
  const bounds = (): readonly [number, number] | undefined => {
    switch (cs[i]) {
      case "*":
        return [0, Infinity]
      case "+":
        return [1, Infinity]
      case "?":
        return [0, 1]
      case "{": {
        const end = cs.indexOf("}", i)
        const [lo = "", hi] = cs.slice(i + 1, end).join("").split(",")
        i = end
        return [Number(lo), hi === undefined ? Number(lo) : hi === "" ? Infinity : Number(hi)]
      }
      default:
        return undefined
    }
  }

  const quantified = (info: Info): Info => {
    const quantifier = bounds()
    if (quantifier === undefined) return info
    const [min, max] = quantifier
    i++
    if (cs[i] === "?") i++ // lazy
    if (min === 0) return OPAQUE
    if (min === max && info.exact !== null && info.exact.length * min <= 2 * MAX_PLATE_LENGTH) {
      return literal(info.exact.repeat(min))
    }
    return { exact: null, any: info.any }
  }

  const sequence = (): Info => {
    let exact: string | null = ""
    let run = ""
    let best: ReadonlyArray<string> | null = null
    const offer = (set: ReadonlyArray<string>) => {
      if (best === null || moreSelective(set, best)) best = set
    }
    while (i < cs.length && cs[i] !== "|" && cs[i] !== ")") {
      const item = quantified(atom())
      if (item.exact !== null) {
        run += item.exact
        if (exact !== null) exact += item.exact
      } else {
        exact = null
        if (run !== "") offer([run])
        run = ""
        if (item.any !== null) offer(item.any)
      }
    }
    if (run !== "") offer([run])
    return { exact, any: best }
  }

  const alternation = (): Info => {
    const branches = [sequence()]
    while (cs[i] === "|") {
      i++
      branches.push(sequence())
    }
    if (branches.length === 1) return branches[0]!
    const first = branches[0]!.exact
    if (first !== null && branches.every((b) => b.exact === first)) return literal(first)
    const any = new Set<string>()
    for (const branch of branches) {
      if (branch.any === null) return OPAQUE
      for (const s of branch.any) any.add(s)
    }
    return { exact: null, any: [...any] }
  }

  return alternation().any ?? undefined
}

/** A wildcard's parts, and whether it has a wildcard at all (without one it is an exact plate). */
const wildcardParts = (value: string) => {
  const parts = value.split(/([*?])/)
  const literals = parts.filter((p) => p !== "*" && p !== "?" && p !== "")
  return { literals, plain: literals.length === parts.length }
}

/** Strings of which every matching plate contains one (for exact and OCR: the lookup key). */
const keysOf = (kind: EntryKind, value: string): ReadonlyArray<string> | undefined => {
  switch (kind) {
    case "exact":
      return [value]
    case "ocr":
      return [ocrKey(value)]
    case "wildcard": {
      const { literals, plain } = wildcardParts(value)
      if (plain) return literals
      const longest = literals.reduce((a, b) => (b.length > a.length ? b : a), "")
      return longest === "" ? undefined : [longest]
    }
    case "regex":
      return regexLiterals(value)
  }
}

interface Compiled {
  /** the pattern; absent when the index lookup is the whole test */
  readonly test: PlatePattern | undefined
  readonly keys: ReadonlyArray<string> | undefined
}

const compile = (kind: EntryKind, value: string): Either.Either<Compiled, string> => {
  const keys = keysOf(kind, value)
  if (kind === "exact" || kind === "ocr" || (kind === "wildcard" && wildcardParts(value).plain)) {
    return Either.right({ test: undefined, keys })
  }
  return Either.map(compilePattern(kind, value), (test) => ({ test, keys }))
}

/**
 * Where the index files an entry: exact and OCR entries under their value or key, a wildcard under its
 * longest literal run, a regular expression under literals one of which it provably requires. Undefined:
 * the value is invalid or the pattern has no usable literal and is tested against every read.
 */
export const indexKeys = (kind: EntryKind, value: string): ReadonlyArray<string> | undefined =>
  Either.match(parseEntryValue(kind, value), {
    onLeft: () => undefined,
    onRight: (parsed) => keysOf(parsed.kind, parsed.value)
  })

// ---------------------------------------------------------------------------------------------------------
// The matcher

interface Held {
  readonly entry: MatcherEntry
  readonly expiresAt: number
  readonly test: PlatePattern | undefined
  readonly index: KeyIndex | undefined
  readonly keys: ReadonlyArray<string>
  /** the number of the last read that considered this entry, so each is considered once per read */
  seen: number
}

class KeyIndex {
  private readonly buckets = new Map<string, Set<Held>>()
  private readonly lengthCounts = new Map<number, number>()
  private sortedLengths: ReadonlyArray<number> | undefined = []

  get(key: string): Set<Held> | undefined {
    return this.buckets.get(key)
  }

  add(key: string, held: Held): void {
    let bucket = this.buckets.get(key)
    if (bucket === undefined) {
      bucket = new Set()
      this.buckets.set(key, bucket)
      this.count(key.length, 1)
    }
    bucket.add(held)
  }

  remove(key: string, held: Held): void {
    const bucket = this.buckets.get(key)
    if (bucket === undefined) return
    bucket.delete(held)
    if (bucket.size === 0) {
      this.buckets.delete(key)
      this.count(key.length, -1)
    }
  }

  /** the lengths of the keys held, shortest first: the only substring lengths worth looking up */
  lengths(): ReadonlyArray<number> {
    return (this.sortedLengths ??= [...this.lengthCounts.keys()].sort((a, b) => a - b))
  }

  private count(length: number, delta: number): void {
    const n = (this.lengthCounts.get(length) ?? 0) + delta
    if (n === 0) this.lengthCounts.delete(length)
    else this.lengthCounts.set(length, n)
    const appeared = delta > 0 && n === 1
    if (n === 0 || appeared) this.sortedLengths = undefined
  }
}

const tooLong = (plate: string) => plate.length > MAX_PLATE_LENGTH && [...plate].length > MAX_PLATE_LENGTH

/**
 * Watchlist entries held in memory and indexed for matching reads, updated entry by entry.
 *
 * Entries whose list is unknown are held and match once the list is put; removing a list removes its
 * entries. A stored value that does not parse (or that RE2 cannot run) is held but never matches, and
 * is listed in `invalid`.
 */
export class Matcher {
  private readonly lists = new Map<string, MatcherList>()
  /** camera id → the active allow lists gating it */
  private readonly gates = new Map<string, Set<string>>()
  private readonly entries = new Map<string, Held>()
  private readonly byList = new Map<string, Set<Held>>()
  private readonly exact = new KeyIndex()
  private readonly ocr = new KeyIndex()
  private readonly patterns = new KeyIndex()
  private readonly always = new Set<Held>()
  private readonly problems = new Map<string, string>()
  private reads = 0
  private readonly testsPerRead: number

  constructor(options: MatcherOptions = {}) {
    this.testsPerRead = options.patternTestsPerRead ?? PATTERN_TESTS_PER_READ
  }

  static build(lists: Iterable<MatcherList>, entries: Iterable<MatcherEntry>, options?: MatcherOptions): Matcher {
    const matcher = new Matcher(options)
    for (const list of lists) matcher.putList(list)
    for (const entry of entries) matcher.putEntry(entry)
    return matcher
  }

  /** entries held */
  get size(): number {
    return this.entries.size
  }

  /** entry id → why its stored value was not usable */
  get invalid(): ReadonlyMap<string, string> {
    return this.problems
  }

  putList(list: MatcherList): void {
    this.ungate(list.id)
    const held = { ...list, cameraIds: [...list.cameraIds] }
    this.lists.set(list.id, held)
    if (held.category !== "allow" || !held.active) return
    for (const cameraId of held.cameraIds) {
      let lists = this.gates.get(cameraId)
      if (lists === undefined) this.gates.set(cameraId, (lists = new Set()))
      lists.add(held.id)
    }
  }

  removeList(id: string): void {
    this.ungate(id)
    this.lists.delete(id)
    for (const held of [...(this.byList.get(id) ?? [])]) this.removeEntry(held.entry.id)
  }

  /** Inserts the entry, or replaces the one with its id. */
  putEntry(entry: MatcherEntry): void {
    this.removeEntry(entry.id)
    const checked = Either.flatMap(parseEntryValue(entry.kind, entry.value), (parsed) => compile(parsed.kind, parsed.value))
    if (Either.isLeft(checked)) this.problems.set(entry.id, checked.left)
    const compiled = Either.getOrUndefined(checked)
    const index = compiled?.keys === undefined
      ? undefined
      : entry.kind === "exact" || (entry.kind === "wildcard" && compiled.test === undefined)
      ? this.exact
      : entry.kind === "ocr"
      ? this.ocr
      : this.patterns
    const held: Held = {
      entry,
      expiresAt: entry.expiresAt?.getTime() ?? Infinity,
      test: compiled?.test,
      index,
      keys: compiled?.keys ?? [],
      seen: 0
    }
    this.entries.set(entry.id, held)
    let ofList = this.byList.get(entry.watchlistId)
    if (ofList === undefined) this.byList.set(entry.watchlistId, (ofList = new Set()))
    ofList.add(held)
    if (index !== undefined) for (const key of held.keys) index.add(key, held)
    else if (compiled !== undefined) this.always.add(held)
  }

  removeEntry(id: string): void {
    const held = this.entries.get(id)
    if (held === undefined) return
    this.entries.delete(id)
    this.problems.delete(id)
    const ofList = this.byList.get(held.entry.watchlistId)
    ofList?.delete(held)
    if (ofList?.size === 0) this.byList.delete(held.entry.watchlistId)
    for (const key of held.keys) held.index?.remove(key, held)
    this.always.delete(held)
  }

  /**
   * What the read matches: each live entry of an active list once (allow lists excepted), and each active
   * allow list gating the read's camera that none of its live entries matches.
   */
  match(read: MatchRead): ReadonlyArray<Match> {
    return this.matchWithin(read).matches
  }

  /** `match`, saying also whether the read's pattern budget let every candidate pattern be tested. */
  matchWithin(read: MatchRead): MatchOutcome {
    const seen = ++this.reads
    const plate = read.plate
    const at = read.detectedAt.getTime()
    const gates = this.gates.get(read.cameraId)
    const matches: Array<Match> = []
    const allowed = new Set<string>()
    let tests = 0
    let complete = true

    /** False once the budget is spent: the entry (a pattern) was not tested, nor are any after it. */
    const consider = (held: Held): boolean => {
      if (held.seen === seen) return true
      held.seen = seen
      if (at >= held.expiresAt) return true
      const list = this.lists.get(held.entry.watchlistId)
      if (list === undefined || !list.active) return true
      const gate = list.category === "allow"
      // An allow list matters only at the cameras it gates, and only until one entry lets the plate through.
      if (gate && (gates === undefined || !gates.has(list.id) || allowed.has(list.id))) return true
      if (held.test !== undefined) {
        if (++tests > this.testsPerRead) return (complete = false)
        if (!held.test.test(plate)) return true
      }
      if (gate) allowed.add(list.id)
      else matches.push({ _tag: "Entry", watchlistId: list.id, entryId: held.entry.id, kind: held.entry.kind })
      return true
    }

    // A plate longer than any entry can be is no plate a pattern was written for.
    if (!tooLong(plate)) {
      this.exact.get(plate)?.forEach(consider)
      this.ocr.get(ocrKey(plate))?.forEach(consider)
      patterns: for (const length of this.patterns.lengths()) {
        if (length > plate.length) break
        for (let start = 0; start + length <= plate.length; start++) {
          for (const held of this.patterns.get(plate.slice(start, start + length)) ?? []) {
            if (!consider(held)) break patterns
          }
        }
      }
      if (complete) {
        for (const held of this.always) if (!consider(held)) break
      }
    }

    if (gates !== undefined) {
      for (const id of gates) if (!allowed.has(id)) matches.push({ _tag: "NotAllowed", watchlistId: id })
    }
    return { matches, complete }
  }

  private ungate(listId: string): void {
    const list = this.lists.get(listId)
    if (list === undefined) return
    for (const cameraId of list.cameraIds) {
      const lists = this.gates.get(cameraId)
      lists?.delete(listId)
      if (lists?.size === 0) this.gates.delete(cameraId)
    }
  }
}
