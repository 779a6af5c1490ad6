#!/usr/bin/env node
import { Username } from "@chaverim/domain/Accounts"
import { Role } from "@chaverim/domain/Auth"
import { CommandName } from "@chaverim/domain/Collector"
import { HoldRequest } from "@chaverim/domain/Holds"
import { NewReasonCode, ReasonLabel } from "@chaverim/domain/Reason"
import {
  Accounts,
  AppConfig,
  Audit,
  AuditChainBroken,
  AuditLayer,
  Collectors,
  HealthAlerts,
  exportCorrections,
  Images,
  migrateDatabase,
  MigratedDatabaseLayer,
  ReasonCodes,
  Retention,
  Holds,
  TelegramLinks
} from "@chaverim/server"
import { Args, Command, Options, ValidationError } from "@effect/cli"
import * as Cause from "effect/Cause"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { LoggingLayer } from "@chaverim/domain/Logging"
import { WatchlistCategory } from "@chaverim/domain/Watchlist"
import { exportWatchlistFile, importWatchlistFile, WatchlistCliLayer } from "@chaverim/server"
import { decideExport, exportEvidenceFile, fetchExport, importFootageFile, verifyEvidenceFile } from "@chaverim/server"
import { CoreLayer, ServerLayer } from "./Server"

const printJson = (value: unknown) => Console.log(JSON.stringify(value))

/** Commands that work on the data run against the migrated database and the services. */
const withCore = Effect.provide(CoreLayer)

const serve = Command.make("serve", {}, () => Layer.launch(ServerLayer)).pipe(
  Command.withDescription("Run the central server (migrations are applied first)")
)

const migrateCommand = Command.make("migrate", {}, () =>
  migrateDatabase.pipe(Effect.flatMap(({ applied }) => printJson({ applied })), Effect.scoped)).pipe(
    Command.withDescription(
      "Apply pending database migrations as the owner (DATABASE_OWNER_URL, else DATABASE_URL) and grant the serving role its privileges"
    )
  )

const collectorId = Options.text("id").pipe(
  Options.withSchema(Schema.UUID),
  Options.withDescription("collector id (uuid)")
)

const collectorCreate = Command.make(
  "create",
  { name: Options.text("name").pipe(Options.withDescription("the collector's name, one people recognise, e.g. \"Main St box\" (sites are the cameras' labels)")) },
  ({ name }) => Effect.flatMap(Collectors, (c) => c.create(name)).pipe(Effect.flatMap(printJson), withCore)
).pipe(Command.withDescription("Create a collector and a single-use claim code (valid 24 h)"))

const collectorCode = Command.make("code", { id: collectorId }, ({ id }) =>
  Effect.flatMap(Collectors, (c) => c.newCode(id)).pipe(Effect.flatMap(printJson), withCore)).pipe(
    Command.withDescription("Issue a new claim code for an existing collector (re-provisioning)")
  )

const collectorList = Command.make("list", {}, () =>
  Effect.flatMap(Collectors, (c) => c.list()).pipe(
    Effect.flatMap(Effect.forEach(printJson, { discard: true })),
    withCore
  )).pipe(Command.withDescription("List collectors with their health, one JSON line each"))

const collectorRevoke = Command.make("revoke", { id: collectorId }, ({ id }) =>
  Effect.flatMap(Collectors, (c) => c.revokeKeys(id)).pipe(
    Effect.flatMap((revoked) => printJson({ collector_id: id, revoked })),
    withCore
  )).pipe(Command.withDescription("Revoke every API key of a collector at once"))

const collectorCommand = Command.make(
  "command",
  {
    id: collectorId,
    cmd: Options.choice("cmd", CommandName.literals),
    payload: Options.text("payload").pipe(Options.optional, Options.withDescription("JSON payload"))
  },
  ({ cmd, id, payload }) =>
    Effect.gen(function*() {
      const body = Option.isSome(payload)
        ? yield* Schema.decodeUnknown(Schema.parseJson())(payload.value).pipe(
          Effect.mapError(() => new Error("--payload must be JSON"))
        )
        : {}
      const commandId = yield* Effect.flatMap(Collectors, (c) => c.enqueueCommand(id, cmd, body, "cli"))
      yield* printJson({ command_id: commandId, collector_id: id, cmd })
    }).pipe(withCore)
).pipe(Command.withDescription("Queue a command for a collector; it is delivered with its next heartbeat"))

const healthList = Command.make(
  "list",
  {
    open: Options.boolean("open").pipe(Options.withDescription("only the health alerts still open")),
    limit: Options.integer("limit").pipe(
      Options.withDefault(100),
      Options.filterMap(
        (n) => (n >= 1 && n <= 500 ? Option.some(n) : Option.none()),
        "--limit is a number of alerts, 1 to 500"
      ),
      Options.withDescription("at most this many, newest first (1 to 500)")
    )
  },
  ({ limit, open }) =>
    Effect.flatMap(HealthAlerts, (h) => h.list({ open, limit })).pipe(
      Effect.flatMap(Effect.forEach(printJson, { discard: true })),
      withCore
    )
).pipe(Command.withDescription("List the fleet's health alerts (silent collectors and cameras, full buffers, clocks off), one JSON line each, newest first"))

const health = Command.make("health").pipe(
  Command.withSubcommands([healthList]),
  Command.withDescription("The fleet's health alerts")
)

const collector = Command.make("collector").pipe(
  Command.withSubcommands([collectorCreate, collectorCode, collectorList, collectorRevoke, collectorCommand]),
  Command.withDescription("Provision and steer edge collectors")
)

const imagesOrphans = Command.make("orphans", {}, () =>
  Effect.gen(function*() {
    const images = yield* Images
    let count = 0
    yield* images.orphans().pipe(Stream.runForEach((key) => {
      count++
      return printJson({ orphan: key })
    }))
    yield* printJson({ orphans: count })
  }).pipe(withCore)).pipe(Command.withDescription("Report stored objects that no detection points at"))

/** The reason an audited command is run with (see the README's reason codes). */
const reasonOptions = (why: string) => ({
  reasonCode: Options.text("reason-code").pipe(
    Options.optional,
    Options.withDescription(`${why}: a reason code (see reason-code list; required unless AUDIT_REASON_REQUIRED=false)`)
  ),
  reason: Options.text("reason").pipe(Options.optional, Options.withDescription(`${why}, in words (optional, audited)`)),
  caseNumber: Options.text("case").pipe(Options.optional, Options.withDescription("the case or incident number (optional, audited)"))
})

const correctionsExport = Command.make(
  "export",
  {
    out: Options.directory("out", { exists: "either" }).pipe(Options.withDescription("directory for corrections.csv and images/")),
    since: Options.text("since").pipe(
      Options.withSchema(Schema.Date),
      Options.optional,
      Options.withDescription("only corrections made since this time (ISO 8601)")
    ),
    includeConfirmed: Options.boolean("include-confirmed").pipe(
      Options.withDescription("also reads an operator confirmed as right")
    ),
    ...reasonOptions("why the data set is made")
  },
  ({ caseNumber, includeConfirmed, out, reason, reasonCode, since }) =>
    exportCorrections(out, {
      includeConfirmed,
      since: Option.getOrUndefined(since),
      reasonCode: Option.getOrUndefined(reasonCode),
      reason: Option.getOrUndefined(reason),
      caseNumber: Option.getOrUndefined(caseNumber),
      onProgress: (rows) => Console.error(`exported ${rows} reads`)
    }).pipe(Effect.flatMap(printJson), withCore)
).pipe(Command.withDescription(
  "Write a retraining data set of corrected reads: corrections.csv and their photos (last line: a JSON summary)"
))

const corrections = Command.make("corrections").pipe(
  Command.withSubcommands([correctionsExport]),
  Command.withDescription("Operators' corrections of reads")
)

const images = Command.make("images").pipe(
  Command.withSubcommands([imagesOrphans]),
  Command.withDescription("Evidence image maintenance")
)

const username = Options.text("username").pipe(
  Options.withSchema(Username),
  Options.withDescription("the account's username")
)

const userCreate = Command.make(
  "create",
  { username, role: Options.choice("role", Role.literals).pipe(Options.withDescription("admin, operator or viewer")) },
  ({ role, username }) =>
    Effect.flatMap(Accounts, (a) => a.create(username, role)).pipe(
      Effect.flatMap(({ password, username }) => printJson({ username, password })),
      withCore
    )
).pipe(Command.withDescription(
  "Create an account; prints its one-time password, to be changed at the first sign-in (with TOTP enrolment)"
))

const userList = Command.make("list", {}, () =>
  Effect.flatMap(Accounts, (a) => a.list).pipe(
    Effect.flatMap(Effect.forEach(printJson, { discard: true })),
    withCore
  )).pipe(Command.withDescription("List accounts, one JSON line each"))

/** An admin action on the account named by --username, recorded in the audit log as done from the CLI. */
const userAction = (name: string, description: string, act: (a: Accounts, id: string) => Effect.Effect<unknown, unknown>) =>
  Command.make(name, { username }, ({ username }) =>
    Effect.gen(function*() {
      const accounts = yield* Accounts
      const id = yield* accounts.idOf(username)
      const result = yield* act(accounts, id)
      yield* printJson(result ?? { username, done: name })
    }).pipe(withCore)).pipe(Command.withDescription(description))

const user = Command.make("user").pipe(
  Command.withSubcommands([
    userCreate,
    userList,
    userAction("reset-password", "Issue a new one-time password (prints it); every session of the user ends",
      (a, id) => Effect.map(a.resetPassword(id, undefined, undefined), ({ password, username }) => ({ username, password }))),
    userAction("reset-totp", "Make the user enrol TOTP again at the next sign-in; recovery codes and sessions end",
      (a, id) => a.resetTotp(id, undefined, undefined)),
    userAction("disable", "Disable the account and end its sessions", (a, id) => a.setDisabled(id, true, undefined, undefined)),
    userAction("enable", "Enable a disabled account", (a, id) => a.setDisabled(id, false, undefined, undefined))
  ]),
  Command.withDescription("Manage the people who sign in")
)

/** Needs only the migrated database, not the object store or the other services. */
const auditVerify = Command.make("verify", {}, () =>
  Effect.gen(function*() {
    const audit = yield* Audit
    const result = yield* audit.verifyWith({ onProgress: (rows) => Console.error(`checked ${rows} rows`) })
    if (result.ok) {
      yield* printJson({ rows: result.rows, head_id: result.head.id, head_hash: result.head.hash })
      return yield* Console.log("ok")
    }
    const { id, reason } = result.firstBroken
    yield* printJson({ ok: false, rows: result.rows, first_broken: { id, reason } })
    return yield* new AuditChainBroken({ id, reason, message: `the audit log is broken at row ${id}: ${reason}` })
  }).pipe(Effect.provide(AuditLayer.pipe(Layer.provide(MigratedDatabaseLayer))))).pipe(
    Command.withDescription(
      "Check the audit log's hash chain: prints ok and exits 0 when intact, else names the first broken row and exits 1"
    )
  )

const auditCommand = Command.make("audit").pipe(
  Command.withSubcommands([auditVerify]),
  Command.withDescription("The audit log")
)

const telegramLinkCode = Command.make("link-code", { username }, ({ username }) =>
  Effect.flatMap(TelegramLinks, (t) => t.newCodeFor(username)).pipe(Effect.flatMap(printJson), withCore)).pipe(
    Command.withDescription(
      "Make a one-time code (valid 10 minutes) that links the user's Telegram chat: they send the bot /start CODE"
    )
  )

const telegram = Command.make("telegram").pipe(
  Command.withSubcommands([telegramLinkCode]),
  Command.withDescription("The Telegram bot for field volunteers")
)

const watchlistName = Options.text("name").pipe(Options.withDescription("the list's name (case does not matter)"))

const watchlistImport = Command.make(
  "import",
  {
    name: watchlistName,
    category: Options.choice("category", WatchlistCategory.literals).pipe(
      Options.withDescription("stolen, bolo, missing_person, of_interest or allow (for a list made by this import)")
    ),
    reason: Options.text("reason").pipe(
      Options.optional,
      Options.withDescription("why these plates are watched, for lines without a reason column (default: the file's name)")
    ),
    file: Args.file({ name: "FILE.csv", exists: "yes" })
  },
  ({ category, file, name, reason }) =>
    importWatchlistFile({ name, category, file, reason: Option.getOrUndefined(reason) }).pipe(Effect.provide(WatchlistCliLayer))
).pipe(Command.withDescription(
  "Import a CSV (columns plate, and optionally kind, note, reason, expires_at) into a list, made if missing; " +
    "bad lines go to stderr; last line: a JSON summary"
))

const watchlistExport = Command.make(
  "export",
  { name: watchlistName, out: Options.file("out").pipe(Options.withDescription("the CSV file to write")) },
  ({ name, out }) => exportWatchlistFile({ name, out }).pipe(Effect.provide(WatchlistCliLayer))
).pipe(Command.withDescription("Write a list's live entries as CSV (it imports back as it is); last line: a JSON summary"))

const watchlist = Command.make("watchlist").pipe(
  Command.withSubcommands([watchlistImport, watchlistExport]),
  Command.withDescription("Watchlists: bulk import and export")
)

const reasonCodeArg = Options.text("code").pipe(Options.withDescription("the reason code, e.g. hit_and_run"))
const reasonLabel = Options.text("label").pipe(
  Options.withSchema(ReasonLabel),
  Options.withDescription("what people see in the list, e.g. \"Hit and run\"")
)
/** A change of the list, recorded in the audit log as done from the CLI. */
const cliChange = { via: "cli" } as const

const reasonCodeList = Command.make("list", {}, () =>
  Effect.flatMap(ReasonCodes, (codes) => codes.listAll()).pipe(
    Effect.flatMap(Effect.forEach(printJson, { discard: true })),
    withCore
  )).pipe(Command.withDescription("List the reason codes, the retired ones too, one JSON line each"))

const reasonCodeCreate = Command.make(
  "create",
  { code: reasonCodeArg.pipe(Options.withSchema(NewReasonCode)), label: reasonLabel },
  ({ code, label }) => Effect.flatMap(ReasonCodes, (codes) => codes.create(code, label, cliChange)).pipe(Effect.flatMap(printJson), withCore)
).pipe(Command.withDescription("Add a reason code"))

const reasonCodeRelabel = Command.make(
  "relabel",
  { code: reasonCodeArg, label: reasonLabel },
  ({ code, label }) => Effect.flatMap(ReasonCodes, (codes) => codes.relabel(code, label, cliChange)).pipe(Effect.flatMap(printJson), withCore)
).pipe(Command.withDescription("Change what a reason code's label says (the code stays)"))

const reasonCodeRetire = Command.make(
  "retire",
  { code: reasonCodeArg },
  ({ code }) => Effect.flatMap(ReasonCodes, (codes) => codes.retire(code, cliChange)).pipe(Effect.flatMap(printJson), withCore)
).pipe(Command.withDescription("Retire a reason code: refused in new requests from now on, for good (codes are never deleted)"))

const reasonCode = Command.make("reason-code").pipe(
  Command.withSubcommands([reasonCodeList, reasonCodeCreate, reasonCodeRelabel, reasonCodeRetire]),
  Command.withDescription("The reason codes searches, investigations, photo views and exports carry")
)

const evidenceExport = Command.make(
  "export",
  {
    plate: Options.text("plate").pipe(Options.optional, Options.withDescription("the reads of this plate")),
    withCorrections: Options.boolean("with-corrections").pipe(
      Options.withDescription("with --plate: also the reads corrected to that plate")
    ),
    detections: Options.text("detections").pipe(Options.optional, Options.withDescription("these reads: ids, comma-separated")),
    camera: Options.text("camera").pipe(Options.optional, Options.withDescription("the reads of this camera (its id), with --from and --to")),
    from: Options.text("from").pipe(Options.optional, Options.withDescription("with --camera: from this time (ISO 8601, inclusive)")),
    to: Options.text("to").pipe(Options.optional, Options.withDescription("with --camera: to this time (ISO 8601, exclusive)")),
    caseNumber: Options.text("case").pipe(Options.withDescription("the case or incident number")),
    reasonCode: Options.text("reason-code").pipe(Options.withDescription("why: an active reason code")),
    reason: Options.text("reason").pipe(Options.optional, Options.withDescription("why, in words (optional)")),
    out: Options.file("out").pipe(Options.withDescription("the bundle to write (FILE.zip)"))
  },
  (o) =>
    exportEvidenceFile({
      plate: Option.getOrUndefined(o.plate),
      withCorrections: o.withCorrections,
      detections: Option.getOrUndefined(o.detections),
      camera: Option.getOrUndefined(o.camera),
      from: Option.getOrUndefined(o.from),
      to: Option.getOrUndefined(o.to),
      caseNumber: o.caseNumber,
      reasonCode: o.reasonCode,
      reason: Option.getOrUndefined(o.reason),
      out: o.out
    }).pipe(withCore)
).pipe(Command.withDescription(
  "Export the reads of a case as a signed bundle (zip); recorded and audited. Last line: {export_id, detections, images, sha256}"
))

/** Needs no database and no server: the repository's verifier (tools/verify-evidence.mjs). */
const evidenceVerify = Command.make(
  "verify",
  {
    file: Args.text({ name: "FILE.zip" }),
    key: Options.text("key").pipe(Options.optional, Options.withDescription("the installation's key fingerprint (64 hex digits) to pin"))
  },
  ({ file, key }) => verifyEvidenceFile(file, Option.getOrUndefined(key))
).pipe(Command.withDescription(
  "Verify an evidence bundle offline: prints ok and a summary, or names the first file that fails and exits 1"
))

const exportId = Options.text("id").pipe(Options.withSchema(Schema.UUID), Options.withDescription("the export's id (from evidence export)"))
const approverName = Options.text("as").pipe(
  Options.withDescription("the enabled admin account in whose name this is decided (recorded; never the requester)")
)

const evidenceApprove = Command.make(
  "approve",
  { id: exportId, as: approverName, note: Options.text("note").pipe(Options.optional, Options.withDescription("a note (audited)")) },
  ({ as, id, note }) => decideExport(id, "approved", as, Option.getOrUndefined(note)).pipe(withCore)
).pipe(Command.withDescription(
  "Approve a pending export (EXPORT_APPROVAL=required) in the name of an admin other than its requester; " +
    "an export asked for at the command line is approved in the web app"
))

const evidenceRefuse = Command.make(
  "refuse",
  { id: exportId, as: approverName, note: Options.text("note").pipe(Options.withDescription("why it is refused (audited, shown to the requester)")) },
  ({ as, id, note }) => decideExport(id, "refused", as, note).pipe(withCore)
).pipe(Command.withDescription("Refuse a pending export, saying why, in the name of an admin other than its requester"))

const evidenceFetch = Command.make(
  "fetch",
  { id: exportId, out: Options.file("out").pipe(Options.withDescription("the bundle to write (FILE.zip)")) },
  ({ id, out }) => fetchExport(id, out).pipe(withCore)
).pipe(Command.withDescription(
  "Write the bundle of an approved export asked for at the command line. Last line: {export_id, detections, images, sha256}"
))

const evidence = Command.make("evidence").pipe(
  Command.withSubcommands([evidenceExport, evidenceVerify, evidenceApprove, evidenceRefuse, evidenceFetch]),
  Command.withDescription("Case exports a recipient can verify offline")
)

const retentionRun = Command.make(
  "run",
  { dryRun: Options.boolean("dry-run").pipe(Options.withDescription("count what would be deleted, deleting nothing")) },
  ({ dryRun }) =>
    Effect.gen(function*() {
      const retention = yield* Retention
      let told = Date.now()
      const report = yield* retention.run({
        dryRun,
        trigger: "cli",
        onProgress: (counts) =>
          Date.now() - told < 5_000 ? Effect.void : Effect.zipRight(
            Effect.sync(() => (told = Date.now())),
            Console.error(`examined ${counts.examined} reads, ${counts.detections_deleted} deleted so far`)
          )
      })
      yield* printJson(report)
      const { detections_deleted, held_skipped, plate_images_deleted, scene_images_deleted, seconds } = report
      yield* printJson({ scene_images_deleted, plate_images_deleted, detections_deleted, held_skipped, seconds })
    }).pipe(withCore)
).pipe(Command.withDescription(
  "Apply the retention periods (RETENTION_*) now, as the schedule does; one run at a time per database. " +
    "Last line: {scene_images_deleted, plate_images_deleted, detections_deleted, held_skipped, seconds}"
))

const retention = Command.make("retention").pipe(
  Command.withSubcommands([retentionRun]),
  Command.withDescription("Retention: deleting what is past its period, except what a legal hold keeps")
)

const holdCreate = Command.make(
  "create",
  {
    plate: Options.text("plate").pipe(Options.optional, Options.withDescription("hold the reads of this plate (and those corrected to it), now and to come")),
    detections: Options.text("detections").pipe(Options.optional, Options.withDescription("hold these reads: ids, comma-separated")),
    camera: Options.text("camera").pipe(Options.optional, Options.withDescription("hold the reads of this camera (its id), with --from and --to")),
    from: Options.text("from").pipe(Options.optional, Options.withDescription("with --camera: from this time (ISO 8601, inclusive)")),
    to: Options.text("to").pipe(Options.optional, Options.withDescription("with --camera: to this time (ISO 8601, inclusive)")),
    caseNumber: Options.text("case").pipe(Options.withDescription("the case number")),
    reason: Options.text("reason").pipe(Options.withDescription("why the reads must be kept"))
  },
  (o) =>
    Effect.gen(function*() {
      const request = yield* Schema.decodeUnknown(HoldRequest)({
        ...(Option.isSome(o.plate) ? { plate: o.plate.value } : {}),
        ...(Option.isSome(o.detections)
          ? { detections: o.detections.value.split(",").map((id) => id.trim()).filter((id) => id !== "") }
          : {}),
        ...(Option.isSome(o.camera) ? { camera_id: o.camera.value } : {}),
        ...(Option.isSome(o.from) ? { from: o.from.value } : {}),
        ...(Option.isSome(o.to) ? { to: o.to.value } : {}),
        case_number: o.caseNumber,
        reason: o.reason
      }).pipe(Effect.mapError((error) => new Error(ParseResult.TreeFormatter.formatErrorSync(error))))
      const hold = yield* Effect.flatMap(Holds, (holds) => holds.create(request, "cli"))
      yield* printJson(hold)
      yield* printJson({ hold_id: hold.id, detections: hold.detections })
    }).pipe(withCore)
).pipe(Command.withDescription(
  "Put a legal hold on a plate, a list of reads or a camera over a time range (audited). Last line: {hold_id, detections}"
))

const holdList = Command.make(
  "list",
  {
    status: Options.choice("status", ["active", "released", "all"]).pipe(
      Options.withDefault("active" as const),
      Options.withDescription("which holds (default: active)")
    )
  },
  ({ status }) =>
    Effect.flatMap(Holds, (holds) => holds.list({ status })).pipe(
      Effect.flatMap(Effect.forEach(printJson, { discard: true })),
      withCore
    )
).pipe(Command.withDescription("List legal holds newest first, one JSON line each, with the reads each covers now"))

const holdRelease = Command.make(
  "release",
  {
    id: Options.text("id").pipe(Options.withSchema(Schema.UUID), Options.withDescription("the hold's id")),
    note: Options.text("note").pipe(Options.optional, Options.withDescription("why it is released (audited)"))
  },
  ({ id, note }) =>
    Effect.flatMap(Holds, (holds) => holds.release(id, Option.getOrUndefined(note), "cli")).pipe(
      Effect.flatMap(printJson),
      withCore
    )
).pipe(Command.withDescription("Release a legal hold (audited): its reads fall under the retention periods again at the next run"))

const hold = Command.make("hold").pipe(
  Command.withSubcommands([holdCreate, holdList, holdRelease]),
  Command.withDescription("Legal holds: reads kept past the retention periods for a case")
)

const footageImport = Command.make(
  "import",
  {
    file: Args.file({ name: "FILE", exists: "yes" }),
    cameraName: Options.text("camera-name").pipe(Options.withDescription("the camera (or phone, or place) the footage is from")),
    lat: Options.float("lat").pipe(Options.optional, Options.withDescription("where the camera is: latitude (with --lon)")),
    lon: Options.float("lon").pipe(Options.optional, Options.withDescription("where the camera is: longitude (with --lat)")),
    at: Options.text("at").pipe(Options.optional, Options.withDescription("when the footage starts (ISO 8601 with offset), when its file does not say")),
    reason: Options.text("reason").pipe(Options.withDescription("why it is imported (audited)")),
    fps: Options.float("fps").pipe(Options.optional, Options.withDescription("frames sampled per second of video (FOOTAGE_FPS, 2)")),
    queue: Options.boolean("queue").pipe(Options.withDescription("store it and queue its job for the servers; do not wait"))
  },
  (o) =>
    importFootageFile({
      file: o.file,
      cameraName: o.cameraName,
      lat: Option.getOrUndefined(o.lat),
      lon: Option.getOrUndefined(o.lon),
      at: Option.getOrUndefined(o.at),
      reason: o.reason,
      fps: Option.getOrUndefined(o.fps),
      queue: o.queue
    }).pipe(withCore)
).pipe(Command.withDescription(
  "Take in a photo or video as evidence and find its plates with the recogniser (RECOGNISER); audited. " +
    "Last line: {job_id, frames, reads: [{plate, confidence, at}]}"
))

const footage = Command.make("footage").pipe(
  Command.withSubcommands([footageImport]),
  Command.withDescription("Footage: photos and video whose plates become reads")
)

const alpr = Command.make("alpr").pipe(
  Command.withSubcommands([serve, migrateCommand, collector, health, user, images, corrections, auditCommand, telegram, watchlist, reasonCode, evidence, retention, hold, footage]),
  Command.withDescription("Chaverim ALPR central server")
)

const cli = Command.run(alpr, { name: "alpr", version: "0.1.0" })

/**
 * Expected failures (a bad claim code, an unreachable database, bad configuration) are told in one
 * line; anything else is a bug and is logged with its cause.
 */
const report = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.tapErrorCause(effect, (cause) => {
    const failure = Cause.failureOption(cause)
    if (Option.isSome(failure)) {
      const error = failure.value as { readonly _tag?: string; readonly message?: string }
      if (ValidationError.isValidationError(error)) return Effect.void // @effect/cli already printed it
      if (typeof error?.message === "string" && error.message !== "") {
        return Console.error(`error: ${error.message}${error._tag ? ` (${error._tag})` : ""}`)
      }
    }
    return Effect.logError("command failed", cause)
  })

cli(process.argv).pipe(
  Effect.provide(Layer.mergeAll(NodeContext.layer, AppConfig.layer, LoggingLayer)),
  report,
  NodeRuntime.runMain({ disableErrorReporting: true, disablePrettyLogger: true })
)
