import type { S3Settings } from "@chaverim/server/Config"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign } from "node:crypto"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { crc32, deflateSync } from "node:zlib"
import S3rver from "s3rver"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import yazl from "yazl"
import { alprAgainst, describeRun, lastJson } from "./alprCli"
import { detection, type SignedIn, startServer, type TestServer } from "./harness"
import { VERIFIER, verifyAsRecipient } from "./recipient"


interface Verifier {
  readonly readZip: (zip: Buffer) => Map<string, { readonly read: () => Buffer }>
}
const verifierModule = () => import(VERIFIER) as Promise<Verifier>

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex")

/** A real (if tiny) JPEG: a 1x1 progressive image, with a comment that makes each one different. */
const jpeg = (seed: string) => {
  const base = Buffer.from(
    "/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////////////////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA=",
    "base64"
  )
  const comment = Buffer.from(`chaverim ${seed}`)
  const length = comment.length + 2
  const segment = Buffer.concat([Buffer.from([0xff, 0xfe, length >> 8, length & 0xff]), comment])
  return Buffer.concat([base.subarray(0, 20), segment, base.subarray(20), Buffer.from([0xff, 0xd9])])
}

/** A real PNG, 6x4, coloured by `seed`. */
const png = (seed: number) => {
  const [width, height] = [6, 4]
  const rows = Buffer.alloc((width * 3 + 1) * height)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width * 3; x++) rows[y * (width * 3 + 1) + 1 + x] = (x * 40 + y * 60 + seed * 13) & 0xff
  }
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, "ascii"), data])
    const length = Buffer.alloc(4)
    length.writeUInt32BE(data.length)
    const crc = Buffer.alloc(4)
    crc.writeUInt32BE(crc32(body))
    return Buffer.concat([length, body, crc])
  }
  const header = Buffer.alloc(13)
  header.writeUInt32BE(width, 0)
  header.writeUInt32BE(height, 4)
  header.set([8, 2, 0, 0, 0], 8)
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(rows)),
    chunk("IEND", Buffer.alloc(0))
  ])
}

/** Stores reads with their photos through the real ingest endpoint (multipart). */
const ingest = async (
  server: TestServer,
  apiKey: string,
  reads: ReadonlyArray<{ readonly event: ReturnType<typeof detection>; readonly plate?: Buffer; readonly scene?: Buffer }>
) => {
  const form = new FormData()
  form.append("batch", JSON.stringify({ events: reads.map((r) => r.event) }))
  for (const read of reads) {
    if (read.plate) form.append(`plate:${read.event.detection_id}`, new Blob([read.plate], { type: "image/jpeg" }))
    if (read.scene) form.append(`scene:${read.event.detection_id}`, new Blob([read.scene], { type: "image/png" }))
  }
  const response = await fetch(`${server.url}/api/v1/detections/batch`, {
    method: "POST",
    headers: { authorization: `Bearer ${apiKey}` },
    body: form
  })
  expect(response.status).toBe(200)
  expect(await response.json()).toMatchObject({ accepted: reads.length, rejected: 0 })
  const { rows } = await server.db.query<{ id: string; detection_id: string }>(
    "SELECT id::text, detection_id FROM detections WHERE detection_id = ANY($1)",
    [reads.map((r) => r.event.detection_id)]
  )
  const ids = new Map(rows.map((r) => [r.detection_id, r.id]))
  return reads.map((r) => ids.get(r.event.detection_id)!)
}

const exportRequest = (server: TestServer, who: SignedIn | undefined, body: unknown, csrf = true) =>
  fetch(`${server.url}/api/v1/evidence/exports`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(who === undefined ? {} : { cookie: who.cookie, ...(csrf ? { "x-csrf-token": who.csrf } : {}) })
    },
    body: JSON.stringify(body)
  })

const exported = async (server: TestServer, who: SignedIn, body: unknown) => {
  const response = await exportRequest(server, who, body)
  if (response.status !== 200) throw new Error(`export: ${response.status} ${await response.text()}`)
  expect(response.headers.get("content-type")).toBe("application/zip")
  return {
    zip: Buffer.from(await response.arrayBuffer()),
    id: response.headers.get("x-export-id")!,
    sha256: response.headers.get("x-bundle-sha256")!,
    disposition: response.headers.get("content-disposition")
  }
}


/** The bundle as an attacker would remake it: every entry the same but `name`, changed by `change`. */
const remade = async (zip: Buffer, name: string, change: (bytes: Buffer) => Buffer) => {
  const { readZip } = await verifierModule()
  const entries = readZip(zip)
  expect(entries.has(name), name).toBe(true)
  const out = new yazl.ZipFile()
  for (const [entry, { read }] of entries) out.addBuffer(entry === name ? change(Buffer.from(read())) : read(), entry)
  out.end()
  const chunks: Array<Buffer> = []
  for await (const chunk of out.outputStream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

const flipByte = (at: number) => (bytes: Buffer) => {
  const copy = Buffer.from(bytes)
  copy[at % copy.length] = copy[at % copy.length]! ^ 0x01
  return copy
}

const filesOf = async (zip: Buffer) => {
  const { readZip } = await verifierModule()
  return new Map([...readZip(zip)].map(([name, entry]) => [name, entry.read()] as const))
}

const jsonOf = (files: Map<string, Buffer>, name: string): any => JSON.parse(files.get(name)!.toString("utf8"))

describe("evidence exports (photos in files)", () => {
  let server: TestServer
  let apiKey: string
  let collectorId: string
  let operator: SignedIn
  let admin: SignedIn
  let fingerprint: string
  const plate = "EVD1234"
  const photos = { a: jpeg("a"), b: jpeg("b"), sceneA: png(1), sceneB: png(2), c: jpeg("c") }
  let ids: { a: string; b: string; corrected: string; other: string; changed: string }
  let cameraId: string
  let bundle: Awaited<ReturnType<typeof exported>>

  beforeAll(async () => {
    server = await startServer()
    ;({ apiKey, collectorId } = await server.collector())
    operator = await server.signIn("operator")
    admin = await server.signIn("admin")
    const at = (minutesAgo: number) => new Date(Date.now() - minutesAgo * 60_000).toISOString()
    const [a, b, corrected, other, changed] = await ingest(server, apiKey, [
      { event: detection({ timestamp: at(50), plate: { text: "EVD-1234", confidence: 0.91 } }), plate: photos.a, scene: photos.sceneA },
      {
        event: detection({
          timestamp: at(40),
          plate: { text: "EVD 1234", confidence: 0.88 },
          camera: { id: "cam-2", mac: "AA:BB:CC:DD:EE:02", name: "Route 59 \u2192 east" },
          location: { lat: 41.123456, lon: -74.0321 }
        }),
        plate: photos.b,
        scene: photos.sceneB
      },
      { event: detection({ timestamp: at(30), plate: { text: "EVD1Z34", confidence: 0.55 } }), plate: photos.c },
      { event: detection({ timestamp: at(20), plate: { text: "OTHER99", confidence: 0.9 } }) },
      { event: detection({ timestamp: at(10), plate: { text: "CHG5555", confidence: 0.9 } }), plate: jpeg("to be changed") }
    ])
    ids = { a: a!, b: b!, corrected: corrected!, other: other!, changed: changed! }
    cameraId = (await server.db.query<{ camera_id: string }>("SELECT camera_id FROM detections WHERE id = $1", [a])).rows[0]!.camera_id
    // An operator says the third read is really EVD1234; another looks at the first read's scene photo.
    const correct = await fetch(`${server.url}/api/v1/detections/${ids.corrected}/corrections`, {
      method: "POST",
      headers: { "content-type": "application/json", cookie: operator.cookie, "x-csrf-token": operator.csrf },
      body: JSON.stringify({ action: "correct", plate: "EVD1234", note: "Z is a 2 on the crop" })
    })
    expect(correct.status).toBe(201)
    const view = await fetch(
      `${server.url}/api/v1/detections/${ids.a}/images/scene?${new URLSearchParams({ reason_code: "investigation" })}`,
      { headers: { cookie: operator.cookie } }
    )
    expect(view.status).toBe(200)
    // A search page showing the plate's crops: one photo-view row naming every read on it.
    const page = await fetch(
      `${server.url}/api/v1/detections?${new URLSearchParams({ plate: "EVD1234", reason_code: "investigation" })}`,
      { headers: { cookie: operator.cookie } }
    )
    expect(page.status).toBe(200)
    const key = await fetch(`${server.url}/api/v1/evidence/key`)
    fingerprint = ((await key.json()) as { fingerprint: string }).fingerprint
  })
  afterAll(() => server?.close())

  it("publishes the evidence key to anyone, with its fingerprint", async () => {
    const response = await fetch(`${server.url}/api/v1/evidence/key`)
    expect(response.status).toBe(200)
    const key = (await response.json()) as Record<string, string>
    const raw = Buffer.from(key.public_key_base64!, "base64")
    expect(raw.length).toBe(32)
    expect(key.algorithm).toBe("Ed25519")
    expect(key.fingerprint).toBe(sha256(raw))
    expect(key.fingerprint_short).toBe(key.fingerprint!.slice(0, 16).match(/.{4}/g)!.join(" "))
    const fromPem = createPublicKey(key.public_key_pem!).export({ format: "der", type: "spki" }).subarray(-32)
    expect(Buffer.from(fromPem).equals(raw)).toBe(true)
    // Made once by the migration, kept: the seed is in server_secrets, and no request answers it.
    const { rows } = await server.db.query("SELECT length(secret) AS n FROM server_secrets WHERE name = 'evidence_signing'")
    expect(rows[0].n).toBe(32)
    expect(JSON.stringify(key)).not.toContain("PRIVATE")
  })

  it("exports a plate with its corrections as a bundle that verifies offline with the pinned key", async () => {
    bundle = await exported(server, operator, {
      plate: "evd-1234",
      with_corrections: true,
      case_number: "RCPD-2026-0412",
      reason_code: "stolen_vehicle",
      reason: "reported stolen 12/01"
    })
    expect(bundle.sha256).toBe(sha256(bundle.zip))
    expect(bundle.disposition).toMatch(/^attachment; filename="evidence-RCPD-2026-0412-[0-9a-f]{8}\.zip"$/)
    // Staged and sent from DATA_DIR/tmp/evidence, and gone from there once sent.
    expect(await Fs.readdir(Path.join(server.dataDir, "tmp", "evidence"))).toEqual([])

    const run = await verifyAsRecipient(bundle.zip, fingerprint)
    expect(run.code, run.stdout).toBe(0)
    const lines = run.stdout.trim().split("\n")
    expect(lines[0]).toBe("ok")
    expect(run.stdout).toContain("case RCPD-2026-0412; reason stolen_vehicle: reported stolen 12/01")
    expect(run.stdout).toContain("3 reads, 5 photos")
    expect(run.stdout).toContain("the signing key is the pinned key")

    const files = await filesOf(bundle.zip)
    const readIds = [ids.a, ids.b, ids.corrected]
    expect([...files.keys()].sort()).toEqual([
      "README.txt",
      "audit.json",
      "export.json",
      "manifest.json",
      `photos/${ids.a}-plate.jpg`,
      `photos/${ids.a}-scene.png`,
      `photos/${ids.b}-plate.jpg`,
      `photos/${ids.b}-scene.png`,
      `photos/${ids.corrected}-plate.jpg`,
      ...readIds.map((id) => `reads/${id}.json`),
      "report.pdf",
      "signature.json",
      "verify-evidence.mjs"
    ].sort())
    // The photos byte for byte, the report a PDF, the verifier the repository's.
    expect(files.get(`photos/${ids.a}-plate.jpg`)!.equals(photos.a)).toBe(true)
    expect(files.get(`photos/${ids.b}-scene.png`)!.equals(photos.sceneB)).toBe(true)
    expect(files.get("report.pdf")!.subarray(0, 5).toString()).toBe("%PDF-")
    expect(files.get("report.pdf")!.length).toBeGreaterThan(3_000)
    expect(files.get("verify-evidence.mjs")!.equals(await Fs.readFile(VERIFIER))).toBe(true)
    expect(files.get("README.txt")!.toString()).toContain("Obtain the verifier independently from the Chaverim ALPR repository")

    const manifest = jsonOf(files, "manifest.json")
    expect(manifest.key_fingerprint).toBe(fingerprint)
    expect(manifest.files.map((f: { path: string }) => f.path).sort()).toEqual(
      [...files.keys()].filter((n) => n !== "manifest.json" && n !== "signature.json").sort()
    )
    for (const file of manifest.files) expect(file.sha256).toBe(sha256(files.get(file.path)!))

    const meta = jsonOf(files, "export.json")
    expect(meta).toMatchObject({
      export_id: bundle.id,
      case_number: "RCPD-2026-0412",
      reason_code: "stolen_vehicle",
      reason_label: "Stolen vehicle",
      reason: "reported stolen 12/01",
      exported_by: { via: "http", username: operator.username, role: "operator" },
      selection: { kind: "plate", plate: "EVD1234", with_corrections: true },
      read_ids: readIds,
      counts: { reads: 3, photos: 5, photos_not_matching_ingest: 0 }
    })

    // A read: as received and as stored, its corrections, its photos' hashes from ingest, its custody.
    const first = jsonOf(files, `reads/${ids.a}.json`)
    expect(first.received.raw).toMatchObject({ plate: { text: "EVD-1234", confidence: 0.91 }, camera: { id: "cam-1" } })
    expect(first.stored).toMatchObject({ id: ids.a, plate_text: "EVD-1234", plate: "EVD1234", collector_id: collectorId })
    expect(first.images).toEqual(expect.arrayContaining([
      expect.objectContaining({ kind: "plate", file: `photos/${ids.a}-plate.jpg`, status: "matches_ingest", sha256_at_ingest: sha256(photos.a) })
    ]))
    const { rows: keys } = await server.db.query<{ prefix: string }>("SELECT prefix FROM api_keys WHERE collector_id = $1", [collectorId])
    expect(first.custody).toMatchObject({
      camera: { id: cameraId, external_id: "cam-1", mac: "AA:BB:CC:DD:EE:01" },
      collector: { id: collectorId, name: "test collector" },
      collector_api_keys_valid_when_received: [expect.objectContaining({ prefix: keys[0]!.prefix })],
      stored_by_server: null
    })
    expect(first.custody.notes.join(" ")).toMatch(/server \(replica\) that stored a read is not recorded/)
    const corrected = jsonOf(files, `reads/${ids.corrected}.json`)
    expect(corrected.stored.plate).toBe("EVD1Z34")
    expect(corrected.corrections).toEqual([
      expect.objectContaining({ action: "correct", plate: "EVD1234", note: "Z is a 2 on the crop", by: operator.username })
    ])

    // The audit rows about these reads, with their chain hashes and the head at export time.
    const audit = jsonOf(files, "audit.json")
    const actions = audit.rows.map((r: { action: string; target: string }) => `${r.action} ${r.target}`)
    expect(actions).toEqual(expect.arrayContaining([`detection.correct detection:${ids.corrected}`, `image.view detection:${ids.a}/scene`]))
    const { rows: chain } = await server.db.query("SELECT id::text, hash FROM audit_log WHERE target = $1", [`detection:${ids.corrected}`])
    expect(audit.rows.find((r: { id: string }) => r.id === chain[0].id).hash).toBe(chain[0].hash)
    expect(Number(audit.chain_head.id)).toBeGreaterThanOrEqual(Number(chain[0].id))
    expect(first.audit_row_ids).toEqual(expect.arrayContaining([expect.any(String)]))
    // The search page's crops: one row naming the reads, in each read's custody though its target names one.
    const { rows: pageViews } = await server.db.query<{ id: string; reads: ReadonlyArray<string> }>(
      "SELECT id::text, details->'reads' AS reads FROM audit_log WHERE action = 'image.view' AND details ? 'reads'")
    expect(pageViews).toHaveLength(1)
    expect(audit.rows.map((r: { id: string }) => r.id)).toContain(pageViews[0]!.id)
    for (const id of pageViews[0]!.reads.filter((read) => readIds.includes(read))) {
      expect(jsonOf(files, `reads/${id}.json`).audit_row_ids).toContain(pageViews[0]!.id)
    }
    expect(pageViews[0]!.reads.filter((read) => readIds.includes(read)).length).toBeGreaterThanOrEqual(2)

    // Recorded and audited, with the SHA-256 of the zip handed out.
    const { rows: records } = await server.db.query("SELECT * FROM evidence_exports WHERE id = $1", [bundle.id])
    expect(records[0]).toMatchObject({
      username: operator.username,
      via: "http",
      case_number: "RCPD-2026-0412",
      reason_code: "stolen_vehicle",
      detections: 3,
      images: 5,
      sha256: sha256(bundle.zip),
      key_fingerprint: fingerprint
    })
    const { rows: audited } = await server.db.query(
      "SELECT actor_username, reason, details, outcome FROM audit_log WHERE action = 'evidence.export' AND target = $1",
      [`evidence_export:${bundle.id}`]
    )
    expect(audited).toEqual([expect.objectContaining({
      actor_username: operator.username,
      reason: "reported stolen 12/01",
      outcome: "success",
      details: expect.objectContaining({ case_number: "RCPD-2026-0412", reason_code: "stolen_vehicle", sha256: sha256(bundle.zip), detections: 3 })
    })])
    // The record is evidence too: nobody changes it.
    await expect(server.db.query("UPDATE evidence_exports SET case_number = 'X'")).rejects.toThrow(/immutable/)
  })

  it("fails verification naming the file when one byte of a photo, the report, the manifest or a read changes", async () => {
    for (const name of [`photos/${ids.b}-scene.png`, "report.pdf", "manifest.json", `reads/${ids.a}.json`, "export.json", "audit.json"]) {
      const tampered = await remade(bundle.zip, name, flipByte(137))
      const run = await verifyAsRecipient(tampered, fingerprint)
      expect(run.code, `${name}\n${run.stdout}`).toBe(1)
      const why = name === "manifest.json" ? "its Ed25519 signature does not verify" : "its SHA-256"
      expect(run.stdout.trim().split("\n")[0]).toMatch(new RegExp(`^FAILED: ${name.replace(/[.]/g, "\\.")}: ${why}`))
      expect(run.stdout).not.toMatch(/^ok$/m)
    }
    // A byte changed in the zip file itself, inside a photo stored as it is: the zip's CRC-32 names it.
    const photo = photos.sceneA
    const at = bundle.zip.indexOf(photo)
    expect(at).toBeGreaterThan(0)
    const raw = Buffer.from(bundle.zip)
    raw[at + 30] = raw[at + 30]! ^ 0xff
    const run = await verifyAsRecipient(raw, fingerprint)
    expect(run.code).toBe(1)
    expect(run.stdout).toContain(`FAILED: photos/${ids.a}-scene.png: its CRC-32 does not match`)
    // A file slipped in after signing.
    const { readZip } = await verifierModule()
    const extra = new yazl.ZipFile()
    for (const [entry, { read }] of readZip(bundle.zip)) extra.addBuffer(read(), entry)
    extra.addBuffer(Buffer.from("more"), "photos/extra.jpg")
    extra.end()
    const chunks: Array<Buffer> = []
    for await (const chunk of extra.outputStream) chunks.push(chunk as Buffer)
    const added = await verifyAsRecipient(Buffer.concat(chunks), fingerprint)
    expect(added.code).toBe(1)
    expect(added.stdout).toContain("FAILED: photos/extra.jpg: is not in the signed manifest")
  })

  it("fails a bundle signed by another key against the pinned fingerprint", async () => {
    // Someone changes a read and signs the new manifest with a key of their own.
    const other = generateKeyPairSync("ed25519")
    const otherRaw = other.publicKey.export({ format: "der", type: "spki" }).subarray(-32)
    const { readZip } = await verifierModule()
    const entries = readZip(bundle.zip)
    const changedRead = flipByte(60)(entries.get(`reads/${ids.b}.json`)!.read())
    const manifest = JSON.parse(entries.get("manifest.json")!.read().toString())
    manifest.key_fingerprint = sha256(otherRaw)
    for (const file of manifest.files) if (file.path === `reads/${ids.b}.json`) file.sha256 = sha256(changedRead)
    const manifestBytes = Buffer.from(JSON.stringify(manifest))
    const signature = {
      format: "chaverim-alpr-evidence-signature-v1",
      algorithm: "Ed25519",
      signed_file: "manifest.json",
      public_key: Buffer.from(otherRaw).toString("base64"),
      key_fingerprint: sha256(otherRaw),
      signature: sign(null, manifestBytes, other.privateKey).toString("base64")
    }
    const forged = new yazl.ZipFile()
    for (const [entry, { read }] of entries) {
      const bytes = entry === "manifest.json"
        ? manifestBytes
        : entry === "signature.json"
        ? Buffer.from(JSON.stringify(signature))
        : entry === `reads/${ids.b}.json`
        ? changedRead
        : read()
      forged.addBuffer(bytes, entry)
    }
    forged.end()
    const chunks: Array<Buffer> = []
    for await (const chunk of forged.outputStream) chunks.push(chunk as Buffer)
    const zip = Buffer.concat(chunks)

    // Consistent in itself, so without a pinned key it passes, and says so; pinned, it fails.
    const unpinned = await verifyAsRecipient(zip)
    expect(unpinned.code, unpinned.stdout).toBe(0)
    expect(unpinned.stdout).toContain("the key was NOT pinned")
    expect(unpinned.stdout).toContain(sha256(otherRaw))
    const pinned = await verifyAsRecipient(zip, fingerprint)
    expect(pinned.code).toBe(1)
    expect(pinned.stdout).toContain(`FAILED: signature.json: signed by the key ${sha256(otherRaw)}, not by the pinned key ${fingerprint}`)
    // A fingerprint given short is refused rather than trusted.
    const short = await verifyAsRecipient(bundle.zip, fingerprint.slice(0, 16))
    expect(short.code).toBe(2)
  })

  it("fails even a bundle signed with the installation's key when its files disagree with each other", async () => {
    // Whoever holds the key could sign anything; what the files say of each other is checked anyway.
    const { rows } = await server.db.query<{ secret: Buffer }>("SELECT secret FROM server_secrets WHERE name = 'evidence_signing'")
    const privateKey = createPrivateKey({
      key: Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), rows[0]!.secret]),
      format: "der",
      type: "pkcs8"
    })
    const resigned = async (changes: Record<string, (bytes: Buffer) => Buffer>) => {
      const { readZip } = await verifierModule()
      const entries = new Map([...readZip(bundle.zip)].map(([name, entry]) => [name, entry.read()] as const))
      for (const [name, change] of Object.entries(changes)) entries.set(name, change(entries.get(name)!))
      const manifest = JSON.parse(entries.get("manifest.json")!.toString())
      for (const file of manifest.files) {
        file.sha256 = sha256(entries.get(file.path)!)
        file.bytes = entries.get(file.path)!.length
      }
      const manifestBytes = Buffer.from(JSON.stringify(manifest))
      const signature = JSON.parse(entries.get("signature.json")!.toString())
      signature.signature = sign(null, manifestBytes, privateKey).toString("base64")
      entries.set("manifest.json", manifestBytes)
      entries.set("signature.json", Buffer.from(JSON.stringify(signature)))
      const zip = new yazl.ZipFile()
      for (const [name, bytes] of entries) zip.addBuffer(bytes, name)
      zip.end()
      const chunks: Array<Buffer> = []
      for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer)
      return Buffer.concat(chunks)
    }
    // The key really is the installation's: an unchanged re-signing verifies.
    expect((await verifyAsRecipient(await resigned({}), fingerprint)).code).toBe(0)
    const photo = await verifyAsRecipient(await resigned({ [`photos/${ids.a}-plate.jpg`]: flipByte(40) }), fingerprint)
    expect(photo.code).toBe(1)
    expect(photo.stdout).toContain(`FAILED: photos/${ids.a}-plate.jpg: is not the photo whose SHA-256 was recorded at ingest`)
    const audit = await verifyAsRecipient(
      await resigned({ "audit.json": (bytes) => Buffer.from(bytes.toString().replace(/"actor_username": "[^"]+"/, '"actor_username": "somebody-else"')) }),
      fingerprint
    )
    expect(audit.code).toBe(1)
    expect(audit.stdout).toMatch(/FAILED: audit\.json: audit row \d+: its hash does not match its contents/)
  })

  it("exports by a list of reads and by camera and time; a changed photo is included and said to be changed", async () => {
    // The stored bytes of one photo change behind the database's back (a disk fault, or a hand).
    const { rows } = await server.db.query<{ object_key: string }>("SELECT object_key FROM detection_images WHERE detection_id = $1", [ids.changed])
    const file = Path.join(server.dataDir, "objects", rows[0]!.object_key)
    const changed = flipByte(10)(await Fs.readFile(file))
    await Fs.writeFile(file, changed)

    const byIds = await exported(server, operator, {
      detections: [ids.changed, ids.other],
      case_number: "C-2",
      reason_code: "investigation"
    })
    const run = await verifyAsRecipient(byIds.zip, fingerprint)
    expect(run.code, run.stdout).toBe(0)
    expect(run.stdout).toContain(`warning: photos/${ids.changed}-plate.jpg: when exported, the stored photo no longer had the SHA-256 recorded at ingest`)
    const files = await filesOf(byIds.zip)
    expect(jsonOf(files, "export.json").read_ids).toEqual([ids.other, ids.changed])
    expect(jsonOf(files, `reads/${ids.changed}.json`).images[0]).toMatchObject({ status: "changed", sha256_when_exported: sha256(changed) })
    expect(files.get(`photos/${ids.changed}-plate.jpg`)!.equals(changed)).toBe(true)
    const { rows: record } = await server.db.query("SELECT images_not_matching FROM evidence_exports WHERE id = $1", [byIds.id])
    expect(record[0].images_not_matching).toBe(1)

    const byCamera = await exported(server, operator, {
      camera_id: cameraId,
      from: new Date(Date.now() - 45 * 60_000).toISOString(),
      to: new Date().toISOString(),
      case_number: "C-3",
      reason_code: "investigation"
    })
    const cameraFiles = await filesOf(byCamera.zip)
    // Reads of cam-1 in the last 45 minutes: not the first (50 min ago), not the one at cam-2.
    expect(jsonOf(cameraFiles, "export.json").read_ids).toEqual([ids.corrected, ids.other, ids.changed])
    expect((await verifyAsRecipient(byCamera.zip, fingerprint)).code).toBe(0)
  })

  it("lets operators and admins export, refuses viewers and anonymous callers, and lists exports to admins only", async () => {
    const body = { plate: plate, case_number: "C-4", reason_code: "investigation" }
    const viewer = await server.signIn("viewer")
    expect((await exportRequest(server, viewer, body)).status).toBe(403)
    expect((await exportRequest(server, undefined, body)).status).toBe(401)
    expect((await exportRequest(server, operator, body, false)).status).toBe(403)
    expect((await exportRequest(server, admin, body)).status).toBe(200)
    const { rows: denied } = await server.db.query("SELECT count(*)::int AS n FROM audit_log WHERE action = 'access.denied' AND actor_username = $1", [viewer.username])
    expect(denied[0].n).toBe(1)

    const list = (who: SignedIn, query = "") => fetch(`${server.url}/api/v1/evidence/exports${query}`, { headers: { cookie: who.cookie } })
    expect((await list(operator)).status).toBe(403)
    expect((await list(viewer)).status).toBe(403)
    const response = await list(admin)
    expect(response.status).toBe(200)
    const page = (await response.json()) as { items: Array<Record<string, unknown>>; next_cursor: string | null }
    expect(page.items[0]).toMatchObject({ case_number: "C-4", exported_by: admin.username, via: "http", detections: 2 })
    const first = page.items.find((item) => item.id === bundle.id)
    expect(first).toMatchObject({
      exported_by: operator.username,
      reason_code: "stolen_vehicle",
      selection: { kind: "plate", plate: "EVD1234", with_corrections: true },
      sha256: bundle.sha256,
      detections: 3,
      images: 5
    })
    // Paged newest first, without repeats.
    const one = (await (await list(admin, "?limit=1")).json()) as typeof page
    expect(one.items).toHaveLength(1)
    const next = (await (await list(admin, `?limit=1&cursor=${one.next_cursor}`)).json()) as typeof page
    expect(next.items[0]!.id).toBe(page.items[1]!.id)
    expect((await list(admin, "?cursor=nonsense")).status).toBe(400)
  })

  it("refuses bad requests with a 4xx that says why, and audits the refusal", async () => {
    const cases: ReadonlyArray<[unknown, number, RegExp]> = [
      [{ case_number: "C", reason_code: "investigation" }, 400, /say which reads/],
      [{ plate, detections: [ids.a], case_number: "C", reason_code: "investigation" }, 400, /not plate and detections/],
      [{ plate, reason_code: "investigation" }, 400, /case_number/],
      [{ plate, case_number: "   ", reason_code: "investigation" }, 400, /case_number is required/],
      [{ plate, case_number: "C\n1", reason_code: "investigation" }, 400, /printable/],
      [{ plate, case_number: "C".repeat(65), reason_code: "investigation" }, 400, /at most 64/],
      [{ plate, case_number: "C" }, 400, /reason_code/],
      [{ plate, case_number: "C", reason_code: "because" }, 400, /not a reason code; use one of: .*stolen_vehicle/],
      [{ plate: "---", case_number: "C", reason_code: "investigation" }, 400, /no letters or digits/],
      [{ plate: "NOSUCH1", case_number: "C", reason_code: "investigation" }, 404, /no reads match/],
      [{ detections: ["999999"], case_number: "C", reason_code: "investigation" }, 404, /no read has the id 999999/],
      [{ detections: ["1; DROP TABLE detections"], case_number: "C", reason_code: "investigation" }, 400, /a read's id/],
      [{ detections: [], case_number: "C", reason_code: "investigation" }, 400, /at least one/],
      [{ camera_id: cameraId, case_number: "C", reason_code: "investigation" }, 400, /needs from and to/],
      [{ camera_id: cameraId, from: "2026-01-02T00:00:00Z", to: "2026-01-01T00:00:00Z", case_number: "C", reason_code: "investigation" }, 400, /from must be before to/],
      [{ camera_id: "6f1c2b8e-0000-4000-8000-000000000000", from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z", case_number: "C", reason_code: "investigation" }, 404, /no camera/],
      [{ camera_id: "not-a-uuid", from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z", case_number: "C", reason_code: "investigation" }, 400, /UUID/],
      [{ plate, with_corrections: true, detections: undefined, from: "2026-01-01T00:00:00Z", case_number: "C", reason_code: "investigation" }, 400, /from and to go with camera_id/],
      [{ plate: "A".repeat(40), case_number: "C", reason_code: "investigation" }, 400, /at most 32/]
    ]
    for (const [body, status, message] of cases) {
      const response = await exportRequest(server, operator, body)
      const text = await response.text()
      expect(response.status, `${JSON.stringify(body)}: ${text}`).toBe(status)
      expect(text, JSON.stringify(body)).toMatch(message)
    }
    // A retired code is refused like an unknown one.
    await server.db.query("UPDATE reason_codes SET retired_at = now() WHERE code = 'training'")
    const retired = await exportRequest(server, operator, { plate, case_number: "C", reason_code: "training" })
    expect(retired.status).toBe(400)
    expect(await retired.text()).toMatch(/retired/)
    const { rows } = await server.db.query(
      "SELECT details FROM audit_log WHERE action = 'evidence.export' AND outcome = 'failure' AND actor_username = $1 ORDER BY id",
      [operator.username]
    )
    expect(rows.map((r) => r.details.error)).toEqual(expect.arrayContaining([
      expect.stringMatching(/no reads match/),
      expect.stringMatching(/not a reason code/)
    ]))
  })

  it("exports and verifies from the command line; verify needs no database", async () => {
    const dir = await Fs.mkdtemp(Path.join(Os.tmpdir(), "alpr-evidence-cli-"))
    try {
      const alpr = alprAgainst(() => server.databaseUrl)
      const out = Path.join(dir, "case.zip")
      const run = await alpr(
        ["evidence", "export", "--plate", plate, "--case", "CLI-7", "--reason-code", "investigation", "--reason", "court order 7", "--out", out],
        { DATA_DIR: server.dataDir }
      )
      expect(run.code, describeRun(run)).toBe(0)
      const summary = lastJson(run)
      const zip = await Fs.readFile(out)
      expect(summary).toEqual({ export_id: expect.any(String), detections: 2, images: 4, sha256: sha256(zip) })
      const { rows } = await server.db.query(
        "SELECT r.via, r.username, a.actor_username, a.details->>'via' AS audited_via FROM evidence_exports r JOIN audit_log a ON a.target = 'evidence_export:' || r.id WHERE r.id = $1",
        [summary.export_id]
      )
      expect(rows).toEqual([{ via: "cli", username: null, actor_username: null, audited_via: "cli" }])
      expect(jsonOf(await filesOf(zip), "export.json").exported_by).toMatchObject({ via: "cli", os_user: Os.userInfo().username })

      // Verification reaches no database: the URL given points nowhere.
      const noDatabase = alprAgainst(() => "postgres://nobody@127.0.0.1:1/none")
      const ok = await noDatabase(["evidence", "verify", out, "--key", fingerprint])
      expect(ok.code, describeRun(ok)).toBe(0)
      expect(ok.stdout.split("\n")[0]).toBe("ok")
      await Fs.writeFile(out, await remade(zip, "report.pdf", flipByte(1000)))
      const bad = await noDatabase(["evidence", "verify", out, "--key", fingerprint])
      expect(bad.code).toBe(1)
      expect(bad.stdout).toContain("FAILED: report.pdf: its SHA-256")

      const refused = await alpr(["evidence", "export", "--detections", "999999", "--case", "CLI-8", "--reason-code", "investigation", "--out", Path.join(dir, "none.zip")])
      expect(refused.code).not.toBe(0)
      expect(refused.stderr).toMatch(/no read has the id 999999/)
      expect(await Fs.readdir(dir)).toEqual(["case.zip"])
    } finally {
      await Fs.rm(dir, { recursive: true, force: true })
    }
  })
})

describe("evidence exports (photos in S3)", () => {
  let s3: S3rver
  let s3Dir: string
  let settings: S3Settings
  let server: TestServer
  let operator: SignedIn
  let ids: Array<string>
  const photos = [jpeg("s3-a"), png(7), jpeg("s3-b")]

  beforeAll(async () => {
    s3Dir = await Fs.mkdtemp(Path.join(Os.tmpdir(), "evidence-s3rver-"))
    s3 = new S3rver({ address: "127.0.0.1", port: 0, directory: s3Dir, silent: true })
    const address = await s3.run()
    settings = {
      endpoint: `http://127.0.0.1:${address.port}`,
      accessKey: Redacted.make("S3RVER"),
      secretKey: Redacted.make("S3RVER"),
      bucket: "evidence",
      region: "us-east-1"
    }
    server = await startServer({ s3: Option.some(settings), evidenceMaxReads: 3, evidenceMaxPhotoBytes: 2_000 })
    const { apiKey } = await server.collector()
    operator = await server.signIn("operator")
    const at = (minutesAgo: number) => new Date(Date.now() - minutesAgo * 60_000).toISOString()
    ids = await ingest(server, apiKey, [
      { event: detection({ timestamp: at(9), plate: { text: "S3E001", confidence: 0.9 } }), plate: photos[0]!, scene: photos[1]! },
      { event: detection({ timestamp: at(8), plate: { text: "S3E001", confidence: 0.9 } }), plate: photos[2]! },
      { event: detection({ timestamp: at(7), plate: { text: "S3E002", confidence: 0.9 } }) },
      { event: detection({ timestamp: at(6), plate: { text: "S3E003", confidence: 0.9 } }) },
      { event: detection({ timestamp: at(5), plate: { text: "S3E004", confidence: 0.9 } }), plate: jpeg("big".repeat(700)) }
    ])
  })
  afterAll(async () => {
    await server?.close()
    await s3?.close()
    await Fs.rm(s3Dir, { recursive: true, force: true })
  })

  it("exports photos kept in S3, byte for byte, in a bundle that verifies", async () => {
    const key = ((await (await fetch(`${server.url}/api/v1/evidence/key`)).json()) as { fingerprint: string }).fingerprint
    const bundle = await exported(server, operator, { plate: "S3E001", case_number: "S3-1", reason_code: "amber_alert" })
    const run = await verifyAsRecipient(bundle.zip, key)
    expect(run.code, run.stdout).toBe(0)
    expect(run.stdout).toContain("2 reads, 3 photos")
    const files = await filesOf(bundle.zip)
    expect(files.get(`photos/${ids[0]}-plate.jpg`)!.equals(photos[0]!)).toBe(true)
    expect(files.get(`photos/${ids[0]}-scene.png`)!.equals(photos[1]!)).toBe(true)
    expect(files.get(`photos/${ids[1]}-plate.jpg`)!.equals(photos[2]!)).toBe(true)

    // The command line reads the same store.
    const dir = await Fs.mkdtemp(Path.join(Os.tmpdir(), "alpr-evidence-s3-cli-"))
    try {
      const out = Path.join(dir, "s3.zip")
      const cli = await alprAgainst(() => server.databaseUrl)(
        ["evidence", "export", "--detections", `${ids[1]},${ids[0]}`, "--case", "S3-2", "--reason-code", "amber_alert", "--out", out],
        {
          S3_ENDPOINT: settings.endpoint,
          S3_ACCESS_KEY: "S3RVER",
          S3_SECRET_KEY: "S3RVER",
          S3_BUCKET: settings.bucket,
          S3_REGION: settings.region
        }
      )
      expect(cli.code, describeRun(cli)).toBe(0)
      expect(lastJson(cli)).toMatchObject({ detections: 2, images: 3 })
      expect((await verifyAsRecipient(await Fs.readFile(out), key)).code).toBe(0)
    } finally {
      await Fs.rm(dir, { recursive: true, force: true })
    }
  })

  it("refuses a selection over EVIDENCE_MAX_READS with a 400 before doing any work", async () => {
    const { rows } = await server.db.query<{ camera_id: string }>("SELECT camera_id FROM detections WHERE id = $1", [ids[0]])
    const response = await exportRequest(server, operator, {
      camera_id: rows[0]!.camera_id,
      from: new Date(Date.now() - 3_600_000).toISOString(),
      to: new Date().toISOString(),
      case_number: "S3-3",
      reason_code: "amber_alert"
    })
    expect(response.status).toBe(400)
    expect(await response.text()).toMatch(/more than 3 reads.*EVIDENCE_MAX_READS/)
    const { rows: made } = await server.db.query("SELECT count(*)::int AS n FROM evidence_exports WHERE case_number = 'S3-3'")
    expect(made[0].n).toBe(0)
    // And one whose photos are over EVIDENCE_MAX_PHOTO_MB.
    const heavy = await exportRequest(server, operator, { plate: "S3E004", case_number: "S3-4", reason_code: "amber_alert" })
    expect(heavy.status).toBe(400)
    expect(await heavy.text()).toMatch(/photos take .* MiB, more than one export may hold .*EVIDENCE_MAX_PHOTO_MB/)
  })
})
