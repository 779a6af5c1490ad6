import { Accounts, AppConfig, Collectors, HealthMonitor } from "@chaverim/server"
import type { AppSettings } from "@chaverim/server/Config"
import * as HttpServer from "@effect/platform/HttpServer"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { createHash, randomBytes } from "node:crypto"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import type pg from "pg"
import { connect, freshDatabase } from "../../../test-support/Database"
import { ServerLayer } from "../src/Server"

export interface TestServer {
  readonly url: string
  readonly dataDir: string
  readonly databaseUrl: string
  /** Direct database access for assertions and for what only an admin could do. */
  readonly db: pg.Client
  readonly run: <A, E>(effect: Effect.Effect<A, E, Accounts | Collectors | HttpServer.HttpServer>) => Promise<A>
  /** The server's runtime, for effects needing any of its services. */
  readonly runtime: ManagedRuntime.ManagedRuntime<Layer.Layer.Success<typeof ServerLayer>, unknown>
  /** A claimed collector and its API key, through the real claim endpoint. */
  readonly collector: (name?: string) => Promise<{ readonly collectorId: string; readonly apiKey: string }>
  /** A signed-in user's cookie header. */
  readonly session: (role?: "admin" | "operator" | "viewer") => Promise<string>
  /** A user and a session of theirs (already expired with `expired: true`), with the cookie header. */
  readonly signIn: (
    role?: "admin" | "operator" | "viewer",
    options?: { readonly expired?: boolean }
  ) => Promise<SignedIn>
  /** /metrics' Prometheus text, read with the server's METRICS_TOKEN. */
  readonly metrics: () => Promise<string>
  /** Shuts the server down as SIGTERM would (in-flight requests are finished first). */
  readonly stop: () => Promise<void>
  readonly close: () => Promise<void>
}

export interface SignedIn {
  readonly cookie: string
  /** for `X-CSRF-Token` on state-changing requests */
  readonly csrf: string
  readonly userId: string
  readonly username: string
  /** SHA-256 of the session token: the `sessions` row's key. */
  readonly sessionHash: string
}

/** The test servers' METRICS_TOKEN (a Prometheus scraper's bearer token). */
export const METRICS_TOKEN = "test-metrics-token-0123456789abcdef"

/**
 * The real server (HTTP, services, PostgreSQL) on a free port, with a database of its own, or on the
 * database at `options.databaseUrl` (a second server, or one restarted), which `close` then leaves.
 */
export const startServer = async (
  overrides: Partial<AppSettings> = {},
  options: { readonly databaseUrl?: string } = {}
): Promise<TestServer> => {
  const database = options.databaseUrl === undefined
    ? await freshDatabase()
    : { url: options.databaseUrl, drop: () => Promise.resolve() }
  const dataDir = await Fs.mkdtemp(Path.join(Os.tmpdir(), "alpr-test-data-"))
  const config = AppConfig.make({
    port: 0,
    host: "127.0.0.1",
    dataDir,
    databaseUrl: Option.some(Redacted.make(database.url)),
    s3: Option.none(),
    metricsToken: Option.some(Redacted.make(METRICS_TOKEN)),
    ...overrides
  })
  const runtime = ManagedRuntime.make(
    ServerLayer.pipe(
      Layer.provide(config),
      Layer.provide(Logger.minimumLogLevel(LogLevel.Warning))
    )
  )
  const address = await runtime.runPromise(HttpServer.HttpServer).then((server) => server.address)
  if (address._tag !== "TcpAddress") throw new Error("expected a TCP address")
  const url = `http://127.0.0.1:${address.port}`
  const db = await connect(database.url)

  const collector = async (name = "test collector") => {
    const created = await runtime.runPromise(Effect.flatMap(Collectors, (c) => c.create(name)))
    const response = await fetch(`${url}/api/v1/collectors/claim`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ claim_code: created.claim_code, hardware_id: `hw-${randomBytes(4).toString("hex")}` })
    })
    if (response.status !== 201) throw new Error(`claim failed: ${response.status} ${await response.text()}`)
    const body = (await response.json()) as { collector_id: string; api_key: string }
    return { collectorId: body.collector_id, apiKey: body.api_key }
  }

  const signIn = async (role: "admin" | "operator" | "viewer" = "operator", options: { readonly expired?: boolean } = {}) => {
    const token = randomBytes(32).toString("base64url")
    const username = `user-${randomBytes(4).toString("hex")}`
    const { rows } = await db.query<{ id: string }>(
      "INSERT INTO users (username, role) VALUES ($1, $2) RETURNING id",
      [username, role]
    )
    const sessionHash = createHash("sha256").update(token).digest("hex")
    const csrf = randomBytes(24).toString("base64url")
    await db.query(
      `INSERT INTO sessions (token_hash, user_id, expires_at, csrf_token)
       VALUES ($1, $2, now() + ${options.expired ? "interval '-1 minute'" : "interval '1 hour'"}, $3)`,
      [sessionHash, rows[0]!.id, csrf]
    )
    return { cookie: `alpr_session=${token}`, csrf, userId: rows[0]!.id, username, sessionHash }
  }

  const session = async (role: "admin" | "operator" | "viewer" = "operator") => (await signIn(role)).cookie

  return {
    url,
    dataDir,
    databaseUrl: database.url,
    db,
    run: (effect) => runtime.runPromise(effect),
    runtime,
    collector,
    session,
    signIn,
    metrics: () => fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } }).then((r) => r.text()),
    stop: () => runtime.dispose(),
    close: async () => {
      await runtime.dispose()
      await db.end()
      await database.drop()
      await Fs.rm(dataDir, { recursive: true, force: true })
    }
  }
}

let sequence = 0

/** A valid detection; fields may be overridden. */
export const detection = (overrides: Record<string, unknown> = {}) => ({
  detection_id: `det-${Date.now()}-${++sequence}-${randomBytes(3).toString("hex")}`,
  timestamp: new Date().toISOString(),
  camera: { id: "cam-1", mac: "AA:BB:CC:DD:EE:01", name: "Main St northbound" },
  plate: { text: "ABC-1234", confidence: 0.93 },
  vehicle: { direction: "in", type: "car", color: "blue", make: "Toyota" },
  location: { lat: 41.1, lon: -74.05 },
  ...overrides
})

/**
 * A real failure inside the database (as a full disk or a bug in a trigger would be): inserting a row
 * of `table` with `plate` raises, until the returned function takes the trigger away.
 */
export const refuseInserts = async (db: pg.Client, table: "alerts" | "detections", plate: string) => {
  if (!/^[A-Z0-9]+$/.test(plate)) throw new Error(`refuseInserts takes a normalised plate, not ${plate}`)
  const name = `test_refuse_${table}`
  await db.query(`
    CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.plate = '${plate}' THEN RAISE EXCEPTION 'refused for the test'; END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER ${name} BEFORE INSERT ON ${table} FOR EACH ROW EXECUTE FUNCTION ${name}();`)
  return () => db.query(`DROP TRIGGER ${name} ON ${table}; DROP FUNCTION ${name}()`).then(() => undefined)
}

export const postBatch = (server: TestServer, apiKey: string, events: ReadonlyArray<unknown>) =>
  fetch(`${server.url}/api/v1/detections/batch`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${apiKey}` },
    body: JSON.stringify({ events })
  })

/** A collector's heartbeat with the fields every collector sends, and the device's clock as `now`; `overrides` win. */
export const heartbeatBody = (overrides: Record<string, unknown> = {}) => ({
  uptime_seconds: 100,
  queue_depth: 0,
  cameras_online: 0,
  config_version: "v1",
  edge_version: "test",
  device_time: new Date().toISOString(),
  heartbeat_seconds: 60,
  ...overrides
})

/** Sends a heartbeat for the collector whose key is `apiKey` (a device `aheadMs` ahead of the server's clock, when given). */
export const postHeartbeat = (server: TestServer, apiKey: string, overrides: Record<string, unknown> = {}) =>
  fetch(`${server.url}/api/v1/collectors/heartbeat`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${apiKey}` },
    body: JSON.stringify(heartbeatBody(overrides))
  })

/** Runs the health monitor's check once, now (tests start the server with its own loop far apart). */
export const checkHealth = (server: TestServer) => server.runtime.runPromise(Effect.flatMap(HealthMonitor, (m) => m.check))

/** A small but real JPEG-shaped payload of the given size. */
export const fakeJpeg = (size: number, seed = 1): Uint8Array => {
  const bytes = new Uint8Array(size)
  for (let i = 4; i < size - 2; i++) bytes[i] = (i * 31 + seed * 17) & 0xff
  // A JPEG's start-of-image marker and an APP0 segment: the server takes photos by their bytes.
  bytes.set([0xff, 0xd8, 0xff, 0xe0], 0)
  bytes[size - 2] = 0xff
  bytes[size - 1] = 0xd9
  return bytes
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `check` every 50 ms until it returns something other than undefined; fails naming `what` after `timeoutMs`. */
export const until = async <A>(
  check: () => A | undefined | Promise<A | undefined>,
  what: string,
  timeoutMs = 20_000
): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const value = await check()
    if (value !== undefined) return value
    await sleep(50)
  }
  throw new Error(`timed out waiting for ${what}`)
}
