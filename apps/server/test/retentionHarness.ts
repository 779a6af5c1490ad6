import { Images, Retention } from "@chaverim/server"
import type { RetentionSettings } from "@chaverim/server/Config"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { detection, fakeJpeg, type SignedIn, type TestServer } from "./harness"

/** The default periods (photos a year, reads seven years), non-hits off, never scheduled; override any. */
export const retentionSettings = (overrides: Partial<RetentionSettings> = {}): RetentionSettings => ({
  sceneImageDays: 365,
  plateImageDays: 365,
  detectionDays: 2557,
  nonhitMinutes: Option.none(),
  intervalMinutes: Option.none(),
  ...overrides
})

export const ago = (ms: number) => new Date(Date.now() - ms).toISOString()
export const daysAgo = (days: number) => ago(days * 86_400_000)

export interface Stored {
  /** the read's id (detections.id) */
  readonly id: string
  readonly detectionId: string
}

/**
 * Reads with a plate crop and a scene photo each, through the real multipart ingest endpoint; returns
 * their ids in the order given.
 */
export const ingestWithPhotos = async (
  server: TestServer,
  apiKey: string,
  reads: ReadonlyArray<{ readonly plate: string; readonly at: string; readonly camera?: string }>
): Promise<ReadonlyArray<Stored>> => {
  const events = reads.map((r, i) =>
    detection({
      timestamp: r.at,
      plate: { text: r.plate, confidence: 0.9 },
      ...(r.camera === undefined ? {} : { camera: { id: r.camera, mac: "AA:BB:CC:DD:EE:09", name: r.camera } }),
      detection_id: `ret-${Date.now()}-${i}-${Math.random().toString(36).slice(2, 8)}`
    })
  )
  const form = new FormData()
  form.append("batch", JSON.stringify({ events }))
  events.forEach((event, i) => {
    form.append(`plate:${event.detection_id}`, new Blob([fakeJpeg(2_000, i + 1)], { type: "image/jpeg" }), "plate.jpg")
    form.append(`scene:${event.detection_id}`, new Blob([fakeJpeg(6_000, i + 7)], { type: "image/jpeg" }), "scene.jpg")
  })
  const response = await fetch(`${server.url}/api/v1/detections/batch`, {
    method: "POST",
    headers: { authorization: `Bearer ${apiKey}` },
    body: form
  })
  const body = await response.json() as { accepted: number }
  if (response.status !== 200 || body.accepted !== events.length) throw new Error(`ingest: ${response.status} ${JSON.stringify(body)}`)
  const { rows } = await server.db.query<{ id: string; detection_id: string }>(
    "SELECT id::text AS id, detection_id FROM detections WHERE detection_id = ANY($1)",
    [events.map((e) => e.detection_id)]
  )
  return events.map((e) => {
    const row = rows.find((r) => r.detection_id === e.detection_id)!
    return { id: row.id, detectionId: e.detection_id }
  })
}

/** The object keys of a read's photo rows, plate first. */
export const photoKeys = async (server: TestServer, id: string) =>
  (await server.db.query<{ object_key: string }>(
    "SELECT object_key FROM detection_images WHERE detection_id = $1 ORDER BY kind",
    [id]
  )).rows.map((r) => r.object_key)

export const readExists = async (server: TestServer, id: string) =>
  (await server.db.query("SELECT 1 FROM detections WHERE id = $1", [id])).rowCount === 1

/** A run of the job in the server's process, as the schedule starts it. */
export const runRetention = (server: TestServer, dryRun = false, batchSize?: number) =>
  server.runtime.runPromise(Effect.flatMap(Retention, (retention) => retention.run({ dryRun, trigger: "cli", batchSize })))

/** The objects no photo row points at, as `alpr images orphans` lists them. */
export const orphans = (server: TestServer) =>
  server.runtime.runPromise(
    Effect.flatMap(Images, (images) => Stream.runCollect(images.orphans())).pipe(Effect.map(Chunk.toReadonlyArray))
  )

/** A JSON request to the HTTP API as a signed-in user (with the CSRF token). */
export const api = (server: TestServer, user: SignedIn, path: string, init: { method?: string; body?: unknown } = {}) =>
  fetch(`${server.url}${path}`, {
    method: init.method ?? "GET",
    headers: {
      cookie: user.cookie,
      "x-csrf-token": user.csrf,
      ...(init.body === undefined ? {} : { "content-type": "application/json" })
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) })
  })

/** The audit rows of these actions, oldest first. */
export const auditOf = async (server: TestServer, actions: ReadonlyArray<string>) =>
  (await server.db.query<{ action: string; actor_username: string | null; target: string | null; details: any; outcome: string }>(
    "SELECT action, actor_username, target, details, outcome FROM audit_log WHERE action = ANY($1) ORDER BY id",
    [actions]
  )).rows
