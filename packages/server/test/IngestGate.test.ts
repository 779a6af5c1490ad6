import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { AppConfig } from "../src/Config"
import { IngestGate } from "../src/ingest/IngestGate"
import { ingestInflight, ingestQueueDepth } from "../src/ingest/Metrics"

const gateLayer = (ingestConcurrency: number) =>
  IngestGate.Default.pipe(Layer.provide(AppConfig.make({ ingestConcurrency, ingestMaxQueue: 100 })))

/** The fiber's result if it has finished. */
const polled = <A, E>(fiber: Fiber.RuntimeFiber<A, E>) =>
  Effect.map(Fiber.poll(fiber), Option.map((exit) => exit._tag === "Success" ? exit.value : "failed"))

describe("the ingest gate", () => {
  // The ingest route is uninterruptible (a started batch is finished even at shutdown). A wait for a
  // slot that the timeout could not interrupt went on until a slot came, then answered Overloaded
  // with the slot still taken: one slot lost per such batch, and once all were lost every later
  // batch waited for ever (bench: 6 late 503s, then 200 batches never answered).
  it.effect("gives the slot back when a batch waited too long for one, also for an uninterruptible caller", () =>
    Effect.gen(function*() {
      const gate = yield* IngestGate
      // Daemons: with the bug, fibers stuck uninterruptibly would keep the test from ending at all.
      const holder = yield* Effect.forkDaemon(Effect.uninterruptible(gate.admit(Effect.sleep("15 seconds"))))
      yield* Effect.yieldNow()
      const waiter = yield* Effect.forkDaemon(Effect.uninterruptible(gate.admit(Effect.succeed("stored"))).pipe(Effect.either))
      yield* Effect.yieldNow()

      // Refused when its time is up, not when the slot finally comes.
      yield* TestClock.adjust("10100 millis")
      const refused = yield* polled(waiter)
      expect(Option.isSome(refused)).toBe(true)
      const result = Option.getOrThrow(refused)
      expect(Either.isEither(result) && Either.isLeft(result) && result.left._tag).toBe("Overloaded")

      yield* TestClock.adjust("5 seconds")
      expect(Option.isSome(yield* polled(holder))).toBe(true)
      // The only slot is free again.
      const next = yield* Effect.forkDaemon(Effect.uninterruptible(gate.admit(Effect.succeed("stored"))))
      yield* TestClock.adjust("1 millis")
      expect(yield* polled(next)).toEqual(Option.some("stored"))
    }).pipe(Effect.provide(gateLayer(1))))

  it.effect("reports the batches in flight and waiting as they change", () =>
    Effect.gen(function*() {
      const gate = yield* IngestGate
      const holders = yield* Effect.forEach([1, 2, 3], () => Effect.fork(gate.admit(Effect.sleep("1 second"))))
      yield* TestClock.adjust("1 millis")
      expect((yield* Metric.value(ingestInflight)).value).toBe(2)
      expect((yield* Metric.value(ingestQueueDepth)).value).toBe(1)
      yield* TestClock.adjust("3 seconds")
      yield* Effect.forEach(holders, Fiber.join)
      expect((yield* Metric.value(ingestInflight)).value).toBe(0)
      expect((yield* Metric.value(ingestQueueDepth)).value).toBe(0)
    }).pipe(Effect.provide(gateLayer(2))))
})
