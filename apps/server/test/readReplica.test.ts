import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import pg from "pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type ReplicatedPair, startReplicatedPair } from "../../../test-support/Replica"
import { detection, postBatch, startServer, type TestServer } from "./harness"

/**
 * DATABASE_READ_URL: the read-only queries go to a hot standby kept in sync with the primary by
 * streaming replication (two clusters of this test's own), while every write, the audit rows of those
 * very searches included, goes to the primary.
 */
describe("read replica (DATABASE_READ_URL)", () => {
  let pair: ReplicatedPair
  let server: TestServer
  let standby: pg.Client
  let apiKey: string
  let cookie: string

  beforeAll(async () => {
    pair = await startReplicatedPair()
    const admin = new pg.Client({ connectionString: pair.primaryUrl("postgres") })
    await admin.connect()
    await admin.query("CREATE DATABASE alpr")
    await admin.end()
    server = await startServer(
      { databaseReadUrl: Option.some(Redacted.make(pair.standbyUrl("alpr"))) },
      { databaseUrl: pair.primaryUrl("alpr") }
    )
    standby = new pg.Client({ connectionString: pair.standbyUrl("alpr") })
    await standby.connect()
    ;({ apiKey } = await server.collector("replica site"))
    cookie = await server.session("operator")
  }, 120_000)
  afterAll(async () => {
    await standby?.end()
    await server?.close()
    await pair?.stop()
  })

  const plates = async (plate: string, query: Record<string, string> = {}) => {
    const params = new URLSearchParams({ plate, reason_code: "investigation", ...query })
    const response = await fetch(`${server.url}/api/v1/detections?${params}`, { headers: { cookie } })
    const text = await response.text()
    expect(response.status, text).toBe(200)
    return (JSON.parse(text) as { items: ReadonlyArray<{ plate: string }> }).items.map((item) => item.plate)
  }
  const ingest = async (plate: string) => {
    const response = await postBatch(server, apiKey, [detection({ plate: { text: plate, confidence: 0.9 } })])
    expect(response.status, await response.text()).toBe(200)
  }
  const searchAudits = async () =>
    Number((await server.db.query<{ n: string }>("SELECT count(*)::text AS n FROM audit_log WHERE action LIKE 'search%'")).rows[0]!.n)

  it("searches read the standby, and find a read once the standby has replayed it", async () => {
    await ingest("RPL001")
    await pair.caughtUp()
    expect(await plates("RPL001")).toEqual(["RPL001"])
    // the server's read pool is on the standby
    const { rows: [read] } = await standby.query<{ n: string }>(
      "SELECT count(*)::text AS n FROM pg_stat_activity WHERE application_name = 'chaverim-alpr-read'"
    )
    expect(Number(read!.n)).toBeGreaterThan(0)
  })

  it("does not see what the standby has not replayed yet, and writes the search's audit row on the primary", async () => {
    await standby.query("SELECT pg_wal_replay_pause()")
    try {
      await ingest("RPL002")
      // stored on the primary ...
      expect((await server.db.query("SELECT 1 FROM detections WHERE plate = 'RPL002'")).rowCount).toBe(1)
      const audited = await searchAudits()
      // ... but the search reads the standby, which has not replayed it
      expect(await plates("RPL002")).toEqual([])
      // the search itself was audited, on the primary (a standby takes no writes)
      expect(await searchAudits()).toBe(audited + 1)
    } finally {
      await standby.query("SELECT pg_wal_replay_resume()")
    }
    await pair.caughtUp()
    expect(await plates("RPL002")).toEqual(["RPL002"])
  })

  it("keeps writes off the standby: ingest and corrections still work while it is paused", async () => {
    await standby.query("SELECT pg_wal_replay_pause()")
    try {
      await ingest("RPL003")
      expect((await server.db.query("SELECT 1 FROM detections WHERE plate = 'RPL003'")).rowCount).toBe(1)
    } finally {
      await standby.query("SELECT pg_wal_replay_resume()")
    }
  })
})
