import { BadRequest } from "@chaverim/domain/Errors"
import { ExportRequest } from "@chaverim/domain/Evidence"
import * as Console from "effect/Console"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Os from "node:os"
import { Evidence, type ExportSummary } from "./Exports"
import { runVerifier } from "./Verifier"

/** `alpr evidence export`'s options, as typed. */
export interface ExportOptions {
  readonly plate: string | undefined
  readonly withCorrections: boolean
  /** comma-separated read ids */
  readonly detections: string | undefined
  readonly camera: string | undefined
  readonly from: string | undefined
  readonly to: string | undefined
  readonly caseNumber: string
  readonly reasonCode: string
  readonly reason: string | undefined
  readonly out: string
}

const describe = (error: ParseResult.ParseError) =>
  ParseResult.ArrayFormatter.formatErrorSync(error)
    .map((issue) => (issue.path.length > 0 ? `${issue.path.join(".")}: ${issue.message}` : issue.message))
    .join("; ")

/**
 * Exports a case to `out` as the HTTP endpoint does, recorded as made from the command line (with the
 * operating-system user and host); the last line printed is `{export_id, detections, images, sha256}`.
 */
export const exportEvidenceFile = (options: ExportOptions) =>
  Effect.gen(function*() {
    const request = yield* Schema.decodeUnknown(ExportRequest)({
      ...(options.plate === undefined ? {} : { plate: options.plate }),
      ...(options.withCorrections ? { with_corrections: true } : {}),
      ...(options.detections === undefined
        ? {}
        : { detections: options.detections.split(",").map((id) => id.trim()).filter((id) => id !== "") }),
      ...(options.camera === undefined ? {} : { camera_id: options.camera }),
      ...(options.from === undefined ? {} : { from: options.from }),
      ...(options.to === undefined ? {} : { to: options.to }),
      case_number: options.caseNumber,
      reason_code: options.reasonCode,
      ...(options.reason === undefined ? {} : { reason: options.reason })
    }, { errors: "all" }).pipe(Effect.mapError((error) => new BadRequest({ message: describe(error) })))
    const evidence = yield* Evidence
    const made = yield* evidence.toFile(request, cliExporter(), options.out)
    if (made._tag === "Pending") {
      // EXPORT_APPROVAL=required: nothing is written; an admin approves in the web app, then `evidence fetch`.
      yield* Console.error(
        `export ${made.request.id} awaits an admin's approval (EXPORT_APPROVAL=required): nothing was written to ${options.out}; ` +
          `once approved, run: alpr evidence fetch --id ${made.request.id} --out FILE.zip`
      )
      yield* Console.log(JSON.stringify({
        export_id: made.request.id,
        state: made.request.state,
        detections: made.request.detections,
        images: made.request.images
      }))
      return
    }
    yield* printSummary(options.out, made)
  })

const cliExporter = () => ({ via: "cli" as const, osUser: Os.userInfo().username, host: Os.hostname() })

const printSummary = (out: string, summary: ExportSummary) =>
  Effect.gen(function*() {
    yield* Console.error(`wrote ${out}: ${summary.detections} reads, ${summary.images} photos, ${summary.bytes} bytes`)
    yield* Console.log(JSON.stringify({
      export_id: summary.export_id,
      detections: summary.detections,
      images: summary.images,
      sha256: summary.sha256
    }))
  })

/**
 * `alpr evidence approve|refuse --id ID --as USERNAME`: the command line decides only in the name of an
 * enabled admin account (recorded as the one who decided), never for a request made at the command
 * line (one person at one shell could be both), and never for the named admin's own request.
 */
export const decideExport = (id: string, decision: "approved" | "refused", asUsername: string, note: string | undefined) =>
  Effect.flatMap(Evidence, (evidence) =>
    evidence.decide(id, decision, note, { via: "cli", asUsername, osUser: Os.userInfo().username, host: Os.hostname() })).pipe(
      Effect.flatMap((record) => Console.log(JSON.stringify(record)))
    )

/** `alpr evidence fetch --id ID --out FILE.zip`: the bundle of an approved request made at the command line. */
export const fetchExport = (id: string, out: string) =>
  Effect.flatMap(Evidence, (evidence) => evidence.releaseToFile(id, cliExporter(), out)).pipe(
    Effect.flatMap((summary) => printSummary(out, summary))
  )

export class EvidenceNotVerified extends Data.TaggedError("EvidenceNotVerified")<{ readonly message: string }> {}

/** `alpr evidence verify`: the repository's verifier (tools/verify-evidence.mjs), its lines and its verdict. */
export const verifyEvidenceFile = (file: string, key: string | undefined) =>
  Effect.gen(function*() {
    const lines: Array<string> = []
    const code = yield* runVerifier([file, ...(key === undefined ? [] : ["--key", key])], (line) => lines.push(line))
    for (const line of lines) yield* Console.log(line)
    if (code !== 0) {
      return yield* new EvidenceNotVerified({
        message: code === 1 ? `${file} did not verify` : `${file} could not be verified`
      })
    }
  })
