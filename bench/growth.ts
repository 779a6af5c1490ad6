/**
 * `npm run bench -- growth`: how cost grows with the data stored. For each size (default 1, 10 and 50
 * million reads) a search data set is generated (bench/search.ts: a year of reads, 200 cameras, plates
 * with Zipf frequencies), then measured, then dropped:
 *
 *   ingest   metadata batches through the HTTP API into that database (bench/ingest.ts --reuse-db)
 *   search   exact and OCR-aware plate search p95 (bench/search.ts --reuse-db --only exact,ocr)
 *   purge    a month of retention (a twelfth of the size), dropped whole: bench/retention.ts --month
 *            --no-files in a database of its own (the other months are other partitions, which a
 *            month's drop does not read, so they are not generated)
 *
 * Each step is the benchmark itself run as a child process; its figures are re-emitted with the size
 * in their name (`growth.10m.ingest.throughput`). At the end the chart is written as SVG (--chart).
 */
import { spawn } from "node:child_process"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { Interrupted, numberOption, type OptionSpecs, parseArgs, UsageError } from "./lib/args"
import { lineChartsSvg, type Series } from "./lib/chart"
import { adminUrl } from "./lib/database"
import { emit, progress } from "./lib/report"
import { repoRoot } from "./lib/server"
import pg from "pg"

export const description = "ingest rate, search p95 and a month's purge at 1, 10 and 50 million reads stored, with a chart"

export const options: OptionSpecs = {
  sizes: { description: "reads stored, comma-separated (k and m suffixes allowed)", default: "1m,10m,50m" },
  "ingest-seconds": { description: "measured seconds of ingest at each size", default: "15" },
  queries: { description: "measured searches per kind at each size", default: "100" },
  "no-purge": { description: "skip the month's purge", flag: true },
  with: { description: "figures of an earlier run (its stdout, JSON lines): the steps they cover are not measured again" },
  chart: { description: "where to write the SVG chart", default: "docs/perf/growth.svg" }
}

const parseSize = (text: string): number => {
  const m = /^(\d+(?:\.\d+)?)([km]?)$/i.exec(text.trim())
  if (m === null) throw new UsageError(`--sizes takes numbers like 1m or 500k (got "${text}")`)
  return Math.round(Number(m[1]) * (m[2]?.toLowerCase() === "m" ? 1e6 : m[2]?.toLowerCase() === "k" ? 1e3 : 1))
}
const label = (n: number) => (n >= 1e6 ? `${n / 1e6}m` : n >= 1e3 ? `${n / 1e3}k` : String(n))

interface Figures {
  readonly values: Map<string, number>
  readonly stderr: string
}

/** Runs `bench/run.ts NAME ...args` as a child, passing its stderr through; its JSON figures come back. */
const runBench = (name: string, args: ReadonlyArray<string>, stop: AbortSignal): Promise<Figures> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", Path.join(repoRoot, "bench", "run.ts"), name, ...args], {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "pipe"],
      signal: stop
    })
    const values = new Map<string, number>()
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString()
      let at: number
      while ((at = stdout.indexOf("\n")) >= 0) {
        const line = stdout.slice(0, at).trim()
        stdout = stdout.slice(at + 1)
        if (!line.startsWith("{")) continue
        const figure = JSON.parse(line) as { metric: string; value: number }
        values.set(figure.metric, figure.value)
      }
    })
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString()
      process.stderr.write(chunk)
    })
    child.once("error", reject)
    child.once("exit", (code) =>
      code === 0 ? resolve({ values, stderr }) : reject(new Error(`bench ${name} ${args.join(" ")} exited with ${code}`)))
  })

interface Point {
  readonly size: number
  readonly ingest?: number | undefined
  readonly exact?: number | undefined
  readonly ocr?: number | undefined
  readonly purge?: number | undefined
}

/** Three small line charts side by side: x is reads stored (log scale), y each figure from 0. */
const chartSvg = (points: ReadonlyArray<Point>, measuredOn: string): string => {
  const series = (name: string, colour: string, of: (p: Point) => number | undefined): Series => ({
    name,
    colour,
    labels: "each",
    points: points.flatMap((p) => {
      const v = of(p)
      return v === undefined || !Number.isFinite(v) ? [] : [[p.size, v] as const]
    })
  })
  return lineChartsSvg(
    [
      { title: "Ingest, metadata only", unit: "reads/s", series: [series("reads/s", "#1565c0", (p) => p.ingest)] },
      {
        title: "Search p95",
        unit: "ms",
        legend: "title",
        series: [series("exact", "#2e7d32", (p) => p.exact), series("OCR-aware", "#ef6c00", (p) => p.ocr)]
      },
      { title: "A month's purge", unit: "s", series: [series("seconds", "#6a1b9a", (p) => p.purge)] }
    ],
    { label: "reads stored", log: true, ticks: points.map((p) => [p.size, label(p.size)] as const) },
    measuredOn
  )
}

export const main = async (argv: ReadonlyArray<string>): Promise<void> => {
  const values = parseArgs(argv, options)
  const sizes = values.get("sizes")!.split(",").map(parseSize)
  if (sizes.some((n) => n < 12_000)) throw new UsageError("--sizes: at least 12k reads each (a month is a twelfth)")
  const ingestSeconds = numberOption(values, "ingest-seconds", { min: 1 })
  const queries = numberOption(values, "queries", { min: 1, integer: true })
  const chart = Path.resolve(repoRoot, values.get("chart")!)
  const stop = new AbortController()
  const interrupt = () => stop.abort()
  process.once("SIGINT", interrupt)

  const earlier = new Map<string, number>()
  const withFile = values.get("with")
  if (withFile !== undefined) {
    for (const line of (await Fs.readFile(withFile, "utf8")).split("\n")) {
      if (line.trim().startsWith("{")) {
        const figure = JSON.parse(line) as { metric: string; value: number }
        earlier.set(figure.metric, figure.value)
      }
    }
  }
  const points: Array<Point> = []
  try {
    for (const size of sizes) {
      const tag = `growth.${label(size)}`
      const before = (name: string) => earlier.get(`${tag}.${name}`)
      if (before("ingest.throughput") !== undefined && before("search.exact.p95_ms") !== undefined) {
        progress(`${label(size)} reads: ingest and search from ${withFile}`)
        points.push({ size, ingest: before("ingest.throughput"), exact: before("search.exact.p95_ms"), ocr: before("search.ocr.p95_ms") })
        for (const name of ["ingest.throughput", "ingest.p99_ms", "search.exact.p95_ms", "search.ocr.p95_ms"]) {
          emit(`${tag}.${name}`, before(name) ?? Number.NaN, name.endsWith("throughput") ? "detections/s" : "ms")
        }
      } else {
        progress(`${label(size)} reads: generating the search data set`)
        const generated = await runBench("search", ["--rows", String(size), "--keep", "--generate-only"], stop.signal)
        const name = /kept database (alpr_bench_[0-9a-f]+)/.exec(generated.stderr)?.[1]
        if (name === undefined) throw new Error("the search benchmark did not say which database it kept")
        try {
          emit(`${tag}.generate_seconds`, generated.values.get("search.generate.seconds") ?? Number.NaN, "s")
          progress(`${label(size)} reads: ingest`)
          const ingest = await runBench("ingest", [
            "--reuse-db", name, "--scenario", "metadata", "--seconds", String(ingestSeconds), "--bare-seconds", "0"
          ], stop.signal)
          progress(`${label(size)} reads: search`)
          const search = await runBench("search", ["--reuse-db", name, "--only", "exact,ocr", "--queries", String(queries)], stop.signal)
          const point = {
            size,
            ingest: ingest.values.get("ingest.metadata.throughput"),
            exact: search.values.get("search.exact.p95_ms"),
            ocr: search.values.get("search.ocr.p95_ms")
          }
          emit(`${tag}.ingest.throughput`, point.ingest ?? Number.NaN, "detections/s")
          emit(`${tag}.ingest.p99_ms`, ingest.values.get("ingest.metadata.p99_ms") ?? Number.NaN, "ms")
          emit(`${tag}.search.exact.p95_ms`, point.exact ?? Number.NaN, "ms")
          emit(`${tag}.search.ocr.p95_ms`, point.ocr ?? Number.NaN, "ms")
          points.push(point)
        } finally {
          const admin = new pg.Client({ connectionString: adminUrl() })
          await admin.connect()
          await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
          await admin.end()
          progress(`dropped ${name}`)
        }
      }
      if (!values.has("no-purge") && before("purge_month_seconds") !== undefined) {
        progress(`${label(size)} reads: a month's purge from ${withFile}`)
        emit(`${tag}.purge_month_seconds`, before("purge_month_seconds")!, "s")
        points[points.length - 1] = { ...points[points.length - 1]!, purge: before("purge_month_seconds") }
      } else if (!values.has("no-purge")) {
        const month = Math.round(size / 12)
        progress(`${label(size)} reads: a month (${month} reads) purged`)
        const purge = await runBench("retention", ["--month", "--reads", String(month), "--young", "0", "--no-files"], stop.signal)
        const seconds = purge.values.get("retention_purge_seconds")
        emit(`${tag}.purge_month_seconds`, seconds ?? Number.NaN, "s")
        points[points.length - 1] = { ...points[points.length - 1]!, purge: seconds }
      }
    }
  } catch (error) {
    if (stop.signal.aborted) throw new Interrupted("interrupted")
    throw error
  } finally {
    process.off("SIGINT", interrupt)
  }
  await Fs.mkdir(Path.dirname(chart), { recursive: true })
  const day = new Date().toISOString().slice(0, 10)
  await Fs.writeFile(chart, chartSvg(points, `npm run bench -- growth --sizes ${values.get("sizes")}, ${day}, ${(await import("node:os")).cpus().length} cores`))
  progress(`chart written to ${Path.relative(process.cwd(), chart)}`)
}
