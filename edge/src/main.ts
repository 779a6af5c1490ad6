#!/usr/bin/env node
/**
 * The `edge` command line (cli/edge.ts). `edge run` with no other argument, as systemd starts the
 * collector, goes straight to it (cli/run.ts); any other command line, `run --dir DIR` and
 * `run --help` included, goes through the command-line parser. Each is loaded only when chosen: the
 * parser (@effect/cli, with its help, wizard and prompts) is memory a running collector would hold
 * for nothing all its life, and the production bundle keeps each in files of its own.
 */
const args = process.argv.slice(2)
if (args.length === 1 && args[0] === "run") {
  // The device key first, while the process is small (see provisioning/DeviceKey.ts), then the collector.
  void Promise.all([import("./cli/dirs"), import("./provisioning/DeviceKey")])
    .then(([dirs, key]) => key.deriveMachineKeyEarly(dirs.collectorDir(undefined), dirs.machineIdFile()))
    .then(() => import("./cli/run"))
    .then((run) => run.main())
} else {
  void import("./cli/edge").then((edge) => edge.main(process.argv))
}
