/**
 * Output conventions shared by every benchmark: figures go to stdout as one JSON line each
 * (`{"metric": ..., "value": ..., "unit": ...}`, ARCHITECTURE.md section 4), everything else
 * (progress, logs, diagnostics) goes to stderr so stdout stays machine-readable.
 */

export interface Figure {
  readonly metric: string
  readonly value: number
  readonly unit: string
}

const round = (value: number): number => Math.round(value * 1000) / 1000

/** Prints one figure as a JSON line on stdout; a figure that could not be measured (NaN) is left out. */
export const emit = (metric: string, value: number, unit: string): Figure | undefined => {
  if (!Number.isFinite(value)) {
    progress(`(no figure for ${metric}: could not be measured here)`)
    return undefined
  }
  const figure: Figure = { metric, value: round(value), unit }
  process.stdout.write(`${JSON.stringify(figure)}\n`)
  return figure
}

const started = performance.now()

/** A progress line on stderr, stamped with seconds since the benchmark started. */
export const progress = (message: string): void => {
  const t = ((performance.now() - started) / 1000).toFixed(1).padStart(6)
  process.stderr.write(`[bench ${t}s] ${message}\n`)
}

/** The value at quantile q (0..1) of an ascending array; NaN when empty. */
export const quantile = (sorted: ReadonlyArray<number>, q: number): number => {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[rank]!
}
