import * as Effect from "effect/Effect"
import { fileURLToPath, pathToFileURL } from "node:url"

/**
 * The verifier of evidence bundles: one file of plain JavaScript in the repository, run by recipients
 * with Node.js and nothing else (tools/verify-evidence.mjs). The server puts a copy in every bundle;
 * `alpr evidence verify` runs this very file's code.
 */
export const VERIFIER_PATH = fileURLToPath(new URL("../../../../tools/verify-evidence.mjs", import.meta.url))

interface VerifierModule {
  readonly main: (argv: ReadonlyArray<string>, print: (line: string) => void) => number
}

/** Runs the verifier on `argv` as its command line would, printing with `print`: its exit code. */
export const runVerifier = (argv: ReadonlyArray<string>, print: (line: string) => void) =>
  Effect.promise(() => import(pathToFileURL(VERIFIER_PATH).href) as Promise<VerifierModule>).pipe(
    Effect.map((verifier) => verifier.main(argv, print))
  )
