import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import pg from "pg"
import type { TestProject } from "vitest/node"
import { embeddedPostgres } from "../packages/server/src/db/EmbeddedPostgres"

declare module "vitest" {
  export interface ProvidedContext {
    pgAdminUrl: string
  }
}

const reachable = async (url: string) => {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 })
  try {
    await client.connect()
    await client.query("SELECT 1")
    return true
  } catch {
    return false
  } finally {
    await client.end().catch(() => {})
  }
}

/**
 * Tests run against a real PostgreSQL: TEST_DATABASE_URL, else the machine's server on
 * 127.0.0.1:5432, else an embedded one started for this run. Each test file makes its own database.
 */
export default async function setup(project: TestProject) {
  const candidate = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"
  if (await reachable(candidate)) {
    project.provide("pgAdminUrl", candidate)
    return
  }
  const dir = await Fs.mkdtemp(Path.join(Os.tmpdir(), "alpr-test-pg-"))
  await Fs.chmod(dir, 0o755)
  const scope = Effect.runSync(Scope.make())
  const { url } = await Effect.runPromise(
    embeddedPostgres({ dir: Path.join(dir, "pg"), database: "postgres" }).pipe(Scope.extend(scope))
  )
  project.provide("pgAdminUrl", (url as unknown as { value?: string }).value ?? String(url))
  return async () => {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    await Fs.rm(dir, { recursive: true, force: true })
  }
}
