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

const cut = (text: string | undefined, max: number) => (text === undefined ? {} : { value: text.slice(0, max) })

export const cameraReport = (
  cameras: ReadonlyArray<CameraConfig>,
  secrets: Readonly<Record<string, string>>,
  connections: Readonly<Record<string, CameraConnection>>
): Array<DeviceCamera> =>
  cameras.slice(0, REPORTED_CAMERAS).map((camera) => {
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
  })

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
