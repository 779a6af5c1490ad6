import { scryptSync } from "node:crypto"
import * as Fs from "node:fs"
import * as Path from "node:path"

/**
 * The device identity and the key of secrets protected by it (`machine-id`, see Secrets.ts), in a
 * module of their own, without Effect: main.ts derives the key before it loads the collector.
 *
 * scrypt takes 16 MiB for the moment it runs. Taken once the collector was loaded, that moment was
 * the highest its memory ever went, higher than draining a full buffer; taken first, while the
 * process holds little more than Node itself, it stays well below (README, "Edge collector").
 * (glibc, freeing those 16 MiB, would raise the size from which it maps memory of its own to 16 MiB
 * and keep what the collector frees afterwards: the systemd unit fixes it, MALLOC_MMAP_THRESHOLD_.)
 */

const MACHINE_ID_FILES = ["/etc/machine-id", "/var/lib/dbus/machine-id"]

/** The device identity: the first machine-id file that exists, unless a file is named; throws when none has one. */
export const readMachineIdentity = (file?: string): string => {
  for (const candidate of file === undefined ? MACHINE_ID_FILES : [file]) {
    if (Fs.existsSync(candidate)) {
      const id = Fs.readFileSync(candidate, "utf8").trim()
      if (id.length > 0) return id
    }
  }
  throw new Error(`no device identity: none of ${(file === undefined ? MACHINE_ID_FILES : [file]).join(", ")} has one`)
}

const derived = new Map<string, Buffer>()

/** The key of `machine-id` protection for a salt: scrypt of the device identity, derived once per process. */
export const machineKey = (identity: string, salt: Buffer): Buffer => {
  const id = `${salt.toString("hex")}:${identity}`
  let key = derived.get(id)
  if (key === undefined) {
    key = scryptSync(identity, salt, 32)
    derived.set(id, key)
  }
  return key
}

/**
 * Derives the key of the secrets in `dir` now, when they exist and nothing in the environment asks
 * for another protection than the device identity (see Protection.ts), so that `machineKey` has it
 * when the collector first reads them. Anything amiss is left for that read to report.
 */
export const deriveMachineKeyEarly = (dir: string, machineIdFile: string | undefined) => {
  const env = process.env
  if ((env["EDGE_SECRET_PROTECTION"] ?? "machine-id") !== "machine-id") return
  if (env["EDGE_SECRET_PROTECTION"] === undefined && (env["EDGE_SECRET_KEY_FILE"] || env["EDGE_SECRET_PASSPHRASE"])) return
  try {
    if (!Fs.existsSync(Path.join(dir, "secrets.enc"))) return
    machineKey(readMachineIdentity(machineIdFile), Fs.readFileSync(Path.join(dir, "secrets.salt")))
  } catch {
    // told when the secrets are read
  }
}
