import { describe, expect, it } from "@effect/vitest"
import { useFreshDatabase } from "../../../test-support/Database"
import { alprAgainst, describeRun, INVOCATION_MS, lines, type Run } from "./alprCli"

const database = useFreshDatabase()
const alpr = alprAgainst(() => database.url)


const verify = () => alpr(["audit", "verify"])

const expectIntact = (run: Run, rows: number) => {
  expect(run.code, describeRun(run)).toBe(0)
  const out = lines(run.stdout)
  // The contract's word is the last line; the figures come before it.
  expect(out.at(-1), describeRun(run)).toBe("ok")
  expect(JSON.parse(out.at(-2)!)).toMatchObject({ rows })
}

const expectBrokenAt = (run: Run, id: string, reason: string) => {
  expect(run.signal, describeRun(run)).toBeNull()
  expect(run.code, describeRun(run)).not.toBe(0)
  expect(lines(run.stdout)).not.toContain("ok")
  const report = JSON.parse(lines(run.stdout).at(-1)!)
  expect(report).toMatchObject({ ok: false, first_broken: { id } })
  expect(report.first_broken.reason).toContain(reason)
  expect(run.stderr).toContain(`broken at row ${id}: ${reason}`)
}

/** Runs statements with audit_log's triggers off, as an attacker with superuser rights could. */
const aroundTheTriggers = async (...statements: Array<string>) => {
  await database.db.query("ALTER TABLE audit_log DISABLE TRIGGER USER")
  try {
    for (const statement of statements) await database.db.query(statement)
  } finally {
    await database.db.query("ALTER TABLE audit_log ENABLE TRIGGER USER")
  }
}

describe("alpr audit verify", () => {
  it("prints ok on an intact chain, with progress on stderr for a long one", async () => {
    // The command migrates the database it is pointed at, so an empty log is the first thing it sees.
    expectIntact(await verify(), 0)

    const insert = (n: number) =>
      database.db.query(
        `INSERT INTO audit_log (action, target, details, outcome)
         SELECT 'search', 'plate:P' || g, jsonb_build_object('n', g), 'success' FROM generate_series(1, $1) g`,
        [n]
      )
    await insert(100_000)
    await insert(1_500)
    const run = await verify()
    expectIntact(run, 101_500)
    expect(run.stderr).toContain("checked 100000 rows")
  }, INVOCATION_MS * 3 + 60_000)

  it("exits non-zero naming the first broken row: the row after a deleted one, then a changed row", async () => {
    await aroundTheTriggers("DELETE FROM audit_log WHERE id = 70000")
    expectBrokenAt(await verify(), "70001", "prev_hash does not match the previous row's hash")

    // An earlier change is now the first break.
    await aroundTheTriggers(`UPDATE audit_log SET details = '{"n": 1}' WHERE id = 50000`)
    expectBrokenAt(await verify(), "50000", "hash does not match the row's contents")
  }, INVOCATION_MS * 2 + 10_000)
})
