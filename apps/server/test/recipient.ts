import { spawn } from "node:child_process"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

/** The evidence bundles' verifier: one plain-JS file in the repository. */
export const VERIFIER = fileURLToPath(new URL("../../../tools/verify-evidence.mjs", import.meta.url))

export interface VerifierRun {
  readonly code: number | null
  readonly stdout: string
}

/**
 * The verifier as a recipient runs it: a copy of the one file in an empty folder (no node_modules
 * anywhere up its path), run by plain `node` with no options or module paths.
 */
export const verifyAsRecipient = async (zip: Buffer, key?: string): Promise<VerifierRun> => {
  const dir = await Fs.mkdtemp(Path.join(Os.tmpdir(), "recipient-"))
  try {
    await Fs.copyFile(VERIFIER, Path.join(dir, "verify-evidence.mjs"))
    await Fs.writeFile(Path.join(dir, "bundle.zip"), zip)
    const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir }
    return await new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ["verify-evidence.mjs", "bundle.zip", ...(key === undefined ? [] : ["--key", key])], {
        cwd: dir,
        env,
        stdio: ["ignore", "pipe", "pipe"]
      })
      let stdout = ""
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
      child.once("error", reject)
      child.once("close", (code) => resolve({ code, stdout }))
    })
  } finally {
    await Fs.rm(dir, { recursive: true, force: true })
  }
}

/** One file of a bundle, read with the verifier's own zip reader. */
export const bundleFile = async (zip: Buffer, name: string): Promise<Buffer> => {
  const { readZip } = (await import(VERIFIER)) as { readZip: (zip: Buffer) => Map<string, { read: () => Buffer }> }
  const entry = readZip(zip).get(name)
  if (entry === undefined) throw new Error(`the bundle has no ${name}`)
  return entry.read()
}
