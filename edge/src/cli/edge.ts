import { Args, Command, Options, ValidationError } from "@effect/cli"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { type CameraRead, PayloadError, VENDORS } from "../adapters/CameraRead"
import { parsePayload } from "../adapters/parse"
import { EDGE_VERSION } from "../version"
import { cameraPasswordCommand, cameraPushCommand, claimCommand, runCommand, secretsCommand, setPinCommand, statusCommand } from "./commands"
import { runMain } from "./run"

/**
 * The `edge` command line. Each subcommand is a `Command` below, listed in `edge`; the collector's
 * own commands (claim, run, status) join that list. Loaded by main.ts for every command line but
 * `run` alone.
 */

// ---------------------------------------------------------------------------------------------
// edge parse --vendor VENDOR FILE

const describeImages = (read: CameraRead) =>
  read.images.map((i) => `${i.kind} (${i.bytes.byteLength} bytes, ${i.contentType})`).join(", ")

/**
 * Shows what the collector would make of a camera payload saved to a file: on stdout one JSON line
 * per plate read, the Detection exactly as it would be uploaded; on stderr, its photos and the
 * vehicles seen with no plate read. A file the vendor's parser refuses is an error.
 */
const parse = Command.make(
  "parse",
  {
    vendor: Options.choice("vendor", VENDORS).pipe(Options.withDescription("the camera vendor whose payload FILE is")),
    file: Args.fileContent({ name: "FILE" }).pipe(Args.withDescription("a payload as the camera sends it"))
  },
  ({ file: [path, body], vendor }) =>
    Effect.gen(function*() {
      const parsed = yield* parsePayload(vendor, body, undefined, {}).pipe(
        Effect.mapError((e) => new PayloadError({ vendor, message: `${path} is not a ${vendor} payload: ${e.message}` }))
      )
      for (const read of parsed.reads) {
        yield* Console.log(JSON.stringify(read.detection))
        if (read.images.length > 0) yield* Console.error(`${read.detection.detection_id} images: ${describeImages(read)}`)
      }
      if (parsed.noPlate > 0) yield* Console.error(`${parsed.noPlate} vehicle(s) seen with no plate read`)
    })
).pipe(Command.withDescription("Print the plate reads in a camera payload file, one Detection JSON line each"))

// ---------------------------------------------------------------------------------------------

const edge = Command.make("edge").pipe(
  Command.withSubcommands([parse, claimCommand, runCommand, statusCommand, setPinCommand, cameraPasswordCommand, cameraPushCommand, secretsCommand]),
  Command.withDescription("Chaverim ALPR edge collector")
)

const cli = Command.run(edge, { name: "edge", version: EDGE_VERSION })

/** Runs the command line `argv` (process.argv); @effect/cli has told a ValidationError already. */
export const main = (argv: ReadonlyArray<string>) => runMain(cli(argv), ValidationError.isValidationError)
