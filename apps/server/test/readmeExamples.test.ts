import { Collectors } from "@chaverim/server"
import * as Effect from "effect/Effect"
import { execFile } from "node:child_process"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { fakeJpeg, startServer, type TestServer } from "./harness"

/**
 * The README's evidence-path examples, run as written: each block marked `<!-- example: NAME -->` goes
 * to bash as it stands, with curl, the server's URL, the claim code and the API key in the environment
 * (as a reader exports them). curl rather than a fetch made from the block: a fetch would test what
 * this file understood of the block, not what a reader pastes (quoting, here-documents, -F syntax).
 */
const README = Path.join(import.meta.dirname, "../../../README.md")

const examples = async (): Promise<ReadonlyMap<string, string>> => {
  const text = await Fs.readFile(README, "utf8")
  const found = new Map<string, string>()
  for (const match of text.matchAll(/<!-- example: ([a-z-]+) -->\n```bash\n([\s\S]*?)\n```/g)) {
    found.set(match[1]!, match[2]!)
  }
  return found
}

interface Ran {
  readonly status: number
  readonly body: string
  readonly stderr: string
}

/** Runs one block with bash; curl is wrapped to print the HTTP status after the body. */
const run = (block: string, cwd: string, env: Record<string, string>): Promise<Ran> =>
  new Promise((resolve, reject) => {
    const script = `curl() { command curl -w '\\n%{http_code}' "$@"; }\n${block}\n`
    execFile("bash", ["-c", script], { cwd, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env }, timeout: 30_000 }, (error, stdout, stderr) => {
      if (error !== null && stdout === "") return reject(new Error(`${error.message}\n${stderr}`))
      const lines = stdout.trimEnd().split("\n")
      resolve({ status: Number(lines.at(-1)), body: lines.slice(0, -1).join("\n"), stderr })
    })
  })

describe("the README's evidence-path examples", () => {
  let server: TestServer
  let dir: string
  let blocks: ReadonlyMap<string, string>
  const env: Record<string, string> = {}

  beforeAll(async () => {
    server = await startServer()
    dir = await Fs.mkdtemp(Path.join(Os.tmpdir(), "alpr-readme-"))
    await Fs.writeFile(Path.join(dir, "plate.jpg"), fakeJpeg(3_000, 41))
    await Fs.writeFile(Path.join(dir, "scene.jpg"), fakeJpeg(9_000, 42))
    blocks = await examples()
    const created = await server.run(Effect.flatMap(Collectors, (c) => c.create("Gate north")))
    env.ALPR_URL = server.url
    env.CLAIM_CODE = created.claim_code
  })
  afterAll(async () => {
    await server?.close()
    if (dir !== undefined) await Fs.rm(dir, { recursive: true, force: true })
  })

  it("has the three marked blocks", () => {
    expect([...blocks.keys()].sort()).toEqual(["batch-json", "batch-photos", "claim"])
  })

  it("claims a collector with the README's body, hardware_id and all", async () => {
    const ran = await run(blocks.get("claim")!, dir, env)
    expect(ran.status, `${ran.body}\n${ran.stderr}`).toBe(201)
    const answer = JSON.parse(ran.body) as { collector_id: string; api_key: string }
    expect(answer.api_key).toMatch(/^alpr_[0-9a-f]{10}_/)
    env.API_KEY = answer.api_key
    const { rows } = await server.db.query(
      "SELECT hardware_id, hostname, edge_version FROM collectors WHERE id = $1",
      [answer.collector_id]
    )
    expect(rows).toEqual([{ hardware_id: "rpi-serial-00000000a1b2c3d4", hostname: "gate-north", edge_version: "0.1.0" }])
  })

  it("stores the JSON batch's read with every field it sends", async () => {
    const ran = await run(blocks.get("batch-json")!, dir, env)
    expect(ran.status, `${ran.body}\n${ran.stderr}`).toBe(200)
    expect(JSON.parse(ran.body)).toEqual({ accepted: 1, duplicates: 0, rejected: 0, errors: [] })
    const { rows } = await server.db.query(
      `SELECT d.plate, d.confidence, d.raw, c.external_id
         FROM detections d JOIN cameras c ON c.id = d.camera_id WHERE d.detection_id = 'gate-north-000141'`
    )
    expect(rows).toHaveLength(1)
    expect(rows[0]).toMatchObject({ plate: "ABC1234", external_id: "cam-gate-north" })
    // Every field the example sends is kept with the read as sent.
    expect(rows[0].raw).toMatchObject({
      camera: { name: "Gate, northbound" },
      vehicle: { direction: "in", type: "car", color: "blue", make: "Toyota" },
      location: { lat: 41.1006, lon: -74.0487 },
      source: { candidates: [{ plate: "ABC1Z34", confidence: 0.41 }] }
    })
  })

  it("stores the multipart batch's read and both its photos, byte for byte", async () => {
    const ran = await run(blocks.get("batch-photos")!, dir, env)
    expect(ran.status, `${ran.body}\n${ran.stderr}`).toBe(200)
    expect(JSON.parse(ran.body)).toEqual({ accepted: 1, duplicates: 0, rejected: 0, errors: [] })
    const { rows } = await server.db.query<{ id: string; kinds: Array<string> }>(
      `SELECT d.id::text AS id, array_agg(i.kind ORDER BY i.kind) AS kinds
         FROM detections d JOIN detection_images i ON i.detection_id = d.id
        WHERE d.detection_id = 'gate-north-000142' GROUP BY d.id`
    )
    expect(rows).toEqual([{ id: expect.any(String), kinds: ["plate", "scene"] }])
    const admin = await server.signIn("admin")
    const scene = await fetch(`${server.url}/api/v1/detections/${rows[0]!.id}/images/scene?reason_code=audit`, {
      headers: { cookie: admin.cookie }
    })
    expect(scene.status).toBe(200)
    expect(new Uint8Array(await scene.arrayBuffer())).toEqual(fakeJpeg(9_000, 42))
  })
})
