import * as Fs from "node:fs"
import { processCpuSeconds } from "./cpu"

/**
 * Processes below a given one, read from /proc (Linux only; elsewhere nothing is found). Used to
 * count the CPU of a browser the benchmark launched: Chromium's browser, renderer, GPU and utility
 * processes are all children (or grandchildren, through its zygote) of the benchmark's own process.
 */

export interface ProcessInfo {
  readonly pid: number
  readonly ppid: number
  /** the command name (`chromium`, `node`, ...) */
  readonly comm: string
  /** Chromium's `--type=` (renderer, gpu-process, utility, zygote), or "browser" without one; "" for others */
  readonly chromiumType: string
}

const readProcess = (pid: number): ProcessInfo | undefined => {
  try {
    const stat = Fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    const close = stat.lastIndexOf(")")
    const comm = stat.slice(stat.indexOf("(") + 1, close)
    const ppid = Number(stat.slice(close + 2).split(" ")[1])
    let chromiumType = ""
    if (/chrom/i.test(comm)) {
      // Chromium rewrites its command line of child processes into one string with spaces.
      const cmdline = Fs.readFileSync(`/proc/${pid}/cmdline`, "utf8")
      chromiumType = /(?:^|[\s\0])--type=([^\s\0]+)/.exec(cmdline)?.[1] ?? "browser"
    }
    return { pid, ppid, comm, chromiumType }
  } catch {
    return undefined
  }
}

/** Every process below `root` (not `root` itself), leaving out the subtrees of `exclude`. */
export const descendants = (root: number, exclude: ReadonlyArray<number> = []): Array<ProcessInfo> => {
  let entries: Array<string>
  try {
    entries = Fs.readdirSync("/proc")
  } catch {
    return []
  }
  const children = new Map<number, Array<ProcessInfo>>()
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue
    const info = readProcess(Number(name))
    if (info === undefined) continue
    const siblings = children.get(info.ppid) ?? []
    siblings.push(info)
    children.set(info.ppid, siblings)
  }
  const out: Array<ProcessInfo> = []
  const queue = [root]
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      if (exclude.includes(child.pid)) continue
      out.push(child)
      queue.push(child.pid)
    }
  }
  return out
}

/** CPU seconds so far of each process, by pid (those that could not be read are left out). */
export const cpuByPid = (processes: ReadonlyArray<ProcessInfo>): Map<number, number> => {
  const out = new Map<number, number>()
  for (const p of processes) {
    const seconds = processCpuSeconds(p.pid)
    if (!Number.isNaN(seconds)) out.set(p.pid, seconds)
  }
  return out
}

/**
 * CPU seconds used between two readings, over the processes of the second (one that started in
 * between counts from zero; one that ended in between is lost).
 */
export const cpuUsedBetween = (before: ReadonlyMap<number, number>, after: ReadonlyMap<number, number>, pids?: Iterable<number>) => {
  let total = 0
  for (const pid of pids ?? after.keys()) {
    const b = after.get(pid)
    if (b !== undefined) total += b - (before.get(pid) ?? 0)
  }
  return total
}
