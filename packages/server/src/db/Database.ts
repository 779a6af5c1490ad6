import { PgClient } from "@effect/sql-pg"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Path from "node:path"
import { AppConfig } from "../Config"
import { embeddedPostgres } from "./EmbeddedPostgres"
import { migrate, pendingMigrations } from "./Migrator"
import { setRetentionFloors } from "./RetentionFloors"
import {
  currentPrivileges,
  derivedServingUrl,
  ensureRole,
  grantServing,
  overPrivileged,
  servingPassword,
  servingRoleName
} from "./ServingRole"

/**
 * Session settings for the application's connections, sent at connect time (the `options` startup
 * parameter, which node-postgres reads from the URL). JIT is off: its compile time (40-200 ms) is
 * spent on short queries whose row estimates look large on a big table, and is never won back.
 * Settings the URL already gives win.
 */
export const withSessionSettings = (url: string): string => {
  const parsed = new URL(url)
  const given = parsed.searchParams.get("options") ?? ""
  if (/\bjit\s*=/.test(given)) return url
  parsed.searchParams.set("options", `${given} -c jit=off`.trim())
  return parsed.toString()
}

export class DatabaseSetupError extends Data.TaggedError("DatabaseSetupError")<{ readonly message: string }> {}

interface Urls {
  /** the role that migrates, or the serving role when no owner was given and it may not */
  readonly admin: string
  /** the serving role's URL when given apart from the owner's (DATABASE_OWNER_URL and DATABASE_URL) */
  readonly serving: string | undefined
}

/** The URLs from the settings, the embedded PostgreSQL's superuser when none is set. */
const databaseUrls = Effect.gen(function*() {
  const config = yield* AppConfig
  const value = Option.map(Redacted.value)
  const owner = value(config.databaseOwnerUrl)
  const given = value(config.databaseUrl)
  if (Option.isSome(owner)) return { admin: owner.value, serving: Option.getOrUndefined(given) } satisfies Urls
  if (Option.isSome(given)) return { admin: given.value, serving: undefined } satisfies Urls
  const embedded = yield* embeddedPostgres({ dir: Path.join(config.dataDir, "pg"), database: "alpr" })
  return { admin: Redacted.value(embedded.url), serving: undefined } satisfies Urls
})

// The first connection is retried for a while, so a server started alongside its database (docker
// compose) does not give up at once.
const firstConnection = Schedule.exponential("250 millis").pipe(Schedule.jittered, Schedule.intersect(Schedule.recurs(8)))

const pool = (url: string, maxConnections: number, applicationName: string) =>
  PgClient.layer({ url: Redacted.make(withSessionSettings(url)), maxConnections, applicationName }).pipe(
    Layer.retry(firstConnection)
  )

const roleOf = (url: string) => decodeURIComponent(new URL(url).username)

const warnPrivileged = (role: string) =>
  Effect.logWarning(
    "the server connects as a superuser or an owner of the tables, which can disable the triggers " +
      "that keep evidence write-once; give DATABASE_URL a role that may create roles, or set " +
      "DATABASE_OWNER_URL apart from a DATABASE_URL of a role that owns nothing (README: Configuration)"
  ).pipe(Effect.annotateLogs({ role }))

/**
 * Run with the admin URL's role: migrates when it may, sets up the serving role and grants it its
 * privileges, and says which URL to serve with.
 *
 * - DATABASE_OWNER_URL and DATABASE_URL: the owner migrates and grants to DATABASE_URL's role (made,
 *   with that URL's password, when missing and the owner may make roles).
 * - One URL whose role may make roles (the embedded superuser, a simple install): it migrates, then
 *   makes a serving role for this database, whose password every server given that URL computes.
 * - One URL of a role that owns nothing: it is the serving role already; migrations must have been
 *   applied by `alpr migrate` with DATABASE_OWNER_URL.
 * - One URL of an owner that may not make roles: it serves as the owner, with a warning.
 */
const setUp = Effect.fn("Database.setUp")(function*(urls: Urls) {
  const self = yield* currentPrivileges
  const mayMakeRoles = self.superuser || self.createRole
  if (urls.serving === undefined && !self.owner && !mayMakeRoles) {
    const pending = yield* pendingMigrations
    if (pending.length > 0) {
      return yield* new DatabaseSetupError({
        message: `the database lacks migrations (${pending.join(", ")}) that ${self.user} may not apply: ` +
          `run \`alpr migrate\` with DATABASE_OWNER_URL set to the owner's URL`
      })
    }
    return { applied: [] as ReadonlyArray<string>, url: urls.admin }
  }
  const applied = yield* migrate
  // The owner's word on what the purge may delete: the settings of whoever holds the owner's URL.
  yield* setRetentionFloors((yield* AppConfig).retention)
  if (urls.serving !== undefined) {
    const role = roleOf(urls.serving)
    if (role === self.user) {
      yield* warnPrivileged(role)
      return { applied, url: urls.serving }
    }
    const password = decodeURIComponent(new URL(urls.serving).password)
    yield* ensureRole(role, password === "" ? undefined : password).pipe(
      Effect.catchIf((error) => !mayMakeRoles && String((error.cause as { code?: unknown })?.code) === "42501", () =>
        new DatabaseSetupError({
          message: `the role ${role} of DATABASE_URL does not exist and ${self.user} may not create it: ` +
            `create it (LOGIN, owning nothing), then run \`alpr migrate\` again`
        }))
    )
    yield* grantServing(role, self.schema)
    if (yield* overPrivileged(role, self.schema)) yield* warnPrivileged(role)
    return { applied, url: urls.serving }
  }
  if (!mayMakeRoles) {
    yield* warnPrivileged(self.user)
    return { applied, url: urls.admin }
  }
  const role = servingRoleName(self.database)
  yield* ensureRole(role, servingPassword(urls.admin, role))
  yield* grantServing(role, self.schema)
  if (yield* overPrivileged(role, self.schema)) yield* warnPrivileged(role)
  return { applied, url: derivedServingUrl(urls.admin, self.database) }
})

/**
 * Migrates and sets up the serving role as the owner (see setUp) on a connection of its own, closed
 * afterwards: `alpr migrate`, and the first thing every server does.
 */
export const migrateDatabase = Effect.gen(function*() {
  const urls = yield* databaseUrls
  return yield* setUp(urls).pipe(Effect.provide(pool(urls.admin, 2, "chaverim-alpr-setup")))
})

/**
 * The connections of the read-only queries (search, investigation, statistics): a pool of their own on
 * DATABASE_READ_URL, a replica, when it is set; otherwise the primary's pool as it is. A replica is
 * behind its primary by its replication lag: a read stored a moment ago may not be found yet. Writes
 * these services make (the audit rows of what was searched) go through the Audit service, on the
 * primary.
 */
export const ReadDatabaseLayer: Layer.Layer<SqlClient.SqlClient, unknown, AppConfig | SqlClient.SqlClient> = Layer.unwrapEffect(
  Effect.gen(function*() {
    const config = yield* AppConfig
    if (Option.isNone(config.databaseReadUrl)) return Layer.effect(SqlClient.SqlClient, SqlClient.SqlClient)
    const url = Redacted.value(config.databaseReadUrl.value)
    yield* Effect.logInfo("read-only queries go to the replica").pipe(
      Effect.annotateLogs({ host: new URL(url).host, role: roleOf(url) })
    )
    // The replica takes the same number of connections again: what it serves is what the primary no
    // longer has to.
    return pool(url, config.dbPoolSize, "chaverim-alpr-read")
  })
)

/** The database, migrated, served as the least-privileged role (see setUp); closed with the layer. */
export const MigratedDatabaseLayer = Layer.unwrapScoped(
  Effect.gen(function*() {
    const config = yield* AppConfig
    const { url } = yield* migrateDatabase
    yield* Effect.logInfo("serving the database").pipe(Effect.annotateLogs({ role: roleOf(url) }))
    return pool(url, config.dbPoolSize, "chaverim-alpr")
  })
)
