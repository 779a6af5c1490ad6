import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto"
import pg from "pg"
import { orBug } from "./Rows"

/**
 * The server answers requests as a login role of its own that owns nothing: it may read everything
 * and write what the application writes, but it cannot change or remove evidence, cannot disable or
 * drop a trigger (only a table's owner can), and cannot create objects. The owner (whoever runs the
 * migrations) grants this at every start and every `alpr migrate`, so tables added later are covered.
 * Deleting evidence, when retention needs it, is for functions the owner defines (SECURITY DEFINER)
 * that check the policy themselves, granted to this role by name.
 */

/** Append-only for the serving role: rows are added, never changed or removed. */
export const EVIDENCE_TABLES = ["detections", "detection_images", "audit_log", "corrections", "evidence_exports"] as const

/**
 * Noted by the reads' insert trigger (the serving role's), forgotten only by retention's owner-run
 * `retention_prune_plates`: the distinct plates and their months, which partial and fuzzy search go
 * through. A server that could delete a row here could hide a plate's reads from those searches.
 */
const NOTED_TABLES = ["plates", "plate_months"] as const

/**
 * Read-only for the serving role: written only by the migrator and by the audit chain's owner-run
 * triggers. The server's keys (server_secrets) are made by a migration: the server reads them and
 * could otherwise swap in one of its own choosing. Outbound channels are registered by their migration.
 */
const READ_ONLY_TABLES = [
  "audit_chain_head",
  "schema_migrations",
  "server_secrets",
  "outbound_channels",
  // Retention's floors and bookkeeping (sql/0017): the owner's functions write them. A server that could
  // queue an object key for removal, or lower a floor, could delete evidence the purge would refuse.
  "retention_policy",
  "retention_pending_objects",
  "retention_kept",
  "retention_plate_candidates"
] as const

/**
 * The owner's functions the serving role may call (EXECUTE is revoked from PUBLIC by their migration):
 * they delete what retention may, checking the policy and the legal holds themselves (sql/0017).
 */
const SERVING_FUNCTIONS = [
  "retention_purge(bigint[], timestamptz, timestamptz, timestamptz, timestamptz, boolean)",
  "retention_objects_removed(text[])",
  "retention_prune_plates(integer)",
  // Months of reads (sql/0019, 0020): a partition made for a month that has none, a month dropped whole.
  "detections_ensure_months(timestamptz[])",
  "retention_drop_month(timestamptz, timestamptz, boolean)"
] as const

/** Taken from only by owner-run triggers (the audit chain numbers its rows under its own lock). */
const OWNER_SEQUENCES = ["audit_log_id_seq"] as const

/** Role changes and grants, one server at a time per database (7415001 is the migrator's, 7415011 the live feed's pruning). */
const ROLE_LOCK = 7_415_012

const LABEL = "chaverim-alpr serving role v1"

/**
 * The serving role of a database when the server makes it itself: one per database, because several
 * databases (tests, installations) may share one PostgreSQL cluster, where role names are global.
 */
export const servingRoleName = (database: string): string => {
  const readable = `alpr_serve_${database}`
  return /^[a-z0-9_]+$/.test(database) && readable.length <= 63
    ? readable
    : `alpr_serve_${createHash("sha256").update(database).digest("hex").slice(0, 32)}`
}

/**
 * The serving role's password, which every server given the same owner URL computes alike, so that
 * servers starting together on one database never lock each other out. The owner's password is the
 * key; an owner URL without one (trust or certificate authentication) stands in as a whole.
 */
export const servingPassword = (ownerUrl: string, role: string): string => {
  const owner = new URL(ownerUrl)
  const key = owner.password !== "" ? decodeURIComponent(owner.password) : ownerUrl
  return createHmac("sha256", key).update(`${LABEL}\n${role}`).digest("base64url")
}

/** `url` with another role's credentials; host, database and options stay. */
export const withCredentials = (url: string, role: string, password: string): string => {
  const parsed = new URL(url)
  parsed.username = encodeURIComponent(role)
  parsed.password = encodeURIComponent(password)
  return parsed.toString()
}

/** The URL the server serves with when it makes the serving role from `ownerUrl`'s role itself. */
export const derivedServingUrl = (ownerUrl: string, database: string): string => {
  const role = servingRoleName(database)
  return withCredentials(ownerUrl, role, servingPassword(ownerUrl, role))
}

/**
 * A SCRAM-SHA-256 verifier (what `ALTER ROLE ... PASSWORD` stores), made here so that the password
 * itself never travels in a statement that the database's log could keep.
 */
const scramVerifier = (password: string): string => {
  const iterations = 4096
  const salt = randomBytes(16)
  const salted = pbkdf2Sync(password, salt, iterations, 32, "sha256")
  const hmac = (text: string) => createHmac("sha256", salted).update(text).digest()
  const storedKey = createHash("sha256").update(hmac("Client Key")).digest()
  return `SCRAM-SHA-256$${iterations}:${salt.toString("base64")}$${storedKey.toString("base64")}:${
    hmac("Server Key").toString("base64")
  }`
}

const Privileges = Schema.Struct({
  user: Schema.String,
  database: Schema.String,
  schema: Schema.String,
  superuser: Schema.Boolean,
  createRole: Schema.Boolean,
  /** may create objects in the schema, or owns some there: an owner, not a serving role */
  owner: Schema.Boolean
})
export type Privileges = typeof Privileges.Type

/**
 * The row of a query of the catalog that answers one whatever the database holds (the connected
 * role's own row, a function's result): none would be a bug of ours, a defect.
 */
const oneRow = <A, I>(Result: Schema.Schema<A, I>, statement: Effect.Effect<ReadonlyArray<unknown>, SqlError>) =>
  SqlSchema.single({ Request: Schema.Void, Result, execute: () => statement })(undefined).pipe(
    orBug,
    Effect.catchTag("NoSuchElementException", Effect.die)
  )

/** What the connected role may do: decides whether it migrates, makes a serving role, or serves as is. */
export const currentPrivileges: Effect.Effect<Privileges, SqlError, SqlClient.SqlClient> = Effect.flatMap(
  SqlClient.SqlClient,
  (sql) =>
    oneRow(
      Privileges,
      sql`
        SELECT current_user AS user, current_database() AS database, current_schema() AS schema,
               r.rolsuper AS superuser, r.rolcreaterole AS "createRole",
               has_schema_privilege(current_schema(), 'CREATE')
                 OR EXISTS (SELECT FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                             WHERE n.nspname = current_schema() AND c.relowner = r.oid) AS owner
          FROM pg_roles r WHERE r.rolname = current_user`
    )
)

const id = (name: string) => pg.escapeIdentifier(name)

const isCode = (codes: ReadonlyArray<string>) => (error: SqlError) =>
  codes.includes(String((error.cause as { code?: unknown } | undefined)?.code))

/**
 * Makes `role` a login role with `password` (created when missing, password set when present), or
 * only checks that it exists when no password is given. A role made by another server in the
 * meantime is taken as found.
 */
export const ensureRole = Effect.fn("ServingRole.ensure")(function*(role: string, password: string | undefined) {
  const sql = yield* SqlClient.SqlClient
  const setPassword = password === undefined ? "" : ` PASSWORD ${pg.escapeLiteral(scramVerifier(password))}`
  // A role made by a database administrator may be beyond our reach: then its password must already
  // be the one the server connects with.
  const alter = password === undefined ? Effect.void : sql.withTransaction(
    sql.unsafe(`ALTER ROLE ${id(role)} LOGIN${setPassword}`)
  ).pipe(
    Effect.asVoid,
    Effect.catchIf(isCode(["42501"]), () =>
      Effect.logWarning("may not set the serving role's password; it must already be the one given").pipe(
        Effect.annotateLogs({ role })
      ))
  )
  yield* sql.withTransaction(Effect.gen(function*() {
    yield* sql`SELECT pg_advisory_xact_lock(${ROLE_LOCK})`
    const found = yield* oneRow(
      Schema.Struct({ exists: Schema.Boolean }),
      sql`SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = ${role}) AS exists`
    )
    if (found.exists) return yield* alter
    yield* sql.withTransaction(
      sql.unsafe(
        `CREATE ROLE ${id(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT${setPassword}`
      )
    ).pipe(
      Effect.asVoid,
      // duplicate_object, or unique_violation when two creations of one name meet in the catalog
      Effect.catchIf(isCode(["42710", "23505"]), () => alter)
    )
  }))
})

/**
 * Grants `role` what the application does, and nothing more, in `schema`; what it held before is
 * revoked first, so the grants are exactly these whatever earlier versions or hands granted.
 */
export const grantServing = Effect.fn("ServingRole.grant")(function*(role: string, schema: string) {
  const sql = yield* SqlClient.SqlClient
  const r = id(role)
  const s = id(schema)
  const tables = (names: ReadonlyArray<string>) => names.map((name) => `${s}.${id(name)}`).join(", ")
  yield* sql.withTransaction(Effect.gen(function*() {
    yield* sql`SELECT pg_advisory_xact_lock(${ROLE_LOCK})`
    for (
      const statement of [
        `REVOKE ALL ON ALL TABLES IN SCHEMA ${s} FROM ${r}`,
        `REVOKE ALL ON ALL SEQUENCES IN SCHEMA ${s} FROM ${r}`,
        // A function granted by an earlier version and since renamed or dropped from the list keeps no
        // grant (what every role may call stays PUBLIC's).
        `REVOKE ALL ON ALL FUNCTIONS IN SCHEMA ${s} FROM ${r}`,
        `REVOKE ALL ON SCHEMA ${s} FROM ${r}`,
        `GRANT USAGE ON SCHEMA ${s} TO ${r}`,
        `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${s} TO ${r}`,
        `REVOKE UPDATE, DELETE ON ${tables(EVIDENCE_TABLES)} FROM ${r}`,
        `REVOKE UPDATE, DELETE ON ${tables(NOTED_TABLES)} FROM ${r}`,
        `REVOKE INSERT, UPDATE, DELETE ON ${tables(READ_ONLY_TABLES)} FROM ${r}`,
        `GRANT USAGE ON ALL SEQUENCES IN SCHEMA ${s} TO ${r}`,
        `REVOKE USAGE ON SEQUENCE ${tables(OWNER_SEQUENCES)} FROM ${r}`,
        ...SERVING_FUNCTIONS.map((f) => `GRANT EXECUTE ON FUNCTION ${s}.${f} TO ${r}`)
      ]
    ) yield* sql.unsafe(statement)
    // The reads' months are reached through `detections` alone; their partitions grant nothing. A read's
    // id is the sequence's: the role inserts every column of a read but that one, so ids stay unique
    // across the partitions (a primary key there holds only per month).
    const readsTable = `${s}.detections`
    const partitions = yield* sql<{ readonly name: string }>`
      SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = to_regclass(${readsTable})`
    if (partitions.length > 0) yield* sql.unsafe(`REVOKE ALL ON ${tables(partitions.map((p) => p.name))} FROM ${r}`)
    const columns = yield* sql<{ readonly name: string }>`
      SELECT attname AS name FROM pg_attribute
       WHERE attrelid = to_regclass(${readsTable}) AND attnum > 0 AND NOT attisdropped AND attname <> 'id'
       ORDER BY attnum`
    if (columns.length > 0) {
      yield* sql.unsafe(`REVOKE INSERT ON ${readsTable} FROM ${r}`)
      yield* sql.unsafe(`GRANT INSERT (${columns.map((c) => id(c.name)).join(", ")}) ON ${readsTable} TO ${r}`)
    }
    // Before PostgreSQL 15 every role may create in `public`: take that from everyone, if we may.
    const mayCreate = oneRow(
      Schema.Struct({ create: Schema.Boolean }),
      sql`SELECT has_schema_privilege(${role}, ${schema}, 'CREATE') AS create`
    )
    if ((yield* mayCreate).create) {
      yield* sql.unsafe(`REVOKE CREATE ON SCHEMA ${s} FROM PUBLIC`)
      if ((yield* mayCreate).create) {
        yield* Effect.logWarning(
          "the serving role may create objects in the schema (granted to PUBLIC, and only the schema's owner can revoke it)"
        ).pipe(Effect.annotateLogs({ role, schema }))
      }
    }
  }))
})

/** Whether `role` is more than a serving role should be: a superuser, or owner of tables in `schema`. */
export const overPrivileged = (role: string, schema: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const row = yield* SqlSchema.findOne({
      Request: Schema.Void,
      Result: Schema.Struct({ superuser: Schema.Boolean, owns: Schema.Boolean }),
      execute: () =>
        sql`
          SELECT r.rolsuper OR r.rolbypassrls OR r.rolcreaterole AS superuser,
                 EXISTS (SELECT FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                          WHERE n.nspname = ${schema} AND c.relowner = r.oid) AS owns
            FROM pg_roles r WHERE r.rolname = ${role}`
    })(undefined).pipe(orBug)
    return Option.exists(row, (r) => r.superuser || r.owns)
  })
