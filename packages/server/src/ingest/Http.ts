import { AlprApi } from "@chaverim/domain/Api"
import { CurrentCollector } from "@chaverim/domain/Auth"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import { readBatch } from "./BatchBody"
import { Ingest } from "./Ingest"
import { IngestGate } from "./IngestGate"
import { ingestBatches } from "./Metrics"

const countBatch = (outcome: string) => Metric.increment(Metric.tagged(ingestBatches, "outcome", outcome))

export const IngestHttpLayer = HttpApiBuilder.group(AlprApi, "ingest", (handlers) =>
  Effect.gen(function*() {
    const ingest = yield* Ingest
    const gate = yield* IngestGate
    return handlers.handleRaw(
      "batch",
      ({ request }) =>
        Effect.gen(function*() {
          const { collectorId } = yield* CurrentCollector
          const batch = yield* readBatch(request)
          const result = yield* gate.admit(ingest.store(collectorId, batch))
          yield* countBatch("stored")
          return yield* HttpServerResponse.json(result)
        }).pipe(
          Effect.tapError((e) => countBatch(e._tag)),
          // Overloaded is answered here so that it can carry Retry-After.
          Effect.catchTag("Overloaded", (e) =>
            HttpServerResponse.json(
              { _tag: e._tag, message: e.message, retry_after_s: e.retry_after_s },
              { status: 503, headers: { "retry-after": String(e.retry_after_s) } }
            )),
          Effect.catchTags({ SqlError: Effect.die, ObjectStoreError: Effect.die, HttpBodyError: Effect.die })
        ),
      // A batch that has started is finished even while the server shuts down.
      { uninterruptible: true }
    )
  }))

