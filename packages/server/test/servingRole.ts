import { PgClient } from "@effect/sql-pg"
import type * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type pg from "pg"
import { connect } from "../../../test-support/Database"
import { migrate } from "../src/db/Migrator"
import { derivedServingUrl, ensureRole, grantServing, servingPassword, servingRoleName } from "../src/db/ServingRole"

/** Runs an effect against the database at `url`. */
export const runOn = <A, E>(url: string, effect: Effect.Effect<A, E, SqlClient.SqlClient>) =>
  Effect.runPromise(Effect.provide(effect, PgClient.layer({ url: Redacted.make(url) })) as Effect.Effect<A, E>)

/**
 * Migrates a test database as its owner and makes its serving role as a server makes it; returns a
 * connection as that role, for tests of what the database lets the server do.
 */
export const migratedWithServingRole = async (database: { readonly url: string; readonly db: pg.Client }): Promise<pg.Client> => {
  await runOn(database.url, migrate)
  const { rows: [me] } = await database.db.query("SELECT current_database() AS name, current_schema() AS schema")
  const role = servingRoleName(me.name)
  await runOn(database.url, Effect.zipRight(ensureRole(role, servingPassword(database.url, role)), grantServing(role, me.schema)))
  return connect(derivedServingUrl(database.url, me.name))
}
