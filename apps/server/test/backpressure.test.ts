import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Net from "node:net"
import { SHUTDOWN_GRACE_MS } from "../src/Server"
import { detection, fakeJpeg, postBatch, startServer, type TestServer } from "./harness"

const servers: Array<TestServer> = []
afterAll(async () => {
  for (const s of servers) await s.close()
})

const storedCount = async (server: TestServer, ids: ReadonlyArray<string>) =>
  Number((await server.db.query("SELECT count(*) FROM detections WHERE detection_id = ANY($1)", [ids])).rows[0].count)

const imageBatch = (server: TestServer, apiKey: string, events: ReadonlyArray<{ detection_id: string }>, imageBytes: number) => {
  const form = new FormData()
  form.append("batch", JSON.stringify({ events }))
  events.forEach((e, i) => form.append(`plate:${e.detection_id}`, new Blob([fakeJpeg(imageBytes, i)], { type: "image/jpeg" }), "p.jpg"))
  return fetch(`${server.url}/api/v1/detections/batch`, { method: "POST", headers: { authorization: `Bearer ${apiKey}` }, body: form })
}

describe("backpressure", () => {
  it("refuses with 503 and Retry-After only batches of which it stored nothing", async () => {
    const server = await startServer({ ingestConcurrency: 1, ingestMaxQueue: 2 })
    servers.push(server)
    const { apiKey } = await server.collector()
    const batches = Array.from({ length: 24 }, () => Array.from({ length: 50 }, () => detection()))
    const answers = await Promise.all(batches.map((events) => imageBatch(server, apiKey, events, 30_000)))

    const refused = answers.map((r, i) => ({ r, i })).filter(({ r }) => r.status === 503)
    const stored = answers.map((r, i) => ({ r, i })).filter(({ r }) => r.status === 200)
    expect(refused.length + stored.length).toBe(batches.length)
    expect(refused.length).toBeGreaterThan(0)
    expect(stored.length).toBeGreaterThan(0)
    for (const { r, i } of refused) {
      expect(Number(r.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
      expect(await r.json()).toMatchObject({ _tag: "Overloaded" })
      expect(await storedCount(server, batches[i]!.map((e) => e.detection_id))).toBe(0)
    }
    for (const { r, i } of stored) {
      expect(await r.json()).toMatchObject({ accepted: 50 })
      expect(await storedCount(server, batches[i]!.map((e) => e.detection_id))).toBe(50)
    }
    // Every answer reports pressure; under this load some report it high.
    const pressures = answers.map((r) => Number(r.headers.get("x-backpressure")))
    expect(pressures.every((p) => p >= 0 && p <= 1)).toBe(true)
    expect(Math.max(...pressures)).toBeGreaterThan(0.5)
  })

  it("finishes batches in flight when the server shuts down", async () => {
    const server = await startServer()
    servers.push(server)
    const { apiKey } = await server.collector()
    const events = Array.from({ length: 100 }, () => detection())
    // A lock that the batch's inserts wait for: the batch stays admitted and unstored for as long as
    // the test needs, however busy the machine, instead of racing the stop.
    await server.db.query("BEGIN")
    await server.db.query("LOCK TABLE detections IN SHARE MODE")
    let locked = true
    let answered = false
    const pending = imageBatch(server, apiKey, events, 40_000).finally(() => (answered = true))
    try {
      const deadline = Date.now() + 30_000
      while (Number(/^alpr_ingest_inflight_batches\S* (\S+)/m.exec(await server.metrics())?.[1] ?? 0) < 1) {
        if (answered) throw new Error(`the batch was answered (${(await pending).status}) before the server took it in`)
        if (Date.now() > deadline) throw new Error("the server never took the batch in")
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
      const stopping = server.stop()
      // The server is stopping for real (no longer accepting connections) with the batch still held.
      const port = Number(new URL(server.url).port)
      while (await new Promise<boolean>((resolve) => {
        const socket = Net.connect(port, "127.0.0.1")
        socket.once("connect", () => (socket.destroy(), resolve(true)))
        socket.once("error", () => resolve(false))
      })) {
        if (Date.now() > deadline) throw new Error("the server never stopped accepting connections")
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
      expect(answered).toBe(false)
      await server.db.query("COMMIT")
      locked = false
      const answer = await pending
      await stopping
      expect(answer.status).toBe(200)
      expect(await answer.json()).toMatchObject({ accepted: 100 })
    } finally {
      if (locked) await server.db.query("ROLLBACK")
    }
    expect(await storedCount(server, events.map((e) => e.detection_id))).toBe(100)
  })

  it("keeps a small batch quick and unpressured when idle", async () => {
    const server = await startServer()
    servers.push(server)
    const { apiKey } = await server.collector()
    await postBatch(server, apiKey, [detection()])
    const answer = await postBatch(server, apiKey, [detection()])
    expect(answer.status).toBe(200)
    expect(Number(answer.headers.get("x-backpressure"))).toBeLessThan(0.5)
  })
})

describe("stopping", () => {
  it("stops within its grace even when a client holds a request open that it never finishes", async () => {
    const server = await startServer()
    servers.push(server)
    const port = Number(new URL(server.url).port)
    // Headers that never end: Node would wait for them up to its headers timeout (a minute).
    const socket = Net.connect(port, "127.0.0.1")
    await new Promise<void>((resolve) => socket.once("connect", resolve))
    socket.write("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()))
    socket.on("error", () => undefined)
    await new Promise((resolve) => setTimeout(resolve, 100))
    const started = performance.now()
    await server.stop()
    await closed
    const took = performance.now() - started
    expect(took).toBeGreaterThanOrEqual(SHUTDOWN_GRACE_MS - 500)
    expect(took).toBeLessThan(SHUTDOWN_GRACE_MS + 10_000)
  }, 40_000)
})
