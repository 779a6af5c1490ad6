import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import { CHAT_BURST, CHAT_SPACING_MS, GLOBAL_SPACING_MS, makePacer } from "../src/telegram/Sender"

/** When each message (to the chat named) may go, in ms after all were asked for at once, in this order. */
const sendTimes = (chats: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const pace = yield* makePacer
    const start = yield* Clock.currentTimeMillis
    const fibers: Array<Fiber.RuntimeFiber<number>> = []
    for (const chat of chats) fibers.push(yield* Effect.fork(Effect.zipRight(pace(chat), Clock.currentTimeMillis)))
    yield* TestClock.adjust("1 minute")
    return (yield* Effect.forEach(fibers, Fiber.join)).map((t) => t - start)
  })

describe("the Telegram pacer", () => {
  it.effect("lets a chat have a short burst, then one message a second", () =>
    Effect.gen(function*() {
      expect(CHAT_BURST).toBe(3)
      // The burst goes at the overall spacing; then each message is due a second after the one before
      // would have been at the steady rate.
      expect(yield* sendTimes(Array.from({ length: 6 }, () => "chat-1"))).toEqual([
        0,
        GLOBAL_SPACING_MS,
        2 * GLOBAL_SPACING_MS,
        CHAT_SPACING_MS,
        2 * CHAT_SPACING_MS,
        3 * CHAT_SPACING_MS
      ])
    }))

  it.effect("keeps the overall spacing across chats, and a chat's limit apart from the others'", () =>
    Effect.gen(function*() {
      // The fourth message to "a" waits for its chat; it still holds an overall slot (160), so the
      // spacing holds however the chats' waits fall (a little conservative).
      const times = yield* sendTimes(["a", "b", "a", "a", "a", "c"])
      expect(times).toEqual([0, 40, 80, 120, CHAT_SPACING_MS, 200])
      const many = yield* sendTimes(Array.from({ length: 50 }, (_, i) => `chat-${i}`))
      expect(many).toEqual(Array.from({ length: 50 }, (_, i) => i * GLOBAL_SPACING_MS))
    }))
})
