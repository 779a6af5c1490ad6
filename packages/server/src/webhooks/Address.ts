import * as Dns from "node:dns"
import * as Net from "node:net"

/**
 * Addresses a webhook may never reach, whatever its URL says or its name resolves to: link-local ones
 * (169.254.0.0/16 and fe80::/10, where cloud machines answer their metadata service with credentials, and
 * their NAT64 form), the other clouds' metadata addresses (AWS's IPv6 fd00:ec2::254, Alibaba's
 * 100.100.100.200) and the unspecified address (0.0.0.0, ::, which reaches this machine). Loopback and
 * private addresses stay allowed: a receiver on the same machine or the local network (Home Assistant,
 * Node-RED) is common, so an admin can reach this machine's own services through a webhook by design.
 */
const linkLocal = new Net.BlockList()
linkLocal.addSubnet("169.254.0.0", 16, "ipv4")
linkLocal.addSubnet("fe80::", 10, "ipv6")
linkLocal.addSubnet("64:ff9b::a9fe:0", 112, "ipv6")
const metadata = new Net.BlockList()
metadata.addAddress("100.100.100.200", "ipv4")
metadata.addAddress("fd00:ec2::254", "ipv6")
const unspecified = new Net.BlockList()
unspecified.addAddress("0.0.0.0", "ipv4")
unspecified.addAddress("::", "ipv6")

/** The IPv4 address in an IPv4-mapped IPv6 one, dotted (`::ffff:169.254.169.254` or, as URLs write it, `::ffff:a9fe:a9fe`). */
const mappedIpv4 = (address: string): string | undefined => {
  const dotted = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1]
  if (dotted !== undefined) return dotted
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address)
  if (hex === null) return undefined
  const [high, low] = [Number.parseInt(hex[1]!, 16), Number.parseInt(hex[2]!, 16)]
  return [high >> 8, high & 255, low >> 8, low & 255].join(".")
}

/** Why an IP address may not be reached (undefined: it may). IPv4 written as IPv6 (::ffff:a.b.c.d) counts as IPv4. */
export const refusedAddress = (address: string): string | undefined => {
  const ip = mappedIpv4(address) ?? address
  const family = Net.isIP(ip)
  if (family === 0) return undefined
  const type = family === 4 ? "ipv4" : "ipv6"
  if (linkLocal.check(ip, type)) return `${ip} is a link-local address (a cloud machine's metadata service answers there)`
  if (metadata.check(ip, type)) return `${ip} is a cloud metadata service's address`
  if (unspecified.check(ip, type)) return `${ip} is the unspecified address, which reaches this machine`
  return undefined
}

/** The host of a URL as an IP address when it is one (brackets of IPv6 removed). */
export const literalHost = (url: URL) => url.hostname.replace(/^\[(.*)\]$/, "$1")

/**
 * `lookup` for Node's HTTP client over `resolve` (the system's resolver): resolves as usual, then refuses
 * a name that resolves to a refused address (checked at every connection, so a name that changes its
 * answer later is caught too).
 */
export const guardLookup = (resolve: typeof Dns.lookup = Dns.lookup): typeof Dns.lookup =>
  ((hostname: string, options: Dns.LookupOptions, callback: (...args: Array<unknown>) => void) => {
    resolve(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error)
      const list = addresses as unknown as Array<Dns.LookupAddress>
      const refused = list.map((a) => refusedAddress(a.address)).find((why) => why !== undefined)
      if (refused !== undefined) {
        return callback(Object.assign(new Error(`refused: ${hostname} resolves to ${refused}`), { code: "EREFUSEDADDRESS" }))
      }
      if (options.all) return callback(null, list)
      return callback(null, list[0]!.address, list[0]!.family)
    })
  }) as typeof Dns.lookup

export const guardedLookup = guardLookup()
