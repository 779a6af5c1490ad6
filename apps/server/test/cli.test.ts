import { describe, expect, it } from "@effect/vitest"
import { randomBytes } from "node:crypto"
import { useFreshDatabase } from "../../../test-support/Database"
import { alprAgainst, describeRun, INVOCATION_MS, lastJson, type Run } from "./alprCli"

/**
 * LOG_LEVEL for the commands under test. `Error` is spelt the same as an Effect log level's tag and
 * its label; `Warning` and `None` (documented in README.md) are checked by a test of their own.
 */
const QUIET = "Error"

const database = useFreshDatabase()
const alpr = alprAgainst(() => database.url, QUIET)

const expectSuccess = (run: Run) => expect(run.code, describeRun(run)).toBe(0)

const expectFailure = (run: Run) => {
  expect(run.signal, describeRun(run)).toBeNull()
  expect(run.code, describeRun(run)).not.toBe(0)
}

/** stderr without npm's own noise about the machine's npmrc. */
const ownStderr = (run: Run) =>
  run.stderr.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("npm warn")).join("\n")

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

const createCollector = async (name: string): Promise<string> => {
  const run = await alpr(["collector", "create", "--name", name])
  expectSuccess(run)
  return lastJson(run).collector_id
}

const commandCount = async (collectorId: string) =>
  (await database.db.query("SELECT count(*)::int AS n FROM collector_commands WHERE collector_id = $1", [collectorId])).rows[0]
    .n as number

describe("alpr CLI", () => {
  it("migrate applies the migrations once", async () => {
    const first = await alpr(["migrate"])
    expectSuccess(first)
    const applied = lastJson(first).applied
    expect(Array.isArray(applied)).toBe(true)
    expect(applied).toContain("0001_init.sql")
    const { rows } = await database.db.query("SELECT name FROM schema_migrations ORDER BY version")
    expect(rows.map((r) => r.name)).toEqual(applied)
    const { rows: tables } = await database.db.query("SELECT to_regclass('public.collectors') IS NOT NULL AS present")
    expect(tables[0].present).toBe(true)

    const second = await alpr(["migrate"])
    expectSuccess(second)
    expect(lastJson(second)).toEqual({ applied: [] })
    const { rows: after } = await database.db.query("SELECT count(*)::int AS n FROM schema_migrations")
    expect(after[0].n).toBe(rows.length)
  }, INVOCATION_MS * 2 + 10_000)

  it("collector create prints the collector and its claim code as its last line", async () => {
    const before = Date.now()
    const run = await alpr(["collector", "create", "--name", "Main St"])
    expectSuccess(run)
    const created = lastJson(run)
    expect(Object.keys(created).sort()).toEqual(["claim_code", "collector_id", "expires_at"])
    expect(created.collector_id).toMatch(UUID)
    expect(created.claim_code).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/)
    const validFor = Date.parse(created.expires_at) - before
    expect(validFor).toBeGreaterThan(23 * 3600_000)
    expect(validFor).toBeLessThan(25 * 3600_000)

    const { rows } = await database.db.query("SELECT name, status FROM collectors WHERE id = $1", [created.collector_id])
    expect(rows).toEqual([{ name: "Main St", status: "pending" }])
    const { rows: codes } = await database.db.query(
      "SELECT used_at, expires_at FROM claim_codes WHERE collector_id = $1",
      [created.collector_id]
    )
    expect(codes).toHaveLength(1)
    expect(codes[0].used_at).toBeNull()
    expect(codes[0].expires_at.getTime()).toBe(Date.parse(created.expires_at))
  }, INVOCATION_MS + 10_000)

  it("collector command queues a command for the collector's next heartbeat", async () => {
    const collectorId = await createCollector("Command site")
    const run = await alpr(["collector", "command", "--id", collectorId, "--cmd", "reboot"])
    expectSuccess(run)
    const queued = lastJson(run)
    expect(queued).toMatchObject({ collector_id: collectorId, cmd: "reboot" })
    const { rows } = await database.db.query(
      "SELECT id, cmd, payload, status, delivered_at FROM collector_commands WHERE collector_id = $1",
      [collectorId]
    )
    expect(rows).toEqual([{ id: queued.command_id, cmd: "reboot", payload: {}, status: "pending", delivered_at: null }])

    const withPayload = await alpr([
      "collector",
      "command",
      "--id",
      collectorId,
      "--cmd",
      "config_update",
      "--payload",
      JSON.stringify({ version: "cfg-7", cameras: ["cam-1"] })
    ])
    expectSuccess(withPayload)
    const { rows: config } = await database.db.query("SELECT payload FROM collector_commands WHERE id = $1", [
      lastJson(withPayload).command_id
    ])
    expect(config).toEqual([{ payload: { version: "cfg-7", cameras: ["cam-1"] } }])
  }, INVOCATION_MS * 3 + 10_000)

  it("collector revoke revokes every key of the collector", async () => {
    const collectorId = await createCollector("Revoked site")
    const keys = [0, 1].map(() => ({
      prefix: `alpr_${randomBytes(5).toString("hex")}`,
      hash: randomBytes(32).toString("hex")
    }))
    for (const key of keys) {
      await database.db.query("INSERT INTO api_keys (collector_id, prefix, key_hash) VALUES ($1, $2, $3)", [
        collectorId,
        key.prefix,
        key.hash
      ])
    }
    const run = await alpr(["collector", "revoke", "--id", collectorId])
    expectSuccess(run)
    expect(lastJson(run)).toEqual({ collector_id: collectorId, revoked: 2 })
    const { rows } = await database.db.query(
      "SELECT count(*)::int AS n FROM api_keys WHERE collector_id = $1 AND revoked_at IS NULL",
      [collectorId]
    )
    expect(rows[0].n).toBe(0)
  }, INVOCATION_MS * 2 + 10_000)

  it("collector create without --name fails and creates nothing", async () => {
    const { rows: before } = await database.db.query("SELECT count(*)::int AS n FROM collectors")
    const run = await alpr(["collector", "create"])
    expectFailure(run)
    expect(ownStderr(run) + run.stdout).toContain("--name")
    const { rows: after } = await database.db.query("SELECT count(*)::int AS n FROM collectors")
    expect(after[0].n).toBe(before[0].n)
  }, INVOCATION_MS + 10_000)

  it("collector command refuses an unknown --cmd and a --payload that is not JSON", async () => {
    const collectorId = await createCollector("Bad commands")

    const badCmd = await alpr(["collector", "command", "--id", collectorId, "--cmd", "self_destruct"])
    expectFailure(badCmd)
    expect(ownStderr(badCmd) + badCmd.stdout).toContain("reboot") // it lists the commands there are
    expect(await commandCount(collectorId)).toBe(0)

    const badPayload = await alpr(["collector", "command", "--id", collectorId, "--cmd", "reboot", "--payload", "{x"])
    expectFailure(badPayload)
    expect(ownStderr(badPayload)).toMatch(/payload/i)
    expect(await commandCount(collectorId)).toBe(0)

    const unknownCollector = await alpr([
      "collector",
      "command",
      "--id",
      "00000000-0000-4000-8000-000000000000",
      "--cmd",
      "reboot"
    ])
    expectFailure(unknownCollector)
    expect(ownStderr(unknownCollector)).toContain("no collector")
  }, INVOCATION_MS * 4 + 10_000)

  it("accepts the LOG_LEVEL values the README and deploy/.env.example document (Warning, None)", async () => {
    for (const level of ["Warning", "None"]) {
      const run = await alpr(["migrate"], { LOG_LEVEL: level })
      expect(run.code, `LOG_LEVEL=${level}\n${describeRun(run)}`).toBe(0)
      expect(lastJson(run)).toEqual({ applied: [] })
    }
  }, INVOCATION_MS * 2 + 10_000)

  it("user create prints the username and a one-time password; the account must change it and enrol", async () => {
    const run = await alpr(["user", "create", "--username", "ops-lead", "--role", "admin"])
    expectSuccess(run)
    const created = lastJson(run)
    expect(Object.keys(created).sort()).toEqual(["password", "username"])
    expect(created.username).toBe("ops-lead")
    expect(created.password).toMatch(/^[A-Za-z2-9]{5}(-[A-Za-z2-9]{5}){3}$/)
    expect(run.stdout + run.stderr).not.toMatch(/argon2id/)
    const { rows } = await database.db.query(
      "SELECT role, must_change_password, totp_secret, password_hash FROM users WHERE username = 'ops-lead'"
    )
    expect(rows).toHaveLength(1)
    expect(rows[0]).toMatchObject({ role: "admin", must_change_password: true, totp_secret: null })
    expect(rows[0].password_hash).toMatch(/^\$argon2id\$/)
    expect(rows[0].password_hash).not.toContain(created.password)

    // The same name in other case is the same person; an unknown role is refused.
    expectFailure(await alpr(["user", "create", "--username", "OPS-LEAD", "--role", "viewer"]))
    const badRole = await alpr(["user", "create", "--username", "someone", "--role", "superuser"])
    expectFailure(badRole)
    expect(ownStderr(badRole) + badRole.stdout).toContain("operator")
    const { rows: count } = await database.db.query("SELECT count(*)::int AS n FROM users")
    expect(count[0].n).toBe(1)

    const reset = await alpr(["user", "reset-password", "--username", "Ops-Lead"])
    expectSuccess(reset)
    expect(lastJson(reset).password).not.toBe(created.password)
    const { rows: audit } = await database.db.query(
      "SELECT action, details->>'via' AS via FROM audit_log WHERE action LIKE 'user.%' ORDER BY id"
    )
    expect(audit).toEqual([{ action: "user.create", via: "cli" }, { action: "user.reset_password", via: "cli" }])
  }, INVOCATION_MS * 4 + 10_000)

  it("tells a bad setting on stderr rather than exiting silently", async () => {
    const run = await alpr(["migrate"], { LOG_LEVEL: "loud" })
    expectFailure(run)
    expect(ownStderr(run), describeRun(run)).toContain("LOG_LEVEL")
  }, INVOCATION_MS + 10_000)
})
