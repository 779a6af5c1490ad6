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

export const appConfig: Effect.Effect<AppSettings, ConfigError.ConfigError> = Effect.all({
  port: Config.port("PORT").pipe(Config.withDefault(8080)),
  host: Config.string("HOST").pipe(Config.withDefault("0.0.0.0")),
  dataDir: Config.string("DATA_DIR").pipe(Config.withDefault("./data"), Config.map((d) => Path.resolve(d))),
  databaseUrl: Config.option(Config.redacted("DATABASE_URL")),
  databaseOwnerUrl: Config.option(Config.redacted("DATABASE_OWNER_URL")),
  dbPoolSize: Config.integer("DB_POOL_SIZE").pipe(Config.withDefault(12)),
  s3: s3Config,
  publicUrl: Config.option(Config.string("PUBLIC_URL")),
  ingestConcurrency: Config.integer("INGEST_CONCURRENCY").pipe(Config.withDefault(6)),
  ingestMaxQueue: Config.integer("INGEST_MAX_QUEUE").pipe(Config.withDefault(200)),
  commandRedeliverySeconds: Config.integer("COMMAND_REDELIVERY_SECONDS").pipe(Config.withDefault(600)),
  claimCodeHours: Config.integer("CLAIM_CODE_HOURS").pipe(Config.withDefault(24)),
  reasonRequired: Config.boolean("AUDIT_REASON_REQUIRED").pipe(Config.withDefault(true)),
  alertCooldownSeconds: Config.integer("ALERT_COOLDOWN_SECONDS").pipe(Config.withDefault(600)),
  retroAlertDays: Config.integer("RETRO_ALERT_DAYS").pipe(Config.withDefault(7)),
  alertWorkers: Config.integer("ALERT_WORKERS").pipe(Config.withDefault(2)),
  telegramBotToken: Config.option(Config.redacted("TELEGRAM_BOT_TOKEN")),
  telegramApiRoot: Config.string("TELEGRAM_API_ROOT").pipe(Config.withDefault("https://api.telegram.org")),
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
  )
})

/** The server's settings, read once from the environment (see the README's configuration table). */
export class AppConfig extends Context.Tag("@chaverim/server/AppConfig")<AppConfig, AppSettings>() {
  static readonly layer = Layer.effect(AppConfig, appConfig)
  static readonly make = (overrides: Partial<AppSettings>) =>
    Layer.effect(AppConfig, Effect.map(appConfig, (base) => ({ ...base, ...overrides })))
}
