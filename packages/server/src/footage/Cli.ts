import { BadRequest } from "@chaverim/domain/Errors"
import { FootageFacts, FootageResult } from "@chaverim/domain/Footage"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { AppConfig } from "../Config"
import { Jobs } from "../jobs/Jobs"
import { Footage } from "./Footage"
import { footageJob } from "./Job"

/** `alpr footage import`'s options, as typed. */
export interface ImportOptions {
  readonly file: string
  readonly cameraName: string
  readonly lat: number | undefined
  readonly lon: number | undefined
  readonly at: string | undefined
  readonly reason: string
  readonly fps: number | undefined
  /** only store the footage and queue its job, for the servers' workers */
  readonly queue: boolean
}

const describe = (error: ParseResult.ParseError) =>
  ParseResult.ArrayFormatter.formatErrorSync(error)
    .map((issue) => (issue.path.length > 0 ? `${issue.path.join(".")}: ${issue.message}` : issue.message))
    .join("; ")

/**
 * Takes a file in as footage from the command line (audited as such) and runs its job here, unless a
 * server's worker took it first (then waits for it). Prints the job's progress on stderr; the last line
 * on stdout is `{"job_id","frames","reads":[{"plate","confidence","at"}]}` (with `--queue`:
 * `{"job_id","footage_id","status":"queued"}`).
 */
export const importFootageFile = (options: ImportOptions) =>
  Effect.gen(function*() {
    const facts = yield* Schema.decodeUnknown(FootageFacts)({
      camera_name: options.cameraName,
      reason: options.reason,
      ...(options.lat === undefined ? {} : { lat: options.lat }),
      ...(options.lon === undefined ? {} : { lon: options.lon }),
      ...(options.at === undefined ? {} : { at: options.at }),
      ...(options.fps === undefined ? {} : { fps: options.fps })
    }).pipe(Effect.mapError((e) => new BadRequest({ message: describe(e) })))
    const path = Path.resolve(options.file)
    const stat = yield* Effect.tryPromise({
      try: () => Fs.stat(path),
      catch: () => new BadRequest({ message: `no file ${options.file}` })
    })
    if (!stat.isFile()) return yield* new BadRequest({ message: `${options.file} is not a file` })

    const footage = yield* Footage
    const { footage: stored, job } = yield* footage.upload({
      path,
      fileName: Path.basename(path),
      facts,
      actor: "cli",
      via: "cli",
      fileTime: stat.mtime
    })
    yield* Console.error(`footage ${stored.id} stored (sha256 ${stored.sha256}), starting ${stored.starts_at} (${stored.starts_from}); job ${job.id}`)
    if (options.queue) {
      yield* Console.log(JSON.stringify({ job_id: job.id, footage_id: stored.id, status: job.status }))
      return
    }
    const jobs = yield* Jobs
    const { footage: settings } = yield* AppConfig
    const done = yield* jobs.runHere(job.id, footageJob, settings.jobLeaseSeconds)
    if (done.status !== "done") {
      return yield* new BadRequest({ message: `job ${done.id} ${done.status}: ${done.error ?? "no reason given"}` })
    }
    const result = yield* Schema.decodeUnknown(FootageResult)(done.result).pipe(Effect.orDie)
    for (const read of result.reads) {
      yield* Console.log(JSON.stringify({ read_id: read.read_id, plate: read.plate, confidence: read.confidence, at: read.at, frames: read.frames }))
    }
    yield* Console.log(JSON.stringify({
      job_id: done.id,
      footage_id: result.footage_id,
      recogniser: result.recogniser,
      frames: result.frames,
      reads: result.reads.map((r) => ({ plate: r.plate, confidence: r.confidence, at: r.at }))
    }))
  })
