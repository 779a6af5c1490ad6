import { randomBytes } from "node:crypto"
import pg from "pg"
import { afterAll, beforeAll, inject } from "vitest"
import { servingRoleName } from "../packages/server/src/db/ServingRole"

/** The PostgreSQL superuser's URL the tests run against, for what only it may do (roles, say). */
export const superuserUrl = (): string => inject("pgAdminUrl")

/** A database of its own for one test file, dropped afterwards. */
export const freshDatabase = async (): Promise<{ readonly url: string; readonly drop: () => Promise<void> }> => {
  const adminUrl = inject("pgAdminUrl")
  const name = `alpr_test_${randomBytes(6).toString("hex")}`
  const admin = new pg.Client({ connectionString: adminUrl })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: adminUrl })
      await client.connect()
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      // The role a server made to serve this database (roles outlive databases: they are the cluster's).
      await client.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(servingRoleName(name))}`)
      await client.end()
    }
  }
}

/** A plain client for assertions that look at rows directly. */
export const connect = async (url: string): Promise<pg.Client> => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  return client
}

/**
 * A fresh database and a client on it for the whole test file; read `.url` and `.db` inside tests.
 */
export const useFreshDatabase = () => {
  const handle = {} as { url: string; db: pg.Client; drop: () => Promise<void> }
  beforeAll(async () => {
    const database = await freshDatabase()
    handle.url = database.url
    handle.drop = database.drop
    handle.db = await connect(database.url)
  })
  afterAll(async () => {
    await handle.db?.end()
    await handle.drop?.()
  })
  return handle as { readonly url: string; readonly db: pg.Client }
}
