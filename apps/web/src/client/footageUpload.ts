import type { FootageUploadStart, FootageUploadState } from "@chaverim/domain/Footage"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import { Api } from "./api"
import { notifySignedOut } from "./hooks"
import { fromExit, type Remote } from "./problem"
import { runApi } from "./useApi"

/**
 * Failures worth going on after: the connection (dropped, timed out, the server restarting behind
 * its proxy), a chunk that did not start where the upload stands, a store briefly unavailable.
 */
const passing = (error: { readonly _tag: string }) => {
  switch (error._tag) {
    case "RequestError":
    case "UploadOffsetConflict":
    case "ServiceUnavailable":
      return true
    case "ResponseError":
      return "response" in error && (error.response as { readonly status: number }).status >= 500
    default:
      return false
  }
}

// A few tries, half a second, a second, two, ... apart (at most 8 s), before the upload gives up and
// says why; a chunk that gets through starts the count again.
const RETRY = Schedule.exponential(Duration.millis(500), 2).pipe(
  Schedule.jittered,
  Schedule.union(Schedule.spaced(Duration.seconds(8))),
  Schedule.intersect(Schedule.recurs(6))
)

export interface UploadProgress {
  readonly state: FootageUploadState
  /** the last try failed and the upload is finding out where it stands */
  readonly reconnecting: boolean
}

/**
 * Uploads `file` in the chunks the server asks for. After a failed chunk (the network, a 409) it asks
 * the server where the upload stands and goes on from there, so nothing is sent twice and nothing is
 * lost; `onProgress` hears of every step. Ends with the state whose `job_id` names the footage's job.
 */
const upload = (
  file: Blob,
  facts: FootageUploadStart,
  onProgress: (progress: UploadProgress) => void
) =>
  Effect.gen(function*() {
    const api = yield* Api
    let state = yield* api.footage.start({ payload: facts })
    let lost = false
    onProgress({ state, reconnecting: false })

    const step = Effect.suspend(() =>
      Effect.gen(function*() {
        if (lost) {
          state = yield* api.footage.status({ path: { id: state.upload_id } })
          lost = false
          onProgress({ state, reconnecting: true })
        }
        if (state.job_id !== null) return state
        if (state.offset >= state.size_bytes) {
          // Every byte is in: a server is taking the file in, or its take-in failed and is asked again.
          // (a 4 GiB file takes a minute or so: asked again every two seconds, never counted as a failure)
          if (state.completing) {
            yield* Effect.sleep(Duration.seconds(2))
            return yield* api.footage.status({ path: { id: state.upload_id } })
          }
          return yield* api.footage.complete({ path: { id: state.upload_id } })
        }
        const end = Math.min(state.offset + state.chunk_bytes, state.size_bytes)
        const bytes = new Uint8Array(yield* Effect.promise(() => file.slice(state.offset, end).arrayBuffer()))
        return yield* api.footage.chunk({ path: { id: state.upload_id }, headers: { "upload-offset": state.offset }, payload: bytes })
      })
    ).pipe(
      Effect.tapError((error) =>
        Effect.sync(() => {
          if (!passing(error)) return
          lost = true
          onProgress({ state, reconnecting: true })
        })),
      Effect.retry({ schedule: RETRY, while: passing })
    )

    while (state.job_id === null) {
      state = yield* step
      onProgress({ state, reconnecting: false })
    }
    return state
  })

/** The upload as the page sees it: a plain value; aborting `signal` stops it where it is. */
export const uploadFootage = async (
  file: Blob,
  facts: FootageUploadStart,
  onProgress: (progress: UploadProgress) => void,
  signal: AbortSignal
): Promise<Remote<FootageUploadState>> => {
  const remote = fromExit(await runApi(upload(file, facts, onProgress), signal))
  if (remote.state === "failed" && remote.problem.kind === "signed-out") notifySignedOut()
  return remote
}
