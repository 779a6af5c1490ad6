import { describe, expect, it } from "@effect/vitest"
import * as Fs from "node:fs"
import * as Path from "node:path"

/**
 * The import direction rule of ARCHITECTURE.md, checked on the source itself: a review forgets, a
 * test does not. Every relative import of packages/server/src is one edge of the graph below.
 */

const SRC = Path.resolve(__dirname, "../src")
const DOMAIN_SRC = Path.resolve(__dirname, "../../domain/src")

/** Facts every capability may use; they import only each other (and packages). */
const isLow = (file: string) =>
  file === "Config.ts" ||
  /^(crypto|csv|db|pdf)\//.test(file) ||
  (file.startsWith("http/") && !isWiring(file)) ||
  // the live feed's journal: a hand-off that writers before the feed append to in their own transaction
  file === "live/Events.ts" ||
  // the outbound channels' outbox: publishers (alerts, later health) write it, channels (telegram) read it
  file.startsWith("outbox/")

/** Composition: may import anything, and is the only thing that imports doors. */
const isWiring = (file: string) => file === "index.ts" || file === "http/ApiLayer.ts" || file === "rpc/RpcLayer.ts"

/**
 * Where requests come in: HTTP handlers (`<capability>/Http.ts`, `search/InvestigationHttp.ts`) and RPC
 * handlers (`<capability>/Rpc.ts`, `displays/WallRpc.ts`); they call any capability's service.
 */
const isDoor = (file: string) => /(^|\/)[A-Za-z]*(Http|Rpc)\.ts$/.test(file)

/** The RPC server under the RPC handlers (its protocol, the session: who calls, from where); only doors use it. */
const isRpcServer = (file: string) => file.startsWith("rpc/") && !isWiring(file)

/**
 * The capabilities, each with those it may import. The read's way runs collectors -> ingest -> alerts
 * (with watchlists) -> live feed, wall displays, Telegram; corrections and search read the stored reads
 * after the fact, off that way, so nothing on it depends on them.
 */
const mayUse: Record<string, ReadonlyArray<string>> = {
  audit: [],
  auth: ["audit"],
  collectors: [],
  images: [],
  ingest: ["collectors", "images"],
  watchlists: ["audit", "auth"],
  alerts: ["audit", "auth", "images", "watchlists"],
  // the fleet's health alerts: the monitor and their listing (before the live feed, which carries them)
  health: ["audit", "auth"],
  // the crops it sends are audited as the connection's photo view (audit/PhotoViews.ts)
  live: ["audit", "auth", "alerts", "health"],
  displays: ["audit", "auth", "alerts"],
  telegram: ["audit", "auth", "images", "alerts", "health"],
  // what the outbound channels beyond Telegram share: their deliveries table, its sender loop, the alert's facts
  outputs: [],
  webhooks: ["audit", "auth", "alerts", "health", "outputs"],
  mqtt: ["audit", "auth", "alerts", "collectors", "health", "outputs"],
  email: ["audit", "auth", "images", "alerts", "health", "outputs"],
  corrections: ["audit", "auth", "images"],
  // a read's page lists the alerts it raised, by the alerts' own visibility rule (alerts/Views.ts)
  search: ["audit", "auth", "images", "alerts", "corrections"],
  // after the reads are stored and searched: bundles a case's reads, photos and audit rows, signed
  evidence: ["audit", "auth", "images"],
  // legal holds: records only; retention's purge (in the database) reads them
  holds: ["audit", "auth"],
  // known plates: a plate's note and tags, keyed by the plate (search filters by them in SQL, importing nothing)
  plates: ["audit", "auth"],
  // applies the retention periods to everything above: deletes reads and photos through the owner's purge
  retention: ["audit", "auth", "images"],
  // the numbers: counted from the tables, alerts by list under the alerts' visibility rule
  stats: ["alerts"],
  // the public report: counts from the tables themselves, nothing imported from the capabilities
  transparency: [],
  system: ["auth", "images"],
  // the durable job queue: long work in PostgreSQL, claimed with SKIP LOCKED (issue 20)
  jobs: [],
  // finding plates in an image: the built-in recogniser and the HTTP ones
  recognise: [],
  // footage as evidence: stored, sampled, recognised in a job, its reads stored by ingest
  footage: ["audit", "auth", "images", "ingest", "jobs", "recognise"]
}

const capabilityOf = (file: string) => file.split("/")[0]!

const sourceFiles = (root: string): ReadonlyArray<string> =>
  Fs.readdirSync(root, { recursive: true, encoding: "utf8" })
    .filter((name) => name.endsWith(".ts"))
    .map((name) => name.split(Path.sep).join("/"))
    .sort()

/** Static imports and re-exports, side-effect imports and dynamic import() calls. */
const specifiersOf = (text: string) =>
  [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)["']([^"']+)["']/g)].map((match) => match[1]!)

interface Edge {
  readonly from: string
  readonly to: string
}

const edgesOf = (files: ReadonlyArray<string>, read: (file: string) => string): ReadonlyArray<Edge> =>
  files.flatMap((from) =>
    specifiersOf(read(from))
      .filter((specifier) => specifier.startsWith("."))
      .map((specifier) => ({
        from,
        to: Path.posix.normalize(Path.posix.join(Path.posix.dirname(from), specifier)).replace(/(\.ts)?$/, ".ts")
      }))
  )

/** Why an edge breaks the rule, or undefined when it keeps it. */
const violation = ({ from, to }: Edge): string | undefined => {
  if (isWiring(from)) return undefined
  if (isWiring(to)) return "only the entry point imports the wiring"
  if (isDoor(to) && capabilityOf(to) !== capabilityOf(from)) return "a door (HTTP handlers, RPC) is imported only by the wiring"
  if (isRpcServer(to) && !isDoor(from) && !isRpcServer(from)) return "the RPC server (rpc/) is used only by doors"
  if (isLow(from)) return isLow(to) ? undefined : "a low module imports only low modules"
  if (isLow(to) || isDoor(from) || isRpcServer(from)) return undefined
  const [own, other] = [capabilityOf(from), capabilityOf(to)]
  if (own === other) return undefined
  if (!(own in mayUse)) return `${own}/ is not placed in the import rule (add it to mayUse)`
  if (!(other in mayUse)) return `${other}/ is not placed in the import rule (add it to mayUse)`
  return mayUse[own]!.includes(other) ? undefined : `${own}/ may not import ${other}/ (it may use: ${mayUse[own]!.join(", ") || "nothing"})`
}

const report = (edges: ReadonlyArray<Edge>) =>
  edges.flatMap((edge) => {
    const why = violation(edge)
    return why === undefined ? [] : [`${edge.from} -> ${edge.to}: ${why}`]
  })

describe("the import direction rule", () => {
  const files = sourceFiles(SRC)
  const edges = edgesOf(files, (file) => Fs.readFileSync(Path.join(SRC, file), "utf8"))

  it("holds for every import of packages/server/src", () => {
    expect(edges.length).toBeGreaterThan(100)
    expect(report(edges)).toEqual([])
  })

  it("places every capability folder of packages/server/src", () => {
    const folders = new Set(files.filter((file) => file.includes("/") && !isLow(file) && !isWiring(file) && !isDoor(file) && !isRpcServer(file)).map(capabilityOf))
    expect([...folders].filter((folder) => !(folder in mayUse))).toEqual([])
  })

  it("refuses the edges of the old layout", () => {
    const old: ReadonlyArray<Edge> = [
      { from: "live/LiveFeed.ts", to: "rpc/Protocol.ts" },
      { from: "auth/UserAuth.ts", to: "collectors/Http.ts" },
      { from: "alerts/Alerts.ts", to: "search/Cursor.ts" },
      { from: "alerts/Views.ts", to: "search/Location.ts" },
      { from: "alerts/AlertsLayer.ts", to: "live/LiveFeed.ts" },
      { from: "db/Cursor.ts", to: "search/Search.ts" },
      { from: "http/ClientAddress.ts", to: "auth/Accounts.ts" }
    ]
    expect(old.map(violation).every((why) => why !== undefined)).toBe(true)
  })

  it("keeps the domain package free of the server and of Node", () => {
    const domain = sourceFiles(DOMAIN_SRC)
    const serverOnly = domain.flatMap((file) =>
      specifiersOf(Fs.readFileSync(Path.join(DOMAIN_SRC, file), "utf8"))
        .filter((specifier) => /^(@chaverim\/server|@effect\/platform-node|@effect\/sql-pg|node:)/.test(specifier))
        .map((specifier) => `${file} -> ${specifier}`)
    )
    expect(domain.length).toBeGreaterThan(5)
    expect(serverOnly).toEqual([])
  })
})
