import * as Effect from "effect/Effect"
import { readFileSync } from "node:fs"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { alertsOf, drained, latestRevision, matcherAt } from "./alertHarness"
import { detection, postBatch, type SignedIn, startServer, type TestServer } from "./harness"
import { type AlprClient, outcomeOf, rpcAs, rpcUrlOf } from "./rpcClient"

// V8's backtracking engine needs minutes for one 10-character plate on this, and a second or more for a
// 7-character one; the server ran it on the event loop for every read and every plate of a retro check.
const NESTED = "((((((((([A-Z0-9]+)+)+)+)+)+)+)+)+)+[^A-Z0-9]"
/** The same nested `depth` times (the issue saw minutes per plate at depth 20). */
const nested = (depth: number) => `${"(".repeat(depth)}[A-Z0-9]+${")+".repeat(depth)}[^A-Z0-9]`

const PAUSE_MS = 20

/**
 * How long this process's main thread (the server's event loop: the server runs in this process) has
 * been ready to run but waiting for a CPU, in milliseconds, from Linux's schedstat; 0 where there is none.
 */
const runQueueMs = () => {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, "utf8").split(" ")[1]) / 1e6
  } catch {
    return 0
  }
}

/**
 * Asks /health again and again until stopped. An event loop held by matching delays both the answer
 * and the next question, so each round's time beyond its pause is how long a client waited at worst.
 *
 * Not counted: time the event loop was ready but the machine gave it no CPU. On a machine shared with
 * other work (CI runs test files side by side on two cores) that alone can exceed 100 ms even for an
 * idle server, and it is not the server holding anyone up.
 */
const watchHealth = (url: string) => {
  const rounds: Array<{ readonly waited: number; readonly queued: number }> = []
  const failures: Array<string> = []
  let stopped = false
  const running = (async () => {
    while (!stopped) {
      const started = performance.now()
      const queued = runQueueMs()
      try {
        const response = await fetch(`${url}/health`)
        await response.text()
        if (response.status !== 200) failures.push(`status ${response.status}`)
      } catch (error) {
        failures.push(String(error))
        return
      }
      await new Promise((resolve) => setTimeout(resolve, PAUSE_MS))
      rounds.push({ waited: performance.now() - started - PAUSE_MS, queued: runQueueMs() - queued })
    }
  })()
  return {
    stop: async () => {
      stopped = true
      await running
      const held = rounds.map((r) => r.waited - r.queued)
      const worst = rounds[held.indexOf(Math.max(...held))]
      return {
        asked: rounds.length,
        worst: Math.max(...held),
        detail: `worst round: waited ${worst?.waited.toFixed(0)} ms, of which ${worst?.queued.toFixed(0)} ms for a CPU`,
        failures
      }
    }
  }
}

describe("regular-expression entries cannot hold the server", () => {
  let server: TestServer
  let apiKey: string
  let operator: SignedIn

  const as = <A, E>(f: (client: AlprClient) => Effect.Effect<A, E>) => rpcAs(rpcUrlOf(server), operator.cookie, f)
  const ingest = async (plates: ReadonlyArray<string>) => {
    const response = await postBatch(server, apiKey, plates.map((text) => detection({ plate: { text, confidence: 0.9 } })))
    expect(response.status, await response.clone().text()).toBe(200)
  }
  const upToDate = async () => matcherAt(server, await latestRevision(server.db))

  beforeAll(async () => {
    server = await startServer({ retroAlertDays: 7 })
    apiKey = (await server.collector("Pattern site")).apiKey
    operator = await server.signIn("operator")
  })
  afterAll(() => server?.close())

  it("refuses at entry what RE2 cannot run, with the reason, over RPC", async () => {
    const list = await as((client) => client.watchlists.create({ name: "Refusals", category: "bolo" }))
    const add = (value: string) =>
      as((client) =>
        Effect.exit(client.watchlists.addEntry({ watchlist_id: list.watchlist_id, kind: "regex", value, reason: "test" }))
      ).then(outcomeOf)
    expect(await add("AB(?=\\d)\\d+")).toMatch(/lookahead and lookbehind .* are not allowed/)
    expect(await add("A{1001}")).toMatch(/^BadRequest: value: RE2, .* cannot run this one: invalid repetition size/)
    expect(await add("A[^]")).toMatch(/^BadRequest: value: RE2, .* cannot run this one: missing \]/)
    const { rows } = await server.db.query("SELECT id FROM watchlist_entries WHERE watchlist_id = $1", [list.watchlist_id])
    expect(rows).toEqual([])
  })

  it("matches a nested-quantifier entry on reads and in a retro check while /health answers within 100 ms; a plain expression still alerts", async () => {
    const list = await as((client) => client.watchlists.create({ name: "Patterns", category: "stolen" }))
    const addRegex = (value: string) =>
      as((client) => client.watchlists.addEntry({ watchlist_id: list.watchlist_id, kind: "regex", value, reason: "test" }))

    // Entered through the real RPC path: RE2 runs it, so it is accepted.
    const entered = await addRegex(NESTED)
    expect(entered.value).toBe(NESTED)
    await upToDate()

    // Reads: every one is checked against the entry as it is processed.
    let health = watchHealth(server.url)
    await ingest(["KQ7X2M9", "ZZ4471B", "PLT9981"])
    await drained(server.databaseUrl)
    const duringReads = await health.stop()
    expect(duringReads.failures).toEqual([])
    expect(duringReads.asked).toBeGreaterThan(0)
    expect(duringReads.worst, duringReads.detail).toBeLessThan(100)

    // A retro check of deeper ones, imported as a file, over many distinct plates: they require no
    // literal, so every plate is tried against every one of them.
    await server.db.query(
      "INSERT INTO plates (plate) SELECT 'P' || lpad(i::text, 7, '0') FROM generate_series(1, 50000) AS i ON CONFLICT DO NOTHING"
    )
    health = watchHealth(server.url)
    const deeper = Array.from({ length: 30 }, (_, i) => nested(10 + i))
    const imported = await as((client) =>
      client.watchlists.importCsv({
        watchlist_id: list.watchlist_id,
        csv: ["plate,kind", ...deeper.map((value) => `${value},regex`)].join("\n"),
        first_line: 2,
        reason: "test"
      })
    )
    expect([imported.imported, imported.rejected]).toEqual([deeper.length, 0])
    await drained(server.databaseUrl)
    const duringRetro = await health.stop()
    expect(duringRetro.failures).toEqual([])
    expect(duringRetro.asked).toBeGreaterThan(5)
    expect(duringRetro.worst, duringRetro.detail).toBeLessThan(100)

    // A legitimate expression alerts for an older read (retro) and a new one.
    await ingest(["RG4821"])
    await drained(server.databaseUrl)
    const plain = await addRegex("RG\\d{4}")
    await upToDate()
    await ingest(["RG7730", "RG77301"])
    await drained(server.databaseUrl)
    const raised = (await alertsOf(server.db, list.watchlist_id)).map((a) => [a.entry_id, a.plate, a.retro])
    expect(raised.sort()).toEqual([[plain.entry_id, "RG4821", true], [plain.entry_id, "RG7730", false]])
  }, 180_000)
})
