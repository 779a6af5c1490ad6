import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { guardedLookup, refusedAddress } from "../src/webhooks/Address"
import { postSigned } from "../src/webhooks/Post"

const lookup = (hostname: string) =>
  new Promise<{ error?: string; address?: string }>((resolve) =>
    guardedLookup(hostname, {}, (error, address) => resolve(error ? { error: error.message } : { address: address as string })))

describe("the addresses a webhook may reach", () => {
  it("refuses link-local and unspecified addresses in every spelling, and allows loopback, private and public ones", () => {
    for (const ip of ["169.254.169.254", "169.254.0.1", "::ffff:169.254.169.254", "::ffff:a9fe:a9fe", "fe80::1", "FE80::abcd", "0.0.0.0", "::",
      "100.100.100.200", "fd00:ec2::254", "64:ff9b::a9fe:a9fe"]) {
      expect(refusedAddress(ip), ip).toBeDefined()
    }
    for (const ip of ["127.0.0.1", "::1", "10.0.0.5", "192.168.1.20", "172.16.4.4", "fd00::1", "93.184.216.34", "2606:4700::1111"]) {
      expect(refusedAddress(ip), ip).toBeUndefined()
    }
    expect(refusedAddress("example.org")).toBeUndefined()
    expect(refusedAddress("::ffff:a9fe:a9fe")).toBe("169.254.169.254 is a link-local address (a cloud machine's metadata service answers there)")
    expect(refusedAddress("::ffff:7f00:1")).toBeUndefined()
  })

  it("checks what a name resolves to at connection time", async () => {
    expect((await lookup("169.254.169.254")).error).toBe("refused: 169.254.169.254 resolves to 169.254.169.254 is a link-local address (a cloud machine's metadata service answers there)")
    expect((await lookup("localhost")).address).toMatch(/^(127\.0\.0\.1|::1)$/)
  })

  it.effect("refuses a name that resolves to a refused address when the POST connects", () =>
    Effect.gen(function*() {
      const asked: Array<string> = []
      const resolve = ((hostname: string, _options: unknown, callback: (error: null, addresses: Array<{ address: string; family: number }>) => void) => {
        asked.push(hostname)
        callback(null, [{ address: "169.254.169.254", family: 4 }])
      }) as unknown as typeof import("node:dns").lookup
      const result = yield* postSigned({
        url: "http://hooks.example.test:8080/hook", secret: "s", body: "{}", contentType: "application/json", event: "test",
        deliveryId: "1", timeoutMs: 1_000, resolve
      })
      expect(asked).toEqual(["hooks.example.test"])
      expect(result).toEqual({
        _tag: "unreachable",
        message: "refused: hooks.example.test resolves to 169.254.169.254 is a link-local address (a cloud machine's metadata service answers there)"
      })
    }))

  it.effect("does not connect to a refused address, and says why", () =>
    Effect.gen(function*() {
      const result = yield* postSigned({
        url: "http://[fe80::1]:8080/hook", secret: "s", body: "{}", contentType: "application/json", event: "test",
        deliveryId: "1", timeoutMs: 1_000
      })
      expect(result).toEqual({ _tag: "unreachable", message: "refused: fe80::1 is a link-local address (a cloud machine's metadata service answers there)" })
    }))
})
