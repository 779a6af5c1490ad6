#!/usr/bin/env node
// Chaverim ALPR: verifier of an evidence bundle (a case export).
//
//   node verify-evidence.mjs FILE.zip [--key FINGERPRINT]
//
// Needs Node.js 18 or later and nothing else: no install, no network, no server, no database. It
// reads the zip itself (central directory; stored and deflated entries, each checked against its
// CRC-32), checks the Ed25519 signature of manifest.json, then every file's SHA-256 against the
// manifest, and that no file was added. With --key, the bundle must be signed by that key: the
// SHA-256 fingerprint (64 hex digits) of the installation's public key, as its
// GET /api/v1/evidence/key gives it; obtain it from the installation ahead of time, not from a bundle.
// Prints `ok` and a summary and exits 0, or prints `FAILED: <file>: <why>` naming the first file that
// fails and exits 1 (2: the command was used wrongly or the file cannot be read).
//
// This file is kept in the Chaverim ALPR repository at tools/verify-evidence.mjs. A copy travels in
// every bundle for convenience; a recipient should obtain the verifier independently, from the
// repository, since a bundle forged as a whole could carry a verifier forged with it.

import { createHash, createPublicKey, verify as verifySignature } from "node:crypto"
import { readFileSync, realpathSync } from "node:fs"
import { inflateRawSync } from "node:zlib"

export const MANIFEST = "manifest.json"
export const SIGNATURE = "signature.json"
const MANIFEST_FORMAT = "chaverim-alpr-evidence-manifest-v1"
const SIGNATURE_FORMAT = "chaverim-alpr-evidence-signature-v1"

/** A file of the bundle that failed a check: verification stops at the first. */
export class VerificationFailure extends Error {
  constructor(file, reason) {
    super(`${file}: ${reason}`)
    this.file = file
    this.reason = reason
  }
}

const fail = (file, reason) => {
  throw new VerificationFailure(file, reason)
}

const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex")

// ---------------------------------------------------------------------------------------------
// The zip format (PKWARE APPNOTE), as much of it as a bundle uses: no encryption, no zip64, no
// multi-disk archives; entries stored (method 0) or deflated (method 8).

const CRC_TABLE = (() => {
  const table = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    table[n] = c >>> 0
  }
  return table
})()

export const crc32 = (bytes) => {
  let crc = 0xffffffff
  for (let i = 0; i < bytes.length; i++) crc = CRC_TABLE[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8)
  return (crc ^ 0xffffffff) >>> 0
}

const EOCD_SIGNATURE = 0x06054b50
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50
const CENTRAL_SIGNATURE = 0x02014b50
const LOCAL_SIGNATURE = 0x04034b50
/** No one file of a bundle is this large (photos, JSON, the report): more is a malformed or hostile zip. */
const MAX_ENTRY_BYTES = 1024 * 1024 * 1024

const ARCHIVE = "(the zip archive)"

/**
 * The entries of a zip held in `zip` (a Buffer), by name, each with `read()` giving its checked
 * contents. Structural faults fail naming the archive, or the entry they are in.
 */
export const readZip = (zip) => {
  const minimum = 22
  if (zip.length < minimum) fail(ARCHIVE, "too short to be a zip file")
  let eocd = -1
  for (let at = zip.length - minimum; at >= Math.max(0, zip.length - minimum - 0xffff); at--) {
    if (zip.readUInt32LE(at) === EOCD_SIGNATURE && at + minimum + zip.readUInt16LE(at + 20) === zip.length) {
      eocd = at
      break
    }
  }
  if (eocd < 0) fail(ARCHIVE, "no end of central directory record: not a zip file, or cut short")
  const disk = zip.readUInt16LE(eocd + 4)
  const cdDisk = zip.readUInt16LE(eocd + 6)
  const onDisk = zip.readUInt16LE(eocd + 8)
  const count = zip.readUInt16LE(eocd + 10)
  const cdSize = zip.readUInt32LE(eocd + 12)
  const cdOffset = zip.readUInt32LE(eocd + 16)
  if (eocd >= 20 && zip.readUInt32LE(eocd - 20) === ZIP64_LOCATOR_SIGNATURE) {
    fail(ARCHIVE, "a zip64 archive: bundles are never made in that format")
  }
  if (disk !== 0 || cdDisk !== 0 || onDisk !== count) fail(ARCHIVE, "a multi-part zip archive is not a bundle")
  if (cdOffset + cdSize > eocd) fail(ARCHIVE, "the central directory lies outside the file")

  const entries = new Map()
  let at = cdOffset
  for (let i = 0; i < count; i++) {
    if (at + 46 > cdOffset + cdSize || zip.readUInt32LE(at) !== CENTRAL_SIGNATURE) {
      fail(ARCHIVE, `central directory entry ${i + 1} of ${count} is malformed`)
    }
    const flags = zip.readUInt16LE(at + 8)
    const method = zip.readUInt16LE(at + 10)
    const crc = zip.readUInt32LE(at + 16)
    const compressedSize = zip.readUInt32LE(at + 20)
    const size = zip.readUInt32LE(at + 24)
    const nameLength = zip.readUInt16LE(at + 28)
    const extraLength = zip.readUInt16LE(at + 30)
    const commentLength = zip.readUInt16LE(at + 32)
    const localOffset = zip.readUInt32LE(at + 42)
    const nameBytes = zip.subarray(at + 46, at + 46 + nameLength)
    const name = nameBytes.toString("utf8")
    at += 46 + nameLength + extraLength + commentLength
    if (at > cdOffset + cdSize) fail(ARCHIVE, `central directory entry ${i + 1} of ${count} runs past the directory`)
    if (name === "" || name.includes("\\") || name.startsWith("/") || name.split("/").some((part) => part === "" || part === "." || part === "..") || /[\u0000-\u001f]/.test(name)) {
      fail(JSON.stringify(name), "not a file name a bundle uses")
    }
    if (entries.has(name)) fail(name, "appears twice in the zip archive")
    if (flags & 1) fail(name, "encrypted")
    if (method !== 0 && method !== 8) fail(name, `compression method ${method} is not one a bundle uses (stored or deflated)`)
    if (size > MAX_ENTRY_BYTES || compressedSize > MAX_ENTRY_BYTES) fail(name, "larger than any file of a bundle")
    if (localOffset + 30 > cdOffset || zip.readUInt32LE(localOffset) !== LOCAL_SIGNATURE) {
      fail(name, "its local header is missing or malformed")
    }
    const localNameLength = zip.readUInt16LE(localOffset + 26)
    const localExtraLength = zip.readUInt16LE(localOffset + 28)
    if (!zip.subarray(localOffset + 30, localOffset + 30 + localNameLength).equals(nameBytes)) {
      fail(name, "its local header names another file")
    }
    const start = localOffset + 30 + localNameLength + localExtraLength
    if (start + compressedSize > cdOffset) fail(name, "its data runs past the end of the entries")
    const read = () => {
      const stored = zip.subarray(start, start + compressedSize)
      let data
      if (method === 0) {
        if (compressedSize !== size) fail(name, "a stored entry whose sizes differ")
        data = stored
      } else {
        try {
          data = inflateRawSync(stored, { maxOutputLength: Math.max(size, 1) })
        } catch (error) {
          fail(name, `cannot be decompressed (${error.code ?? error.message}): the file was changed inside the zip`)
        }
      }
      if (data.length !== size) fail(name, "its length is not the one the zip records: the file was changed inside the zip")
      if (crc32(data) !== crc) fail(name, "its CRC-32 does not match the zip's: the file was changed inside the zip")
      return data
    }
    entries.set(name, { name, size, read })
  }
  if (at !== cdOffset + cdSize) fail(ARCHIVE, "the central directory holds more than its entries")
  return entries
}

// ---------------------------------------------------------------------------------------------
// The bundle.

/** DER of an Ed25519 SubjectPublicKeyInfo: this prefix and the 32 bytes of the raw key. */
const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex")

/** A pinned fingerprint as people may write it: hex, any case, with or without `:` or spaces. */
export const normaliseFingerprint = (text) => {
  const hex = String(text).toLowerCase().replace(/[\s:]/g, "")
  return /^[0-9a-f]{64}$/.test(hex) ? hex : undefined
}

const parseJson = (file, bytes) => {
  try {
    return JSON.parse(bytes.toString("utf8"))
  } catch {
    return fail(file, "is not valid JSON")
  }
}

const isObject = (value) => typeof value === "object" && value !== null && !Array.isArray(value)

/**
 * The hash of an audit_log row, as the database computes it (sql/0005_audit_log.sql,
 * audit_log_hash): hex SHA-256 of the UTF-8 of these lines joined by LF. Optional fields are
 * `<length in characters>:<text>`, or `-` for NULL.
 */
export const auditRowHash = (row) => {
  const field = (value) => (value === null || value === undefined ? "-" : `${Array.from(String(value)).length}:${value}`)
  const text = [
    "alpr-audit-v1",
    row.prev_hash,
    String(row.id),
    String(row.at_us),
    field(row.actor_id),
    field(row.actor_username),
    field(row.address),
    field(row.action),
    field(row.target),
    field(row.reason),
    field(row.details_text),
    field(row.outcome)
  ].join("\n")
  return sha256(Buffer.from(text, "utf8"))
}

/**
 * Verifies the bundle held in `zip` (a Buffer). Throws a VerificationFailure naming the first file
 * that fails; otherwise answers what the bundle holds, for the summary.
 */
export const verifyBundle = (zip, options = {}) => {
  const pinned = options.key
  const entries = readZip(zip)

  const signatureEntry = entries.get(SIGNATURE) ?? fail(SIGNATURE, "missing: the bundle is not signed")
  const manifestEntry = entries.get(MANIFEST) ?? fail(MANIFEST, "missing")
  const signature = parseJson(SIGNATURE, signatureEntry.read())
  if (
    !isObject(signature) || signature.format !== SIGNATURE_FORMAT || signature.algorithm !== "Ed25519" ||
    signature.signed_file !== MANIFEST || typeof signature.public_key !== "string" ||
    typeof signature.signature !== "string"
  ) fail(SIGNATURE, `is not a ${SIGNATURE_FORMAT} signature of ${MANIFEST} made with Ed25519`)
  const publicKey = Buffer.from(signature.public_key, "base64")
  if (publicKey.length !== 32) fail(SIGNATURE, "its public key is not a 32-byte Ed25519 key")
  const fingerprint = sha256(publicKey)
  if (signature.key_fingerprint !== fingerprint) fail(SIGNATURE, "the fingerprint it states is not its public key's")
  if (pinned !== undefined && fingerprint !== pinned) {
    fail(SIGNATURE, `signed by the key ${fingerprint}, not by the pinned key ${pinned}`)
  }
  const manifestBytes = manifestEntry.read()
  const key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, publicKey]), format: "der", type: "spki" })
  if (!verifySignature(null, manifestBytes, key, Buffer.from(signature.signature, "base64"))) {
    fail(MANIFEST, "its Ed25519 signature does not verify: it was changed after signing, or signed by another key")
  }

  const manifest = parseJson(MANIFEST, manifestBytes)
  if (!isObject(manifest) || manifest.format !== MANIFEST_FORMAT || !Array.isArray(manifest.files)) {
    fail(MANIFEST, `is not a ${MANIFEST_FORMAT} manifest`)
  }
  if (manifest.key_fingerprint !== fingerprint) fail(MANIFEST, "names another signing key than the signature's")
  const hashes = new Map()
  for (const file of manifest.files) {
    if (!isObject(file) || typeof file.path !== "string" || typeof file.sha256 !== "string") {
      fail(MANIFEST, "holds an entry that is not {path, sha256, bytes}")
    }
    if (file.path === MANIFEST || file.path === SIGNATURE || hashes.has(file.path)) fail(MANIFEST, `lists ${file.path} twice or lists itself`)
    const entry = entries.get(file.path) ?? fail(file.path, "listed in the manifest but missing from the bundle")
    const bytes = entry.read()
    const actual = sha256(bytes)
    if (actual !== file.sha256 || bytes.length !== file.bytes) {
      fail(file.path, `its SHA-256 (${actual}) is not the one the signed manifest lists (${file.sha256}): the file was changed`)
    }
    // Only the JSON files are read again below: photos and the report are let go once hashed.
    hashes.set(file.path, { sha256: actual, bytes: file.path.endsWith(".json") ? bytes : undefined })
  }
  for (const name of entries.keys()) {
    if (name !== MANIFEST && name !== SIGNATURE && !hashes.has(name)) fail(name, "is not in the signed manifest: it was added after signing")
  }

  // What the files say of each other: each photo is the one whose SHA-256 was recorded at ingest, and
  // each audit row hashes as the chain recorded it.
  const json = (path) => (hashes.has(path) ? parseJson(path, hashes.get(path).bytes) : fail(path, "missing from the manifest"))
  const exported = json("export.json")
  const warnings = []
  let reads = 0
  let photos = 0
  for (const path of [...hashes.keys()].filter((p) => /^reads\/[^/]+\.json$/.test(p)).sort()) {
    const read = json(path)
    reads++
    for (const image of Array.isArray(read?.images) ? read.images : []) {
      if (typeof image?.file !== "string") {
        warnings.push(`${path}: its ${image?.kind ?? "?"} photo is not in the bundle (${image?.status ?? "missing"})`)
        continue
      }
      const photo = hashes.get(image.file) ?? fail(path, `names the photo ${image.file}, which is not in the bundle`)
      photos++
      if (image.status === "matches_ingest") {
        if (photo.sha256 !== image.sha256_at_ingest) fail(image.file, "is not the photo whose SHA-256 was recorded at ingest")
      } else {
        warnings.push(`${image.file}: when exported, the stored photo no longer had the SHA-256 recorded at ingest (${image.sha256_at_ingest})`)
      }
    }
  }
  const audit = json("audit.json")
  const rows = Array.isArray(audit?.rows) ? audit.rows : fail("audit.json", "holds no rows list")
  for (const row of rows) {
    if (auditRowHash(row) !== row.hash) fail("audit.json", `audit row ${row.id}: its hash does not match its contents`)
  }
  return { fingerprint, pinned: pinned !== undefined, exported, files: hashes.size + 2, reads, photos, auditRows: rows.length, auditHead: audit.chain_head, warnings }
}

const USAGE = "usage: node verify-evidence.mjs FILE.zip [--key FINGERPRINT]"

/** The command: prints its answer with `print`, and returns the exit code. */
export const main = (argv, print = (line) => console.log(line)) => {
  let file
  let key
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--key") {
      key = normaliseFingerprint(argv[++i] ?? "")
      if (key === undefined) {
        print("--key takes the full fingerprint: 64 hex digits (SHA-256 of the installation's public key)")
        return 2
      }
    } else if (argv[i] === "--help" || argv[i] === "-h") {
      print(USAGE)
      return 0
    } else if (file === undefined) file = argv[i]
    else {
      print(USAGE)
      return 2
    }
  }
  if (file === undefined) {
    print(USAGE)
    return 2
  }
  let zip
  try {
    zip = readFileSync(file)
  } catch (error) {
    print(`cannot read ${file}: ${error.code ?? error.message}`)
    return 2
  }
  try {
    const result = verifyBundle(zip, { key })
    const e = isObject(result.exported) ? result.exported : {}
    const by = isObject(e.exported_by) ? (e.exported_by.username ?? `${e.exported_by.via ?? "?"}`) : "?"
    print("ok")
    print(`export ${e.export_id ?? "?"}, made ${e.created_at ?? "?"} by ${by}`)
    print(`case ${e.case_number ?? "?"}; reason ${e.reason_code ?? "?"}${e.reason ? `: ${e.reason}` : ""}`)
    if (isObject(e.approval)) {
      print(`approved by ${e.approval.approved_by ?? "?"} at ${e.approval.approved_at ?? "?"}; asked for by ${e.approval.requested_by ?? "the command line"} at ${e.approval.requested_at ?? "?"}`)
    }
    print(`${result.reads} reads, ${result.photos} photos, ${result.files} files, each matching the signed manifest`)
    print(`${result.auditRows} audit rows, each hashing as the audit chain recorded it; chain head at export: ${isObject(result.auditHead) ? `row ${result.auditHead.id}, ${result.auditHead.hash}` : "?"}`)
    print(`signed with Ed25519 key ${result.fingerprint}`)
    print(result.pinned
      ? "the signing key is the pinned key"
      : "the key was NOT pinned: compare its fingerprint with the one the installation publishes (GET /api/v1/evidence/key), or run again with --key")
    for (const warning of result.warnings) print(`warning: ${warning}`)
    return 0
  } catch (error) {
    if (error instanceof VerificationFailure) {
      print(`FAILED: ${error.message}`)
      return 1
    }
    throw error
  }
}

const runDirectly = (() => {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(new URL(import.meta.url))
  } catch {
    return false
  }
})()

if (runDirectly) process.exitCode = main(process.argv.slice(2))
