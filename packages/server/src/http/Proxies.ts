import * as Either from "effect/Either"
import { BlockList, isIP } from "node:net"

/**
 * An address as the server records and compares it: IPv4 dotted, IPv6 in its short canonical form,
 * and an IPv4-mapped IPv6 address (`::ffff:1.2.3.4`, what a server listening on `::` sees of an IPv4
 * client) as the IPv4 address, so that one client is one address whichever way it arrived. Accepts
 * `[v6]`, `[v6]:port` and `v4:port` as some proxies write them; anything else is undefined.
 */
export const canonicalAddress = (text: string): string | undefined => {
  let address = text.trim()
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(address)
  if (bracketed !== null) address = bracketed[1]!
  else if (/^[\d.]+:\d{1,5}$/.test(address)) address = address.slice(0, address.lastIndexOf(":"))
  // A link-local zone (`fe80::1%eth0`) names an interface of the receiving host, not the client.
  const zone = address.indexOf("%")
  if (zone >= 0 && isIP(address.slice(0, zone)) === 6) address = address.slice(0, zone)
  switch (isIP(address)) {
    case 4:
      return address
    case 6: {
      const short = new URL(`http://[${address}]`).hostname.slice(1, -1)
      const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(short)
      if (mapped === null) return short
      const high = parseInt(mapped[1]!, 16)
      const low = parseInt(mapped[2]!, 16)
      return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`
    }
    default:
      return undefined
  }
}

/** The address ranges of the reverse proxies whose forwarded headers are believed (TRUSTED_PROXIES). */
export interface ProxyList {
  /** The ranges as given (canonical), for logs and the start-up message. */
  readonly ranges: ReadonlyArray<string>
  readonly contains: (address: string) => boolean
}

export const noProxies: ProxyList = { ranges: [], contains: () => false }

/**
 * A comma-separated list of ranges, IPv4 and IPv6, each an address with an optional prefix length
 * (`172.16.0.0/12`, `::1/128`, `10.0.0.7`). Empty is no proxies. Refused with a reason: anything not
 * an address, a prefix out of range, and `/0`, which would let every client choose its own address.
 */
export const parseProxyList = (text: string): Either.Either<ProxyList, string> => {
  const list = new BlockList()
  const ranges: Array<string> = []
  for (const raw of text.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
    const slash = raw.indexOf("/")
    const written = slash < 0 ? raw : raw.slice(0, slash)
    const address = canonicalAddress(written)
    if (address === undefined || isIP(written) === 0) {
      return Either.left(`"${raw}" is not an IP address or range (write e.g. 172.16.0.0/12 or fd00::/8)`)
    }
    const family = isIP(address) === 4 ? "ipv4" : "ipv6"
    const widest = family === "ipv4" ? 32 : 128
    let prefix = widest
    if (slash >= 0) {
      const digits = raw.slice(slash + 1)
      if (!/^\d{1,3}$/.test(digits)) return Either.left(`"${raw}": the prefix length must be a number`)
      prefix = Number(digits)
      // An IPv4-mapped range written as IPv6 (::ffff:10.0.0.0/104) is the IPv4 range it maps.
      if (family === "ipv4" && isIP(written) === 6) prefix -= 96
      if (prefix < 0 || prefix > widest) return Either.left(`"${raw}": the prefix length must be 1 to ${widest}`)
      if (prefix === 0) return Either.left(`"${raw}" would trust every address, so any client could choose its own`)
    }
    list.addSubnet(address, prefix, family)
    ranges.push(`${address}/${prefix}`)
  }
  if (ranges.length === 0) return Either.right(noProxies)
  return Either.right({
    ranges,
    contains: (text) => {
      const address = canonicalAddress(text)
      return address !== undefined && list.check(address, isIP(address) === 4 ? "ipv4" : "ipv6")
    }
  })
}

/** The list or a thrown Error: for tests and fixed lists. */
export const proxyList = (text: string): ProxyList =>
  Either.getOrThrowWith(parseProxyList(text), (reason) => new Error(`TRUSTED_PROXIES: ${reason}`))

/**
 * Who sent a request. The TCP peer, unless it is a trusted proxy: then X-Forwarded-For is read from
 * the right, each trusted hop vouching for the entry to its left, and the first entry that is not a
 * trusted proxy is the client. Entries left of it were written by the client and are not believed.
 * A malformed entry ends the walk at the trusted hop that wrote it: a proxy we trust sent something
 * we cannot read, so that proxy is the furthest address anyone vouches for. (nginx as shipped sets
 * the header to its own peer, so a client can never put a malformed entry where it is read.)
 * When every entry is a trusted proxy (a health check from inside the network), the leftmost is.
 */
export const clientAddressOf = (peer: string | undefined, forwardedFor: string | undefined, proxies: ProxyList): string => {
  const hop = peer === undefined ? undefined : canonicalAddress(peer)
  if (hop === undefined) return peer ?? "unknown"
  if (forwardedFor === undefined || !proxies.contains(hop)) return hop
  const entries = forwardedFor.split(",")
  let vouched = hop
  for (let i = entries.length - 1; i >= 0; i--) {
    const entry = canonicalAddress(entries[i]!)
    if (entry === undefined) return vouched
    if (!proxies.contains(entry)) return entry
    vouched = entry
  }
  return vouched
}

/**
 * Whether the request reached the outermost proxy over TLS: X-Forwarded-Proto, believed only from a
 * trusted peer, and then its rightmost value (the one that peer wrote).
 */
export const forwardedOverTls = (peer: string | undefined, forwardedProto: string | undefined, proxies: ProxyList): boolean => {
  if (peer === undefined || forwardedProto === undefined || !proxies.contains(peer)) return false
  return forwardedProto.split(",").at(-1)!.trim().toLowerCase() === "https"
}

/**
 * What sign-in limits count an address as: an IPv4 address itself, an IPv6 address's /64. One
 * subscriber, host or container network is usually given a whole /64, so counting single IPv6
 * addresses would give one guesser 2^64 separate budgets.
 */
export const throttleScope = (address: string): string => {
  const canonical = canonicalAddress(address)
  if (canonical === undefined || isIP(canonical) !== 6) return canonical ?? address
  const [head = "", tail = ""] = canonical.split("::")
  const left = head === "" ? [] : head.split(":")
  const right = canonical.includes("::") ? (tail === "" ? [] : tail.split(":")) : []
  const groups = [...left, ...Array<string>(8 - left.length - right.length).fill("0"), ...right]
  return `${groups.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(":")}::/64`
}
