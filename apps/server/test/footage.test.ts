import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { FootageUploads } from "@chaverim/server/footage/Uploads"
import { type ChildProcess, spawn } from "node:child_process"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { type FakeRecogniser, startFakeCodeProject, startFakePlateRecognizer } from "../../../test-support/FakeRecognisers"
import { makeColourPhoto, makeColourVideo, makeSlideshow, platePicture } from "../../../test-support/Footage"
import { freePort } from "../../../test-support/Net"
import { alprAgainst, describeRun, INVOCATION_MS, lastJson } from "./alprCli"
import { footageWith } from "./footageHarness"
import { startServer, type TestServer, until } from "./harness"

/**
 * Footage from the command line to stored reads (issue 20): `alpr footage import` stores the original
 * as evidence, runs its job (frames sampled by ffmpeg, read by an HTTP recogniser: a local server
 * speaking CodeProject.AI's or Plate Recognizer's protocol) and prints the reads; and a job survives
 * the server running it being killed: another server takes it when its lease runs out.
 */

const ROOT = fileURLToPath(new URL("../../../", import.meta.url))

const SCENES = {
  red: { plate: "FTG1234", confidence: 0.91, box: [100, 120, 160, 40] as const },
  blue: { plate: "FTG987", confidence: 0.85, box: [300, 200, 140, 36] as const, candidates: [{ plate: "FTG9B7", confidence: 0.3 }] }
}

let server: TestServer
let codeProject: FakeRecogniser
let plateRecognizer: FakeRecogniser
let dir: string
let dataDir: string

beforeAll(async () => {
  dir = await Fs.mkdtemp(Path.join(Os.tmpdir(), "alpr-footage-e2e-"))
  dataDir = Path.join(dir, "data")
  codeProject = await startFakeCodeProject(SCENES)
  plateRecognizer = await startFakePlateRecognizer(SCENES, "pr-secret-token")
  // The CLI runs its own job: this server runs none, so what the CLI prints is its own work.
  server = await startServer({ dataDir, footage: footageWith(codeProject, { jobWorkers: 0 }) })
  await makeColourVideo(Path.join(dir, "clip.mp4"), [
    { colour: "red", seconds: 2 },
    { colour: "black", seconds: 2 },
    { colour: "blue", seconds: 2 }
  ], { creationTime: "2026-12-01T10:00:00Z" })
  await makeColourPhoto(Path.join(dir, "photo.jpg"), "blue")
}, 120_000)

afterAll(async () => {
  await server?.close()
  await codeProject?.close()
  await plateRecognizer?.close()
  if (dir !== undefined) await Fs.rm(dir, { recursive: true, force: true })
})

const alpr = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  alprAgainst(() => server.databaseUrl, "Warning")(args, {
    DATA_DIR: dataDir,
    RECOGNISER: "codeproject",
    RECOGNISER_URL: codeProject.url,
    JOB_LEASE_SECONDS: "3",
    ...env
  })

describe("alpr footage import", () => {
  it("stores a video as evidence and its plates as reads at the footage's start plus the frame's offset", async () => {
    const run = await alpr(["footage", "import", Path.join(dir, "clip.mp4"), "--camera-name", "Elm St doorbell", "--lat", "40.71", "--lon", "-74.01", "--reason", "hit and run, case 2026-118"])
    expect(run.code, describeRun(run)).toBe(0)
    const result = lastJson(run)
    expect(result).toMatchObject({ frames: 12, reads: [
      { plate: "FTG1234", confidence: 0.91, at: "2026-12-01T10:00:00.000Z" },
      { plate: "FTG987", confidence: 0.85, at: "2026-12-01T10:00:04.000Z" }
    ] })
    expect(Object.keys(result)).toEqual(["job_id", "footage_id", "recogniser", "frames", "reads"])

    // the original: hashed, stored, never changed
    const { rows: [footage] } = await server.db.query(
      "SELECT f.sha256, f.size_bytes::int AS size, f.media, f.starts_from, f.uploaded_via, f.object_key, c.name AS camera, c.lat, c.lon FROM footage f JOIN cameras c ON c.id = f.camera_id WHERE f.id = $1",
      [result.footage_id]
    )
    const original = await Fs.readFile(Path.join(dir, "clip.mp4"))
    const { createHash } = await import("node:crypto")
    expect(footage).toMatchObject({
      sha256: createHash("sha256").update(original).digest("hex"),
      size: original.length,
      media: "video",
      starts_from: "container",
      uploaded_via: "cli",
      camera: "Elm St doorbell",
      lat: 40.71,
      lon: -74.01
    })
    expect((await Fs.readFile(Path.join(dataDir, "objects", footage.object_key))).equals(original)).toBe(true)
    await expect(server.db.query("UPDATE footage SET reason = 'changed' WHERE id = $1", [result.footage_id])).rejects.toThrow()
    await expect(server.db.query("DELETE FROM footage WHERE id = $1", [result.footage_id])).rejects.toThrow()

    // each read: the footage collector's, its photos, and where in the footage it came from
    const { rows: reads } = await server.db.query(
      `SELECT d.plate, d.raw->'source' AS source, (SELECT array_agg(kind ORDER BY kind) FROM detection_images i WHERE i.detection_id = d.id) AS images
         FROM detections d WHERE d.raw->'source'->>'footage_id' = $1 ORDER BY d.detected_at`,
      [result.footage_id]
    )
    expect(reads.map((r) => [r.plate, r.images])).toEqual([["FTG1234", ["plate", "scene"]], ["FTG987", ["plate", "scene"]]])
    expect(reads[1].source).toMatchObject({ kind: "footage", footage_sha256: footage.sha256, offset_s: 4, frames: 4, recogniser: "codeproject", candidates: [] })

    // audited with its reason, as the command line
    const { rows: audit } = await server.db.query("SELECT actor_id, reason, details FROM audit_log WHERE action = 'footage.upload' AND target = $1", [`footage:${result.footage_id}`])
    expect(audit).toEqual([expect.objectContaining({ actor_id: null, reason: "hit and run, case 2026-118" })])
    expect(audit[0].details).toMatchObject({ via: "cli", sha256: footage.sha256, job_id: result.job_id, starts_from: "container" })
  }, INVOCATION_MS * 2)

  it("reads a photo with Plate Recognizer at the time the uploader gives, with the reading's candidates", async () => {
    const run = await alpr(
      ["footage", "import", Path.join(dir, "photo.jpg"), "--camera-name", "Patrol phone", "--at", "2026-12-02T09:30:00+02:00", "--reason", "patrol photo of a parked car"],
      { RECOGNISER: "platerecognizer", RECOGNISER_URL: plateRecognizer.url, RECOGNISER_TOKEN: "pr-secret-token", RECOGNISER_REGIONS: "us-ny" }
    )
    expect(run.code, describeRun(run)).toBe(0)
    expect(lastJson(run)).toMatchObject({ recogniser: "platerecognizer", frames: 1, reads: [{ plate: "FTG987", confidence: 0.85, at: "2026-12-02T07:30:00.000Z" }] })
    expect(plateRecognizer.requests.at(-1)).toMatchObject({ authorization: "Token pr-secret-token", fields: { regions: ["us-ny"] } })
    const { rows } = await server.db.query("SELECT raw->'source'->'candidates' AS candidates FROM detections WHERE plate = 'FTG987' AND detected_at = '2026-12-02T07:30:00Z'")
    expect(rows).toEqual([{ candidates: [{ plate: "FTG9B7", confidence: 0.3 }] }])
    // the token is never printed
    expect(run.stdout + run.stderr).not.toContain("pr-secret-token")
  }, INVOCATION_MS * 2)

  it("reads plates with the built-in recogniser, the default, needing nothing else", async () => {
    await makeSlideshow(Path.join(dir, "street.mp4"), [
      { jpeg: await platePicture("KDX 4821", { x: 480, y: 470, plateWidth: 320 }), seconds: 2 },
      { jpeg: await platePicture("", { x: 480, y: 470, plateWidth: 0 }), seconds: 2 },
      { jpeg: await platePicture("MRT 5067", { x: 700, y: 420, plateWidth: 300 }), seconds: 2 }
    ], { creationTime: "2026-12-04T07:45:00Z" })
    const run = await alpr(["footage", "import", Path.join(dir, "street.mp4"), "--camera-name", "School gate", "--reason", "built-in recogniser check"],
      { RECOGNISER: "builtin" })
    expect(run.code, describeRun(run)).toBe(0)
    const result = lastJson(run)
    expect(result.recogniser).toBe("builtin")
    // each read at the time of the frame that read it best: within the seconds its plate was in view
    const start = Date.parse("2026-12-04T07:45:00Z")
    expect(result.reads.map((r: { plate: string; at: string }) => [r.plate.replace(/ /g, ""), Math.floor((Date.parse(r.at) - start) / 2000)]))
      .toEqual([["KDX4821", 0], ["MRT5067", 2]])
  }, INVOCATION_MS * 2)

  it("reads a phone's HEIC photo: decoded without ffmpeg, taken at the time its EXIF gives", async () => {
    const photo = Path.join(ROOT, "packages/server/test/fixtures/heic/car-plate-720x960.heic")
    const run = await alpr(["footage", "import", photo, "--camera-name", "Resident's phone", "--reason", "a photo from a resident's phone"],
      { RECOGNISER: "builtin" })
    expect(run.code, describeRun(run)).toBe(0)
    const result = lastJson(run)
    expect(result).toMatchObject({ recogniser: "builtin", frames: 1 })
    expect(result.reads.map((r: { plate: string; at: string }) => [r.plate.replace(/ /g, ""), r.at])).toEqual([["CHV2024", "2024-05-12T11:30:05.000Z"]])
    // the original is kept as it came, as HEIC
    const { rows } = await server.db.query(
      "SELECT content_type, media, starts_from, sha256 FROM footage WHERE reason = 'a photo from a resident''s phone'")
    const { createHash } = await import("node:crypto")
    expect(rows).toEqual([{ content_type: "image/heic", media: "photo", starts_from: "container", sha256: createHash("sha256").update(await Fs.readFile(photo)).digest("hex") }])
  }, INVOCATION_MS * 2)

  it("refuses what is not footage, and input that does not hold, saying why and storing nothing", async () => {
    await Fs.writeFile(Path.join(dir, "notes.mp4"), "#!/bin/sh\necho not a video\n")
    const before = (await server.db.query("SELECT count(*)::int AS n FROM footage")).rows[0].n
    const script = await alpr(["footage", "import", Path.join(dir, "notes.mp4"), "--camera-name", "x", "--reason", "testing refusals"])
    expect(script.code).not.toBe(0)
    expect(script.stderr).toContain("this file is none of them (UnsupportedMediaType)")
    // a HEIC header with nothing a decoder can read behind it is refused, saying so
    const heic = new Uint8Array(64)
    heic.set([0, 0, 0, 24, ...new TextEncoder().encode("ftypheic")])
    await Fs.writeFile(Path.join(dir, "IMG_0001.heic"), heic)
    const refusedHeic = await alpr(["footage", "import", Path.join(dir, "IMG_0001.heic"), "--camera-name", "x", "--reason", "testing refusals"])
    expect(refusedHeic.code).not.toBe(0)
    expect(refusedHeic.stderr).toContain("not a HEIC photo that can be read")
    const noReason = await alpr(["footage", "import", Path.join(dir, "photo.jpg"), "--camera-name", "x", "--reason", "  "])
    expect(noReason.code).not.toBe(0)
    expect(noReason.stderr).toContain("reason: say why the footage is uploaded")
    const badTime = await alpr(["footage", "import", Path.join(dir, "photo.jpg"), "--camera-name", "x", "--reason", "testing", "--at", "yesterday"])
    expect(badTime.stderr).toContain("expected an ISO 8601 time with an offset")
    // a photo says nothing of when it was taken: the file's own time stands in (the CLI only)
    expect((await server.db.query("SELECT count(*)::int AS n FROM footage")).rows[0].n).toBe(before)
    // a recogniser refusing its token fails the job at once, with its answer
    const refused = await alpr(["footage", "import", Path.join(dir, "photo.jpg"), "--camera-name", "x", "--reason", "testing a bad token"],
      { RECOGNISER: "platerecognizer", RECOGNISER_URL: plateRecognizer.url, RECOGNISER_TOKEN: "wrong" })
    expect(refused.code).not.toBe(0)
    expect(refused.stderr).toMatch(/failed: platerecognizer: Plate Recognizer answered 403/)
  }, INVOCATION_MS * 4)
})

/** `alpr serve` as a process of its own (in its own process group, to be killed whole). */
const serveProcess = async (databaseUrl: string, env: Record<string, string>) => {
  const port = await freePort()
  const child = spawn("npx", ["tsx", "apps/server/src/main.ts", "serve"], {
    cwd: ROOT,
    detached: true,
    env: { ...process.env, DATABASE_URL: databaseUrl, PORT: String(port), HOST: "127.0.0.1", LOG_LEVEL: "Warning", ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (output += chunk))
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (output += chunk))
  await until(() => (output.includes("listening on http://") ? true : undefined), "alpr serve listening", 90_000)
  return { child, output: () => output }
}

const killGroup = (child: ChildProcess) => {
  try {
    process.kill(-child.pid!, "SIGKILL")
  } catch {
    // gone already
  }
}

describe("the job queue across a server's death", () => {
  let serving: ChildProcess | undefined
  afterAll(() => {
    if (serving !== undefined) killGroup(serving)
  })

  it("a job whose server is killed mid-job is finished by another server, its reads stored once", async () => {
    const slow = await startFakeCodeProject(SCENES, { delayMs: 400 })
    await makeColourVideo(Path.join(dir, "long.mp4"), [
      { colour: "red", seconds: 3 },
      { colour: "black", seconds: 3 },
      { colour: "blue", seconds: 3 }
    ], { creationTime: "2026-12-03T18:00:00Z" })
    const env = { DATA_DIR: dataDir, RECOGNISER: "codeproject", RECOGNISER_URL: slow.url, JOB_LEASE_SECONDS: "3", JOB_WORKERS: "1", FOOTAGE_FPS: "2" }
    const first = await serveProcess(server.databaseUrl, env)
    serving = first.child
    const queued = await alpr(["footage", "import", Path.join(dir, "long.mp4"), "--camera-name", "Depot gate", "--reason", "night of the break-in", "--queue"], env)
    expect(queued.code, describeRun(queued)).toBe(0)
    const { job_id: jobId } = lastJson(queued)
    // the first server has it, part done
    const job = () => server.db.query("SELECT status, attempts, progress, worker, error, result FROM jobs WHERE id = $1", [jobId]).then((r) => r.rows[0])
    const midway = await until(async () => {
      const row = await job()
      return row.status === "running" && row.progress > 0.1 ? row : undefined
    }, "the first server part way through the job", 60_000)
    expect(midway.attempts).toBe(1)
    killGroup(first.child)
    await new Promise((resolve) => first.child.once("close", resolve))
    serving = undefined
    expect((await job()).status).toBe("running")

    // another server: it takes the job once the dead one's lease runs out, and finishes it
    const second = await startServer({ dataDir, footage: footageWith(slow) }, { databaseUrl: server.databaseUrl })
    try {
      const done = await until(async () => {
        const row = await job()
        return row.status === "done" ? row : undefined
      }, "the job finished by the second server", 90_000)
      expect(done.attempts).toBe(2)
      expect(done.worker).not.toBe(midway.worker)
      expect(done.result.frames).toBe(18)
      expect(done.result.reads.map((r: { plate: string; at: string }) => [r.plate, r.at])).toEqual([
        ["FTG1234", "2026-12-03T18:00:00.000Z"],
        ["FTG987", "2026-12-03T18:00:06.000Z"]
      ])
      const { rows } = await server.db.query(
        "SELECT plate FROM detections WHERE raw->'source'->>'footage_id' = $1 ORDER BY detected_at", [done.result.footage_id])
      expect(rows.map((r) => r.plate)).toEqual(["FTG1234", "FTG987"])
    } finally {
      await second.close()
      await slow.close()
    }
  }, 240_000)
})

describe("uploads over HTTP, resumable", () => {
  let web: TestServer
  let webData: string
  beforeAll(async () => {
    webData = Path.join(dir, "web-data")
    web = await startServer({ dataDir: webData, footage: footageWith(codeProject) })
  }, 120_000)
  afterAll(async () => {
    await web?.close()
  })

  const json = (response: Response): Promise<any> => response.json()
  const headers = (who: { cookie: string; csrf: string }, extra: Record<string, string> = {}) => ({
    cookie: who.cookie,
    "x-csrf-token": who.csrf,
    ...extra
  })
  const start = (who: { cookie: string; csrf: string }, body: Record<string, unknown>) =>
    fetch(`${web.url}/api/v1/footage/uploads`, { method: "POST", headers: headers(who, { "content-type": "application/json" }), body: JSON.stringify(body) })
  const send = (who: { cookie: string; csrf: string }, id: string, offset: number, bytes: Uint8Array, type = "application/offset+octet-stream") =>
    fetch(`${web.url}/api/v1/footage/uploads/${id}`, {
      method: "PATCH",
      headers: headers(who, { "content-type": type, "upload-offset": String(offset) }),
      body: bytes
    })

  it("takes a video in chunks, resumes after a lost chunk, and runs its job to reads", async () => {
    const operator = await web.signIn("operator")
    const video = new Uint8Array(await Fs.readFile(Path.join(dir, "clip.mp4")))
    const begun = await start(operator, { camera_name: "Bus 14 dashcam", reason: "uploaded from the web", file_name: "clip.mp4", size_bytes: video.length })
    expect(begun.status).toBe(201)
    const upload = await json(begun)
    expect(upload).toMatchObject({ offset: 0, size_bytes: video.length, footage_id: null, job_id: null })

    const third = Math.ceil(video.length / 3)
    // the same chunk sent twice at once (a client retrying too early): kept once
    const twice = await Promise.all([0, 1].map(() => send(operator, upload.upload_id, 0, video.subarray(0, third)).then((r) => r.status)))
    expect(twice.slice().sort()).toEqual([200, 409])
    expect((await web.db.query("SELECT count(*)::int AS n FROM footage_upload_chunks WHERE upload_id = $1", [upload.upload_id])).rows[0].n).toBe(1)
    // the connection drops: the client asks where the upload stands, and a chunk from the wrong place is refused
    const status = await json(await fetch(`${web.url}/api/v1/footage/uploads/${upload.upload_id}`, { headers: headers(operator) }))
    expect(status.offset).toBe(third)
    const wrong = await send(operator, upload.upload_id, 0, video.subarray(0, third))
    expect(wrong.status).toBe(409)
    expect(await json(wrong)).toMatchObject({ _tag: "UploadOffsetConflict", offset: third })
    // someone else cannot see it nor add to it
    const other = await web.signIn("operator")
    expect((await send(other, upload.upload_id, third, video.subarray(third, 2 * third))).status).toBe(404)

    expect((await send(operator, upload.upload_id, third, video.subarray(third, 2 * third))).status).toBe(200)
    const last = await send(operator, upload.upload_id, 2 * third, video.subarray(2 * third))
    expect(last.status).toBe(200)
    const done = await json(last)
    expect(done.offset).toBe(video.length)
    expect(done.footage_id).toMatch(/^[0-9a-f-]{36}$/)

    // the footage is the file as sent, the upload audited as the operator's
    const { rows: [footage] } = await web.db.query("SELECT sha256, uploaded_by::text AS uploaded_by, uploaded_via, starts_from FROM footage WHERE id = $1", [done.footage_id])
    const { createHash } = await import("node:crypto")
    expect(footage).toEqual({ sha256: createHash("sha256").update(video).digest("hex"), uploaded_by: operator.userId, uploaded_via: "web", starts_from: "container" })
    const { rows: audit } = await web.db.query("SELECT actor_id::text AS actor, reason FROM audit_log WHERE action = 'footage.upload' AND target = $1", [`footage:${done.footage_id}`])
    expect(audit).toEqual([{ actor: operator.userId, reason: "uploaded from the web" }])
    // no chunk is left behind
    expect((await web.db.query("SELECT count(*)::int AS n FROM footage_upload_chunks")).rows[0].n).toBe(0)
    await expect(Fs.readdir(Path.join(webData, "objects", "uploads", upload.upload_id))).rejects.toThrow()

    // the server's worker runs the job; its progress and reads are the uploader's to see
    const job = await until(async () => {
      const response = await fetch(`${web.url}/api/v1/jobs/${done.job_id}`, { headers: headers(operator) })
      const body = await json(response)
      return body.status === "done" ? body : undefined
    }, "the job done", 60_000)
    expect(job.result.reads.map((r: { plate: string; at: string }) => [r.plate, r.at])).toEqual([
      ["FTG1234", "2026-12-01T10:00:00.000Z"],
      ["FTG987", "2026-12-01T10:00:04.000Z"]
    ])
    expect((await fetch(`${web.url}/api/v1/jobs/${done.job_id}`, { headers: headers(other) })).status).toBe(404)
    const admin = await web.signIn("admin")
    expect((await fetch(`${web.url}/api/v1/jobs/${done.job_id}`, { headers: headers(admin) })).status).toBe(200)
  }, 120_000)

  it("takes in again an upload whose last step failed, once, however often it is asked", async () => {
    const operator = await web.signIn("operator")
    const video = new Uint8Array(await Fs.readFile(Path.join(dir, "clip.mp4")))
    const begun = await json(await start(operator, { camera_name: "Bus 15 dashcam", reason: "store down at the end", file_name: "clip.mp4", size_bytes: video.length }))
    const half = Math.ceil(video.length / 2)
    expect((await send(operator, begun.upload_id, 0, video.subarray(0, half))).status).toBe(200)
    const complete = (who = operator) => fetch(`${web.url}/api/v1/footage/uploads/${begun.upload_id}/complete`, { method: "POST", headers: headers(who) })
    // asked too early: the bytes still missing are said
    const early = await complete()
    expect(early.status).toBe(409)
    expect(await json(early)).toMatchObject({ _tag: "UploadOffsetConflict", offset: half })

    // the object store fails while the last chunk is taken in (its footage folder made a file)
    const footageDir = Path.join(webData, "objects", "footage")
    await Fs.rename(footageDir, `${footageDir}.away`)
    await Fs.writeFile(footageDir, "not a folder")
    const failed = await send(operator, begun.upload_id, half, video.subarray(half))
    expect(failed.status).toBe(503)
    // nothing sent is lost and no footage is recorded; the upload is not left claimed
    const after = await json(await fetch(`${web.url}/api/v1/footage/uploads/${begun.upload_id}`, { headers: headers(operator) }))
    expect(after).toMatchObject({ offset: video.length, footage_id: null, job_id: null, completing: false })
    expect((await web.db.query("SELECT count(*)::int AS n FROM footage_upload_chunks WHERE upload_id = $1", [begun.upload_id])).rows[0].n).toBe(2)
    expect((await web.db.query("SELECT count(*)::int AS n FROM footage WHERE reason = 'store down at the end'")).rows[0].n).toBe(0)
    // sending the last chunk again is no way round: the upload says where it stands
    expect((await send(operator, begun.upload_id, half, video.subarray(half))).status).toBe(409)

    // a take-in claimed by a server that is at it (or died at it): the upload says so and waits
    await web.db.query("UPDATE footage_uploads SET completing_until = now() + interval '1 minute' WHERE id = $1", [begun.upload_id])
    const busy = await complete()
    expect(busy.status).toBe(200)
    expect(await json(busy)).toMatchObject({ completing: true, footage_id: null })
    // its claim lapses; someone else cannot ask for it
    await web.db.query("UPDATE footage_uploads SET completing_until = now() - interval '1 second' WHERE id = $1", [begun.upload_id])
    const other = await web.signIn("operator")
    expect((await complete(other)).status).toBe(404)

    // the store is back: asked three times at once, the footage is recorded once, the file as sent
    await Fs.rm(footageDir)
    await Fs.rename(`${footageDir}.away`, footageDir)
    const answers = await Promise.all([0, 1, 2].map(() => complete()))
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200])
    const states = await Promise.all(answers.map(json))
    const done = await until(async () => {
      const s = await json(await fetch(`${web.url}/api/v1/footage/uploads/${begun.upload_id}`, { headers: headers(operator) }))
      return s.footage_id !== null ? s : undefined
    }, "the upload taken in", 30_000)
    for (const s of states) expect([null, done.footage_id]).toContain(s.footage_id)
    const { rows } = await web.db.query("SELECT id::text AS id, sha256 FROM footage WHERE reason = 'store down at the end'")
    const { createHash } = await import("node:crypto")
    expect(rows).toEqual([{ id: done.footage_id, sha256: createHash("sha256").update(video).digest("hex") }])
    expect((await web.db.query("SELECT count(*)::int AS n FROM jobs WHERE payload->>'footage_id' = $1", [done.footage_id])).rows[0].n).toBe(1)
    expect((await web.db.query("SELECT count(*)::int AS n FROM audit_log WHERE action = 'footage.upload' AND target = $1", [`footage:${done.footage_id}`])).rows[0].n).toBe(1)
    expect((await web.db.query("SELECT count(*)::int AS n FROM footage_upload_chunks WHERE upload_id = $1", [begun.upload_id])).rows[0].n).toBe(0)
    // asked again once done: the same footage
    expect(await json(await complete())).toMatchObject({ footage_id: done.footage_id, job_id: done.job_id, completing: false })
  }, 120_000)

  it("gives an unfinished upload's space back once it has expired", async () => {
    const operator = await web.signIn("operator")
    const video = new Uint8Array(await Fs.readFile(Path.join(dir, "clip.mp4")))
    const begun = await json(await start(operator, { camera_name: "x", reason: "left half way", file_name: "clip.mp4", size_bytes: video.length }))
    expect((await send(operator, begun.upload_id, 0, video.subarray(0, 1000))).status).toBe(200)
    const chunkDir = Path.join(webData, "objects", "uploads", begun.upload_id)
    expect((await Fs.readdir(chunkDir)).length).toBe(1)
    // still within its 24 hours: the sweep leaves it
    const sweep = () => web.runtime.runPromise(Effect.flatMap(FootageUploads, (u) => u.sweep()))
    await sweep()
    expect((await send(operator, begun.upload_id, 1000, video.subarray(1000, 2000))).status).toBe(200)
    // expired, but a server is taking it in at this moment: left to it
    await web.db.query("UPDATE footage_uploads SET expires_at = now() - interval '1 minute', completing_until = now() + interval '1 minute' WHERE id = $1", [begun.upload_id])
    await sweep()
    expect((await web.db.query("SELECT count(*)::int AS n FROM footage_uploads WHERE id = $1", [begun.upload_id])).rows[0].n).toBe(1)
    // its claim lapsed: swept
    await web.db.query("UPDATE footage_uploads SET completing_until = now() - interval '1 second' WHERE id = $1", [begun.upload_id])
    expect(await sweep()).toBeGreaterThanOrEqual(1)
    await expect(Fs.readdir(chunkDir)).rejects.toThrow()
    expect((await web.db.query("SELECT count(*)::int AS n FROM footage_uploads WHERE id = $1", [begun.upload_id])).rows[0].n).toBe(0)
    // and it is no longer taken
    expect((await send(operator, begun.upload_id, 2000, video.subarray(2000, 3000))).status).toBe(404)
  }, 60_000)

  it("refuses what is not footage at its first chunk, chunks that are too large or badly typed, and viewers", async () => {
    const operator = await web.signIn("operator")
    const begun = await json(await start(operator, { camera_name: "x", reason: "a script, not a video", file_name: "evil.mp4", size_bytes: 100 }))
    const script = await send(operator, begun.upload_id, 0, new TextEncoder().encode("#!/bin/sh\n".padEnd(100, "x")))
    expect(script.status).toBe(415)
    expect((await send(operator, begun.upload_id, 0, new Uint8Array(10), "application/json")).status).toBe(415)
    const big = await json(await start(operator, { camera_name: "x", reason: "too big a chunk", file_name: "big.mp4", size_bytes: 20 * 1024 * 1024 }))
    const tooLarge = await send(operator, big.upload_id, 0, new Uint8Array(9 * 1024 * 1024))
    expect(tooLarge.status).toBe(413)
    const tooMuch = await start(operator, { camera_name: "x", reason: "too large a file", file_name: "huge.mp4", size_bytes: 5 * 1024 * 1024 * 1024 })
    expect(tooMuch.status).toBe(400)
    expect((await json(tooMuch)).message).toContain("size_bytes is 1 to")
    const noReason = await start(operator, { camera_name: "x", reason: "", file_name: "a.mp4", size_bytes: 10 })
    expect(noReason.status).toBe(400)
    const viewer = await web.signIn("viewer")
    expect((await start(viewer, { camera_name: "x", reason: "viewers may not upload", file_name: "a.mp4", size_bytes: 10 })).status).toBe(403)
    expect((await fetch(`${web.url}/api/v1/footage/uploads`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })).status).toBe(401)
    // a photo without a time it was taken: the upload is refused at its end, saying what to give
    const photo = new Uint8Array(await Fs.readFile(Path.join(dir, "photo.jpg")))
    const untimed = await json(await start(operator, { camera_name: "x", reason: "a photo with no time", file_name: "photo.jpg", size_bytes: photo.length }))
    const refused = await send(operator, untimed.upload_id, 0, photo)
    expect(refused.status).toBe(400)
    expect((await json(refused)).message).toContain("give the time it starts (at)")
  }, 60_000)

  it("cancels a queued job over HTTP at once, its reads never stored: the uploader's or an admin's to cancel; a finished job stays as it was", async () => {
    // The file's first server runs no job workers: what is uploaded to it stays queued until a worker comes.
    const operator = await server.signIn("operator")
    const photo = new Uint8Array(await Fs.readFile(Path.join(dir, "photo.jpg")))
    const upload = async (reason: string) => {
      const begun = await fetch(`${server.url}/api/v1/footage/uploads`, {
        method: "POST",
        headers: headers(operator, { "content-type": "application/json" }),
        body: JSON.stringify({ camera_name: "Cancel desk", reason, file_name: "photo.jpg", size_bytes: photo.length, at: "2026-12-05T08:00:00Z" })
      })
      expect(begun.status).toBe(201)
      const sent = await fetch(`${server.url}/api/v1/footage/uploads/${(await json(begun)).upload_id}`, {
        method: "PATCH",
        headers: headers(operator, { "content-type": "application/offset+octet-stream", "upload-offset": "0" }),
        body: photo
      })
      expect(sent.status).toBe(200)
      return (await json(sent)) as { job_id: string; footage_id: string }
    }
    const cancel = (who: { cookie: string; csrf: string } | undefined, id: string) =>
      fetch(`${server.url}/api/v1/jobs/${id}/cancel`, { method: "POST", headers: who === undefined ? {} : headers(who) })
    const row = async (id: string) =>
      (await server.db.query("SELECT status, cancel_requested, attempts, started_at, finished_at, lease_until, result FROM jobs WHERE id = $1", [id])).rows[0]
    const readsOf = async (footageId: string) =>
      (await server.db.query("SELECT plate FROM detections WHERE raw->'source'->>'footage_id' = $1", [footageId])).rows.map((r) => r.plate)

    const mine = await upload("cancelled by its uploader")
    const theirs = await upload("cancelled by an admin")
    const kept = await upload("left to run")
    expect((await json(await fetch(`${server.url}/api/v1/jobs/${mine.job_id}`, { headers: headers(operator) }))).status).toBe("queued")

    // not a viewer's, nor another operator's (theirs is not even there to them), nor anyone's unsigned
    const viewer = await server.signIn("viewer")
    expect((await cancel(viewer, mine.job_id)).status).toBe(403)
    expect((await cancel(await server.signIn("operator"), mine.job_id)).status).toBe(404)
    expect((await cancel(undefined, mine.job_id)).status).toBe(401)
    expect((await cancel(operator, "00000000-0000-4000-8000-000000000000")).status).toBe(404)
    expect(await row(mine.job_id)).toMatchObject({ status: "queued", cancel_requested: false })

    // its uploader cancels it: cancelled at once, in the answer and in the queue
    const cancelled = await cancel(operator, mine.job_id)
    expect(cancelled.status).toBe(200)
    expect(await json(cancelled)).toMatchObject({ id: mine.job_id, status: "cancelled", attempts: 0, result: null, finished_at: expect.any(String) })
    expect(await row(mine.job_id)).toMatchObject({ status: "cancelled", cancel_requested: true, started_at: null, lease_until: null, finished_at: expect.any(Date) })
    // an admin cancels anyone's; asked again, it stays cancelled
    const admin = await server.signIn("admin")
    expect(await json(await cancel(admin, theirs.job_id))).toMatchObject({ status: "cancelled" })
    const again = await cancel(operator, mine.job_id)
    expect(again.status).toBe(200)
    expect(await json(again)).toMatchObject({ status: "cancelled" })

    // A server with a worker comes: it takes the jobs oldest first, so once the last one is done the
    // cancelled ones, older, have been passed over for good.
    const working = await startServer({ dataDir, footage: footageWith(codeProject) }, { databaseUrl: server.databaseUrl })
    try {
      const done = await until(async () => {
        const job = await row(kept.job_id)
        return job.status === "done" || job.status === "failed" ? job : undefined
      }, "the job left to run done", 60_000)
      expect(done.status).toBe("done")
      expect(await readsOf(kept.footage_id)).toEqual(["FTG987"])
      for (const job of [mine, theirs]) {
        expect(await row(job.job_id)).toMatchObject({ status: "cancelled", attempts: 0, started_at: null, result: null })
        expect(await readsOf(job.footage_id)).toEqual([])
      }

      // a finished job cannot be cancelled: the answer is the job as it was, and it stays so
      const late = await cancel(operator, kept.job_id)
      expect(late.status).toBe(200)
      expect(await json(late)).toMatchObject({ status: "done", result: { footage_id: kept.footage_id, reads: [{ plate: "FTG987" }] } })
      expect(await row(kept.job_id)).toEqual(done)
    } finally {
      await working.close()
    }
  }, 120_000)
})
