import * as Effect from "effect/Effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { alprAgainst, describeRun, lastJson, lines } from "./alprCli"
import { detection, fakeJpeg, type SignedIn, startServer, type TestServer } from "./harness"
import { type AlprClient, outcomeOf, rpcAs, rpcUrlOf } from "./rpcClient"

const SEEDED = ["amber_alert", "audit", "investigation", "missing_person", "stolen_vehicle", "training", "wanted_person"]

/** A read with both photos, stored through the real batch endpoint; its id. */
const storeRead = async (server: TestServer, apiKey: string) => {
  const event = detection()
  const form = new FormData()
  form.append("batch", JSON.stringify({ events: [event] }))
  form.append(`plate:${event.detection_id}`, new Blob([fakeJpeg(2_000, 1)], { type: "image/jpeg" }))
  form.append(`scene:${event.detection_id}`, new Blob([fakeJpeg(8_000, 2)], { type: "image/jpeg" }))
  const response = await fetch(`${server.url}/api/v1/detections/batch`, {
    method: "POST",
    headers: { authorization: `Bearer ${apiKey}` },
    body: form
  })
  expect(response.status).toBe(200)
  const { rows } = await server.db.query<{ id: string }>("SELECT id::text AS id FROM detections WHERE detection_id = $1", [event.detection_id])
  return rows[0]!.id
}

const lastAudit = async (server: TestServer, action: string) =>
  (await server.db.query(
    "SELECT actor_username, target, reason, details, outcome FROM audit_log WHERE action = $1 ORDER BY id DESC LIMIT 1",
    [action]
  )).rows[0]

describe("reason codes (AUDIT_REASON_REQUIRED on, the default)", () => {
  let server: TestServer
  let admin: SignedIn
  let operator: SignedIn
  let readId: string
  const rpc = <A, E>(who: SignedIn, f: (client: AlprClient) => Effect.Effect<A, E>) => rpcAs(rpcUrlOf(server), who.cookie, f)

  beforeAll(async () => {
    server = await startServer()
    admin = await server.signIn("admin")
    operator = await server.signIn("operator")
    readId = await storeRead(server, (await server.collector("Reasons site")).apiKey)
  })
  afterAll(() => server?.close())

  it("offers everyone signed in the active codes, seeded, by label, and says the code is required", async () => {
    const viewer = await server.signIn("viewer")
    const active = await rpc(viewer, (client) => client.reasonCodes.list())
    expect(active.required).toBe(true)
    expect(active.codes.map((c) => c.code).sort()).toEqual(SEEDED)
    expect(active.codes.map((c) => c.label)).toEqual(
      ["AMBER alert", "Audit", "Investigation", "Missing person", "Stolen vehicle", "Training", "Wanted person"]
    )
    expect(active.codes.every((c) => c.retired_at === null)).toBe(true)
  })

  it("lets admins alone keep the list: create, relabel, retire, each audited; never delete", async () => {
    // Operators and viewers read the active codes and change nothing.
    for (const who of [operator, await server.signIn("viewer")]) {
      const outcomes = await rpc(who, (client) =>
        Effect.all([
          Effect.exit(client.reasonCodes.listAll()),
          Effect.exit(client.reasonCodes.create({ code: "hit_and_run", label: "Hit and run" })),
          Effect.exit(client.reasonCodes.relabel({ code: "audit", label: "x" })),
          Effect.exit(client.reasonCodes.retire({ code: "audit" }))
        ]))
      expect(outcomes.map(outcomeOf).map((o) => o.split(":")[0])).toEqual(["Forbidden", "Forbidden", "Forbidden", "Forbidden"])
    }

    const result = await rpc(admin, (client) =>
      Effect.gen(function*() {
        const created = yield* client.reasonCodes.create({ code: "hit_and_run", label: "  Hit and run " })
        const again = yield* Effect.exit(client.reasonCodes.create({ code: "hit_and_run", label: "Again" }))
        const relabelled = yield* client.reasonCodes.relabel({ code: "hit_and_run", label: "Hit-and-run" })
        const unknown = yield* Effect.exit(client.reasonCodes.relabel({ code: "no_such_code", label: "x" }))
        const retired = yield* client.reasonCodes.retire({ code: "hit_and_run" })
        const twice = yield* Effect.exit(client.reasonCodes.retire({ code: "hit_and_run" }))
        const relabelRetired = yield* Effect.exit(client.reasonCodes.relabel({ code: "hit_and_run", label: "Back" }))
        const reused = yield* Effect.exit(client.reasonCodes.create({ code: "hit_and_run", label: "Hit and run" }))
        const all = yield* client.reasonCodes.listAll()
        const active = yield* client.reasonCodes.list()
        return { created, again, relabelled, unknown, retired, twice, relabelRetired, reused, all, active }
      }))
    expect(result.created).toMatchObject({ code: "hit_and_run", label: "Hit and run", retired_at: null })
    expect(outcomeOf(result.again)).toMatch(/^BadRequest: the reason code hit_and_run exists already$/)
    expect(result.relabelled).toMatchObject({ code: "hit_and_run", label: "Hit-and-run", retired_at: null })
    expect(outcomeOf(result.unknown)).toMatch(/^NotFound: /)
    expect(result.retired.retired_at).not.toBeNull()
    expect(outcomeOf(result.twice)).toMatch(/^BadRequest: the reason code hit_and_run is retired already/)
    expect(outcomeOf(result.relabelRetired)).toMatch(/^BadRequest: the reason code hit_and_run is retired/)
    expect(outcomeOf(result.reused)).toMatch(/^BadRequest: .*exists already \(retired: a code is not used again\)/)
    // Retired codes are listed for admins (last), and no longer offered.
    expect(result.all.at(-1)).toMatchObject({ code: "hit_and_run", label: "Hit-and-run" })
    expect(result.all).toHaveLength(SEEDED.length + 1)
    expect(result.active.codes.map((c) => c.code)).not.toContain("hit_and_run")

    const { rows } = await server.db.query(
      "SELECT actor_username, action, target, details, outcome FROM audit_log WHERE action LIKE 'reason_code.%' ORDER BY id"
    )
    expect(rows).toEqual([
      { actor_username: admin.username, action: "reason_code.create", target: "reason_code:hit_and_run", details: { via: "rpc", label: "Hit and run" }, outcome: "success" },
      {
        actor_username: admin.username,
        action: "reason_code.relabel",
        target: "reason_code:hit_and_run",
        details: { via: "rpc", from: "Hit and run", to: "Hit-and-run" },
        outcome: "success"
      },
      { actor_username: admin.username, action: "reason_code.retire", target: "reason_code:hit_and_run", details: { via: "rpc", label: "Hit-and-run" }, outcome: "success" }
    ])

    // A retired code is refused from then on, and its audit rows keep it.
    const search = await fetch(`${server.url}/api/v1/detections?plate=ABC123&reason_code=hit_and_run`, { headers: { cookie: operator.cookie } })
    expect(search.status).toBe(400)
    expect(((await search.json()) as { message: string }).message).toMatch(/^reason_code "hit_and_run" is retired; use one of: amber_alert, /)
  })

  it("refuses bad codes and labels before they reach the list", async () => {
    const outcomes = await rpc(admin, (client) =>
      Effect.all([
        Effect.exit(client.reasonCodes.create({ code: "Hit And Run", label: "x" })),
        Effect.exit(client.reasonCodes.create({ code: "x", label: "x" })),
        Effect.exit(client.reasonCodes.create({ code: "ok_code", label: "   " })),
        Effect.exit(client.reasonCodes.create({ code: "ok_code", label: "two\nlines" })),
        Effect.exit(client.reasonCodes.create({ code: "ok_code", label: "x".repeat(101) }))
      ]))
    for (const outcome of outcomes.map(outcomeOf)) expect(outcome).toMatch(/code is 2 to 40 lower-case|label is 1 to 100 printable/)
    expect((await server.db.query("SELECT count(*)::int AS n FROM reason_codes WHERE code = 'ok_code'")).rows[0].n).toBe(0)
  })

  it("keeps codes in the database: never deleted nor renamed, and retired for good", async () => {
    for (const statement of [
      "DELETE FROM reason_codes WHERE code = 'training'",
      "TRUNCATE reason_codes CASCADE",
      "UPDATE reason_codes SET code = 'drill' WHERE code = 'training'",
      "UPDATE reason_codes SET retired_at = NULL WHERE code = 'hit_and_run'",
      "UPDATE reason_codes SET retired_at = now() - interval '1 day' WHERE code = 'hit_and_run'"
    ]) {
      await expect(server.db.query(statement), statement).rejects.toThrow(/never deleted|keeps its code|stays retired/)
    }
    await server.db.query("UPDATE reason_codes SET label = 'Training' WHERE code = 'training'")
  })

  describe("photo views", () => {
    const image = (kind: "plate" | "scene", query: string, who: SignedIn = operator) =>
      fetch(`${server.url}/api/v1/detections/${readId}/images/${kind}${query === "" ? "" : `?${query}`}`, { headers: { cookie: who.cookie } })

    it("asks a person opening a scene photo for a reason code, and records it with the case number and the words", async () => {
      const missing = await image("scene", "reason=just+looking")
      expect(missing.status).toBe(400)
      expect(((await missing.json()) as { message: string }).message).toMatch(
        /^reason_code is required: say why you open the photo .*one of: .*stolen_vehicle/
      )
      const unknown = await image("scene", "reason_code=curiosity")
      expect(unknown.status).toBe(400)
      expect(((await unknown.json()) as { message: string }).message).toMatch(/"curiosity" is not a reason code/)
      expect((await image("scene", `reason_code=stolen_vehicle&case_number=${"1".repeat(65)}`)).status).toBe(400)

      const shown = await image("scene", new URLSearchParams({ reason_code: "stolen_vehicle", case_number: "2026-4711", reason: "blue van" }).toString())
      expect(shown.status).toBe(200)
      expect(new Uint8Array(await shown.arrayBuffer())).toEqual(fakeJpeg(8_000, 2))
      expect(await lastAudit(server, "image.view")).toEqual({
        actor_username: operator.username,
        target: `detection:${readId}/scene`,
        reason: "blue van",
        details: { reason_code: "stolen_vehicle", case_number: "2026-4711" },
        outcome: "success"
      })
      // The refusals were not views.
      expect((await server.db.query(
        "SELECT count(*)::int AS n FROM audit_log WHERE action = 'image.view' AND target = $1", [`detection:${readId}/scene`]
      )).rows[0].n).toBe(1)
      // A viewer is refused the scene photo whatever the reason.
      expect((await image("scene", "reason_code=audit", await server.signIn("viewer"))).status).toBe(403)
    })

    it("records a plate crop's reason when it comes with one, and does not ask for it", async () => {
      expect((await image("plate", "")).status).toBe(200)
      expect(await lastAudit(server, "image.view")).toMatchObject({ target: `detection:${readId}/plate`, reason: null, details: {} })
      expect((await image("plate", "reason_code=missing_person&case_number=MP-9")).status).toBe(200)
      expect(await lastAudit(server, "image.view")).toMatchObject({
        target: `detection:${readId}/plate`,
        details: { reason_code: "missing_person", case_number: "MP-9" }
      })
      // A code given is checked all the same.
      const unknown = await image("plate", "reason_code=nosy")
      expect(unknown.status).toBe(400)
      expect(((await unknown.json()) as { message: string }).message).toMatch(/use one of: amber_alert/)
    })
  })

  it("keeps the list from the command line too, audited as done there", async () => {
    const alpr = alprAgainst(() => server.databaseUrl)
    const created = await alpr(["reason-code", "create", "--code", "fraud", "--label", "Fraud"])
    expect(created.code, describeRun(created)).toBe(0)
    expect(lastJson(created)).toMatchObject({ code: "fraud", label: "Fraud", retired_at: null })
    const relabelled = await alpr(["reason-code", "relabel", "--code", "fraud", "--label", "Fraud or forgery"])
    expect(relabelled.code, describeRun(relabelled)).toBe(0)
    expect(lastJson(relabelled)).toMatchObject({ code: "fraud", label: "Fraud or forgery" })
    const badCode = await alpr(["reason-code", "create", "--code", "Fraud!", "--label", "x"])
    expect(badCode.code).not.toBe(0)
    expect(badCode.stderr + badCode.stdout).toMatch(/lower-case letters/)
    const retired = await alpr(["reason-code", "retire", "--code", "fraud"])
    expect(retired.code, describeRun(retired)).toBe(0)
    expect(lastJson(retired).retired_at).not.toBeNull()
    const listed = await alpr(["reason-code", "list"])
    expect(listed.code, describeRun(listed)).toBe(0)
    const codes = lines(listed.stdout).map((line) => JSON.parse(line) as { code: string; retired_at: string | null })
    expect(codes.filter((c) => c.retired_at === null).map((c) => c.code).sort()).toEqual(SEEDED)
    expect(codes.filter((c) => c.retired_at !== null).map((c) => c.code).sort()).toEqual(["fraud", "hit_and_run"])
    const { rows } = await server.db.query(
      "SELECT actor_username, action, details FROM audit_log WHERE target = 'reason_code:fraud' ORDER BY id"
    )
    expect(rows).toEqual([
      { actor_username: null, action: "reason_code.create", details: { via: "cli", label: "Fraud" } },
      { actor_username: null, action: "reason_code.relabel", details: { via: "cli", from: "Fraud", to: "Fraud or forgery" } },
      { actor_username: null, action: "reason_code.retire", details: { via: "cli", label: "Fraud or forgery" } }
    ])
  }, 120_000)
})

describe("reason codes with AUDIT_REASON_REQUIRED=false", () => {
  let server: TestServer
  let operator: SignedIn
  let readId: string

  beforeAll(async () => {
    server = await startServer({ reasonRequired: false })
    operator = await server.signIn("operator")
    readId = await storeRead(server, (await server.collector("Optional site")).apiKey)
  })
  afterAll(() => server?.close())

  it("takes requests without a code, still checks a code given, and says so to the web app", async () => {
    const get = (path: string) => fetch(`${server.url}${path}`, { headers: { cookie: operator.cookie } })
    expect((await get("/api/v1/detections?plate=ABC123")).status).toBe(200)
    expect(await lastAudit(server, "search")).toMatchObject({ reason: null, details: { plate: "ABC123" } })
    expect((await lastAudit(server, "search")).details).not.toHaveProperty("reason_code")
    expect((await get("/api/v1/detections?plate=ABC123&case_number=C-1&reason=tip")).status).toBe(200)
    expect(await lastAudit(server, "search")).toMatchObject({ reason: "tip", details: { case_number: "C-1" } })
    expect((await get("/api/v1/plates/ABC123/timeline")).status).toBe(200)
    expect((await get(`/api/v1/detections/${readId}/images/scene`)).status).toBe(200)

    const bogus = await get("/api/v1/detections?plate=ABC123&reason_code=bogus")
    expect(bogus.status).toBe(400)
    expect(((await bogus.json()) as { message: string }).message).toMatch(/"bogus" is not a reason code; use one of: amber_alert/)

    const active = await rpcAs(rpcUrlOf(server), operator.cookie, (client) => client.reasonCodes.list())
    expect(active.required).toBe(false)
    expect(active.codes).toHaveLength(SEEDED.length)
  })
})
