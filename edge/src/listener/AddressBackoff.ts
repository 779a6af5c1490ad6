import { isIP } from "node:net"

/**
 * Wrong guesses counted per source address, so that one address guessing cannot lock out another.
 * After `freeFailures` wrong guesses an address waits `baseMs`, doubling with every further one up to
 * `maxMs`; a right guess clears it. The table holds at most `maxAddresses` entries, dropping the
 * longest untouched first: memory stays bounded whatever the number of addresses, at the price that
 * an attacker with that many addresses can make one of them forget its count.
 */

export interface BackoffOptions {
  readonly freeFailures: number
  readonly baseMs: number
  readonly maxMs: number
  readonly maxAddresses: number
}

interface Entry {
  failures: number
  until: number
}

/**
 * The key an address is counted under: IPv4 (also when mapped into IPv6) as it is, IPv6 by its /64,
 * which one host usually holds whole.
 */
export const addressKey = (address: string) => {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (mapped !== null) return mapped[1]!
  if (isIP(address) !== 6) return address
  const [head, tail] = address.toLowerCase().split("::") as [string, string | undefined]
  const left = head === "" ? [] : head.split(":")
  const right = tail === undefined || tail === "" ? [] : tail.split(":")
  const groups = tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill("0"), ...right]
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, "")).join(":")}::/64`
}

export class AddressBackoff {
  private readonly entries = new Map<string, Entry>()

  constructor(private readonly options: BackoffOptions) {}

  /** Milliseconds `address` must still wait before its next guess counts (0: it may guess now). */
  waitMs(address: string, now: number) {
    const entry = this.entries.get(addressKey(address))
    return entry === undefined ? 0 : Math.max(0, entry.until - now)
  }

  /** Counts a wrong guess; the wait it earns, in milliseconds. */
  failed(address: string, now: number) {
    const key = addressKey(address)
    const entry = this.entries.get(key) ?? { failures: 0, until: 0 }
    this.entries.delete(key)
    entry.failures++
    const over = entry.failures - this.options.freeFailures
    // Past 2^30 the wait is long since capped; the exponent is bounded so it stays a number.
    const wait = over <= 0 ? 0 : Math.min(this.options.maxMs, this.options.baseMs * 2 ** Math.min(over - 1, 30))
    entry.until = now + wait
    this.entries.set(key, entry)
    while (this.entries.size > this.options.maxAddresses) {
      this.entries.delete(this.entries.keys().next().value!)
    }
    return wait
  }

  succeeded(address: string) {
    this.entries.delete(addressKey(address))
  }

  get size() {
    return this.entries.size
  }
}
