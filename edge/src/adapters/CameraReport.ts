import type { DeviceCamera } from "@chaverim/domain/CameraConnection"
import * as Effect from "effect/Effect"
import type { CameraConfig } from "../config/EdgeConfig"
import type { SecretStore } from "../provisioning/Secrets"
import { testCameraConnection } from "./pull/ConnectionTest"
import { type CameraConnection, cameraSecretKey } from "./Sources"

/**
 * What the collector tells the central server about its cameras (issue 19): in every heartbeat, the
 * cameras it runs as its layers merge them, whether each has its password here, and how each
 * connection goes; the admin panel shows where that differs from what it set. Never a password.
 */

/** The heartbeat carries at most this many (the server's limit); a site has far fewer. */
export const REPORTED_CAMERAS = 100
/**
 * ...and at most this many bytes of them as JSON: the server refuses a body over 64 KiB, and a
 * refused heartbeat would make the collector look silent. 100 cameras with the longest URLs the
 * report allows would be some 200 KB; the cameras past the limit are left out of that beat's report.
 */
export const REPORTED_BYTES = 48 * 1024

const cut = (text: string | undefined, max: number) => (text === undefined ? {} : { value: text.slice(0, max) })

export const cameraReport = (
  cameras: ReadonlyArray<CameraConfig>,
  secrets: Readonly<Record<string, string>>,
  connections: Readonly<Record<string, CameraConnection>>
): Array<DeviceCamera> => {
  const out: Array<DeviceCamera> = []
  let bytes = 2
  for (const camera of cameras.slice(0, REPORTED_CAMERAS)) {
    const entry = reportOf(camera, secrets, connections)
    bytes += Buffer.byteLength(JSON.stringify(entry)) + 1
    if (bytes > REPORTED_BYTES) break
    out.push(entry)
  }
  return out
}

const reportOf = (
  camera: CameraConfig,
  secrets: Readonly<Record<string, string>>,
  connections: Readonly<Record<string, CameraConnection>>
): DeviceCamera => {
  const connection = connections[camera.id]
  const field = (name: "name" | "url" | "username" | "mqtt_url", max: number) => {
    const value = cut(camera[name], max)
    return "value" in value ? { [name]: value.value } : {}
  }
  return {
    id: camera.id.slice(0, 200),
    vendor: camera.vendor,
    mode: camera.mode,
    ...field("name", 200),
    ...field("url", 500),
    ...field("username", 100),
    ...field("mqtt_url", 500),
    password_set: secrets[cameraSecretKey(camera.id)] !== undefined,
    ...(connection === undefined ? {} : {
      connection: {
        state: connection.state,
        ...(connection.message === undefined ? {} : { message: connection.message.slice(0, 500) })
      }
    })
  }
}

/**
 * Tests the login of each camera (with the password held here), a few at a time, and says how each
 * went in one line: what a central push of cameras answers with, so the admin sees it in the panel.
 */
export const testCameras = (cameras: ReadonlyArray<CameraConfig>, secrets: SecretStore) =>
  Effect.gen(function*() {
    const stored = yield* secrets.read
    const results = yield* Effect.forEach(
      cameras,
      (camera) =>
        Effect.map(testCameraConnection(camera, stored[cameraSecretKey(camera.id)]), (result) =>
          `${camera.id}: ${result.ok ? "ok" : "FAILED"}, ${result.message}`),
      { concurrency: 4 }
    )
    return results.join("; ")
  })
