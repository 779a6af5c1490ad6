import type { ImageKind } from "@chaverim/domain/Detection"
import { stringify } from "csv-stringify/sync"
import * as Effect from "effect/Effect"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { Audit } from "../audit/Audit"
import { reasonDetails, reasonOf } from "../audit/Reason"
import { neutraliseFormula } from "../csv/Formulas"
import { Images } from "../images/Images"
import { Corrections } from "./Corrections"

const COLUMNS = [
  "detection_id",
  "collector_detection_id",
  "detected_at",
  "camera",
  "site",
  "original_text",
  "original_plate",
  "confidence",
  "action",
  "corrected_plate",
  "corrected_by",
  "corrected_at",
  "note",
  "plate_image",
  "scene_image"
] as const

const EXTENSIONS: Record<string, string> = { "image/jpeg": "jpg", "image/png": "png", "image/webp": "webp" }

export interface ExportSummary {
  readonly out: string
  readonly rows: number
  readonly images: number
  /** photos left out because their stored bytes no longer match their SHA-256, or are gone */
  readonly images_failed: number
}

/**
 * Writes a retraining data set into `out`: `corrections.csv` (one row a corrected read, the newest
 * correction in force) and `images/<detection id>-<kind>.<ext>`, each photo checked against its
 * SHA-256 on the way. The CSV is written under a temporary name and renamed when complete. Text cells
 * that a spreadsheet would run as a formula (a plate as a camera read it, a note) start with `'`.
 */
export const exportCorrections = (
  out: string,
  options: {
    readonly includeConfirmed: boolean
    readonly since?: Date | undefined
    /**
     * why the data set is made, audited: a reason code (required unless AUDIT_REASON_REQUIRED=false),
     * free text and a case number
     */
    readonly reasonCode?: string | undefined
    readonly reason?: string | undefined
    readonly caseNumber?: string | undefined
    readonly onProgress?: (rows: number) => Effect.Effect<void>
  }
) =>
  Effect.gen(function*() {
    const reason = yield* reasonOf({ code: options.reasonCode, text: options.reason, caseNumber: options.caseNumber }, "export")
    const corrections = yield* Corrections
    const images = yield* Images
    const imagesDir = Path.join(out, "images")
    yield* Effect.promise(() => Fs.mkdir(imagesDir, { recursive: true }))
    const csvPath = Path.join(out, "corrections.csv")
    const partial = `${csvPath}.partial`
    const file = yield* Effect.acquireRelease(
      Effect.promise(() => Fs.open(partial, "w")),
      (handle) => Effect.promise(() => handle.close())
    )
    yield* Effect.promise(() => file.write(stringify([COLUMNS as unknown as Array<string>])))
    const { page } = corrections.corrected(options)
    let after = "0"
    let rows = 0
    let written = 0
    let failed = 0
    for (;;) {
      const batch = yield* page(after)
      const last = batch.at(-1)
      if (last === undefined) break
      const lines: Array<Array<string | number | null>> = []
      for (const read of batch) {
        const files: Partial<Record<ImageKind, string>> = {}
        for (const kind of (read.image_kinds ?? []) as ReadonlyArray<ImageKind>) {
          const image = yield* images.read(Number(read.detection_id), kind).pipe(Effect.option)
          if (image._tag === "None") {
            failed++
            continue
          }
          const name = `images/${read.detection_id}-${kind}.${EXTENSIONS[image.value.contentType] ?? "bin"}`
          yield* Effect.promise(() => Fs.writeFile(Path.join(out, name), image.value.bytes))
          files[kind] = name
          written++
        }
        lines.push([
          read.detection_id,
          read.collector_detection_id,
          read.detected_at.toISOString(),
          read.camera,
          read.site,
          read.original_text,
          read.original_plate,
          read.confidence,
          read.action,
          read.corrected_plate,
          read.corrected_by,
          read.corrected_at.toISOString(),
          read.note,
          files.plate ?? null,
          files.scene ?? null
        ].map((cell) => (typeof cell === "string" ? neutraliseFormula(cell) : cell)))
      }
      yield* Effect.promise(() => file.write(stringify(lines)))
      rows += batch.length
      after = last.correction_id
      if (options.onProgress) yield* options.onProgress(rows)
    }
    yield* Effect.promise(() => file.sync())
    yield* Effect.promise(() => Fs.rename(partial, csvPath))
    const summary = { out: Path.resolve(out), rows, images: written, images_failed: failed } satisfies ExportSummary
    // Exports leave the system with people's movements in them: each one is on the record.
    yield* (yield* Audit).record({
      action: "export.corrections",
      target: summary.out,
      reason: reason.text,
      details: {
        ...reasonDetails(reason),
        via: "cli",
        include_confirmed: options.includeConfirmed,
        ...(options.since === undefined ? {} : { since: options.since.toISOString() }),
        rows,
        images: written
      },
      outcome: "success"
    })
    return summary
  }).pipe(Effect.scoped)
