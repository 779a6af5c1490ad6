#!/usr/bin/env node
import { Args, Command, Options, ValidationError } from "@effect/cli"
import { LoggingLayer } from "@chaverim/domain/Logging"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { type CameraRead, PayloadError, VENDORS } from "./adapters/CameraRead"
import { parsePayload } from "./adapters/parse"
import { cameraPasswordCommand, cameraPushCommand, claimCommand, runCommand, secretsCommand, setPinCommand, statusCommand } from "./cli/commands"
import { EDGE_VERSION } from "./version"

/**
 * The `edge` command line. Each subcommand is a `Command` below, listed in `edge`; the collector's
 * own commands (claim, run, status) join that list.
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

/** Expected failures are told in one line on stderr; anything else is a bug, shown with its cause. */
const report = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.tapErrorCause(effect, (cause) => {
    const failure = Cause.failureOption(cause)
    if (Option.isSome(failure)) {
      const error = failure.value as { readonly message?: unknown }
      if (ValidationError.isValidationError(error)) return Effect.void // @effect/cli already printed it
      if (typeof error?.message === "string" && error.message !== "") return Console.error(`error: ${error.message}`)
    }
    return Console.error(`error: ${Cause.pretty(cause)}`)
  })

cli(process.argv).pipe(
  Effect.provide(Layer.merge(NodeContext.layer, LoggingLayer)),
  report,
  NodeRuntime.runMain({ disableErrorReporting: true, disablePrettyLogger: true })
)
