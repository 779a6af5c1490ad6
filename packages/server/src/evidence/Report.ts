import PDFDocument from "pdfkit"
import * as Fs from "node:fs"
import * as FsPromises from "node:fs/promises"
import { finished } from "node:stream/promises"
import { layoutOf, printable } from "../pdf/Layout"

/** What the report says of the export as a whole. */
export interface ReportExport {
  readonly exportId: string
  readonly createdAt: string
  readonly exportedBy: string
  /** who approved the export and when, when a second person's approval was required */
  readonly approval?: string | undefined
  readonly caseNumber: string
  readonly reasonCode: string
  readonly reasonLabel: string
  readonly reason: string | undefined
  readonly selection: string
  readonly keyFingerprint: string
  readonly auditHead: { readonly id: string; readonly hash: string }
  readonly auditRows: number
  readonly custodyNotes: ReadonlyArray<string>
}

export interface ReportPhoto {
  readonly kind: string
  /** the photo's file in the bundle, and where it is staged; absent when it is missing from the store */
  readonly file: string | undefined
  readonly stagedPath: string | undefined
  readonly sha256AtIngest: string
  readonly status: "matches_ingest" | "changed" | "missing"
}

/** One read as the report shows it. */
export interface ReportRead {
  readonly id: string
  readonly plate: string
  readonly plateText: string
  /** the plate the correction in force says it is */
  readonly correctedPlate: string | undefined
  readonly detectedAt: string
  readonly receivedAt: string
  readonly camera: string
  readonly site: string | undefined
  readonly cameraRef: string
  readonly collector: string
  readonly position: { readonly lat: number; readonly lon: number; readonly source: "read" | "camera" } | undefined
  readonly confidence: number
  readonly vehicle: string
  readonly corrections: ReadonlyArray<string>
  readonly photos: ReadonlyArray<ReportPhoto>
  readonly auditRows: number
}

const position = (p: ReportRead["position"]) =>
  p === undefined ? "not known" : `${p.lat.toFixed(6)}, ${p.lon.toFixed(6)} (${p.source === "read" ? "from the read" : "the camera's position"})`

const STATUS: Record<ReportPhoto["status"], string> = {
  matches_ingest: "matches the SHA-256 recorded at ingest",
  changed: "DOES NOT MATCH the SHA-256 recorded at ingest: the stored photo was changed",
  missing: "MISSING from the object store when exported"
}

/**
 * Writes the readable report of an export (PDF) to `path`: the case and who exported it, a timeline
 * of the reads, then one page per read with its photos, plate, time, place and map position.
 */
export const writeReport = async (path: string, meta: ReportExport, reads: ReadonlyArray<ReportRead>) => {
  const doc = new PDFDocument({
    size: "LETTER",
    margin: 50,
    info: {
      Title: printable(`Evidence export ${meta.exportId}, case ${meta.caseNumber}`),
      Author: "Chaverim ALPR",
      Subject: printable(`Reads of case ${meta.caseNumber}`)
    }
  })
  const out = Fs.createWriteStream(path, { mode: 0o600 })
  doc.pipe(out)
  const { bottom, field, left, table, width } = layoutOf(doc)

  const heading = (text: string, size = 16) => doc.font("Helvetica-Bold").fontSize(size).text(printable(text), left, undefined, { width })
  const paragraph = (text: string, size = 9) => doc.font("Helvetica").fontSize(size).text(printable(text), left, undefined, { width })

  heading("Evidence export", 20)
  doc.moveDown(0.5)
  field("Case", meta.caseNumber)
  field("Reason", `${meta.reasonLabel} (${meta.reasonCode})${meta.reason === undefined ? "" : `: ${meta.reason}`}`)
  field("Reads selected", meta.selection)
  field("Exported by", meta.exportedBy)
  if (meta.approval !== undefined) field("Second person's approval", meta.approval)
  field("Exported at", meta.createdAt)
  field("Export id", meta.exportId)
  field("Reads", String(reads.length))
  field("Audit rows about these reads", String(meta.auditRows))
  field("Audit chain head at export", `row ${meta.auditHead.id}, ${meta.auditHead.hash}`)
  field("Signing key (Ed25519) fingerprint", meta.keyFingerprint)
  doc.moveDown(0.5)
  paragraph(
    "Every file of this bundle is listed with its SHA-256 in manifest.json, which is signed with the installation's " +
      "Ed25519 evidence key (signature.json). Check it with the verifier from the Chaverim ALPR repository " +
      "(tools/verify-evidence.mjs; it needs Node.js and nothing else): node verify-evidence.mjs BUNDLE.zip --key " +
      "FINGERPRINT, where FINGERPRINT is the key the installation publishes (GET /api/v1/evidence/key), obtained " +
      "from it independently of this bundle. A copy of the verifier travels in the bundle; see README.txt."
  )
  for (const note of meta.custodyNotes) {
    doc.moveDown(0.3)
    paragraph(note)
  }

  // The timeline: every read in time order, one line each.
  doc.addPage()
  heading("Timeline")
  doc.moveDown(0.5)
  const columns = [
    { title: "#", width: 24 },
    { title: "Time (UTC)", width: 130 },
    { title: "Plate", width: 80 },
    { title: "Camera", width: 150 },
    { title: "Position (lat, lon)", width: width - 384 }
  ]
  const row = table(columns)
  reads.forEach((read, i) =>
    row([
      String(i + 1),
      read.detectedAt,
      read.correctedPlate === undefined ? read.plate : `${read.plate} -> ${read.correctedPlate}`,
      [read.camera, read.site].filter((x) => x !== undefined && x !== "").join(", "),
      read.position === undefined ? "not known" : `${read.position.lat.toFixed(6)}, ${read.position.lon.toFixed(6)}`
    ])
  )

  // One page (or more) per read.
  for (const [i, read] of reads.entries()) {
    doc.addPage()
    heading(`Read ${i + 1} of ${reads.length}: ${read.plate}`)
    doc.moveDown(0.3)
    field("Read id (files reads/" + read.id + ".json)", read.id)
    field("Plate as read", `${read.plateText} (normalised ${read.plate}), confidence ${read.confidence.toFixed(2)}`)
    if (read.correctedPlate !== undefined) field("Plate as corrected (in force)", read.correctedPlate)
    field("Time (the camera's)", read.detectedAt)
    field("Received and stored by the server", read.receivedAt)
    field("Camera", read.camera)
    if (read.site !== undefined) field("Site", read.site)
    field("Camera id, MAC", read.cameraRef)
    field("Collector", read.collector)
    field("Map position", position(read.position))
    field("Vehicle", read.vehicle)
    field("Audit rows about this read", String(read.auditRows))
    if (read.corrections.length > 0) {
      field("Corrections (oldest first)", "")
      for (const correction of read.corrections) paragraph(`- ${correction}`)
    }
    for (const photo of read.photos) {
      doc.moveDown(0.5)
      const [maxWidth, maxHeight] = photo.kind === "scene" ? [width, 300] : [width / 2, 120]
      if (doc.y + maxHeight + 40 > bottom()) doc.addPage()
      doc.font("Helvetica-Bold").fontSize(10).text(`${photo.kind === "scene" ? "Scene photo" : "Plate crop"}${photo.file ? ` (${photo.file})` : ""}`, left)
      paragraph(`SHA-256 at ingest ${photo.sha256AtIngest}: ${STATUS[photo.status]}`, 8)
      if (photo.stagedPath === undefined) continue
      const bytes = await FsPromises.readFile(photo.stagedPath)
      const top = doc.y + 4
      try {
        doc.image(bytes, left, top, { fit: [maxWidth, maxHeight] })
        doc.x = left
        doc.y = top + maxHeight + 4
      } catch {
        // PDF takes JPEG and PNG; the file itself is in the bundle whatever its format.
        paragraph("(this photo's format cannot be drawn in a PDF: see its file in the bundle)", 8)
      }
    }
  }
  doc.end()
  await finished(out)
}
