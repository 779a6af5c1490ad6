import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import type { PendingRead } from "../buffer/Buffer"
import { ReadBuffer } from "../buffer/Buffer"
import type { Central } from "./Central"

/**
 * Drains the buffer to the central server. A batch closes at `maxEvents` reads, at `maxBytes`, or
 * when its oldest read has waited `windowSeconds`. A read is marked uploaded only once the server
 * answered accepted or duplicate for it; reads it rejected go to quarantine with its reason and are
 * not sent again. Everything else (no network, 5xx, 503 with Retry-After, timeouts) leaves the reads
 * where they are and backs off exponentially with full jitter, up to a cap. The server's
 * `X-Backpressure` slows the pace before it has to refuse anything.
 */

export interface UploaderOptions {
  readonly windowSeconds: number
  readonly maxEvents: number
  readonly maxBytes: number
  readonly concurrency: number
  readonly maxBackoffSeconds: number
}

export type UploaderState =
  | { readonly _tag: "Idle" }
  | { readonly _tag: "Uploading" }
  | { readonly _tag: "BackingOff"; readonly reason: string; readonly until: number }
  | { readonly _tag: "KeyRefused" }

/** Room left for the multipart framing of each part. */
const PART_OVERHEAD = 400

/**
 * After the n-th failure in a row, a random wait between 0 and min(cap, 2 s * 2^(n-1)): full jitter,
 * so that collectors cut off together by an outage do not come back together.
 */
export const uploadBackoff = (cap: Duration.DurationInput) =>
  Schedule.exponential("2 seconds").pipe(
    Schedule.modifyDelay((_, delay) => Duration.min(delay, cap)),
    Schedule.jitteredWith({ min: 0, max: 1 })
  )

/** Extra pause before the next batch for a given server load: none below 0.5, up to 2 s at 1. */
export const pauseForBackpressure = (backpressure: number) =>
  backpressure < 0.5 ? 0 : Math.round(2000 * (backpressure - 0.5) * 2)

export const makeUploader = (central: Pick<Central, "upload">, options: UploaderOptions) =>
  Effect.gen(function*() {
    const buffer = yield* ReadBuffer
    const inFlight = new Set<number>()
    const state = yield* Ref.make<UploaderState>({ _tag: "Idle" })
    // Its delays are taken, not slept: the wait is `pauseUntil`, which every worker keeps to. Any
    // success starts it over.
    const backoff = yield* Schedule.driver(
      Schedule.delays(uploadBackoff(Duration.seconds(options.maxBackoffSeconds))).pipe(Schedule.modifyDelay(() => Duration.zero))
    )
    let pauseUntil = 0
    // Shrinks when the server says a batch is too large, grows back after successes.
    let maxEvents = options.maxEvents

    /** The next batch, or how long to wait before one is due. */
    const nextBatch = Effect.gen(function*() {
      const candidates = yield* buffer.pending(maxEvents, inFlight)
      const batch: Array<PendingRead> = []
      let bytes = 0
      for (const read of candidates) {
        const size = read.bytes + PART_OVERHEAD * (1 + read.images.length)
        if (batch.length > 0 && (batch.length >= maxEvents || bytes + size > options.maxBytes)) break
        batch.push(read)
        bytes += size
      }
      if (batch.length === 0) return { batch, waitMs: 500 }
      const full = batch.length >= maxEvents || batch.length < candidates.length || bytes >= options.maxBytes
      const dueAt = batch[0]!.receivedAt + options.windowSeconds * 1000
      // The wall clock, as the buffer's `receivedAt` is.
      const waitMs = full ? 0 : Math.max(0, dueAt - Date.now())
      // Claimed here, with no step in between, so two workers never take the same read.
      if (waitMs === 0) for (const read of batch) inFlight.add(read.seq)
      return { batch, waitMs }
    })

    const send = (batch: ReadonlyArray<PendingRead>) =>
      Effect.gen(function*() {
        yield* Ref.set(state, { _tag: "Uploading" })
        const answer = yield* central.upload(batch)
        const rejected = new Map<string, string>()
        for (const error of answer.result.errors) {
          const read = error.detection_id !== undefined
            ? batch.find((r) => r.detectionId === error.detection_id)
            : batch[error.index]
          if (read !== undefined) rejected.set(read.detectionId, error.message)
        }
        yield* buffer.uploaded(batch.filter((r) => !rejected.has(r.detectionId)).map((r) => r.seq))
        if (rejected.size > 0) {
          yield* buffer.quarantine(batch.filter((r) => rejected.has(r.detectionId)).map((r) => ({
            seq: r.seq,
            reason: rejected.get(r.detectionId)!
          })))
          yield* Effect.logWarning("reads rejected by the central server, quarantined").pipe(
            Effect.annotateLogs({ rejected: rejected.size, first: [...rejected.values()][0] })
          )
        }
        yield* backoff.reset
        maxEvents = Math.min(options.maxEvents, maxEvents * 2)
        // Never shortens a pause already set: another worker's Retry-After or back-off still holds.
        pauseUntil = Math.max(pauseUntil, (yield* Clock.currentTimeMillis) + pauseForBackpressure(answer.backpressure))
        yield* Ref.set(state, { _tag: "Idle" })
      }).pipe(
        Effect.catchTags({
          BatchTooLarge: (e) =>
            batch.length > 1
              ? Effect.sync(() => {
                maxEvents = Math.max(1, Math.floor(batch.length / 2))
              })
              : Effect.zipRight(
                buffer.quarantine([{ seq: batch[0]!.seq, reason: `too large for the central server: ${e.message}` }]),
                Effect.logWarning("a read too large to upload was quarantined")
              ),
          KeyRefused: (e) =>
            Effect.gen(function*() {
              const wait = options.maxBackoffSeconds * 1000
              pauseUntil = (yield* Clock.currentTimeMillis) + wait
              yield* Ref.set(state, { _tag: "KeyRefused" })
              yield* Effect.logError(e.message)
            }),
          CentralUnavailable: (e) =>
            Effect.gen(function*() {
              // Counted on failure only: a commit (and its fsync) per batch on the happy path is not free.
              yield* buffer.attempted(batch.map((r) => r.seq))
              const delay = Math.round(Duration.toMillis(yield* Effect.orDie(backoff.next(undefined))))
              const wait = Math.max(e.retryAfterMs ?? 0, delay)
              pauseUntil = Math.max(pauseUntil, (yield* Clock.currentTimeMillis) + wait)
              yield* Ref.set(state, { _tag: "BackingOff", reason: e.message, until: pauseUntil })
              yield* Effect.logWarning("upload failed; will retry").pipe(
                Effect.annotateLogs({ reason: e.message, retry_in_ms: wait, reads: batch.length })
              )
            })
        })
      )

    const worker = Effect.gen(function*() {
      for (;;) {
        const wait = pauseUntil - (yield* Clock.currentTimeMillis)
        if (wait > 0) {
          yield* Effect.sleep(Math.min(wait, 1000))
          continue
        }
        const { batch, waitMs } = yield* nextBatch
        if (waitMs > 0 || batch.length === 0) {
          yield* Effect.sleep(Math.min(Math.max(waitMs, 50), 500))
          continue
        }
        yield* send(batch).pipe(
          Effect.ensuring(Effect.sync(() => {
            for (const read of batch) inFlight.delete(read.seq)
          }))
        )
      }
    })

    /** Runs `concurrency` workers until interrupted; a batch in flight is finished first. */
    const run = Effect.all(
      Array.from({ length: options.concurrency }, () => worker),
      { concurrency: "unbounded", discard: true }
    )
    return { run, state: Ref.get(state) } as const
  })
