import * as Fs from "node:fs"

/**
 * CPU time used by processes, read from /proc (Linux only; elsewhere every figure is NaN). Used to
 * show where the machine's cores went during a run: the server, PostgreSQL, or the load generator.
 */

const TICKS_PER_SECOND = 100 // USER_HZ, 100 on every Linux build that matters

/** utime + stime of one process, in seconds; NaN when it cannot be read. */
export const processCpuSeconds = (pid: number): number => {
  try {
    const stat = Fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    // The command name (field 2) may hold spaces; fields are counted after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND
  } catch {
    return Number.NaN
  }
}

/** CPU seconds by pid, for those of `pids` that are running `name` (e.g. "postgres"). */
export const cpuOf = (pids: Iterable<number>, name: string): Map<number, number> => {
  const out = new Map<number, number>()
  for (const pid of pids) {
    try {
      if (Fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim() !== name) continue
    } catch {
      continue
    }
    const seconds = processCpuSeconds(pid)
    if (!Number.isNaN(seconds)) out.set(pid, seconds)
  }
  return out
}

/** Busy CPU seconds of the whole machine (all cores: everything but idle and iowait). */
export const machineBusySeconds = (): number => {
  try {
    const line = Fs.readFileSync("/proc/stat", "utf8").split("\n")[0]!
    const [, ...fields] = line.trim().split(/\s+/)
    const values = fields.map(Number)
    const idle = (values[3] ?? 0) + (values[4] ?? 0)
    // user nice system idle iowait irq softirq steal (guest time is already in user)
    const total = values.slice(0, 8).reduce((a, b) => a + b, 0)
    return (total - idle) / TICKS_PER_SECOND
  } catch {
    return Number.NaN
  }
}

export interface CpuSnapshot {
  readonly at: number
  readonly server: number
  readonly self: number
  readonly postgres: Map<number, number>
  readonly machine: number
}

/**
 * `postgresPids`: the PostgreSQL processes that work for this benchmark (its database's backends
 * and the cluster's background processes), so that other users of the same cluster do not count.
 */
export const cpuSnapshot = (serverPid: number | ReadonlyArray<number>, postgresPids: Iterable<number>): CpuSnapshot => {
  const usage = process.cpuUsage()
  return {
    at: performance.now(),
    server: (typeof serverPid === "number" ? [serverPid] : serverPid).reduce((sum, pid) => sum + processCpuSeconds(pid), 0),
    self: (usage.user + usage.system) / 1e6,
    postgres: cpuOf(postgresPids, "postgres"),
    machine: machineBusySeconds()
  }
}

/** Average cores used between two snapshots (1 = one core fully busy). */
export const coresBetween = (a: CpuSnapshot, b: CpuSnapshot) => {
  const wall = (b.at - a.at) / 1000
  let postgres = 0
  // Processes that started during the window count from zero; those that ended are lost.
  for (const [pid, seconds] of b.postgres) postgres += seconds - (a.postgres.get(pid) ?? 0)
  const server = (b.server - a.server) / wall
  const bench = (b.self - a.self) / wall
  const machine = (b.machine - a.machine) / wall
  return {
    server,
    bench,
    postgres: b.postgres.size === 0 ? Number.NaN : postgres / wall,
    machine,
    /** Everything else on the machine: other processes competing for the same cores. */
    other: machine - server - bench - (b.postgres.size === 0 ? 0 : postgres / wall)
  }
}
