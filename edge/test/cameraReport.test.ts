import { Heartbeat } from "@chaverim/domain/Collector"
import * as Schema from "effect/Schema"
import { describe, expect, it } from "vitest"
import { cameraReport, REPORTED_BYTES, REPORTED_CAMERAS } from "../src/adapters/CameraReport"
import { cameraSecretKey } from "../src/adapters/Sources"
import type { CameraConfig } from "../src/config/EdgeConfig"

/** The central server refuses a request body over 64 KiB (packages/server/src/http/Security.ts). */
const SERVER_BODY_LIMIT = 64 * 1024

const camera = (i: number, longest: boolean): CameraConfig => ({
  id: `cam-${i}`,
  vendor: "hikvision",
  mode: "pull",
  name: longest ? `Gate ${i} ${"é".repeat(300)}` : `Gate ${i}`,
  url: longest ? `https://10.0.${i % 250}.1/${"a".repeat(600)}` : `https://10.0.${i % 250}.1`,
  username: longest ? "u".repeat(150) : "admin",
  mqtt_url: longest ? `mqtt://broker/${"m".repeat(600)}` : undefined
})

const heartbeatOf = (cameras: ReadonlyArray<CameraConfig>) => ({
  uptime_seconds: 10,
  queue_depth: 0,
  cameras_online: 0,
  config_version: "v".repeat(64),
  edge_version: "0.1.0",
  device_time: "2026-12-07T08:00:00.000+00:00",
  heartbeat_seconds: 60,
  disk: { used_bytes: 1, quota_bytes: 2, full: false },
  cameras: cameraReport(cameras, {}, {})
})

describe("the heartbeat's camera report", () => {
  it("stays under the server's body limit however long the cameras' fields are", () => {
    const cameras = Array.from({ length: REPORTED_CAMERAS }, (_, i) => camera(i, true))
    const heartbeat = heartbeatOf(cameras)
    const bytes = Buffer.byteLength(JSON.stringify(heartbeat))
    expect(bytes).toBeLessThan(SERVER_BODY_LIMIT)
    expect(Buffer.byteLength(JSON.stringify(heartbeat.cameras))).toBeLessThanOrEqual(REPORTED_BYTES)
    // the cameras that fit are reported, in order, with their fields cut to what the server takes
    expect(heartbeat.cameras.length).toBeGreaterThan(10)
    expect(heartbeat.cameras.length).toBeLessThan(REPORTED_CAMERAS)
    expect(heartbeat.cameras.map((c) => c.id)).toEqual(cameras.slice(0, heartbeat.cameras.length).map((c) => c.id))
    expect(heartbeat.cameras[0].url).toHaveLength(500)
    expect(Schema.decodeUnknownEither(Heartbeat)(heartbeat)._tag).toBe("Right")
  })

  it("reports at most the server's 100 cameras, and all of them when they are short", () => {
    const few = heartbeatOf(Array.from({ length: 60 }, (_, i) => camera(i, false)))
    expect(few.cameras).toHaveLength(60)
    const many = heartbeatOf(Array.from({ length: 150 }, (_, i) => camera(i, false)))
    expect(many.cameras).toHaveLength(REPORTED_CAMERAS)
    expect(many.cameras.at(-1)?.id).toBe(`cam-${REPORTED_CAMERAS - 1}`)
    expect(Schema.decodeUnknownEither(Heartbeat)(many)._tag).toBe("Right")
  })

  it("never carries a password, only whether one is stored", () => {
    const [stored, missing] = cameraReport([camera(1, false), camera(2, false)], { [cameraSecretKey("cam-1")]: "s3cret-pw" }, {})
    expect(stored.password_set).toBe(true)
    expect(missing.password_set).toBe(false)
    expect(JSON.stringify(stored)).not.toContain("s3cret-pw")
  })
})
