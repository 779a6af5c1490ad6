import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import { ALERT_RETRY_MAX, alertRetry } from "../src/alerts/Backoff"
import { makeItemBackoff } from "../src/db/ItemBackoff"

/**
 * When the alert engine tries a failed work item again, with the Clock driven by TestClock and the
 * jitter by a fixed Random: the times an item comes off the waiting list are what an operator
 * watching a failing item would see in the logs.
 */

const backoff = makeItemBackoff(alertRetry, Duration.times(ALERT_RETRY_MAX, 2))
type Backoff = Effect.Effect.Success<typeof backoff>

/**
 * Fails `id` now; returns how long (by the TestClock) it stays on the waiting list, checked a
 * millisecond before it comes off and as it does.
 */
const waitAfterFailure = (items: Backoff, id: string) =>
  Effect.gen(function*() {
    yield* items.failed(id)
    const failedAt = yield* Clock.currentTimeMillis
    // Where an idle worker would sleep to: no other item is backing off at this point in these tests.
    const due = failedAt + Duration.toMillis(items.soonest(failedAt, Duration.hours(1)))
    if (due > failedAt) {
      yield* TestClock.setTime(due - 1)
      expect(items.waiting(due - 1), `${id} still backing off`).toContain(id)
    }
    yield* TestClock.setTime(due)
    expect(items.waiting(due), `${id} due again`).not.toContain(id)
    return due - failedAt
  })

const waitsAfter = (items: Backoff, id: string, failures: number) =>
  Effect.gen(function*() {
    const waits: Array<number> = []
    for (let i = 0; i < failures; i++) waits.push(yield* waitAfterFailure(items, id))
    return waits
  })

describe("the alert engine's retry of a failed item", () => {
  it.effect("waits 500 ms after the first failure, doubling each time, never more than a minute", () =>
    Effect.gen(function*() {
      const items = yield* backoff
      // 0.5 is the middle of the jitter: each wait is exactly the plain delay.
      const waits = yield* waitsAfter(items, "7", 10).pipe(Effect.withRandomFixed([0.5]))
      expect(waits).toEqual([500, 1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000])
    }))

  it.effect("jitters each wait by at most a quarter either way", () =>
    Effect.gen(function*() {
      const items = yield* backoff
      const shortest = yield* waitsAfter(items, "low", 3).pipe(Effect.withRandomFixed([0]))
      const longest = yield* waitsAfter(items, "high", 9).pipe(Effect.withRandomFixed([0.999]))
      expect(shortest).toEqual([375, 750, 1_500])
      expect(longest[0]).toBeCloseTo(624.75)
      expect(longest[1]).toBeCloseTo(1_249.5)
      expect(longest[2]).toBeCloseTo(2_499)
      // The cap applies before the jitter, so a capped wait still varies (and stays within 75 s).
      expect(longest.at(-1)).toBeGreaterThan(70_000)
      expect(longest.at(-1)).toBeLessThanOrEqual(75_000)
    }))

  it.effect("starts over after a success, and keeps each item's backoff to itself", () =>
    Effect.gen(function*() {
      const items = yield* backoff
      const waits = yield* Effect.gen(function*() {
        const first = yield* waitsAfter(items, "a", 4)
        // Another item failing now begins at the bottom, whatever "a" went through.
        const other = yield* waitAfterFailure(items, "b")
        yield* items.succeeded("a")
        const again = yield* waitsAfter(items, "a", 2)
        return { first, other, again }
      }).pipe(Effect.withRandomFixed([0.5]))
      expect(waits).toEqual({ first: [500, 1_000, 2_000, 4_000], other: 500, again: [500, 1_000] })
    }))

  it.effect("an idle worker sleeps until the first item is due, and no item long due keeps it awake", () =>
    Effect.gen(function*() {
      const items = yield* backoff
      const now = yield* Clock.currentTimeMillis
      expect(Duration.toMillis(items.soonest(now, Duration.seconds(5)))).toBe(5_000)
      yield* items.failed("x").pipe(Effect.withRandomFixed([0.5]))
      expect(Duration.toMillis(items.soonest(now, Duration.seconds(5)))).toBe(500)
      expect(items.waiting(now + 499)).toEqual(["x"])
      expect(items.waiting(now + 500)).toEqual([])
      // Due but not claimed here (another server did it meanwhile): back to the safety poll, not a spin.
      expect(Duration.toMillis(items.soonest(now + 600, Duration.seconds(5)))).toBe(5_000)
    }))
})
