import { LoggingLayer } from "@chaverim/domain/Logging"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { runCollector } from "../Collector"
import { configuredProtection } from "../provisioning/Protection"
import { collectorDir, machineIdFile } from "./dirs"

/**
 * What every command of `edge` shares, and `edge run` itself, without the command-line parser:
 * main.ts starts the collector from here when the command line is `run` alone (as systemd gives it),
 * so that the collector never loads @effect/cli (see main.ts).
 */

export { collectorDir, machineIdFile } from "./dirs"

export const withMachineId = <A extends object>(value: A): A & { machineIdFile?: string } => {
  const file = machineIdFile()
  return file === undefined ? value : { ...value, machineIdFile: file }
}

/** `edge run`: camera listener, buffer, uploader and heartbeat, until told to exit. */
export const runCollectorIn = (dir: string) =>
  Effect.flatMap(configuredProtection(machineIdFile()), (protection) => runCollector(withMachineId({ dir, protection })))

/**
 * Runs a command as the process's main program: expected failures are told in one line on stderr
 * (those `alreadyTold` says were told already, not at all); anything else is a bug, shown with its cause.
 */
export const runMain = <A, E>(
  program: Effect.Effect<A, E, NodeContext.NodeContext>,
  alreadyTold: (error: unknown) => boolean = () => false
) =>
  program.pipe(
    Effect.provide(Layer.merge(NodeContext.layer, LoggingLayer)),
    Effect.tapErrorCause((cause) => {
      const failure = Cause.failureOption(cause)
      if (Option.isSome(failure)) {
        const error = failure.value as { readonly message?: unknown }
        if (alreadyTold(error)) return Effect.void
        if (typeof error?.message === "string" && error.message !== "") return Console.error(`error: ${error.message}`)
      }
      return Console.error(`error: ${Cause.pretty(cause)}`)
    }),
    NodeRuntime.runMain({ disableErrorReporting: true, disablePrettyLogger: true })
  )

/** `edge run` with no other argument: the collector in the directory of `EDGE_DIR` (or ./edge-data). */
export const main = () => runMain(runCollectorIn(collectorDir(undefined)))
