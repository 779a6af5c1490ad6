import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { guardedLookup, refusedAddress } from "../src/webhooks/Address"
import { postSigned } from "../src/webhooks/Post"

const lookup = (hostname: string) =>
  new Promise<{ error?: string; address?: string }>((resolve) =>
    guardedLookup(hostname, {}, (error, address) => resolve(error ? { error: error.message } : { address: address as string })))

describe("the addresses a webhook may reach", () => {
  it("refuses link-local and unspecified addresses in every spelling, and allows loopback, private and public ones", () => {
    for (const ip of ["169.254.169.254", "169.254.0.1", "::ffff:169.254.169.254", "::ffff:a9fe:a9fe", "fe80::1", "FE80::abcd", "0.0.0.0", "::"]) {
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

  it.effect("does not connect to a refused address, and says why", () =>
    Effect.gen(function*() {
      const result = yield* postSigned({
        url: "http://[fe80::1]:8080/hook", secret: "s", body: "{}", contentType: "application/json", event: "test",
        deliveryId: "1", timeoutMs: 1_000
      })
      expect(result).toEqual({ _tag: "unreachable", message: "refused: fe80::1 is a link-local address (a cloud machine's metadata service answers there)" })
    }))
})
