import * as Fs from "node:fs"

/** A process's memory as Linux reports it in /proc/PID/status, in MiB; NaN where it cannot be read. */
export interface ProcessMemory {
  /** resident now (VmRSS) */
  readonly rssMiB: number
  /** of it anonymous: heaps and stacks, not mapped files (RssAnon) */
  readonly anonMiB: number
  /** the highest resident over the process's whole life (VmHWM) */
  readonly hwmMiB: number
}

export const processMemory = (pid: number): ProcessMemory => {
  let status = ""
  try {
    status = Fs.readFileSync(`/proc/${pid}/status`, "utf8")
  } catch {
    // gone, or not Linux: every figure NaN
  }
  const mib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN) / 1024
  return { rssMiB: mib("VmRSS"), anonMiB: mib("RssAnon"), hwmMiB: mib("VmHWM") }
}

/** MiB to MB (10^6 bytes), the unit the targets are written in. */
export const mibToMb = (mib: number): number => mib * 1.048576
