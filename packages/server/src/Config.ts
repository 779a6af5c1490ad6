import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Path from "node:path"
import { parseProxyList, type ProxyList } from "./http/Proxies"

export interface S3Settings {
  readonly endpoint: string
  readonly accessKey: Redacted.Redacted
  readonly secretKey: Redacted.Redacted
  readonly bucket: string
  readonly region: string
}

export interface AppSettings {
  readonly port: number
  readonly host: string
  readonly dataDir: string
  /** What the server connects as; without DATABASE_OWNER_URL also the owner that migrates (see Database.ts). */
  readonly databaseUrl: Option.Option<Redacted.Redacted>
  /** The owner of the schema, for migrations and the serving role's grants; DATABASE_URL then only serves. */
  readonly databaseOwnerUrl: Option.Option<Redacted.Redacted>
  /**
   * A replica kept in sync with DATABASE_URL's database (streaming or logical replication) for the
   * read-only queries: search, investigation, statistics. Unset: they read the primary.
   */
  readonly databaseReadUrl: Option.Option<Redacted.Redacted>
  readonly dbPoolSize: number
  readonly s3: Option.Option<S3Settings>
  readonly publicUrl: Option.Option<string>
  /** Batches stored at once; more wait in the ingest queue. */
  readonly ingestConcurrency: number
  /** Batches allowed to wait; past this a batch is refused with 503 before anything is stored. */
  readonly ingestMaxQueue: number
  /** How long a command stays with a collector before it is offered again when unacknowledged. */
  readonly commandRedeliverySeconds: number
  readonly claimCodeHours: number
  /** Whether searches and exports must carry a reason for the audit log. */
  readonly reasonRequired: boolean
  /** How often a live feed connection's audit row names the plate crops it sent (audit/PhotoViews.ts). */
  readonly liveViewAuditSeconds: number
  /** How often a live feed connection's photo view token is replaced, well before it expires (audit/PhotoViews.ts). */
  readonly liveViewTokenSeconds: number
  /** How often the health monitor looks at the fleet (health/Monitor.ts). */
  readonly healthCheckSeconds: number
  /** Repeated sightings of a plate for one list entry within this many seconds update one open alert. */
  readonly alertCooldownSeconds: number
  /** When an entry is added, reads of this many days before are checked against it (retro-alerts). */
  readonly retroAlertDays: number
  /** Alert work items (ingest statements) processed at once by this server. */
  readonly alertWorkers: number
  /** The Telegram bot; without a token the bot does not run (alerts still reach the live feed). */
  readonly telegramBotToken: Option.Option<Redacted.Redacted>
  /** The Bot API's root, e.g. a local fake in tests. */
  readonly telegramApiRoot: string
  /** webhooks may be plain http:// (a receiver on a trusted network); https only otherwise */
  readonly webhookAllowHttp: boolean
  /** PEM file of extra certificate authorities webhook receivers' certificates may chain to */
  readonly webhookCaFile: Option.Option<string>
  /**
   * The bot's @username (without the @), so that the web app can name the bot and link to it with the
   * code (`https://t.me/NAME?start=CODE`). Every server gives out link codes, and only one runs the bot.
   */
  readonly telegramBotUsername: Option.Option<string>
  /** How long a paired wall display stays signed in (days; browsers keep a cookie 400 days at most). */
  readonly displaySessionDays: number
  /**
   * Reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed (see http/Proxies).
   * Empty: every client is its TCP peer, and forwarded headers are ignored.
   */
  readonly trustedProxies: ProxyList
  /** A bearer token for /metrics and the API docs (a Prometheus scraper); an admin's session also opens them. */
  readonly metricsToken: Option.Option<Redacted.Redacted>
  /** Retention periods and the job's schedule. */
  readonly retention: RetentionSettings
  /** The most reads one evidence export may hold; a larger selection is refused (400) before any work. */
  readonly evidenceMaxReads: number
  /** The most photo bytes one evidence export may hold (the zip holds them twice: as files and in the report). */
  readonly evidenceMaxPhotoBytes: number
  /** TRANSPARENCY_PAGE: whether /transparency and its JSON are published (on by default). */
  readonly transparencyPage: boolean
  /** EXPORT_APPROVAL: `required`: an evidence bundle is released only once an admin other than its requester approved it. */
  readonly exportApproval: "off" | "required"
  /** MQTT_*: the broker and its topics; each one set here overrides the admin panel's value (mqtt/Settings.ts) */
  readonly mqtt: MqttEnvSettings
  /** E-mail (email/): each one set here overrides the admin panel's (email_settings); SMTP_URL unset in both: e-mail off. */
  readonly email: EmailEnvSettings
  /** Footage (footage/, recognise/, jobs/): the recogniser, frame sampling and the job workers. */
  readonly footage: FootageSettings
}

export const RECOGNISERS = ["builtin", "codeproject", "platerecognizer"] as const
export type RecogniserName = typeof RECOGNISERS[number]

/** How plates are found in footage, and how the jobs that do it run. */
export interface FootageSettings {
  /** RECOGNISER: builtin (the default, needs nothing else), codeproject (CodeProject.AI's ALPR module) or platerecognizer */
  readonly recogniser: RecogniserName
  /** RECOGNISER_URL: the HTTP recogniser's base URL (http://host:32168 for CodeProject.AI; Plate Recognizer's cloud by default) */
  readonly recogniserUrl: Option.Option<string>
  /** RECOGNISER_TOKEN: Plate Recognizer's API token (sent as `Authorization: Token ...`) */
  readonly recogniserToken: Option.Option<Redacted.Redacted>
  /** RECOGNISER_REGIONS: comma-separated region codes the recogniser's plate formats follow (us, gb, de, ...) */
  readonly recogniserRegions: ReadonlyArray<string>
  /** FOOTAGE_FPS: frames sampled per second of video unless a job says otherwise (2) */
  readonly fps: number
  /** JOB_WORKERS: jobs one server runs at once (1) */
  readonly jobWorkers: number
  /** JOB_LEASE_SECONDS: how long a claimed job is held without word from its worker before another takes it (60) */
  readonly jobLeaseSeconds: number
}

/** The e-mail settings from the environment; none: the admin panel's value (or the default) holds. */
export interface EmailEnvSettings {
  /** SMTP_URL: smtp://host:port or smtps://host:port, credentials in it or below */
  readonly smtpUrl: Option.Option<Redacted.Redacted>
  /** SMTP_USERNAME */
  readonly smtpUsername: Option.Option<string>
  /** SMTP_PASSWORD */
  readonly smtpPassword: Option.Option<Redacted.Redacted>
  /** SMTP_FROM: the sender, `alerts@example.org` or `Chaverim ALPR <alerts@example.org>`; required with SMTP_URL */
  readonly smtpFrom: Option.Option<string>
  /** EMAIL_BATCH_SECONDS: a person's alerts within this window go in one e-mail (default 30) */
  readonly batchSeconds: Option.Option<number>
}

/** The MQTT settings the environment sets (none: the admin panel's value, or the default, holds). */
export interface MqttEnvSettings {
  /** MQTT_URL: mqtt:// or mqtts://; unset (and none in the panel): MQTT is off */
  readonly url: Option.Option<string>
  readonly username: Option.Option<string>
  readonly password: Option.Option<Redacted.Redacted>
  /** MQTT_TOPIC_PREFIX (default alpr) */
  readonly topicPrefix: Option.Option<string>
  /** MQTT_PUBLISH_READS (default false): every read on `<prefix>/read/<camera id>` */
  readonly publishReads: Option.Option<boolean>
  /** MQTT_DISCOVERY (default true): Home Assistant discovery configs */
  readonly discovery: Option.Option<boolean>
  /** MQTT_DISCOVERY_PREFIX (default homeassistant) */
  readonly discoveryPrefix: Option.Option<string>
}

/**
 * How long each class of data is kept, by the read's own time (detected_at), and how often the
 * retention job runs (retention/Retention.ts). The owner writes the periods into the database at
 * every start (db/RetentionFloors.ts), where the purge enforces them.
 */
export interface RetentionSettings {
  /** RETENTION_SCENE_IMAGE_DAYS: scene photos */
  readonly sceneImageDays: number
  /** RETENTION_PLATE_IMAGE_DAYS: plate crops */
  readonly plateImageDays: number
  /** RETENTION_DETECTION_DAYS: the read itself (metadata), with its corrections and alerts */
  readonly detectionDays: number
  /** RETENTION_NONHIT_MINUTES: reads that raised no alert and are under no hold; none: no policy of their own */
  readonly nonhitMinutes: Option.Option<number>
  /** RETENTION_INTERVAL_MINUTES: between scheduled runs; none: never scheduled (`alpr retention run` only) */
  readonly intervalMinutes: Option.Option<number>
}

/** S3 settings only when S3_ENDPOINT is set; then the keys are required, not silently ignored. */
const s3Config: Effect.Effect<Option.Option<S3Settings>, ConfigError.ConfigError> = Effect.gen(function*() {
  const endpoint = yield* Config.option(Config.string("S3_ENDPOINT"))
  if (Option.isNone(endpoint)) return Option.none()
  const rest = yield* Config.all({
    accessKey: Config.redacted("S3_ACCESS_KEY"),
    secretKey: Config.redacted("S3_SECRET_KEY"),
    bucket: Config.string("S3_BUCKET").pipe(Config.withDefault("alpr")),
    region: Config.string("S3_REGION").pipe(Config.withDefault("us-east-1"))
  })
  return Option.some({ endpoint: endpoint.value, ...rest })
})

const MAX_DAYS = 36_500

/** Read as text, so that the message of a value that is no number names the setting too. */
const days = (name: string, fallback: number) =>
  Config.string(name).pipe(
    Config.withDefault(String(fallback)),
    Config.mapOrFail((text) => {
      const value = text.trim()
      const n = Number(value)
      return /^\d+$/.test(value) && n >= 1 && n <= MAX_DAYS
        ? Either.right(n)
        : Either.left(ConfigError.InvalidData([name], `${name} is a whole number of days from 1 to ${MAX_DAYS}, not "${text}"`))
    })
  )

/** A whole number of minutes, or "off" (the default when `fallback` is "off"). */
const minutesOrOff = (name: string, fallback: string, max: number) =>
  Config.string(name).pipe(
    Config.withDefault(fallback),
    Config.mapOrFail((text) => {
      const value = text.trim().toLowerCase()
      if (value === "off" || value === "") return Either.right(Option.none<number>())
      const n = Number(value)
      return /^\d+$/.test(value) && n >= 1 && n <= max
        ? Either.right(Option.some(n))
        : Either.left(ConfigError.InvalidData([name], `${name} is a whole number of minutes from 1 to ${max}, or off`))
    })
  )

/** Empty (a compose file's placeholder) is unset. */
const optionalText = (name: string) =>
  Config.string(name).pipe(
    Config.withDefault(""),
    Config.map((text) => text.trim()),
    Config.map((text) => (text === "" ? Option.none<string>() : Option.some(text)))
  )

const emailConfig: Config.Config<EmailEnvSettings> = Config.all({
  smtpUrl: optionalText("SMTP_URL").pipe(
    Config.mapOrFail((url) =>
      Option.isNone(url) || /^smtps?:\/\/[^\s/]+\/?$/i.test(url.value)
        ? Either.right(Option.map(url, Redacted.make))
        : Either.left(ConfigError.InvalidData(["SMTP_URL"], "SMTP_URL is smtp://host:port or smtps://host:port (user:password@ allowed)"))
    )
  ),
  smtpUsername: optionalText("SMTP_USERNAME"),
  smtpPassword: Config.redacted("SMTP_PASSWORD").pipe(
    Config.withDefault(Redacted.make("")),
    Config.map((password) => (Redacted.value(password) === "" ? Option.none() : Option.some(password)))
  ),
  smtpFrom: optionalText("SMTP_FROM").pipe(
    Config.validate({ message: "SMTP_FROM is one line", validation: (from) => !Option.exists(from, (f) => /[\r\n]/.test(f)) })
  ),
  batchSeconds: optionalText("EMAIL_BATCH_SECONDS").pipe(
    Config.mapOrFail((text) =>
      Option.isNone(text) ? Either.right(Option.none<number>())
      : /^\d+$/.test(text.value) && Number(text.value) <= 3600
      ? Either.right(Option.some(Number(text.value)))
      : Either.left(ConfigError.InvalidData(["EMAIL_BATCH_SECONDS"], `EMAIL_BATCH_SECONDS is 0 to 3600 seconds, not "${text.value}"`))
    )
  )
}).pipe(
  // A server that would send e-mail from nobody refuses to start rather than have every message refused.
  Config.mapOrFail((email) =>
    Option.isSome(email.smtpUrl) && Option.isNone(email.smtpFrom)
      ? Either.left(ConfigError.InvalidData(["SMTP_FROM"], "SMTP_FROM is required when SMTP_URL is set"))
      : Either.right(email)
  )
)

/** MQTT text that is unset when empty (a compose file's placeholder), checked against `pattern`. */
const mqttText = (name: string, pattern: RegExp, what: string) =>
  Config.string(name).pipe(
    Config.withDefault(""),
    Config.mapOrFail((text) => {
      const value = text.trim()
      if (value === "") return Either.right(Option.none<string>())
      return pattern.test(value) ? Either.right(Option.some(value)) : Either.left(ConfigError.InvalidData([name], `${name} is ${what}`))
    })
  )

const TOPIC_PREFIX = /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/

const mqttConfig: Config.Config<MqttEnvSettings> = Config.all({
  url: mqttText("MQTT_URL", /^mqtts?:\/\/[^\s/?#@]+(:\d+)?\/?$/i,
    "mqtt://host:port or mqtts://host:port (user name and password in MQTT_USERNAME and MQTT_PASSWORD)"),
  username: mqttText("MQTT_USERNAME", /^.{1,200}$/, "1 to 200 characters"),
  password: Config.option(Config.redacted("MQTT_PASSWORD")).pipe(
    Config.map(Option.filter((password) => Redacted.value(password) !== ""))
  ),
  topicPrefix: mqttText("MQTT_TOPIC_PREFIX", TOPIC_PREFIX, "levels of letters, digits, _ and - separated by / (e.g. alpr)"),
  publishReads: Config.option(Config.boolean("MQTT_PUBLISH_READS")),
  discovery: Config.option(Config.boolean("MQTT_DISCOVERY")),
  discoveryPrefix: mqttText("MQTT_DISCOVERY_PREFIX", TOPIC_PREFIX, "levels of letters, digits, _ and - separated by / (e.g. homeassistant)")
})

/** A bad value stops the server with a message naming the setting: a wrong period deletes evidence. */
const retentionConfig: Config.Config<RetentionSettings> = Config.all({
  sceneImageDays: days("RETENTION_SCENE_IMAGE_DAYS", 365),
  plateImageDays: days("RETENTION_PLATE_IMAGE_DAYS", 365),
  detectionDays: days("RETENTION_DETECTION_DAYS", 2557),
  nonhitMinutes: minutesOrOff("RETENTION_NONHIT_MINUTES", "off", MAX_DAYS * 24 * 60),
  intervalMinutes: minutesOrOff("RETENTION_INTERVAL_MINUTES", "60", 7 * 24 * 60)
}).pipe(
  Config.mapOrFail((settings) =>
    settings.detectionDays < Math.max(settings.sceneImageDays, settings.plateImageDays)
      ? Either.left(ConfigError.InvalidData(["RETENTION_DETECTION_DAYS"],
        `RETENTION_DETECTION_DAYS (${settings.detectionDays}) is shorter than RETENTION_SCENE_IMAGE_DAYS or ` +
          "RETENTION_PLATE_IMAGE_DAYS: a photo cannot outlive its read"))
      : Option.exists(settings.nonhitMinutes, (m) => m > settings.detectionDays * 24 * 60)
      ? Either.left(ConfigError.InvalidData(["RETENTION_NONHIT_MINUTES"],
        "RETENTION_NONHIT_MINUTES is longer than RETENTION_DETECTION_DAYS: a non-hit cannot outlive a hit"))
      : Either.right(settings)
  )
)

const footageConfig: Config.Config<FootageSettings> = Config.all({
  recogniser: Config.literal(...RECOGNISERS)("RECOGNISER").pipe(Config.withDefault("builtin" as const)),
  recogniserUrl: Config.option(Config.string("RECOGNISER_URL").pipe(
    Config.validate({
      message: "RECOGNISER_URL is an http(s) URL, e.g. http://127.0.0.1:32168",
      validation: (text) => {
        try {
          return ["http:", "https:"].includes(new URL(text).protocol)
        } catch {
          return false
        }
      }
    })
  )),
  recogniserToken: Config.option(Config.redacted("RECOGNISER_TOKEN")),
  recogniserRegions: Config.string("RECOGNISER_REGIONS").pipe(
    Config.withDefault(""),
    Config.map((text) => text.split(",").map((r) => r.trim().toLowerCase()).filter((r) => r !== "")),
    Config.validate({
      message: "RECOGNISER_REGIONS is a comma-separated list of region codes, e.g. us,gb",
      validation: (regions) => regions.every((r) => /^[a-z]{2}(-[a-z0-9]{1,3})?$/.test(r))
    })
  ),
  fps: Config.number("FOOTAGE_FPS").pipe(
    Config.withDefault(2),
    Config.validate({ message: "FOOTAGE_FPS is 0.1 to 30 frames a second", validation: (n) => n >= 0.1 && n <= 30 })
  ),
  jobWorkers: Config.integer("JOB_WORKERS").pipe(
    Config.withDefault(1),
    Config.validate({ message: "JOB_WORKERS is 0 to 16 (0: this server runs no jobs)", validation: (n) => n >= 0 && n <= 16 })
  ),
  jobLeaseSeconds: Config.integer("JOB_LEASE_SECONDS").pipe(
    Config.withDefault(60),
    Config.validate({ message: "JOB_LEASE_SECONDS is 3 to 3600", validation: (n) => n >= 3 && n <= 3600 })
  )
})

export const appConfig: Effect.Effect<AppSettings, ConfigError.ConfigError> = Effect.all({
  port: Config.port("PORT").pipe(Config.withDefault(8080)),
  host: Config.string("HOST").pipe(Config.withDefault("0.0.0.0")),
  dataDir: Config.string("DATA_DIR").pipe(Config.withDefault("./data"), Config.map((d) => Path.resolve(d))),
  databaseUrl: Config.option(Config.redacted("DATABASE_URL")),
  databaseOwnerUrl: Config.option(Config.redacted("DATABASE_OWNER_URL")),
  databaseReadUrl: Config.option(Config.redacted("DATABASE_READ_URL")),
  dbPoolSize: Config.integer("DB_POOL_SIZE").pipe(Config.withDefault(12)),
  s3: s3Config,
  publicUrl: Config.option(Config.string("PUBLIC_URL")),
  ingestConcurrency: Config.integer("INGEST_CONCURRENCY").pipe(Config.withDefault(6)),
  ingestMaxQueue: Config.integer("INGEST_MAX_QUEUE").pipe(Config.withDefault(200)),
  commandRedeliverySeconds: Config.integer("COMMAND_REDELIVERY_SECONDS").pipe(Config.withDefault(600)),
  claimCodeHours: Config.integer("CLAIM_CODE_HOURS").pipe(Config.withDefault(24)),
  reasonRequired: Config.boolean("AUDIT_REASON_REQUIRED").pipe(Config.withDefault(true)),
  liveViewAuditSeconds: Config.integer("LIVE_VIEW_AUDIT_SECONDS").pipe(
    Config.validate({ message: "LIVE_VIEW_AUDIT_SECONDS is 1 to 600 seconds", validation: (n) => n >= 1 && n <= 600 }),
    Config.withDefault(60)
  ),
  liveViewTokenSeconds: Config.integer("LIVE_VIEW_TOKEN_SECONDS").pipe(
    // A photo view token lives 30 minutes (audit/PhotoViews.ts): a new one comes at least 5 minutes before.
    Config.validate({
      message: "LIVE_VIEW_TOKEN_SECONDS is 1 to 1500 seconds (a photo view token lives 30 minutes)",
      validation: (n) => n >= 1 && n <= 1500
    }),
    Config.withDefault(20 * 60)
  ),
  healthCheckSeconds: Config.integer("HEALTH_CHECK_SECONDS").pipe(
    Config.validate({ message: "HEALTH_CHECK_SECONDS is 1 to 3600 seconds", validation: (n) => n >= 1 && n <= 3600 }),
    Config.withDefault(30)
  ),
  alertCooldownSeconds: Config.integer("ALERT_COOLDOWN_SECONDS").pipe(Config.withDefault(600)),
  retroAlertDays: Config.integer("RETRO_ALERT_DAYS").pipe(Config.withDefault(7)),
  alertWorkers: Config.integer("ALERT_WORKERS").pipe(Config.withDefault(2)),
  telegramBotToken: Config.option(Config.redacted("TELEGRAM_BOT_TOKEN")),
  telegramApiRoot: Config.string("TELEGRAM_API_ROOT").pipe(Config.withDefault("https://api.telegram.org")),
  webhookAllowHttp: Config.boolean("WEBHOOK_ALLOW_HTTP").pipe(Config.withDefault(false)),
  webhookCaFile: Config.option(Config.string("WEBHOOK_CA_FILE")),
  // Empty (a compose file's placeholder) is unset.
  telegramBotUsername: Config.string("TELEGRAM_BOT_USERNAME").pipe(
    Config.withDefault(""),
    Config.map((name) => name.trim().replace(/^@/, "")),
    Config.validate({
      message: "a Telegram username: 5 to 32 letters, digits and underscores (a bot's ends in \"bot\")",
      validation: (name) => name === "" || /^[A-Za-z][A-Za-z0-9_]{3,30}[A-Za-z0-9]$/.test(name)
    }),
    Config.map((name) => (name === "" ? Option.none() : Option.some(name)))
  ),
  displaySessionDays: Config.integer("DISPLAY_SESSION_DAYS").pipe(
    Config.withDefault(90),
    Config.validate({ message: "DISPLAY_SESSION_DAYS is a whole number of days from 1 to 400", validation: (d) => d >= 1 && d <= 400 })
  ),
  // A bad entry stops the server: trusting the wrong range lets clients choose their own address.
  trustedProxies: Config.string("TRUSTED_PROXIES").pipe(
    Config.withDefault(""),
    Config.mapOrFail((text) =>
      Either.mapLeft(parseProxyList(text), (reason) => ConfigError.InvalidData([], `TRUSTED_PROXIES: ${reason}`))
    )
  ),
  // Empty is unset; a short token is refused rather than guessed.
  metricsToken: Config.redacted("METRICS_TOKEN").pipe(
    Config.withDefault(Redacted.make("")),
    Config.validate({
      message: "METRICS_TOKEN must be at least 24 characters (e.g. openssl rand -hex 24), or unset",
      validation: (token) => Redacted.value(token) === "" || Redacted.value(token).length >= 24
    }),
    Config.map((token) => (Redacted.value(token) === "" ? Option.none() : Option.some(token)))
  ),
  retention: retentionConfig,
  mqtt: mqttConfig,
  evidenceMaxReads: Config.integer("EVIDENCE_MAX_READS").pipe(
    Config.withDefault(5_000),
    Config.validate({ message: "EVIDENCE_MAX_READS is 1 to 50000", validation: (n) => n >= 1 && n <= 50_000 })
  ),
  // A bundle stays under 4 GiB (no zip64, which the single-file verifier does not read): photos twice, and the rest.
  evidenceMaxPhotoBytes: Config.integer("EVIDENCE_MAX_PHOTO_MB").pipe(
    Config.withDefault(1_024),
    Config.validate({ message: "EVIDENCE_MAX_PHOTO_MB is 1 to 1536", validation: (n) => n >= 1 && n <= 1_536 }),
    Config.map((mb) => mb * 1024 * 1024)
  ),
  // Config.boolean reads on/off, true/false, yes/no and 1/0; anything else refuses to start.
  transparencyPage: Config.boolean("TRANSPARENCY_PAGE").pipe(Config.withDefault(true)),
  // A misspelt value stops the server rather than release bundles an admin meant to have approved.
  exportApproval: Config.string("EXPORT_APPROVAL").pipe(
    Config.withDefault("off"),
    Config.mapOrFail((text) => {
      const value = text.trim().toLowerCase()
      return value === "off" || value === "" || value === "required"
        ? Either.right(value === "required" ? "required" as const : "off" as const)
        : Either.left(ConfigError.InvalidData(["EXPORT_APPROVAL"], `EXPORT_APPROVAL is off or required, not "${text}"`))
    })
  ),
  email: emailConfig,
  footage: footageConfig
})

/** The server's settings, read once from the environment (see the README's configuration table). */
export class AppConfig extends Context.Tag("@chaverim/server/AppConfig")<AppConfig, AppSettings>() {
  static readonly layer = Layer.effect(AppConfig, appConfig)
  static readonly make = (overrides: Partial<AppSettings>) =>
    Layer.effect(AppConfig, Effect.map(appConfig, (base) => ({ ...base, ...overrides })))
}
