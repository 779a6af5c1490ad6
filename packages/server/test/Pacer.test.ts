import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { makePacer } from "../src/telegram/Sender"

/**
 * The pacer against Telegram's published limits for bots: about 30 messages a second overall, and in
 * one chat about one a second with short bursts allowed. The figures below are those limits and the
 * pacing we chose under them (a burst of three, 40 ms apart), written out, not read from the code.
 */

type Pace = Effect.Effect.Success<typeof makePacer>

/** When each message (to the chat named) may go, in ms after all were asked for at once, in this order. */
const sendTimes = (chats: ReadonlyArray<string>, pace?: Pace) =>
  Effect.gen(function*() {
    const paced = pace ?? (yield* makePacer)
    const start = yield* Clock.currentTimeMillis
    const fibers: Array<Fiber.RuntimeFiber<number>> = []
    for (const chat of chats) fibers.push(yield* Effect.fork(Effect.zipRight(paced(chat), Clock.currentTimeMillis)))
    // A second at a time, stopping once all have gone: a quiet spell after this is exactly as long as asked.
    while ((yield* Effect.forEach(fibers, Fiber.poll)).some(Option.isNone)) yield* TestClock.adjust("1 second")
    return (yield* Effect.forEach(fibers, Fiber.join)).map((t) => t - start)
  })

/** The most of `times` (sorted) that fall within any window of `windowMs`. */
const busiestWindow = (times: ReadonlyArray<number>, windowMs: number) => {
  let most = 0
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i]! - times[j]! >= windowMs) j++
    most = Math.max(most, i - j + 1)
  }
  return most
}

describe("the Telegram pacer", () => {
  it.effect("lets a chat have a burst of three, then one message a second, and a burst again after a quiet spell", () =>
    Effect.gen(function*() {
      const pace = yield* makePacer
      expect(yield* sendTimes(Array.from({ length: 6 }, () => "chat-1"), pace)).toEqual([0, 40, 80, 1_000, 2_000, 3_000])
      // Ten quiet seconds: the chat has earned its burst back, but no more than it.
      yield* TestClock.adjust("10 seconds")
      expect(yield* sendTimes(Array.from({ length: 5 }, () => "chat-1"), pace)).toEqual([0, 40, 80, 1_000, 2_000])
      // One quiet second after a steady run earns one message, not a burst.
      yield* TestClock.adjust("1 second")
      expect(yield* sendTimes(["chat-1", "chat-1"], pace)).toEqual([0, 1_000])
    }))

  it.effect("keeps the overall spacing across chats, and a chat's limit apart from the others'", () =>
    Effect.gen(function*() {
      // The fourth message to "a" waits for its chat; it still holds an overall slot (160), so the
      // spacing holds however the chats' waits fall (a little conservative).
      expect(yield* sendTimes(["a", "b", "a", "a", "a", "c"])).toEqual([0, 40, 80, 120, 1_000, 200])
      const many = yield* sendTimes(Array.from({ length: 50 }, (_, i) => `chat-${i}`))
      expect(many).toEqual(Array.from({ length: 50 }, (_, i) => i * 40))
    }))

  it.effect("stays within Telegram's limits under a mixed load", () =>
    Effect.gen(function*() {
      // All asked for at once: three each to 40 chats (more than 30 a second could take), then 180
      // more spread unevenly over 12 of them (chat i of those gets a share growing with i).
      const chats = [
        ...Array.from({ length: 120 }, (_, n) => `chat-${n % 40}`),
        ...Array.from({ length: 180 }, (_, n) => `chat-${Math.floor(Math.sqrt((n * 7919) % 144))}`)
      ]
      const times = yield* sendTimes(chats)
      const all = [...times].sort((a, b) => a - b)
      expect(busiestWindow(all, 1_000)).toBeLessThanOrEqual(30)
      for (const chat of new Set(chats)) {
        const own = times.filter((_, i) => chats[i] === chat).sort((a, b) => a - b)
        // The burst of three, and no more than one a second on top of it over any stretch.
        for (const seconds of [1, 5, 20]) expect(busiestWindow(own, seconds * 1_000), `${chat} in ${seconds} s`).toBeLessThanOrEqual(seconds + 2)
      }
      // And nothing is held back much longer than the limits make it: the busiest chat sets the pace,
      // give or take an overall slot for every message sent.
      const busiest = Math.max(...[...new Set(chats)].map((chat) => chats.filter((c) => c === chat).length))
      expect(all.at(-1)).toBeLessThanOrEqual((busiest - 3) * 1_000 + chats.length * 40)
    }))
})
