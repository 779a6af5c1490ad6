/**
 * Summarises a V8 .cpuprofile (node --cpu-prof) by kind of work: each sample is given to the
 * nearest frame on its stack that says what the work is (Schema validation, the pg driver, HTTP,
 * the Effect fiber runtime, ...), over chosen time windows only.
 */
import * as Fs from "node:fs/promises"

interface CallFrame {
  readonly functionName: string
  readonly url: string
  readonly lineNumber: number
}
interface ProfileNode {
  readonly id: number
  readonly callFrame: CallFrame
  readonly children?: ReadonlyArray<number>
}
interface Profile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly startTime: number
  readonly endTime: number
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

/** A window on the monotonic clock, in microseconds (process.hrtime.bigint() / 1000). */
export interface Window {
  readonly from: number
  readonly to: number
}

export const monotonicMicros = (): number => Number(process.hrtime.bigint() / 1000n)

type Verdict = string | "continue"

const classify = (frame: CallFrame): Verdict => {
  const { functionName: fn, url } = frame
  if (url === "") {
    if (fn === "(garbage collector)") return "GC"
    if (fn === "(idle)") return "idle (waiting for I/O)"
    if (fn === "(program)") return "V8/native (unattributed)"
    if (fn === "parse" || fn === "stringify") return `JSON.${fn}`
    return "continue" // native builtins: decided by the caller
  }
  if (/\/effect\/dist\/esm\/(ParseResult|Schema|SchemaAST)\.js/.test(url)) return "Schema validation (effect/Schema)"
  if (/\/node_modules\/(pg|pg-protocol|pg-pool|pg-types|pg-connection-string|postgres-[a-z]+)\//.test(url)) {
    return "SQL: pg driver"
  }
  if (/\/node_modules\/@effect\/sql(-pg)?\//.test(url)) return "SQL: @effect/sql (statement building, pool)"
  if (/multipasta|Multipart/.test(url)) return "multipart parsing"
  if (/\/node_modules\/(@effect\/platform(-node|-node-shared)?|find-my-way-ts)\//.test(url)) {
    return "HTTP: @effect/platform (routing, request/response)"
  }
  if (/^node:(_http_|http|net|stream|internal\/(streams|stream_base|http|net|dns|tls))/.test(url)) {
    return "node core: HTTP parsing, sockets (HTTP and PostgreSQL), streams"
  }
  if (/\/effect\/dist\/esm\/internal\/(logger|logSpan|fiberRuntime\.js.*log)/.test(url) || /\/Logger\.js/.test(url)) {
    return "logging"
  }
  if (/\/effect\/dist\/esm\/internal\/metric/.test(url)) return "metrics"
  if (/\/effect\/dist\/esm\/internal\/tracer/.test(url)) return "tracing (spans)"
  if (/\/effect\/dist\/esm\/internal\//.test(url)) return "Effect runtime (fibers, scheduling, layers)"
  if (/^node:(crypto|internal\/crypto|fs|internal\/fs)/.test(url)) return "crypto/fs (hashes, image files)"
  if (/^node:internal\/modules|\/node_modules\/(tsx|esbuild)\//.test(url)) return "module loading (start-up)"
  if (/\/work\/main\/(packages|apps)\/|\/packages\/(server|domain)\/src\//.test(url)) return "app code (packages/*/src)"
  return "continue"
}

/** Milliseconds of sampled time by kind of work, over the windows given (all of it when none). */
export const summariseProfile = async (
  file: string,
  windows: ReadonlyArray<Window> = []
): Promise<{ readonly totalMs: number; readonly byKind: ReadonlyArray<readonly [string, number]> }> => {
  const profile = JSON.parse(await Fs.readFile(file, "utf8")) as Profile
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const verdicts = new Map<number, string>()
  const kindOf = (id: number): string => {
    const known = verdicts.get(id)
    if (known !== undefined) return known
    let kind = "other"
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const verdict = classify(nodes.get(cur)!.callFrame)
      if (verdict !== "continue") {
        kind = verdict
        break
      }
    }
    verdicts.set(id, kind)
    return kind
  }
  const inWindow = (t: number) => windows.length === 0 || windows.some((w) => t >= w.from && t <= w.to)
  const byKind = new Map<string, number>()
  let t = profile.startTime
  let total = 0
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i] ?? 0
    t += dt
    if (!inWindow(t)) continue
    const kind = kindOf(profile.samples[i]!)
    byKind.set(kind, (byKind.get(kind) ?? 0) + dt / 1000)
    total += dt / 1000
  }
  return { totalMs: total, byKind: [...byKind].sort((a, b) => b[1] - a[1]) }
}
