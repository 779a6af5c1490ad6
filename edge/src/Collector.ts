import type { PendingCommand } from "@chaverim/domain/Collector"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { NodeHttpServer } from "@effect/platform-node"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { execFile } from "node:child_process"
import * as Http from "node:http"
import { cameraReport, testCameras } from "./adapters/CameraReport"
import { CameraStates, runCameraSources } from "./adapters/Sources"
import { ReadBuffer } from "./buffer/Buffer"
import { type EdgeConfig, loadConfig, readLayer, writeLayer } from "./config/EdgeConfig"
import { CameraActivity, listenerRoutes } from "./listener/Listener"
import { ensurePushSecrets } from "./listener/PushAuth"
import type { AddressBackoff } from "./listener/AddressBackoff"
import { setupRoutes } from "./listener/SetupPage"
import { newPinGuesses, statusPageRoutes } from "./listener/StatusPage"
import { makeSecretStore, type Protection, type SecretStore } from "./provisioning/Secrets"
import { type Central, centralHttpClientLayer, makeCentral } from "./uploader/Central"
import { makeUploader } from "./uploader/Uploader"
import { EDGE_VERSION } from "./version"

/**
 * The collector at run time: the buffer, the camera listener, the uploader, the heartbeat with its
 * commands, and pruning, all in one scope. A configuration change from the central server ends the
 * scope and starts it again with the new layers; `reboot` ends it and exits, for systemd to restart.
 * A collector not claimed yet serves only its device page, in setup mode (see runSetup), and starts
 * its services once it is claimed from there.
 */

export interface CollectorPaths {
  /** configuration layers, secrets, buffer.db and images/ */
  readonly dir: string
  /** the device identity file, when not /etc/machine-id */
  readonly machineIdFile?: string
  /** how the secrets are protected at rest (the device identity when not given) */
  readonly protection?: Protection
}

type Outcome = "reload" | "exit"

const startedAt = Date.now()

/**
 * Applies one command from the central server. What follows it (a reload, an exit) is left to the
 * caller, to do once the command is acknowledged, so a restart never loses the acknowledgement.
 */
const execute = (
  command: PendingCommand,
  dir: string,
  secrets: SecretStore,
  central: Central
) =>
  Effect.gen(function*(): Effect.fn.Return<{ readonly message: string; readonly then?: Outcome }, unknown> {
    switch (command.cmd) {
      case "config_update": {
        const payload = yield* Schema.decodeUnknown(Schema.Record({ key: Schema.String, value: Schema.Unknown }))(command.payload)
        const layer = { ...payload, config_version: String(payload["config_version"] ?? command.id) }
        // Validated as merged with the other layers before it is written: a bad push changes nothing.
        yield* loadConfig(dir, { "central.yaml": layer })
        yield* writeLayer(dir, "central.yaml", layer)
        return { message: `configuration ${layer.config_version} applied`, then: "reload" as const }
      }
      case "update_cameras": {
        const { cameras } = yield* Schema.decodeUnknown(Schema.Struct({ cameras: Schema.Array(Schema.Unknown) }))(command.payload)
        const current = yield* readLayer(dir, "central.yaml")
        const layer = { ...current, cameras, config_version: command.id }
        const config = yield* loadConfig(dir, { "central.yaml": layer })
        // Each pushed camera's login is tried before the change applies; a failure is told, not refused
        // (its password may be set on the device only later).
        const pushed = new Set(cameras.map((c) => (c as { readonly id?: unknown }).id))
        const tested = yield* testCameras(config.cameras.filter((c) => pushed.has(c.id)), secrets)
        yield* writeLayer(dir, "central.yaml", layer)
        return { message: `${config.cameras.length} cameras configured${tested === "" ? "" : `; ${tested}`}`, then: "reload" as const }
      }
      case "rotate_key": {
        const rotation = yield* central.rotateKey
        yield* secrets.update((s) => ({ ...s, api_key: rotation.api_key }))
        return { message: "key rotated" }
      }
      case "reboot":
        return { message: "restarting", then: "exit" as const }
    }
  })

/** A reload once the answer to the request that asked for it has gone out (the reload closes the listener). */
const reloadSoon = (outcome: Deferred.Deferred<Outcome>, scope: Scope.Scope) =>
  Deferred.succeed(outcome, "reload").pipe(Effect.delay("250 millis"), Effect.forkIn(scope), Effect.asVoid)

const setupPaths = (paths: CollectorPaths) => ({
  dir: paths.dir,
  ...(paths.machineIdFile === undefined ? {} : { machineIdFile: paths.machineIdFile }),
  ...(paths.protection === undefined ? {} : { protection: paths.protection })
})

/**
 * A collector not claimed yet: only the device page, in setup mode, on the configured listener, until
 * it is claimed from there (or its configuration changes); then the loop of `runCollector` starts the
 * collector's services. Nothing is read from cameras or uploaded meanwhile.
 */
const runSetup = (paths: CollectorPaths, config: EdgeConfig, outcome: Deferred.Deferred<Outcome>, pinGuesses: AddressBackoff) =>
  Effect.gen(function*() {
    const secrets = makeSecretStore(paths.dir, paths.machineIdFile, paths.protection)
    const scope = yield* Effect.scope
    const status = {
      edge_version: EDGE_VERSION,
      claimed: false,
      setup: "this collector is not claimed yet: claim it from its page (this address, /) or with `npm run edge -- claim CODE --central URL`",
      config_version: config.config_version,
      cameras: config.cameras.map((c) => ({ id: c.id, vendor: c.vendor, mode: c.mode }))
    }
    const app = setupRoutes({ ...setupPaths(paths), secrets, pinGuesses, reload: reloadSoon(outcome, scope) }, true).pipe(
      HttpRouter.get("/health", HttpServerResponse.json({ status: "ok" })),
      HttpRouter.get("/status", HttpServerResponse.json(status))
    )
    yield* Layer.launch(
      HttpServer.serve(app).pipe(
        HttpServer.withLogAddress,
        Layer.provide(NodeHttpServer.layer(() => Http.createServer(), { port: config.listen.port, host: config.listen.host }))
      )
    ).pipe(Effect.forkScoped)
    yield* Effect.logWarning("this collector is not claimed yet: claim it from its page, or with `npm run edge -- claim CODE --central URL`")
    return yield* Deferred.await(outcome)
  })

const runOnce = (paths: CollectorPaths, config: EdgeConfig, outcome: Deferred.Deferred<Outcome>, pinGuesses: AddressBackoff) =>
  Effect.gen(function*() {
    const secrets = makeSecretStore(paths.dir, paths.machineIdFile, paths.protection)
    const stored = yield* secrets.read
    const centralUrl = config.central_url
    if (stored["api_key"] === undefined || centralUrl === undefined) return yield* runSetup(paths, config, outcome, pinGuesses)
    let apiKey = stored["api_key"]
    const central = yield* makeCentral(centralUrl, () => apiKey)
    const buffer = yield* ReadBuffer
    const activity = new CameraActivity()
    const cameraStates = new CameraStates()
    const uploader = yield* makeUploader(central, {
      windowSeconds: config.upload.window_seconds,
      maxEvents: config.upload.max_events,
      maxBytes: config.upload.max_bytes,
      concurrency: config.upload.concurrency,
      maxBackoffSeconds: config.upload.max_backoff_seconds
    })

    const status = Effect.gen(function*() {
      const stats = yield* buffer.stats
      return {
        edge_version: EDGE_VERSION,
        config_version: config.config_version,
        central_url: centralUrl,
        uptime_seconds: Math.round((Date.now() - startedAt) / 1000),
        queue_depth: stats.pending,
        buffer: stats,
        uploader: yield* uploader.state,
        cameras: config.cameras.map((c) => ({ id: c.id, vendor: c.vendor, mode: c.mode })),
        camera_activity: activity.snapshot(),
        camera_connections: cameraStates.snapshot()
      }
    })

    // Before the listener opens: a camera added since the last start (or a configuration from before
    // push secrets) gets its secret now, and a push without one is refused from the first request.
    const pushSecrets = yield* ensurePushSecrets(config.cameras, secrets)
    const routes = yield* listenerRoutes(config.cameras, activity, {
      pushSecrets,
      vendorRoutes: config.listen.unauthenticated_vendor_routes
    })
    const scope = yield* Effect.scope
    const statusPage = statusPageRoutes({
      dir: paths.dir,
      secrets,
      pinGuesses,
      status,
      reload: reloadSoon(outcome, scope)
    })
    const setup = setupRoutes({ ...setupPaths(paths), secrets, pinGuesses, reload: reloadSoon(outcome, scope) }, false)
    const app = routes.pipe(
      HttpRouter.concat(statusPage),
      HttpRouter.concat(setup),
      HttpRouter.get("/health", HttpServerResponse.json({ status: "ok" })),
      HttpRouter.get("/status", Effect.flatMap(status, (s) => HttpServerResponse.json(s)))
    )
    yield* Layer.launch(
      HttpServer.serve(app).pipe(
        HttpServer.withLogAddress,
        Layer.provide(NodeHttpServer.layer(() => Http.createServer(), { port: config.listen.port, host: config.listen.host }))
      )
    ).pipe(Effect.forkScoped)

    yield* uploader.run.pipe(Effect.forkScoped)
    // Cameras the collector reads from (Hikvision alertStream, Protect polling); push cameras need nothing.
    yield* runCameraSources(config.cameras, secrets, activity, cameraStates).pipe(Effect.forkScoped)

    const heartbeat = Effect.gen(function*() {
      const stats = yield* buffer.stats
      const answer = yield* central.heartbeat({
        uptime_seconds: Math.round((Date.now() - startedAt) / 1000),
        queue_depth: stats.pending,
        cameras_online: activity.online(),
        config_version: config.config_version,
        edge_version: EDGE_VERSION,
        disk: { used_bytes: Math.round(stats.usedBytes), quota_bytes: Math.round(stats.quotaBytes), full: stats.full },
        // The server measures this clock against its own, and counts three missed beats as silence.
        device_time: new Date().toISOString(),
        cameras: cameraReport(config.cameras, yield* secrets.read, cameraStates.snapshot()),
        heartbeat_seconds: Math.min(3600, Math.max(1, Math.round(config.heartbeat_seconds)))
      })
      for (const command of answer.pending_commands) {
        const result = yield* execute(command, paths.dir, secrets, central).pipe(Effect.either)
        const ack = result._tag === "Right"
          ? { status: "done" as const, message: result.right.message }
          : { status: "failed" as const, message: String((result.left as { message?: string }).message ?? result.left).slice(0, 2000) }
        yield* central.ack(command.id, ack)
        yield* Effect.logInfo("command carried out").pipe(Effect.annotateLogs({ cmd: command.cmd, status: ack.status }))
        if (command.cmd === "rotate_key" && ack.status === "done") apiKey = (yield* secrets.read)["api_key"]
        if (result._tag === "Right" && result.right.then !== undefined) {
          yield* Deferred.succeed(outcome, result.right.then)
          return
        }
      }
    }).pipe(
      Effect.catchAll((e) => Effect.logWarning("heartbeat failed").pipe(Effect.annotateLogs({ reason: String((e as { message?: string }).message ?? e) })))
    )
    yield* heartbeat.pipe(
      Effect.zipRight(Effect.sleep(`${config.heartbeat_seconds} seconds`)),
      Effect.forever,
      Effect.forkScoped
    )

    yield* buffer.prune().pipe(
      Effect.tap((removed) => removed > 0 ? Effect.logInfo("pruned uploaded reads").pipe(Effect.annotateLogs({ removed })) : Effect.void),
      Effect.catchAll((e) => Effect.logError(e.message)),
      Effect.zipRight(Effect.sleep("1 hour")),
      Effect.forever,
      Effect.forkScoped
    )

    // systemd's watchdog (WatchdogSec in the unit): pinged while the buffer answers.
    const watchdogUsec = Number(process.env["WATCHDOG_USEC"] ?? 0)
    if (watchdogUsec > 0 && process.env["NOTIFY_SOCKET"] !== undefined) {
      yield* buffer.stats.pipe(
        Effect.zipRight(Effect.async<void>((resume) => {
          execFile("systemd-notify", ["WATCHDOG=1"], () => resume(Effect.void))
        })),
        Effect.zipRight(Effect.sleep(Math.max(1000, watchdogUsec / 2000))),
        Effect.forever,
        Effect.forkScoped
      )
    }

    return yield* Deferred.await(outcome)
  })

/** Runs the collector until it is told to exit; reloads on configuration changes. */
export const runCollector = (paths: CollectorPaths) =>
  Effect.gen(function*() {
    // Kept across reloads: a change made by someone else must not clear a guesser's wait.
    const pinGuesses = newPinGuesses()
    for (;;) {
      const config = yield* loadConfig(paths.dir)
      const outcome = yield* Deferred.make<Outcome>()
      const next = yield* runOnce(paths, config, outcome, pinGuesses).pipe(
        Effect.provide(ReadBuffer.layer({
          dir: paths.dir,
          retentionDays: config.retention_days,
          quotaBytes: config.quota_mb * 1024 * 1024
        })),
        Effect.scoped
      )
      if (next === "exit") return
      yield* Effect.logInfo("configuration changed; restarting the collector's services")
    }
  }).pipe(Effect.provide(centralHttpClientLayer))
