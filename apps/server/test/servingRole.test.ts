import { Accounts, Audit } from "@chaverim/server"
import { derivedServingUrl } from "@chaverim/server/db/ServingRole"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { randomBytes } from "node:crypto"
import pg from "pg"
import { connect, freshDatabase, superuserUrl } from "../../../test-support/Database"
import { alprAgainst, describeRun, lines } from "./alprCli"
import { detection, postBatch, startServer, type TestServer } from "./harness"

/** The role names of the server's own pool connections to its database. */
const poolRoles = async (server: TestServer) => {
  const { rows } = await server.db.query<{ usename: string }>(
    `SELECT DISTINCT usename FROM pg_stat_activity
      WHERE datname = current_database() AND application_name IN ('chaverim-alpr', 'chaverim-alpr-listen')`
  )
  return rows.map((row) => row.usename)
}

/** Refused by PostgreSQL's privileges, not stopped by a trigger the role could have turned off. */
const expectRefused = async (client: pg.Client, statement: string) => {
  const error = await client.query(statement).then(() => undefined, (e: unknown) => e as { code?: string; message?: string })
  expect(error, `${statement} was allowed`).toBeDefined()
  expect(error!.code, `${statement}: ${error!.message}`).toBe("42501")
  expect(error!.message, statement).toMatch(/permission denied|must be owner|must be superuser/)
}

/** Every way the brief's attacker, holding the server's database credentials, would rewrite evidence. */
const expectEvidenceProtected = async (client: pg.Client) => {
  const { rows: [me] } = await client.query(
    "SELECT current_user AS name, rolsuper, rolcreaterole, rolbypassrls FROM pg_roles WHERE rolname = current_user"
  )
  expect(me).toMatchObject({ rolsuper: false, rolcreaterole: false, rolbypassrls: false })
  const { rows: [owned] } = await client.query(
    "SELECT count(*)::int AS n FROM pg_class WHERE relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)"
  )
  expect(owned.n, "the serving role owns nothing").toBe(0)

  const columns = { detections: "plate", detection_images: "kind", audit_log: "reason", corrections: "note", evidence_exports: "case_number" }
  for (const [table, column] of Object.entries(columns)) {
    await expectRefused(client, `UPDATE ${table} SET ${column} = ${column}`)
    await expectRefused(client, `DELETE FROM ${table}`)
    await expectRefused(client, `TRUNCATE ${table}`)
  }
  // Nor hide a plate's reads from partial and fuzzy search by forgetting the plate or its months.
  for (const table of ["plates", "plate_months"]) {
    await expectRefused(client, `DELETE FROM ${table}`)
    await expectRefused(client, `UPDATE ${table} SET plate = plate`)
  }
  await expectRefused(client, "ALTER TABLE detections DISABLE TRIGGER detections_worm")
  await expectRefused(client, "ALTER TABLE audit_log DISABLE TRIGGER USER")
  await expectRefused(client, "DROP TRIGGER detections_worm ON detections")
  await expectRefused(client, "CREATE TABLE evidence_copy (id bigint)")
  // Replica mode skips every ordinary trigger: only a superuser may choose it.
  await expectRefused(client, "SET session_replication_role = replica")
  await expectRefused(client, "UPDATE audit_chain_head SET hash = repeat('0', 64)")
  // The key that signs Telegram buttons is read, never chosen, by the server.
  await expectRefused(client, "UPDATE server_secrets SET secret = secret")
  // Nor the evidence key that signs case exports: agencies have pinned its public half.
  await expectRefused(client, "DELETE FROM server_secrets WHERE name = 'evidence_signing'")
  await expectRefused(client, "INSERT INTO server_secrets (name, secret) VALUES ('x', '\\x00')")
  // Which channels hear which events is a migration's choice: a server cannot add a channel or widen one.
  await expectRefused(client, "INSERT INTO outbound_channels (name, events) VALUES ('exfil', ARRAY['alert_raised'])")
  await expectRefused(client, "UPDATE outbound_channels SET events = events")
  await expectRefused(client, "ALTER ROLE CURRENT_USER SUPERUSER")
}

describe("the serving role, made by the server from one owner URL", () => {
  let server: TestServer
  let serving: pg.Client

  beforeAll(async () => {
    server = await startServer()
    const { apiKey } = await server.collector()
    const response = await postBatch(server, apiKey, [detection({ plate: { text: "WORM 01", confidence: 0.9 } })])
    expect(response.status).toBe(200)
    const { rows: [{ database }] } = await server.db.query("SELECT current_database() AS database")
    // The credentials as the server computes them from the URL it was given.
    serving = await connect(derivedServingUrl(server.databaseUrl, database))
  }, 60_000)

  afterAll(async () => {
    await serving?.end()
    await server?.close()
  })

  it("is what the server connects as", async () => {
    const { rows: [me] } = await serving.query("SELECT current_user AS name")
    expect(me.name).toMatch(/^alpr_serve_/)
    expect(await poolRoles(server)).toEqual([me.name])
  })

  it("is refused every change to evidence, triggers and the schema", async () => {
    await expectEvidenceProtected(serving)
    const { rows } = await server.db.query("SELECT plate FROM detections")
    expect(rows).toEqual([{ plate: "WORM01" }])
  })

  it("still extends the audit chain, which stays intact", async () => {
    const name = `serving-${randomBytes(3).toString("hex")}`
    await server.run(Effect.flatMap(Accounts, (accounts) => accounts.create(name, "viewer")))
    const { rows: [row] } = await server.db.query("SELECT id FROM audit_log WHERE target LIKE $1 OR details::text LIKE $1", [`%${name}%`])
    expect(row, "the account's creation was audited").toBeDefined()
    const { rows: [head] } = await server.db.query("SELECT last_id FROM audit_chain_head")
    const { rows: [newest] } = await server.db.query("SELECT max(id) AS id FROM audit_log")
    expect(head.last_id).toBe(newest.id)
    const verified = await server.runtime.runPromise(Effect.flatMap(Audit, (audit) => audit.verify))
    expect(verified.ok).toBe(true)
  })

  it("is shared by a second server on the same database, both serving", async () => {
    const second = await startServer({}, { databaseUrl: server.databaseUrl })
    try {
      const { apiKey } = await second.collector("second")
      expect((await postBatch(second, apiKey, [detection()])).status).toBe(200)
      const { apiKey: firstKey } = await server.collector("first again")
      expect((await postBatch(server, firstKey, [detection()])).status).toBe(200)
      expect(await poolRoles(second)).toHaveLength(1)
    } finally {
      await second.stop()
      await second.db.end()
    }
  }, 60_000)
})

describe("the two-URL set-up (managed PostgreSQL, docker compose)", () => {
  const role = `alpr_app_${randomBytes(4).toString("hex")}`
  const password = randomBytes(18).toString("base64url")
  const databases: Array<Awaited<ReturnType<typeof freshDatabase>>> = []
  const asServing = (url: string) => {
    const parsed = new URL(url)
    parsed.username = role
    parsed.password = password
    return parsed.toString()
  }

  afterAll(async () => {
    for (const database of databases) await database.drop()
    const admin = await connect(superuserUrl())
    await admin.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(role)}`)
    await admin.end()
  })

  it("alpr migrate makes and grants DATABASE_URL's role as the owner; the server then serves with DATABASE_URL alone", async () => {
    const database = await freshDatabase()
    databases.push(database)
    const servingUrl = asServing(database.url)
    // As compose's one-shot `migrate` service.
    const alpr = alprAgainst(() => servingUrl)
    const migrated = await alpr(["migrate"], { DATABASE_OWNER_URL: database.url })
    expect(migrated.code, describeRun(migrated)).toBe(0)
    expect(JSON.parse(lines(migrated.stdout).at(-1)!).applied).toContain("0001_init.sql")

    // As compose's app: the owner's password nowhere in its settings.
    const app = await startServer({}, { databaseUrl: servingUrl })
    try {
      const { apiKey } = await app.collector()
      expect((await postBatch(app, apiKey, [detection()])).status).toBe(200)
      expect(await poolRoles(app)).toEqual([role])
      await expectEvidenceProtected(app.db)
    } finally {
      await app.stop()
      await app.db.end()
    }
  }, 120_000)

  it("a server given both URLs migrates as the owner and serves as DATABASE_URL's role", async () => {
    const database = await freshDatabase()
    databases.push(database)
    const server = await startServer({
      databaseOwnerUrl: Option.some(Redacted.make(database.url)),
      databaseUrl: Option.some(Redacted.make(asServing(database.url)))
    }, { databaseUrl: database.url })
    try {
      const { apiKey } = await server.collector()
      expect((await postBatch(server, apiKey, [detection()])).status).toBe(200)
      expect(await poolRoles(server)).toEqual([role])
    } finally {
      await server.stop()
      await server.db.end()
    }
  }, 60_000)

  it("refuses to serve an unmigrated database as a role that may not migrate it, naming the fix", async () => {
    const database = await freshDatabase()
    databases.push(database)
    await expect(startServer({}, { databaseUrl: asServing(database.url) })).rejects.toThrow(
      /alpr migrate.*DATABASE_OWNER_URL/
    )
  }, 60_000)
})

describe("an owner that may not create roles", () => {
  const role = `alpr_owner_${randomBytes(4).toString("hex")}`
  let database: Awaited<ReturnType<typeof freshDatabase>>

  afterAll(async () => {
    await database?.drop()
    const admin = await connect(superuserUrl())
    await admin.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(role)}`)
    await admin.end()
  })

  it("serves as itself, and says in a warning that evidence is then not protected from it", async () => {
    database = await freshDatabase()
    const admin = await connect(database.url)
    await admin.query(`CREATE ROLE ${pg.escapeIdentifier(role)} LOGIN PASSWORD 'owner-pw'`)
    await admin.query(`ALTER DATABASE ${pg.escapeIdentifier(new URL(database.url).pathname.slice(1))} OWNER TO ${pg.escapeIdentifier(role)}`)
    await admin.query(`ALTER SCHEMA public OWNER TO ${pg.escapeIdentifier(role)}`)
    await admin.end()
    const ownerUrl = new URL(database.url)
    ownerUrl.username = role
    ownerUrl.password = "owner-pw"
    const alpr = alprAgainst(() => ownerUrl.toString(), "Warning")
    const run = await alpr(["migrate"])
    expect(run.code, describeRun(run)).toBe(0)
    expect(run.stderr).toMatch(/superuser or an owner of the tables/)
  }, 60_000)
})
