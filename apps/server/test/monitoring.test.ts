import * as Fs from "node:fs"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { parse } from "yaml"
import { LiveClient } from "./alertHarness"
import { checkHealth, detection, postBatch, postHeartbeat, startServer, type TestServer } from "./harness"

const ROOT = Path.resolve(import.meta.dirname, "../../..")
const MONITORING = Path.join(ROOT, "deploy/monitoring")
const read = (path: string) => Fs.readFileSync(path, "utf8")

/** Every metric name a PromQL expression names (a histogram's series by the histogram's name). */
const metricsIn = (expr: string) => [...expr.matchAll(/\balpr_[a-z0-9_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, ""))

/** The metric names the server's source defines. */
const definedMetrics = (() => {
  const names = new Set<string>()
  const walk = (dir: string) => {
    for (const entry of Fs.readdirSync(dir, { withFileTypes: true })) {
      const path = Path.join(dir, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (entry.name.endsWith(".ts")) for (const m of read(path).matchAll(/"(alpr_[a-z0-9_]+)"/g)) names.add(m[1]!)
    }
  }
  walk(Path.join(ROOT, "packages/server/src"))
  return names
})()

/** The series of a metric in Prometheus text, with their labels. */
const series = (text: string, name: string) =>
  text.split("\n").filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))

describe("metrics for Prometheus", () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer({ healthCheckSeconds: 3600 })
  })
  afterAll(() => server?.close())

  it("counts requests by the API's route pattern, never by the path as sent, and times them", async () => {
    const admin = await server.signIn("admin")
    const get = (path: string, init: RequestInit = {}) => fetch(`${server.url}${path}`, { ...init, headers: { cookie: admin.cookie } })
    await get("/api/v1/detections/123456")
    await get("/api/v1/detections/99/images/plate")
    await get("/api/v1/no/such/thing?plate=SECRET1")
    await get("/some/page/of/the/web/app")
    await get("/health")
    const text = await server.metrics()
    const requests = series(text, "alpr_http_requests_total")
    expect(requests.some((l) => /method="GET"/.test(l) && /route="\/api\/v1\/detections\/:id"/.test(l) && /status="4\d\d"/.test(l))).toBe(true)
    expect(requests.some((l) => /route="\/api\/v1\/detections\/:id\/images\/:kind"/.test(l))).toBe(true)
    expect(requests.some((l) => /route="other"/.test(l))).toBe(true)
    expect(requests.some((l) => /route="web"/.test(l))).toBe(true)
    expect(requests.some((l) => /route="\/health"/.test(l) && /status="200"/.test(l))).toBe(true)
    // No path as sent, no query: the series are bounded by the API.
    expect(text).not.toContain("123456")
    expect(text).not.toContain("SECRET1")
    expect(text).not.toContain("/api/v1/no/such")
    expect(series(text, "alpr_http_request_duration_seconds_bucket").some((l) => /route="\/health"/.test(l))).toBe(true)
  })

  it("reports each collector and camera as the last health check saw them", async () => {
    const { apiKey, collectorId } = await server.collector("Gauge site")
    const response = await postBatch(server, apiKey, [detection({ received_at: new Date(Date.now() - 3_000).toISOString() })])
    expect(response.status).toBe(200)
    const beat = await postHeartbeat(server, apiKey, {
      cameras_online: 1, device_time: new Date(Date.now() + 3_000).toISOString(), heartbeat_seconds: 30,
      disk: { used_bytes: 250, quota_bytes: 1_000, full: false }
    })
    expect(beat.status).toBe(200)
    await checkHealth(server)
    const text = await server.metrics()
    const line = (name: string) => series(text, name).find((l) => l.includes(`collector_id="${collectorId}"`)) ?? ""
    const value = (name: string) => Number(line(name).split(" ").at(-1))
    // by id only; the name is the info series'
    expect(line("alpr_collector_clock_skew_seconds")).not.toContain("Gauge site")
    expect(line("alpr_collector_info")).toContain('collector="Gauge site"')
    expect(value("alpr_collector_info")).toBe(1)
    expect(value("alpr_collector_clock_skew_seconds")).toBeCloseTo(3, 0)
    expect(value("alpr_collector_buffer_fill_ratio")).toBe(0.25)
    expect(value("alpr_collector_heartbeat_seconds")).toBe(30)
    expect(line("alpr_camera_reads_last_hour")).not.toContain("Main St northbound")
    expect(line("alpr_camera_info")).toContain('camera="Main St northbound"')
    expect(value("alpr_camera_reads_last_hour")).toBe(1)
    expect(value("alpr_camera_clock_offset_seconds")).toBeCloseTo(3, 0)
    expect(series(text, "alpr_health_alerts_open").some((l) => /kind="collector_clock"/.test(l) && / 1$/.test(l))).toBe(true)
    expect(series(text, "alpr_health_check_timestamp_seconds")).toHaveLength(1)
    // each check that ran is timed
    expect(Number(series(text, "alpr_health_check_seconds_count")[0]?.split(" ").at(-1))).toBeGreaterThanOrEqual(1)

    // Renamed: its figures stay one series; the old name's info drops to 0, the new one's is 1.
    await server.db.query("UPDATE collectors SET name = 'Gauge site renamed' WHERE id = $1", [collectorId])
    await checkHealth(server)
    const after = await server.metrics()
    const ours = (name: string) => series(after, name).filter((l) => l.includes(`collector_id="${collectorId}"`))
    expect(ours("alpr_collector_clock_skew_seconds")).toHaveLength(1)
    expect(ours("alpr_collector_info").map((l) => [l.includes('collector="Gauge site renamed"') ? "new" : "old", l.split(" ").at(-1)]).sort())
      .toEqual([["new", "1"], ["old", "0"]])
  })

  it("times a read from stored to its live message on a screen's socket", async () => {
    const admin = await server.signIn("admin")
    const client = await LiveClient.open(server, admin.cookie)
    await client.next((m) => m.type === "hello")
    const { apiKey } = await server.collector("Screen site")
    const event = detection({ plate: { text: "SCR 0001", confidence: 0.9 } })
    expect((await postBatch(server, apiKey, [event])).status).toBe(200)
    await client.next((m) => m.type === "detection" && m.detection.plate_text === "SCR 0001")
    await client.close()
    const count = series(await server.metrics(), "alpr_live_to_screen_seconds_count")
    expect(count).toHaveLength(1)
    expect(Number(count[0]!.split(" ").at(-1))).toBeGreaterThanOrEqual(1)
  })

  it("ships Prometheus rules and a Grafana dashboard that name only metrics the server has", () => {
    const rules = parse(read(Path.join(MONITORING, "alerts.yml"))) as {
      groups: Array<{ name: string; rules: Array<{ alert: string; expr: string; labels: { severity: string }; annotations: { summary: string } }> }>
    }
    const all = rules.groups.flatMap((g) => g.rules)
    expect(all.length).toBeGreaterThanOrEqual(8)
    for (const rule of all) {
      expect(rule.alert, JSON.stringify(rule)).toMatch(/^Alpr[A-Za-z]+$/)
      expect(["critical", "warning"]).toContain(rule.labels.severity)
      expect(rule.annotations.summary.length).toBeGreaterThan(10)
      for (const name of metricsIn(rule.expr)) expect(definedMetrics, `${rule.alert}: ${name}`).toContain(name)
    }
    const dashboard = JSON.parse(read(Path.join(MONITORING, "grafana/dashboards/alpr.json"))) as {
      uid: string
      panels: Array<{ title: string; targets: Array<{ expr: string }> }>
    }
    expect(dashboard.panels.length).toBeGreaterThanOrEqual(10)
    for (const panel of dashboard.panels) {
      expect(panel.targets.length, panel.title).toBeGreaterThan(0)
      for (const target of panel.targets) {
        const names = metricsIn(target.expr)
        expect(names.length, `${panel.title}: ${target.expr}`).toBeGreaterThan(0)
        for (const name of names) expect(definedMetrics, `${panel.title}: ${name}`).toContain(name)
      }
    }
    // Prometheus loads the rules; Grafana, Prometheus and the dashboard the compose profile mounts.
    const prometheus = parse(read(Path.join(MONITORING, "prometheus.yml"))) as { rule_files: Array<string>; scrape_configs: Array<{ authorization: { type: string } }> }
    expect(prometheus.rule_files).toEqual(["/etc/prometheus/alerts.yml"])
    expect(prometheus.scrape_configs[0]!.authorization.type).toBe("Bearer")
    const compose = parse(read(Path.join(ROOT, "docker-compose.yml"))) as {
      services: Record<string, { profiles?: Array<string>; volumes?: Array<string> }>
    }
    for (const name of ["prometheus", "grafana"]) {
      const service = compose.services[name]!
      expect(service.profiles).toEqual(["monitoring"])
      for (const volume of service.volumes ?? []) {
        const source = volume.split(":")[0]!
        if (source.startsWith("./")) expect(Fs.existsSync(Path.join(ROOT, source)), volume).toBe(true)
      }
    }
    // The app is in no profile: `docker compose up` without one starts it as before.
    expect(compose.services["app"]!.profiles).toBeUndefined()
  })
})
