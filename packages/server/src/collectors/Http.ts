import { AlprApi } from "@chaverim/domain/Api"
import { CollectorApiKeyAuth, CollectorAuth, CurrentCollector } from "@chaverim/domain/Auth"
import { Unauthorized } from "@chaverim/domain/Errors"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { clientAddress } from "../http/ClientAddress"
import { Collectors } from "./Collectors"

/** The collector of an API key: an unknown, revoked or malformed key and a disabled collector all get 401. */
const collectorOf = (collectors: Collectors) => (key: Redacted.Redacted<string>) =>
  collectors.authenticate(Redacted.value(key)).pipe(
    Effect.orDie,
    Effect.flatMap(Option.match({
      onNone: () => Effect.fail(new Unauthorized({ message: "unknown, revoked or missing API key" })),
      onSome: Effect.succeed
    }))
  )

/** Bearer API keys. */
export const CollectorAuthLayer = Layer.effect(
  CollectorAuth,
  Effect.map(Collectors, (collectors) => ({ bearer: collectorOf(collectors) }))
)

/** The same keys as `x-api-key` (ALPR-Database's ingest). */
export const CollectorApiKeyAuthLayer = Layer.effect(
  CollectorApiKeyAuth,
  Effect.map(Collectors, (collectors) => ({ apiKey: collectorOf(collectors) }))
)

export const CollectorsHttpLayer = HttpApiBuilder.group(AlprApi, "collectors", (handlers) =>
  Effect.gen(function*() {
    const collectors = yield* Collectors
    return handlers
      .handle("claim", ({ payload }) =>
        Effect.flatMap(clientAddress, (address) => collectors.claim(payload, address)).pipe(
          Effect.catchTag("SqlError", Effect.die)
        ))
      .handle("heartbeat", ({ payload }) =>
        Effect.gen(function*() {
          const { collectorId } = yield* CurrentCollector
          return yield* collectors.heartbeat(collectorId, payload, yield* clientAddress)
        }).pipe(Effect.orDie))
      .handle("ack", ({ path, payload }) =>
        Effect.flatMap(CurrentCollector, ({ collectorId }) => collectors.ack(collectorId, path.id, payload)).pipe(
          Effect.catchTag("SqlError", Effect.die)
        ))
      .handle("rotateKey", () =>
        Effect.flatMap(CurrentCollector, ({ collectorId, keyId }) => collectors.rotateKey(collectorId, keyId)).pipe(
          Effect.orDie
        ))
  }))
