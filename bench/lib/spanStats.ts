/**
 * A Tracer for benchmarks: keeps no spans, only how long each kind of span took, so that a run can
 * say where a request's time goes (HTTP handling, auth, validation, each SQL statement, ...).
 * The server already opens these spans (Effect.fn, @effect/sql's "sql.execute", the HTTP tracer
 * middleware); this only records them. Used by bench/server.ts with BENCH_TRACE=1.
 */
import type * as Context from "effect/Context"
import type * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"

export interface SpanFigures {
  readonly count: number
  readonly total_ms: number
  readonly mean_ms: number
  readonly p50_ms: number
  readonly p99_ms: number
  readonly max_ms: number
  /** Mean time not spent in child spans (for SQL: the statement itself, pool wait included). */
  readonly self_mean_ms: number
}

interface Accumulator {
  durations: Array<number>
  self: number
}

const describe = (name: string, attributes: ReadonlyMap<string, unknown>): string => {
  if (name === "sql.execute") {
    const text = String(attributes.get("db.query.text") ?? attributes.get("db.statement") ?? "?")
    return `sql ${text.replace(/\s+/g, " ").trim().slice(0, 60)}`
  }
  if (name.startsWith("http.server")) {
    const path = attributes.get("url.path")
    return path === undefined ? name : `${name} ${String(path)}`
  }
  return name
}

let nextId = 0

class StatSpan implements Tracer.Span {
  readonly _tag = "Span"
  readonly spanId = (++nextId).toString(16)
  readonly traceId: string
  readonly attributes = new Map<string, unknown>()
  readonly links: Array<Tracer.SpanLink>
  readonly sampled = true
  status: Tracer.SpanStatus
  childTime = 0n

  constructor(
    private readonly stats: SpanStats,
    readonly name: string,
    readonly parent: Option.Option<Tracer.AnySpan>,
    readonly context: Context.Context<never>,
    links: ReadonlyArray<Tracer.SpanLink>,
    startTime: bigint,
    readonly kind: Tracer.SpanKind
  ) {
    this.traceId = Option.isSome(parent) ? parent.value.traceId : this.spanId
    this.links = [...links]
    this.status = { _tag: "Started", startTime }
  }

  end(endTime: bigint, exit: Exit.Exit<unknown, unknown>): void {
    if (this.status._tag === "Ended") return
    const startTime = this.status.startTime
    this.status = { _tag: "Ended", startTime, endTime, exit }
    const duration = endTime - startTime
    if (Option.isSome(this.parent) && this.parent.value instanceof StatSpan) this.parent.value.childTime += duration
    this.stats.record(describe(this.name, this.attributes), Number(duration) / 1e6, Number(duration - this.childTime) / 1e6)
  }

  attribute(key: string, value: unknown): void {
    this.attributes.set(key, value)
  }

  event(): void {}

  addLinks(links: ReadonlyArray<Tracer.SpanLink>): void {
    this.links.push(...links)
  }
}

export class SpanStats {
  private byName = new Map<string, Accumulator>()

  readonly tracer: Tracer.Tracer = Tracer.make({
    span: (name, parent, context, links, startTime, kind) =>
      new StatSpan(this, name, parent, context, links, startTime, kind),
    context: (f) => f()
  })

  record(name: string, ms: number, selfMs: number): void {
    let acc = this.byName.get(name)
    if (!acc) {
      acc = { durations: [], self: 0 }
      this.byName.set(name, acc)
    }
    acc.durations.push(ms)
    acc.self += selfMs
  }

  /** Figures since the last reset, by span name; then starts afresh. */
  takeSnapshot(): Record<string, SpanFigures> {
    const out: Record<string, SpanFigures> = {}
    for (const [name, acc] of this.byName) {
      const sorted = acc.durations.sort((a, b) => a - b)
      const total = sorted.reduce((a, b) => a + b, 0)
      const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!
      out[name] = {
        count: sorted.length,
        total_ms: total,
        mean_ms: total / sorted.length,
        p50_ms: at(0.5),
        p99_ms: at(0.99),
        max_ms: sorted.at(-1)!,
        self_mean_ms: acc.self / sorted.length
      }
    }
    this.byName = new Map()
    return out
  }
}

/**
 * The span figures as a table, most total time first: count, mean, p50, p99, self mean, and the
 * total divided by `units` (requests, batches, ...) under the heading `per`.
 */
export const spanTable = (
  spans: Readonly<Record<string, SpanFigures>>,
  units: number,
  per: string,
  rows = 20
): string | undefined => {
  const entries = Object.entries(spans)
  if (entries.length === 0) return undefined
  const lines = entries
    .sort((a, b) => b[1].total_ms - a[1].total_ms)
    .slice(0, rows)
    .map(([name, f]) =>
      `    ${f.count.toString().padStart(7)} ${f.mean_ms.toFixed(2).padStart(9)} ${f.p50_ms.toFixed(2).padStart(9)} ` +
      `${f.p99_ms.toFixed(2).padStart(9)} ${f.self_mean_ms.toFixed(2).padStart(9)} ${(units > 0 ? f.total_ms / units : Number.NaN).toFixed(2).padStart(11)}  ${name}`
    )
  return `      count      mean       p50       p99 self mean ${per.padStart(11)}  span\n${lines.join("\n")}`
}
