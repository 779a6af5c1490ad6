import type { ExportSelection } from "@chaverim/domain/Evidence"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { createHash } from "node:crypto"
import * as Fs from "node:fs"
import * as FsPromises from "node:fs/promises"
import * as Path from "node:path"
import { Transform } from "node:stream"
import { pipeline } from "node:stream/promises"
import yazl from "yazl"
import { sha256Hex } from "../crypto/Tokens"
import { Count, Int8Text, Int8TextOrNull, orBug } from "../db/Rows"
import { ObjectStore } from "../images/ObjectStore"
import { EvidenceKey } from "./Key"
import { type ReportPhoto, type ReportRead, writeReport } from "./Report"
import { VERIFIER_PATH } from "./Verifier"

/** The bundle's format, as its manifest and signature name it (tools/verify-evidence.mjs reads these). */
export const MANIFEST_FORMAT = "chaverim-alpr-evidence-manifest-v1"
export const SIGNATURE_FORMAT = "chaverim-alpr-evidence-signature-v1"

/** Audit rows a bundle holds at most; past this it says it was cut short. */
const MAX_AUDIT_ROWS = 20_000

/** Reads fetched per query while the bundle is staged. */
const PAGE = 200

/** Who made the export, as the bundle tells it. */
export interface ExportedBy {
  readonly via: "http" | "cli"
  readonly user_id?: string | undefined
  readonly username?: string | undefined
  readonly role?: string | undefined
  readonly address?: string | undefined
  /** the command line's operating-system user and host */
  readonly os_user?: string | undefined
  readonly host?: string | undefined
}

/** The second person's approval of an export (EXPORT_APPROVAL=required), as the bundle tells it. */
export interface BundleApproval {
  readonly request_id: string
  readonly requested_at: string
  /** a username, or null: asked for with the command line */
  readonly requested_by: string | null
  readonly requested_via: "http" | "cli"
  readonly approved_by: string
  readonly approved_via: "http" | "cli"
  readonly approved_at: string
  readonly note: string | null
}

export interface BundleRequest {
  readonly exportId: string
  /** present when the export needed a second person's approval */
  readonly approval?: BundleApproval | undefined
  readonly createdAt: Date
  readonly exportedBy: ExportedBy
  readonly caseNumber: string
  readonly reasonCode: string
  readonly reasonLabel: string
  readonly reason: string | undefined
  readonly selection: ExportSelection
  /** oldest first */
  readonly detectionIds: ReadonlyArray<string>
}

export interface BundleMade {
  readonly sha256: string
  readonly bytes: number
  readonly detections: number
  readonly images: number
  readonly imagesNotMatching: number
}

/** Times as the database holds them, to the microsecond, in UTC. */
const utc = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`

const Text = Schema.String
const TextOrNull = Schema.NullOr(Schema.String)
const NumberOrNull = Schema.NullOr(Schema.Number)

const ReadRow = Schema.Struct({
  id: Int8Text,
  detection_id: Text,
  collector_id: Text,
  camera_id: Text,
  detected_at: Text,
  received_at: Text,
  plate_text: Text,
  plate: Text,
  plate_ocr: Text,
  confidence: Schema.Number,
  direction: TextOrNull,
  vehicle_type: TextOrNull,
  vehicle_color: TextOrNull,
  vehicle_make: TextOrNull,
  lat: NumberOrNull,
  lon: NumberOrNull,
  duplicate_of: Int8TextOrNull,
  raw: Schema.Unknown,
  camera_external_id: Text,
  camera_mac: Text,
  camera_name: TextOrNull,
  camera_site: TextOrNull,
  camera_lat: NumberOrNull,
  camera_lon: NumberOrNull,
  collector_name: Text,
  collector_hardware_id: TextOrNull,
  collector_hostname: TextOrNull,
  collector_claimed_at: TextOrNull
})
type ReadRow = typeof ReadRow.Type

const CorrectionRow = Schema.Struct({
  id: Int8Text,
  detection_id: Int8Text,
  action: Text,
  plate_text: TextOrNull,
  plate: TextOrNull,
  note: TextOrNull,
  by: Text,
  at: Text
})

const ImageRow = Schema.Struct({
  detection_id: Int8Text,
  kind: Text,
  object_key: Text,
  content_type: Text,
  size_bytes: Count,
  sha256: Text,
  stored_at: Text
})

const KeyRow = Schema.Struct({
  collector_id: Text,
  prefix: Text,
  created_at: Text,
  first_used_at: TextOrNull,
  revoked_at: TextOrNull
})

const AuditRow = Schema.Struct({
  id: Int8Text,
  at: Text,
  at_us: Int8Text,
  actor_id: TextOrNull,
  actor_username: TextOrNull,
  address: TextOrNull,
  action: Text,
  target: TextOrNull,
  reason: TextOrNull,
  details: Schema.Unknown,
  details_text: Text,
  outcome: Text,
  prev_hash: Text,
  hash: Text
})

/** The reads a photo-view row names (`details.reads` of a search page's row); none for other rows. */
const viewedReads = (details: unknown): ReadonlyArray<string> => {
  const reads = typeof details === "object" && details !== null ? (details as { readonly reads?: unknown }).reads : undefined
  return Array.isArray(reads) ? reads.filter((id): id is string => typeof id === "string") : []
}

const EXTENSIONS: Record<string, string> = { "image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/gif": "gif" }

/** The note every read carries on what the server does not record. */
const CUSTODY_NOTES = [
  "The API key that sent a read is not recorded per read: listed are the keys of its collector that were valid " +
  "(created, not yet revoked) when the read was received.",
  "The server (replica) that stored a read is not recorded by this version of Chaverim ALPR.",
  "received_at is the time of the database transaction that stored the read: the server records one time for " +
  "receipt and storage.",
  "raw is the event as the collector sent it, kept as PostgreSQL jsonb: its values are as sent; key order and " +
  "white space are PostgreSQL's."
]

const json = (value: unknown) => Buffer.from(`${JSON.stringify(value, null, 2)}\n`, "utf8")

const describeSelection = (s: ExportSelection) => {
  switch (s.kind) {
    case "plate":
      return `plate ${s.plate}${s.with_corrections ? ", and the reads corrected to it" : " (as read)"}`
    case "detections":
      return `${s.detection_ids?.length ?? 0} reads listed by id`
    case "camera":
      return `camera ${s.camera_id} from ${s.from} to ${s.to}`
  }
}

const README = (request: BundleRequest, fingerprint: string) =>
  `Chaverim ALPR evidence bundle
=============================

Export ${request.exportId}, case ${request.caseNumber}, made ${request.createdAt.toISOString()}.${
    request.approval === undefined ? "" : `
Asked for by ${request.approval.requested_by ?? "the command line"} at ${request.approval.requested_at}; approved by ${request.approval.approved_by} at ${request.approval.approved_at} (export request ${request.approval.request_id}).`
  }

What is here
  README.txt            this note
  export.json           who exported, when, the case, the reason, what was selected, the audit chain head
  report.pdf            the readable report: a timeline, and per read its photos, plate, time, place and map position
  reads/<id>.json       each read: as received (raw) and as stored, its corrections, its photos with the SHA-256
                        recorded at ingest (and whether the stored bytes still matched), its chain of custody
  photos/<id>-<kind>.*  the photos (plate crop, scene), byte for byte as stored
  audit.json            the audit log's rows about these reads, with their chain hashes, and the chain head
  manifest.json         every file above with its SHA-256 and size
  signature.json        the Ed25519 signature of manifest.json, the public key and its fingerprint
  verify-evidence.mjs   a copy of the verifier

How to verify
  Obtain the verifier independently from the Chaverim ALPR repository (tools/verify-evidence.mjs): a bundle
  forged as a whole could carry a forged verifier. It needs Node.js 18 or later and nothing else. Obtain the
  installation's key fingerprint from the installation ahead of time (GET /api/v1/evidence/key), then run

    node verify-evidence.mjs THIS-BUNDLE.zip --key FINGERPRINT

  It prints "ok" and a summary, or names the first file that fails and exits 1. This bundle was signed with
  the key whose fingerprint is
    ${fingerprint}
`

/** A Transform that counts and hashes what passes through it. */
const hashing = () => {
  const hash = createHash("sha256")
  let bytes = 0
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk)
      bytes += chunk.length
      done(null, chunk)
    }
  })
  return { stream, result: () => ({ sha256: hash.digest("hex"), bytes }) }
}

const hashFile = async (path: string) => {
  const { result, stream } = hashing()
  await pipeline(Fs.createReadStream(path), stream, async function*(source) {
    for await (const _chunk of source) {
      // drained: only the hash is wanted
    }
  })
  return result()
}

/**
 * Makes the bundle of `request` at `outPath` (a zip), staging its files in a fresh folder under
 * `stageDir` (removed afterwards), so that memory holds one photo at a time whatever the export's size.
 * Photos are read from the object store and checked against their SHA-256 from ingest; one that no
 * longer matches goes in as it is, marked so, and one that is gone is marked missing.
 */
export const makeBundle = (request: BundleRequest, outPath: string, stageDir: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const store = yield* ObjectStore
    const key = yield* EvidenceKey
    const stage = yield* Effect.acquireRelease(
      Effect.promise(async () => {
        await FsPromises.mkdir(stageDir, { recursive: true, mode: 0o700 })
        return FsPromises.mkdtemp(Path.join(stageDir, `export-${request.exportId}-`))
      }),
      (dir) => Effect.promise(() => FsPromises.rm(dir, { recursive: true, force: true }))
    )
    const files: Array<{ readonly path: string; readonly sha256: string; readonly bytes: number }> = []
    const stagedPath = (path: string) => Path.join(stage, ...path.split("/"))
    const put = (path: string, bytes: Uint8Array) =>
      Effect.promise(async () => {
        await FsPromises.mkdir(Path.dirname(stagedPath(path)), { recursive: true })
        await FsPromises.writeFile(stagedPath(path), bytes, { mode: 0o600 })
        files.push({ path, sha256: sha256Hex(bytes), bytes: bytes.byteLength })
      })

    // The chain head first: every row read below is at or before it, whatever is written meanwhile.
    const head = yield* orBug(SqlSchema.single({
      Request: Schema.Void,
      Result: Schema.Struct({ id: Int8Text, hash: Text }),
      execute: () => sql`SELECT last_id AS id, hash FROM audit_chain_head LIMIT 1`
    })(undefined)).pipe(Effect.catchTag("NoSuchElementException", Effect.die))

    const readsOf = SqlSchema.findAll({
      Request: Schema.Array(Schema.String),
      Result: ReadRow,
      execute: (ids) =>
        sql`
          SELECT d.id, d.detection_id, d.collector_id, d.camera_id,
                 ${sql.literal(utc("d.detected_at"))} AS detected_at, ${sql.literal(utc("d.received_at"))} AS received_at,
                 d.plate_text, d.plate, d.plate_ocr, d.confidence, d.direction, d.vehicle_type, d.vehicle_color,
                 d.vehicle_make, d.lat, d.lon, d.duplicate_of, d.raw,
                 c.external_id AS camera_external_id, c.mac AS camera_mac, c.name AS camera_name, c.site AS camera_site,
                 c.lat AS camera_lat, c.lon AS camera_lon,
                 k.name AS collector_name, k.hardware_id AS collector_hardware_id, k.hostname AS collector_hostname,
                 ${sql.literal(utc("k.claimed_at"))} AS collector_claimed_at
            FROM detections d
            JOIN cameras c ON c.id = d.camera_id
            JOIN collectors k ON k.id = d.collector_id
           WHERE d.id = ANY(string_to_array(${ids.join(",")}, ',')::bigint[])`
    })
    const correctionsOf = SqlSchema.findAll({
      Request: Schema.Array(Schema.String),
      Result: CorrectionRow,
      execute: (ids) =>
        sql`
          SELECT id, detection_id, action, plate_text, plate, note, username AS "by", ${sql.literal(utc("created_at"))} AS "at"
            FROM corrections
           WHERE detection_id = ANY(string_to_array(${ids.join(",")}, ',')::bigint[])
           ORDER BY detection_id, id`
    })
    const imagesOf = SqlSchema.findAll({
      Request: Schema.Array(Schema.String),
      Result: ImageRow,
      execute: (ids) =>
        sql`
          SELECT detection_id, kind, object_key, content_type, size_bytes, sha256, ${sql.literal(utc("created_at"))} AS stored_at
            FROM detection_images
           WHERE detection_id = ANY(string_to_array(${ids.join(",")}, ',')::bigint[])
           ORDER BY detection_id, kind`
    })
    const keysOf = SqlSchema.findAll({
      Request: Schema.Array(Schema.String),
      Result: KeyRow,
      execute: (collectorIds) =>
        sql`
          SELECT collector_id, prefix, ${sql.literal(utc("created_at"))} AS created_at,
                 ${sql.literal(utc("first_used_at"))} AS first_used_at, ${sql.literal(utc("revoked_at"))} AS revoked_at
            FROM api_keys
           WHERE collector_id = ANY(string_to_array(${collectorIds.join(",")}, ',')::uuid[])
           ORDER BY created_at`
    })
    const auditOf = SqlSchema.findAll({
      Request: Schema.Struct({ targets: Schema.Array(Schema.String), reads: Schema.Array(Schema.String) }),
      Result: AuditRow,
      execute: ({ reads, targets }) =>
        sql`
          SELECT id, ${sql.literal(utc("at"))} AS at, (extract(epoch FROM at) * 1000000)::bigint AS at_us,
                 actor_id::text AS actor_id, actor_username, address, action, target, reason, details,
                 details::text AS details_text, outcome, prev_hash, hash
            FROM audit_log
           WHERE (target = ANY(${targets}::text[])
                  OR (action = 'image.view' AND details -> 'reads' ?| ${reads}::text[]))
             AND id <= ${head.id}::bigint
           ORDER BY id
           LIMIT ${MAX_AUDIT_ROWS + 1}`
    })

    // The audit rows about these reads: what was done to each (corrections, photo views), by target, and
    // the search pages' photo views, by the reads each names (one row for a page of crops).
    const targets = request.detectionIds.flatMap((id) => [`detection:${id}`, `detection:${id}/plate`, `detection:${id}/scene`])
    const auditFound = yield* orBug(auditOf({ targets, reads: request.detectionIds }))
    const auditRows = auditFound.slice(0, MAX_AUDIT_ROWS)
    const inBundle = new Set(request.detectionIds)
    const auditByRead = new Map<string, Array<string>>()
    for (const row of auditRows) {
      const named = viewedReads(row.details).filter((id) => inBundle.has(id))
      const ids = named.length > 0 ? named : [row.target?.replace(/^detection:/, "").split("/")[0] ?? ""]
      for (const id of ids) auditByRead.set(id, [...(auditByRead.get(id) ?? []), row.id])
    }

    const reportReads: Array<ReportRead> = []
    let images = 0
    let imagesNotMatching = 0
    const collectorKeys = new Map<string, ReadonlyArray<typeof KeyRow.Type>>()
    const removed: Array<string> = []
    for (let start = 0; start < request.detectionIds.length; start += PAGE) {
      const ids = request.detectionIds.slice(start, start + PAGE)
      const rows = new Map((yield* orBug(readsOf(ids))).map((row) => [row.id, row] as const))
      const corrections = yield* orBug(correctionsOf(ids))
      const imageRows = yield* orBug(imagesOf(ids))
      const newCollectors = [...new Set([...rows.values()].map((r) => r.collector_id))].filter((c) => !collectorKeys.has(c))
      if (newCollectors.length > 0) {
        const keys = yield* orBug(keysOf(newCollectors))
        for (const collector of newCollectors) collectorKeys.set(collector, keys.filter((k) => k.collector_id === collector))
      }
      for (const id of ids) {
        // Retention may have removed a read since it was selected: the bundle says so, and goes on.
        const read: ReadRow | undefined = rows.get(id)
        if (read === undefined) {
          removed.push(id)
          continue
        }
        const own = corrections.filter((c) => c.detection_id === id)
        const photos: Array<ReportPhoto> = []
        const imageEntries: Array<Record<string, unknown>> = []
        for (const image of imageRows.filter((i) => i.detection_id === id)) {
          const bytes = yield* store.get(image.object_key).pipe(
            Effect.catchTag("ObjectNotFound", () => Effect.succeed(undefined))
          )
          const now = bytes === undefined ? undefined : sha256Hex(bytes)
          const status: ReportPhoto["status"] = now === undefined ? "missing" : now === image.sha256 ? "matches_ingest" : "changed"
          const file = bytes === undefined ? undefined : `photos/${id}-${image.kind}.${EXTENSIONS[image.content_type] ?? "bin"}`
          if (bytes !== undefined && file !== undefined) {
            yield* put(file, bytes)
            images++
          }
          if (status !== "matches_ingest") imagesNotMatching++
          photos.push({ kind: image.kind, file, stagedPath: file && stagedPath(file), sha256AtIngest: image.sha256, status })
          imageEntries.push({
            kind: image.kind,
            file: file ?? null,
            status,
            sha256_at_ingest: image.sha256,
            sha256_when_exported: now ?? null,
            content_type: image.content_type,
            size_bytes_at_ingest: image.size_bytes,
            stored_at: image.stored_at,
            object_key: image.object_key
          })
        }
        const inForce = own.at(-1)
        const received = Date.parse(read.received_at)
        const keys = (collectorKeys.get(read.collector_id) ?? []).filter((k) =>
          Date.parse(k.created_at) <= received && (k.revoked_at === null || Date.parse(k.revoked_at) > received)
        )
        const position = read.lat !== null && read.lon !== null
          ? { lat: read.lat, lon: read.lon, source: "read" as const }
          : read.camera_lat !== null && read.camera_lon !== null
          ? { lat: read.camera_lat, lon: read.camera_lon, source: "camera" as const }
          : undefined
        yield* put(`reads/${id}.json`, json({
          read_id: id,
          received: { raw: read.raw },
          stored: {
            id,
            detection_id: read.detection_id,
            collector_id: read.collector_id,
            camera_id: read.camera_id,
            detected_at: read.detected_at,
            received_at: read.received_at,
            plate_text: read.plate_text,
            plate: read.plate,
            plate_ocr: read.plate_ocr,
            confidence: read.confidence,
            direction: read.direction,
            vehicle_type: read.vehicle_type,
            vehicle_color: read.vehicle_color,
            vehicle_make: read.vehicle_make,
            lat: read.lat,
            lon: read.lon,
            duplicate_of: read.duplicate_of
          },
          corrections: own.map(({ detection_id: _, ...c }) => c),
          correction_in_force: inForce === undefined ? null : { id: inForce.id, action: inForce.action, plate: inForce.plate },
          images: imageEntries,
          custody: {
            camera: {
              id: read.camera_id,
              external_id: read.camera_external_id,
              mac: read.camera_mac,
              name: read.camera_name,
              site: read.camera_site,
              lat: read.camera_lat,
              lon: read.camera_lon
            },
            collector: {
              id: read.collector_id,
              name: read.collector_name,
              hardware_id: read.collector_hardware_id,
              hostname: read.collector_hostname,
              claimed_at: read.collector_claimed_at
            },
            collector_api_keys_valid_when_received: keys.map(({ collector_id: _, ...k }) => k),
            detected_at: read.detected_at,
            received_at: read.received_at,
            stored_at: read.received_at,
            photos_stored_at: Object.fromEntries(imageRows.filter((i) => i.detection_id === id).map((i) => [i.kind, i.stored_at])),
            stored_by_server: null,
            notes: CUSTODY_NOTES
          },
          audit_row_ids: auditByRead.get(id) ?? []
        }))
        reportReads.push({
          id,
          plate: read.plate,
          plateText: read.plate_text,
          correctedPlate: inForce?.action === "correct" ? inForce.plate ?? undefined : undefined,
          detectedAt: read.detected_at,
          receivedAt: read.received_at,
          camera: read.camera_name ?? read.camera_external_id,
          site: read.camera_site ?? undefined,
          cameraRef: `${read.camera_id} (${read.camera_external_id}), MAC ${read.camera_mac}`,
          collector: `${read.collector_name} (${read.collector_id})${keys.length > 0 ? `, key prefix ${keys.map((k) => k.prefix).join(" or ")}` : ""}`,
          position,
          confidence: read.confidence,
          vehicle: [read.vehicle_color, read.vehicle_make, read.vehicle_type, read.direction && `heading ${read.direction}`]
            .filter((x) => x !== null && x !== "").join(", ") || "not given",
          corrections: own.map((c) =>
            `${c.at} by ${c.by}: ${c.action}${c.plate === null ? "" : ` to ${c.plate}`}${c.note === null ? "" : ` (${c.note})`}`
          ),
          photos,
          auditRows: auditByRead.get(id)?.length ?? 0
        })
      }
    }

    const exportedBy = request.exportedBy.username ?? `the command line (${request.exportedBy.os_user ?? "?"}@${request.exportedBy.host ?? "?"})`
    yield* put("audit.json", json({
      chain_head: head,
      hash_rule:
        "hash = hex SHA-256 of the UTF-8 of these lines joined by LF: alpr-audit-v1, prev_hash, id, at_us, then " +
        "actor_id, actor_username, address, action, target, reason, details_text, outcome, each written " +
        "<length in characters>:<text>, or - when null (sql/0005_audit_log.sql)",
      targets: "detection:<id>, detection:<id>/plate, detection:<id>/scene for every read of the bundle",
      truncated: auditFound.length > MAX_AUDIT_ROWS,
      rows: auditRows
    }))
    yield* put("export.json", json({
      export_id: request.exportId,
      created_at: request.createdAt.toISOString(),
      exported_by: request.exportedBy,
      ...(request.approval === undefined ? {} : { approval: request.approval }),
      case_number: request.caseNumber,
      reason_code: request.reasonCode,
      reason_label: request.reasonLabel,
      reason: request.reason ?? null,
      selection: request.selection,
      read_ids: request.detectionIds.filter((id) => !removed.includes(id)),
      ...(removed.length === 0 ? {} : { read_ids_removed_before_export: removed }),
      counts: { reads: request.detectionIds.length - removed.length, photos: images, photos_not_matching_ingest: imagesNotMatching, audit_rows: auditRows.length },
      audit_chain_head: head,
      key_fingerprint: key.fingerprint,
      custody_notes: CUSTODY_NOTES
    }))
    yield* put("README.txt", Buffer.from(README(request, key.fingerprint), "utf8"))
    yield* put("verify-evidence.mjs", yield* Effect.promise(() => FsPromises.readFile(VERIFIER_PATH)))

    const reportPath = stagedPath("report.pdf")
    yield* Effect.promise(() =>
      writeReport(reportPath, {
        exportId: request.exportId,
        createdAt: request.createdAt.toISOString(),
        exportedBy,
        approval: request.approval === undefined ? undefined : `approved by ${request.approval.approved_by} at ${
          request.approval.approved_at
        }, asked for by ${request.approval.requested_by ?? "the command line"} at ${request.approval.requested_at}${
          request.approval.note === null ? "" : ` (note: ${request.approval.note})`
        }`,
        caseNumber: request.caseNumber,
        reasonCode: request.reasonCode,
        reasonLabel: request.reasonLabel,
        reason: request.reason,
        selection: describeSelection(request.selection),
        keyFingerprint: key.fingerprint,
        auditHead: head,
        auditRows: auditRows.length,
        custodyNotes: CUSTODY_NOTES
      }, reportReads)
    )
    const report = yield* Effect.promise(() => hashFile(reportPath))
    files.push({ path: "report.pdf", ...report })

    const ordered = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    const manifest = json({
      format: MANIFEST_FORMAT,
      export_id: request.exportId,
      created_at: request.createdAt.toISOString(),
      key_fingerprint: key.fingerprint,
      files: ordered.map((f) => ({ path: f.path, sha256: f.sha256, bytes: f.bytes }))
    })
    const signature = json({
      format: SIGNATURE_FORMAT,
      algorithm: "Ed25519",
      signed_file: "manifest.json",
      public_key: key.publicKey.toString("base64"),
      key_fingerprint: key.fingerprint,
      signature: key.sign(manifest).toString("base64")
    })
    yield* Effect.promise(() => FsPromises.writeFile(stagedPath("manifest.json"), manifest, { mode: 0o600 }))
    yield* Effect.promise(() => FsPromises.writeFile(stagedPath("signature.json"), signature, { mode: 0o600 }))

    // The zip: the readable files first, photos and the report stored as they are (already compressed).
    const order = (path: string) =>
      ["README.txt", "export.json", "report.pdf", "manifest.json", "signature.json", "verify-evidence.mjs"].indexOf(path)
    const entries = ["manifest.json", "signature.json", ...ordered.map((f) => f.path)].sort((a, b) => {
      const [x, y] = [order(a), order(b)]
      return x >= 0 || y >= 0 ? (x < 0 ? 1 : y < 0 ? -1 : x - y) : a < b ? -1 : a > b ? 1 : 0
    })
    const made = yield* Effect.tryPromise({
      try: async () => {
        const zip = new yazl.ZipFile()
        const failed = new Promise<never>((_, reject) => zip.on("error", reject))
        for (const path of entries) {
          zip.addFile(stagedPath(path), path, {
            mtime: request.createdAt,
            mode: 0o100644,
            compress: !(path.startsWith("photos/") || path === "report.pdf")
          })
        }
        zip.end()
        const counted = hashing()
        await Promise.race([
          pipeline(zip.outputStream, counted.stream, Fs.createWriteStream(outPath, { mode: 0o600 })),
          failed
        ])
        return counted.result()
      },
      catch: (cause) => cause
    }).pipe(Effect.orDie)
    return {
      sha256: made.sha256,
      bytes: made.bytes,
      detections: request.detectionIds.length - removed.length,
      images,
      imagesNotMatching
    } satisfies BundleMade
  }).pipe(Effect.scoped)
