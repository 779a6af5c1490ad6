/**
 * `npm run bench -- NAME [options]`: runs benchmark NAME. Figures are printed on stdout as JSON
 * lines `{"metric": ..., "value": ..., "unit": ...}`; progress and logs go to stderr.
 *
 * A benchmark is a module in bench/ exporting `description`, `options` (see lib/args.ts) and
 * `main(argv)`; add it to BENCHMARKS below (edge, search, alerts, recognise, ...).
 */
import { Interrupted, optionsHelp, type OptionSpecs, UsageError } from "./lib/args"

export interface Benchmark {
  readonly description: string
  readonly options: OptionSpecs
  readonly main: (argv: ReadonlyArray<string>) => Promise<void>
}

/** Loaded only when chosen, so one benchmark's imports never slow down or break another. */
const BENCHMARKS: Readonly<Record<string, { readonly summary: string; readonly load: () => Promise<Benchmark> }>> = {
  ingest: {
    summary: "detections through the HTTP batch API of a real server (metadata, images, fixed rate)",
    load: () => import("./ingest")
  },
  edge: {
    summary: "the edge collector: buffer write rate, drain after an outage, collector memory",
    load: () => import("./edge")
  },
  search: {
    summary: "plate search on a generated year of detections: p50/p95/p99 per query type, EXPLAIN plans",
    load: () => import("./search")
  },
  alerts: {
    summary: "alert latency at 1,000 reads/s with 100,000 watchlist entries: to the live WebSocket and to Telegram",
    load: () => import("./alerts")
  },
  retention: {
    summary: "the retention job purging old reads with their photos: reads deleted per second, dry run, steady state",
    load: () => import("./retention")
  },
  growth: {
    summary: "ingest rate, search p95 and a month's purge at 1, 10 and 50 million reads stored, with a chart (SVG)",
    load: () => import("./growth")
  },
  day: {
    summary: "the server's memory through a replayed day of reads, heartbeats, live feed, alerts and searches, with a chart (SVG)",
    load: () => import("./day")
  },
  health: {
    summary: "the fleet's health check and the statistics endpoints on a search data set (--reuse-db): check time, stats p50/p95",
    load: () => import("./health")
  },
  wall: {
    summary: "the wall view in Chromium while 50 reads/s arrive: fps, long tasks, ingest-to-screen latency, page memory",
    load: () => import("./wall")
  },
  recognise: {
    summary: "plate recognisers on generated scenes with known plates: plates and characters read, false plates, ms per frame",
    load: () => import("./recognise")
  }
}

const usage = () => {
  const names = Object.entries(BENCHMARKS).map(([name, b]) => `  ${name.padEnd(10)} ${b.summary}`).join("\n")
  return `usage: npm run bench -- NAME [options]\n       npm run bench -- NAME --help\n\nbenchmarks:\n${names}\n`
}

const main = async (): Promise<number> => {
  const [name, ...rest] = process.argv.slice(2)
  if (name === undefined || name === "--help" || name === "-h") {
    process.stderr.write(usage())
    return name === undefined ? 2 : 0
  }
  const entry = BENCHMARKS[name]
  if (!entry) {
    process.stderr.write(`unknown benchmark "${name}"\n\n${usage()}`)
    return 2
  }
  const benchmark = await entry.load()
  if (rest.includes("--help") || rest.includes("-h")) {
    process.stderr.write(`usage: npm run bench -- ${name} [options]\n${benchmark.description}\n\n${optionsHelp(benchmark.options)}\n`)
    return 0
  }
  try {
    await benchmark.main(rest)
    return 0
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`${name}: ${e.message}\n\n${optionsHelp(benchmark.options)}\n`)
      return 2
    }
    if (e instanceof Interrupted) return 130
    throw e
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`bench failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`)
    process.exit(1)
  }
)
