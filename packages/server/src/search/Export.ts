import type { DetectionItem } from "@chaverim/domain/Search"
import { stringify } from "csv-stringify/sync"
import * as Effect from "effect/Effect"
import PDFDocument from "pdfkit"
import { neutraliseFormula } from "../csv/Formulas"
import { layoutOf, printable } from "../pdf/Layout"

/** What an export says of itself besides its reads: the search, who made it, why, when. */
export interface ExportMeta {
  /** "plate ABC* (partial)", "site North gate" */
  readonly searched: string
  /** the filters as `name: value` lines */
  readonly filters: ReadonlyArray<string>
  readonly exportedBy: string
  readonly exportedAt: string
  readonly reason: string
  /** more reads matched than the export holds */
  readonly truncated: boolean
  readonly max: number
}

const COLUMNS = [
  "id", "detected_at", "plate_text", "plate", "corrected_plate", "correction", "confidence", "camera", "camera_id", "site",
  "direction", "vehicle_type", "vehicle_color", "vehicle_make", "lat", "lon", "repeat_of", "distance"
] as const

const correctedPlate = (item: DetectionItem) =>
  item.correction?.action === "correct" ? item.correction.plate_text ?? item.correction.plate ?? "" : ""

const cameraOf = (item: DetectionItem) => item.camera.name ?? item.camera.external_id

/**
 * The reads as CSV, one row a read in the search's order. Text a spreadsheet would run as a formula
 * (a plate as a camera read it, a camera's name) starts with `'` (csv/Formulas.ts).
 */
export const csvOf = (items: ReadonlyArray<DetectionItem>): string =>
  stringify([
    [...COLUMNS],
    ...items.map((item) =>
      [
        item.id,
        item.detected_at,
        item.plate_text,
        item.plate,
        correctedPlate(item),
        item.correction?.action ?? "",
        item.confidence,
        cameraOf(item),
        item.camera.id,
        item.camera.site ?? "",
        item.direction ?? "",
        item.vehicle_type ?? "",
        item.vehicle_color ?? "",
        item.vehicle_make ?? "",
        item.location?.lat ?? "",
        item.location?.lon ?? "",
        item.duplicate_of ?? "",
        item.distance ?? ""
      ].map((cell) => (typeof cell === "string" ? neutraliseFormula(cell) : cell))
    )
  ])

const vehicleOf = (item: DetectionItem) => [item.vehicle_color, item.vehicle_make, item.vehicle_type].filter(Boolean).join(" ")

/**
 * The reads as a PDF for people: what was searched, by whom, why and when, how many reads (and when
 * the export was cut), then a table of the reads in the search's order, times in UTC.
 */
export const pdfOf = (items: ReadonlyArray<DetectionItem>, meta: ExportMeta): Effect.Effect<Uint8Array> =>
  Effect.async<Uint8Array>((resume) => {
    const doc = new PDFDocument({
      size: "A4",
      layout: "landscape",
      margin: 36,
      info: {
        Title: printable(`Search results: ${meta.searched}`),
        Author: "Chaverim ALPR",
        Subject: `${items.length} reads${meta.truncated ? ` (cut at ${meta.max})` : ""}`
      }
    })
    const chunks: Array<Uint8Array> = []
    doc.on("data", (chunk: Uint8Array) => chunks.push(chunk))
    doc.on("end", () => resume(Effect.succeed(Buffer.concat(chunks))))

    const { field, left, table, width } = layoutOf(doc)

    doc.font("Helvetica-Bold").fontSize(18).text("Search results", left, undefined, { width })
    doc.moveDown(0.4)
    field("Searched", meta.searched)
    for (const line of meta.filters) field("Filter", line)
    field("Reason", meta.reason)
    field("Exported by", meta.exportedBy)
    field("Exported at (UTC)", meta.exportedAt)
    field("Reads", `${items.length}${meta.truncated ? `: cut at ${meta.max}, more matched (narrow the search for the rest)` : ""}`)
    doc.moveDown(0.6)

    const columns = [
      { title: "#", width: 30 },
      { title: "Time (UTC)", width: 120 },
      { title: "Plate", width: 110 },
      { title: "Camera", width: 150 },
      { title: "Site", width: 110 },
      { title: "Dir.", width: 40 },
      { title: "Vehicle", width: 120 },
      { title: "Conf.", width: width - 680 }
    ]
    const row = table(columns)
    items.forEach((item, i) => {
      const corrected = correctedPlate(item)
      row([
        String(i + 1),
        item.detected_at.replace("T", " ").replace(/\.\d+Z$/, "Z"),
        `${item.plate_text}${corrected === "" ? "" : ` -> ${corrected}`}${item.distance === undefined ? "" : ` (${item.distance} off)`}`,
        cameraOf(item),
        item.camera.site ?? "",
        item.direction ?? "",
        vehicleOf(item),
        `${Math.round(item.confidence * 100)}%`
      ])
    })
    doc.end()
  })
