import type { KnownPlateDetail } from "@chaverim/domain/KnownPlates"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import WebSocket from "ws"
import { detection, postBatch, type SignedIn, startServer, type TestServer } from "./harness"
import { type AlprClient, outcomeOf, rpcAs, rpcUrlOf } from "./rpcClient"

let server: TestServer
let operator: SignedIn
let other: SignedIn

const as = <A, E>(user: SignedIn, f: (client: AlprClient) => Effect.Effect<A, E>) => rpcAs(rpcUrlOf(server), user.cookie, f)
const exitAs = <A, E>(user: SignedIn, f: (client: AlprClient) => Effect.Effect<A, E>) =>
  rpcAs(rpcUrlOf(server), user.cookie, (client) => Effect.exit(f(client)))

/** NDJSON requests sent by hand, for payloads the typed client would refuse to send; each call's Exit. */
const rawCalls = (user: SignedIn, requests: ReadonlyArray<{ readonly tag: string; readonly payload: unknown }>) =>
  new Promise<ReadonlyArray<{ readonly _tag: string; readonly cause?: unknown }>>((resolve, reject) => {
    const socket = new WebSocket(rpcUrlOf(server), undefined, { headers: { cookie: user.cookie } })
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

const HOUR = 3_600_000
let minute = 0
const past = (hoursAgo: number) => new Date(Date.now() - hoursAgo * HOUR - (++minute) * 61_000).toISOString()

const search = async (params: Record<string, string>) => {
  const response = await fetch(
    `${server.url}/api/v1/detections?${new URLSearchParams({ reason_code: "investigation", reason: "known plates test", ...params })}`,
    { headers: { cookie: operator.cookie } }
  )
  const text = await response.text()
  return { status: response.status, body: JSON.parse(text) as { items?: Array<{ plate: string }>; message?: string } }
}
const platesOf = async (params: Record<string, string>) => {
  const { body, status } = await search(params)
  expect(status, JSON.stringify(body)).toBe(200)
  return body.items!.map((i) => i.plate).sort()
}

beforeAll(async () => {
  server = await startServer()
  operator = await server.signIn("operator")
  other = await server.signIn("operator")
  const { apiKey } = await server.collector("Known plates site")
  const reads = ["RES 111", "RES-222", "STF333", "DLV444", "RES999", "OTH555"].flatMap((text) => [
    detection({ timestamp: past(1), plate: { text, confidence: 0.9 } }),
    detection({ timestamp: past(2), plate: { text, confidence: 0.9 } })
  ])
  const response = await postBatch(server, apiKey, reads)
  expect(response.status).toBe(200)
})

afterAll(async () => {
  await server?.close()
})

describe("known plates over RPC", () => {
  it.effect("sets, edits and clears a plate's note and tags, keeping every version and auditing old and new", () =>
    Effect.gen(function*() {
      const first = yield* Effect.promise(() =>
        as(operator, (c) => c.knownPlates.set({ plate: "res 111", note: "resident's car", tags: ["resident"] }))
      )
      expect(first.plate).toBe("RES111")
      expect(first.current).toMatchObject({ note: "resident's car", tags: ["resident"], version: 1, set_by_name: operator.username })

      // tags are trimmed, lower-cased, deduplicated and sorted; the note trimmed
      const second = yield* Effect.promise(() =>
        as(other, (c) => c.knownPlates.set({ plate: "RES111", note: "  blue Golf, flat 4  ", tags: ["Resident ", "staff", "resident"] }))
      )
      expect(second.current).toMatchObject({ note: "blue Golf, flat 4", tags: ["resident", "staff"], version: 2, set_by_name: other.username })
      expect(second.history.map((v) => [v.version, v.note, v.tags])).toEqual([
        [2, "blue Golf, flat 4", ["resident", "staff"]],
        [1, "resident's car", ["resident"]]
      ])

      // the same again is no new version and no audit row
      const same = yield* Effect.promise(() =>
        as(operator, (c) => c.knownPlates.set({ plate: "RES111", note: "blue Golf, flat 4", tags: ["staff", "resident"] }))
      )
      expect(same.current?.version).toBe(2)

      const cleared = yield* Effect.promise(() => as(operator, (c) => c.knownPlates.clear({ plate: "RES-111" })))
      expect(cleared.current).toBeNull()
      expect(cleared.history.map((v) => [v.version, v.note, v.tags, v.set_by_name])).toEqual([
        [3, "", [], operator.username],
        [2, "blue Golf, flat 4", ["resident", "staff"], other.username],
        [1, "resident's car", ["resident"], operator.username]
      ])
      const again = yield* Effect.promise(() => exitAs(operator, (c) => c.knownPlates.clear({ plate: "RES111" })))
      expect(outcomeOf(again)).toContain("NotFound: RES111 carries no note and no tags")

      // known again after clearing: a fourth version, the history still whole
      const back = yield* Effect.promise(() =>
        as(operator, (c) => c.knownPlates.set({ plate: "RES111", note: "", tags: ["resident"] }))
      )
      expect(back.current).toMatchObject({ note: "", tags: ["resident"], version: 4 })
      const got: KnownPlateDetail = yield* Effect.promise(() => as(other, (c) => c.knownPlates.get({ plate: "res111" })))
      expect(got.history.map((v) => v.version)).toEqual([4, 3, 2, 1])

      const audit = yield* Effect.promise(() =>
        query<{ actor_username: string; action: string; target: string; details: Record<string, unknown> }>(
          "SELECT actor_username, action, target, details FROM audit_log WHERE action LIKE 'known_plate.%' AND target = 'plate:RES111' ORDER BY id"
        )
      )
      expect(audit).toEqual([
        {
          actor_username: operator.username,
          action: "known_plate.set",
          target: "plate:RES111",
          details: { from: null, to: { note: "resident's car", tags: ["resident"], version: 1 } }
        },
        {
          actor_username: other.username,
          action: "known_plate.set",
          target: "plate:RES111",
          details: {
            from: { note: "resident's car", tags: ["resident"], version: 1 },
            to: { note: "blue Golf, flat 4", tags: ["resident", "staff"], version: 2 }
          }
        },
        {
          actor_username: operator.username,
          action: "known_plate.clear",
          target: "plate:RES111",
          details: { from: { note: "blue Golf, flat 4", tags: ["resident", "staff"], version: 2 }, to: { note: "", tags: [], version: 3 } }
        },
        {
          actor_username: operator.username,
          action: "known_plate.set",
          target: "plate:RES111",
          details: { from: { note: "", tags: [], version: 3 }, to: { note: "", tags: ["resident"], version: 4 } }
        }
      ])
    }))

  it("refuses bad tags and too long notes with a typed error saying why, and stores nothing", async () => {
    const set = (payload: Record<string, unknown>) => ({ tag: "knownPlates.set", payload: { plate: "BAD1", note: "", ...payload } })
    const answers = await rawCalls(operator, [
      set({ tags: ["two words"] }),
      set({ tags: ["Ünïcode"] }),
      set({ tags: ["x".repeat(33)] }),
      set({ tags: ["-lead"] }),
      set({ tags: ["a", "b", "c", "d", "e", "f", "g", "h", "i"] }),
      set({ tags: [""] }),
      set({ note: "n".repeat(501), tags: [] }),
      set({ note: "   ", tags: [] }),
      { tag: "knownPlates.set", payload: { plate: " - ", note: "x", tags: [] } },
      { tag: "knownPlates.lookup", payload: { plates: Array.from({ length: 201 }, (_, i) => `P${i}`) } }
    ])
    const expected = [
      "\\\"two words\\\" is not a tag: a tag is one lower-case word",
      "\\\"Ünïcode\\\" is not a tag",
      "is longer than 32 characters",
      "\\\"-lead\\\" is not a tag",
      "at most 8 tags a plate",
      "a tag must not be blank",
      "the note is at most 500 characters",
      "nothing to keep: give a note or a tag",
      "the plate has no letters or digits",
      "at most 200 plates a lookup"
    ]
    answers.forEach((exit, i) => {
      expect(exit._tag, `answer ${i + 1}`).toBe("Failure")
      expect(JSON.stringify(exit.cause), `answer ${i + 1}`).toContain(expected[i])
    })
    // the note and the tags are the service's to check: a typed error a form shows as it is
    for (const answer of answers.slice(0, 8)) expect(JSON.stringify(answer.cause)).toContain("BadRequest")
    expect(await query("SELECT plate FROM known_plates WHERE plate = 'BAD1'")).toEqual([])
    // and the database holds the same rules against any other writer
    await expect(query("INSERT INTO known_plates (plate, tags, set_by, set_by_name) VALUES ('BAD2', '{Staff}', $1, 'x')", [operator.userId]))
      .rejects.toThrow(/known_plates_tags_check/)
    await expect(query("INSERT INTO known_plates (plate, note, set_by, set_by_name) VALUES ('BAD2', repeat('n', 501), $1, 'x')", [operator.userId]))
      .rejects.toThrow(/known_plates_note_check/)
  })

  it("keeps the history: versions cannot be changed, deleted or made up", async () => {
    await expect(query("UPDATE known_plate_history SET note = 'forged' WHERE plate = 'RES111'")).rejects.toThrow(/not allowed/)
    await expect(query("DELETE FROM known_plate_history WHERE plate = 'RES111'")).rejects.toThrow(/not allowed/)
    await expect(query("DELETE FROM known_plates WHERE plate = 'RES111'")).rejects.toThrow(/not allowed/)
    await expect(query(
      "INSERT INTO known_plate_history (plate, version, note, tags, set_by, set_by_name, set_at) VALUES ('RES111', 9, 'forged', '{}', $1, 'x', now())",
      [operator.userId]
    )).rejects.toThrow(/written by known_plates' trigger only/)
    expect((await query<{ n: number }>("SELECT count(*)::int AS n FROM known_plate_history WHERE plate = 'RES111'"))[0]!.n).toBe(4)
  })

  it("looks up many plates at once, lists known plates by tag and the tags in use", async () => {
    await as(operator, (c) =>
      Effect.all([
        c.knownPlates.set({ plate: "RES222", note: "Mrs K.", tags: ["resident"] }),
        c.knownPlates.set({ plate: "STF333", note: "caretaker", tags: ["staff"] }),
        c.knownPlates.set({ plate: "DLV444", note: "", tags: ["delivery"] })
      ]))
    const looked = await as(operator, (c) =>
      c.knownPlates.lookup({ plates: ["res-111", "RES222", "STF333", "OTH555", "NEVER1", "RES 222", ...Array.from({ length: 150 }, (_, i) => `Z${i}`)] })
    )
    expect(looked.map((k) => [k.plate, k.tags])).toEqual([
      ["RES111", ["resident"]],
      ["RES222", ["resident"]],
      ["STF333", ["staff"]]
    ])
    const residents = await as(operator, (c) => c.knownPlates.list({ tag: "resident" }))
    expect(residents.items.map((k) => k.plate)).toEqual(["RES111", "RES222"])
    const firstPage = await as(operator, (c) => c.knownPlates.list({ limit: 2 }))
    expect(firstPage.items.map((k) => k.plate)).toEqual(["DLV444", "RES111"])
    const rest = await as(operator, (c) => c.knownPlates.list({ limit: 2, after: firstPage.next_cursor! }))
    expect(rest.items.map((k) => k.plate)).toEqual(["RES222", "STF333"])
    expect(rest.next_cursor).toBeNull()
    expect(await as(operator, (c) => c.knownPlates.tags({}))).toEqual([
      { tag: "resident", plates: 2 },
      { tag: "delivery", plates: 1 },
      { tag: "staff", plates: 1 }
    ])
  })

  it("refuses viewers every procedure, audited; admins may", async () => {
    const viewer = await server.signIn("viewer")
    const calls = {
      get: (c: AlprClient) => c.knownPlates.get({ plate: "RES111" }),
      lookup: (c: AlprClient) => c.knownPlates.lookup({ plates: ["RES111"] }),
      set: (c: AlprClient) => c.knownPlates.set({ plate: "RES111", note: "viewer was here", tags: [] }),
      clear: (c: AlprClient) => c.knownPlates.clear({ plate: "RES111" }),
      list: (c: AlprClient) => c.knownPlates.list({}),
      tags: (c: AlprClient) => c.knownPlates.tags({})
    }
    for (const [name, call] of Object.entries(calls)) {
      const exit = await exitAs(viewer, call as (c: AlprClient) => Effect.Effect<unknown, unknown>)
      expect(outcomeOf(exit), name).toMatch(/^Forbidden: knownPlates\.\w+ needs the operator role; you are viewer/)
    }
    expect((await query<{ n: number }>(
      "SELECT count(*)::int AS n FROM audit_log WHERE actor_id = $1 AND outcome = 'denied' AND target LIKE 'rpc:knownPlates.%'",
      [viewer.userId]
    ))[0]!.n).toBe(6)
    expect((await as(operator, (c) => c.knownPlates.get({ plate: "RES111" }))).current?.note).toBe("")

    const admin = await server.signIn("admin")
    const byAdmin = await as(admin, (c) => c.knownPlates.set({ plate: "ADM1", note: "admin's note", tags: ["staff"] }))
    expect(byAdmin.current?.set_by_name).toBe(admin.username)
  })
})

describe("the search's tag and known filters", () => {
  let cameraId: string

  beforeAll(async () => {
    cameraId = (await query<{ id: string }>("SELECT id FROM cameras WHERE external_id = 'cam-1'"))[0]!.id
  })

  it("finds only the reads of plates carrying the tag, with a plate in every mode", async () => {
    // RES111, RES222: resident; RES999: never known
    expect(await platesOf({ plate: "RES*", mode: "partial" })).toEqual(["RES111", "RES111", "RES222", "RES222", "RES999", "RES999"])
    expect(await platesOf({ plate: "RES*", mode: "partial", tag: "resident" })).toEqual(["RES111", "RES111", "RES222", "RES222"])
    expect(await platesOf({ plate: "RES111", tag: "resident" })).toEqual(["RES111", "RES111"])
    expect(await platesOf({ plate: "RES111", tag: "staff" })).toEqual([])
    expect(await platesOf({ plate: "RES111", mode: "ocr", tag: "Resident" })).toEqual(["RES111", "RES111"])
    expect(await platesOf({ plate: "RES112", mode: "fuzzy", tag: "resident" })).toEqual(["RES111", "RES111"])
    expect(await platesOf({ plate: "RES*", mode: "partial", known: "false" })).toEqual(["RES999", "RES999"])
  })

  it("lists the tagged plates in the plates view even when more than 200 untagged ones match, read more recently", async () => {
    const { apiKey } = await server.collector("Busy street")
    // 205 plates starting RES read in the last minutes: without the tag, the view's first 200 are all these
    const busy = Array.from({ length: 205 }, (_, i) =>
      detection({ timestamp: new Date(Date.now() - (i + 1) * 1_000).toISOString(), plate: { text: `RES${String(i).padStart(4, "0")}X`, confidence: 0.9 } }))
    for (let start = 0; start < busy.length; start += 100) {
      expect((await postBatch(server, apiKey, busy.slice(start, start + 100))).status).toBe(200)
    }
    const view = async (params: Record<string, string>) => {
      const response = await fetch(
        `${server.url}/api/v1/detections/plates?${new URLSearchParams({ reason_code: "investigation", reason: "known plates test", ...params })}`,
        { headers: { cookie: operator.cookie } })
      const body = await response.json() as { plates: Array<{ plate: string }>; truncated: boolean }
      expect(response.status, JSON.stringify(body)).toBe(200)
      return body
    }
    const untagged = await view({ plate: "RES*", mode: "partial" })
    expect(untagged.truncated).toBe(true)
    expect(untagged.plates.map((p) => p.plate)).not.toContain("RES111")
    const tagged = await view({ plate: "RES*", mode: "partial", tag: "resident" })
    expect(tagged).toEqual({ plates: expect.any(Array), truncated: false })
    expect(tagged.plates.map((p) => p.plate).sort()).toEqual(["RES111", "RES222"])
    const fuzzy = await view({ plate: "RES112", mode: "fuzzy", tag: "resident" })
    expect(fuzzy.plates.map((p) => p.plate)).toEqual(["RES111"])
    // a camera filter chooses the candidates too: the 205 newer plates were read at another camera
    const here = await view({ plate: "RES*", mode: "partial", camera: cameraId })
    expect(here).toEqual({ plates: expect.any(Array), truncated: false })
    expect(here.plates.map((p) => p.plate).sort()).toEqual(["RES111", "RES222", "RES999"])
  })

  it("browses a camera's reads of tagged plates only (tags repeated or comma-separated)", async () => {
    const range = { camera: cameraId, from: new Date(Date.now() - 24 * HOUR).toISOString(), to: new Date().toISOString() }
    expect(await platesOf({ ...range, tag: "resident" })).toEqual(["RES111", "RES111", "RES222", "RES222"])
    expect(await platesOf({ ...range, tag: "staff,delivery" })).toEqual(["DLV444", "DLV444", "STF333", "STF333"])
    const repeated = await fetch(
      `${server.url}/api/v1/detections?${new URLSearchParams([
        ["reason_code", "investigation"], ["camera", cameraId], ["from", range.from], ["to", range.to], ["tag", "staff"], ["tag", "delivery"]
      ])}`,
      { headers: { cookie: operator.cookie } }
    )
    expect(((await repeated.json()) as { items: Array<{ plate: string }> }).items.map((i) => i.plate).sort())
      .toEqual(["DLV444", "DLV444", "STF333", "STF333"])
    expect(await platesOf({ ...range, known: "true" })).toEqual(["DLV444", "DLV444", "RES111", "RES111", "RES222", "RES222", "STF333", "STF333"])
    expect(await platesOf({ ...range, known: "false" })).toEqual(["OTH555", "OTH555", "RES999", "RES999"])
  })

  it("refuses a malformed tag filter with a 400 saying why, and audits the filter with the search", async () => {
    const bad = await search({ plate: "RES111", tag: "two words" })
    expect(bad.status).toBe(400)
    expect(JSON.stringify(bad.body)).toContain("is not a tag")
    const known = await search({ plate: "RES111", known: "maybe" })
    expect(known.status).toBe(400)
    const audited = await query<{ details: { filters: Record<string, unknown> } }>(
      "SELECT details FROM audit_log WHERE action = 'search' AND actor_id = $1 AND details->'filters' ? 'tag' ORDER BY id DESC LIMIT 1",
      [operator.userId]
    )
    expect(audited[0]?.details.filters.tag).toEqual(["staff", "delivery"])
  })
})
