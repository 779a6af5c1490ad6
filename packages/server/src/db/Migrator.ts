import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { createHash } from "node:crypto"
import * as Fs from "node:fs/promises"
import { fileURLToPath } from "node:url"
import { orBug } from "./Rows"

/** `sql/` at the repository root: numbered plain-SQL files, the one source of the schema. */
export const MIGRATIONS_DIR = fileURLToPath(new URL("../../../../sql/", import.meta.url))

export class MigrationError extends Data.TaggedError("MigrationError")<{
  readonly message: string
  readonly cause?: unknown
}> {}

interface MigrationFile {
  readonly version: number
  readonly name: string
  readonly sql: string
  readonly checksum: string
}

const readMigrations = (dir: string) =>
  Effect.tryPromise({
    try: async () => {
      const names = (await Fs.readdir(dir)).filter((n) => /^\d{4}_[\w-]+\.sql$/.test(n)).sort()
      const files: Array<MigrationFile> = []
      for (const name of names) {
        const sql = await Fs.readFile(`${dir}/${name}`, "utf8")
        files.push({
          version: Number(name.slice(0, 4)),
          name,
          sql,
          checksum: createHash("sha256").update(sql).digest("hex")
        })
      }
      return files
    },
    catch: (cause) => new MigrationError({ message: `cannot read migrations from ${dir}`, cause })
  })

/** A row of `schema_migrations`: a file applied once. */
const AppliedRow = Schema.Struct({ version: Schema.Number, name: Schema.String, checksum: Schema.String })

const appliedMigrations = (sql: SqlClient.SqlClient) =>
  SqlSchema.findAll({
    Request: Schema.Void,
    Result: AppliedRow,
    execute: () => sql`SELECT version, name, checksum FROM schema_migrations`
  })(undefined).pipe(orBug)

// Serialises concurrent starts (several replicas, or `alpr migrate` next to a running server).
const LOCK_KEY = 7_415_001

/**
 * Applies every migration not yet applied, each once, in order, inside one transaction. An applied
 * file that has since changed is an error: the schema's history must not be rewritten.
 */
export const migrateFrom = (dir: string) => Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const files = yield* readMigrations(dir)
  const applied = yield* sql.withTransaction(Effect.gen(function*() {
    yield* sql`SELECT pg_advisory_xact_lock(${LOCK_KEY})`
    yield* sql`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`
    const done = yield* appliedMigrations(sql)
    const byVersion = new Map(done.map((row) => [row.version, row]))
    const applied: Array<string> = []
    for (const file of files) {
      const previous = byVersion.get(file.version)
      if (previous) {
        if (previous.checksum !== file.checksum) {
          return yield* new MigrationError({
            message: `migration ${file.name} was changed after it was applied (as ${previous.name}); ` +
              `add a new migration instead`
          })
        }
        continue
      }
      yield* sql.unsafe(file.sql).pipe(
        Effect.mapError((cause) => new MigrationError({ message: `migration ${file.name} failed: ${String(cause)}`, cause }))
      )
      yield* sql`INSERT INTO schema_migrations (version, name, checksum) VALUES (${file.version}, ${file.name}, ${file.checksum})`
      applied.push(file.name)
    }
    return applied
  }))
  if (applied.length > 0) yield* Effect.logInfo("migrations applied").pipe(Effect.annotateLogs({ applied }))
  return applied
}).pipe(Effect.withSpan("Migrator.migrate"))

export const migrate = migrateFrom(MIGRATIONS_DIR)

/**
 * The migrations not yet applied, read by a role that may not apply them (a serving role): it can
 * then say what is missing rather than serve a schema the code does not expect.
 */
export const pendingFrom = (dir: string) => Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const files = yield* readMigrations(dir)
  const table = yield* SqlSchema.single({
    Request: Schema.Void,
    Result: Schema.Struct({ present: Schema.Boolean }),
    execute: () => sql`SELECT to_regclass('schema_migrations') IS NOT NULL AS present`
  })(undefined).pipe(orBug, Effect.catchTag("NoSuchElementException", Effect.die))
  const done = table.present ? yield* appliedMigrations(sql) : []
  const applied = new Set(done.map((row) => row.version))
  return files.filter((file) => !applied.has(file.version)).map((file) => file.name)
})

export const pendingMigrations = pendingFrom(MIGRATIONS_DIR)
