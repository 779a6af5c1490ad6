/**
 * Minimal `--name value` / `--name=value` / `--flag` parsing for benchmark options. Each benchmark
 * declares its options; unknown ones are an error so that a typo never silently runs the defaults.
 */

export interface OptionSpec {
  readonly description: string
  /** A flag takes no value. */
  readonly flag?: boolean
  readonly default?: string
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>

export class UsageError extends Error {}

/** The benchmark was stopped by a signal (Ctrl-C); it has cleaned up after itself. */
export class Interrupted extends Error {}

export const parseArgs = (argv: ReadonlyArray<string>, specs: OptionSpecs): Map<string, string> => {
  const values = new Map<string, string>()
  for (const [name, spec] of Object.entries(specs)) {
    if (spec.default !== undefined) values.set(name, spec.default)
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (!arg.startsWith("--")) throw new UsageError(`unexpected argument "${arg}"`)
    const eq = arg.indexOf("=")
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq)
    const spec = specs[name]
    if (!spec) throw new UsageError(`unknown option --${name}`)
    if (spec.flag) {
      if (eq !== -1) throw new UsageError(`--${name} takes no value`)
      values.set(name, "true")
      continue
    }
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1)
    if (value === undefined) throw new UsageError(`--${name} needs a value`)
    values.set(name, value)
  }
  return values
}

export const numberOption = (
  values: Map<string, string>,
  name: string,
  check: { readonly min?: number; readonly integer?: boolean } = {}
): number => {
  const raw = values.get(name)
  const value = Number(raw)
  if (raw === undefined || raw.trim() === "" || !Number.isFinite(value)) {
    throw new UsageError(`--${name} must be a number (got "${raw}")`)
  }
  if (check.integer && !Number.isInteger(value)) throw new UsageError(`--${name} must be a whole number`)
  if (check.min !== undefined && value < check.min) throw new UsageError(`--${name} must be at least ${check.min}`)
  return value
}

export const optionsHelp = (specs: OptionSpecs): string =>
  Object.entries(specs)
    .map(([name, spec]) => {
      const left = spec.flag ? `--${name}` : `--${name} VALUE`
      const dflt = spec.default !== undefined ? ` (default ${spec.default})` : ""
      return `  ${left.padEnd(26)} ${spec.description}${dflt}`
    })
    .join("\n")
