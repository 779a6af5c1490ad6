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
  const panels: ReadonlyArray<{ title: string; unit: string; series: ReadonlyArray<{ name: string; colour: string; of: (p: Point) => number | undefined }> }> = [
    { title: "Ingest, metadata only", unit: "reads/s", series: [{ name: "reads/s", colour: "#1565c0", of: (p) => p.ingest }] },
    {
      title: "Plate search p95",
      unit: "ms",
      series: [
        { name: "exact", colour: "#2e7d32", of: (p) => p.exact },
        { name: "OCR-aware", colour: "#ef6c00", of: (p) => p.ocr }
      ]
    },
    { title: "A month's purge", unit: "s", series: [{ name: "seconds", colour: "#6a1b9a", of: (p) => p.purge }] }
  ]
  const W = 300
  const H = 220
  const pad = { l: 56, r: 14, t: 30, b: 44 }
  const sizes = points.map((p) => p.size)
  const lx = (n: number) => Math.log10(n)
  const [x0, x1] = [lx(Math.min(...sizes)), lx(Math.max(...sizes))]
  const xOf = (n: number) => pad.l + (x1 === x0 ? 0.5 : (lx(n) - x0) / (x1 - x0)) * (W - pad.l - pad.r)
  const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;")
  const body = panels.map((panel, i) => {
    const all = panel.series.flatMap((s) => points.map(s.of)).filter((v): v is number => v !== undefined && Number.isFinite(v))
    const top = all.length === 0 ? 1 : niceCeil(Math.max(...all))
    const yOf = (v: number) => H - pad.b - (v / top) * (H - pad.t - pad.b)
    const ticks = [0, top / 2, top]
    const lines = panel.series.map((s, k) => {
      const pts = points.flatMap((p) => {
        const v = s.of(p)
        return v === undefined || !Number.isFinite(v) ? [] : [[xOf(p.size), yOf(v), v] as const]
      })
      return [
        `<polyline fill="none" stroke="${s.colour}" stroke-width="2" points="${pts.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" ")}"/>`,
        ...pts.map(([x, y, v]) => {
          // labels of the points near the right edge go to their left
          const left = x > W - pad.r - 40
          return `<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="3" fill="${s.colour}"/>` +
            `<text x="${(left ? x - 5 : x + 5).toFixed(1)}" y="${(y - 6).toFixed(1)}" font-size="10" fill="${s.colour}"` +
            `${left ? ' text-anchor="end"' : ""}>${formatValue(v)}</text>`
        }),
        panel.series.length > 1
          ? `<text x="${W - pad.r - 70}" y="${pad.t + 12 + 12 * k}" font-size="10" fill="${s.colour}">${esc(s.name)}</text>`
          : ""
      ].join("")
    }).join("")
    return `<g transform="translate(${i * W},0)">
<text x="${pad.l}" y="18" font-size="12" font-weight="bold">${esc(panel.title)}</text>
${ticks.map((t) => `<line x1="${pad.l}" x2="${W - pad.r}" y1="${yOf(t).toFixed(1)}" y2="${yOf(t).toFixed(1)}" stroke="#ddd"/><text x="${pad.l - 6}" y="${(yOf(t) + 3).toFixed(1)}" font-size="10" text-anchor="end">${formatValue(t)}</text>`).join("")}
<text x="12" y="${(H - pad.b + pad.t) / 2}" font-size="10" transform="rotate(-90 12 ${(H - pad.b + pad.t) / 2})" text-anchor="middle">${esc(panel.unit)}</text>
${sizes.map((n) => `<text x="${xOf(n).toFixed(1)}" y="${H - pad.b + 14}" font-size="10" text-anchor="middle">${label(n)}</text>`).join("")}
<text x="${(pad.l + W - pad.r) / 2}" y="${H - 10}" font-size="10" text-anchor="middle">reads stored</text>
${lines}
</g>`
  }).join("\n")
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W * panels.length}" height="${H + 16}" font-family="sans-serif" viewBox="0 0 ${W * panels.length} ${H + 16}">
<rect width="100%" height="100%" fill="#fff"/>
${body}
<text x="8" y="${H + 10}" font-size="9" fill="#555">${esc(measuredOn)}</text>
</svg>
`
}

const niceCeil = (v: number) => {
  if (v <= 0) return 1
  const p = 10 ** Math.floor(Math.log10(v))
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((c) => c >= v)!
}
const formatValue = (v: number) => (v === 0 ? "0" : v >= 100 ? Math.round(v).toLocaleString("en-US") : v >= 10 ? v.toFixed(1) : v.toFixed(2))

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
      if (!values.has("no-purge")) {
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
