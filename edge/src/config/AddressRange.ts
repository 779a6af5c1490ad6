import * as Net from "node:net"

/**
 * An address or a CIDR range (`192.168.1.20`, `10.0.4.0/24`, `2001:db8::/48`), as a BlockList that
 * answers whether a peer is in it; undefined when the text is neither.
 */
export const parseAddressRange = (value: string): Net.BlockList | undefined => {
  const [address, prefix, ...rest] = value.trim().split("/")
  const family = Net.isIP(address ?? "")
  if (family === 0 || rest.length > 0) return undefined
  const type = family === 4 ? "ipv4" : "ipv6"
  const list = new Net.BlockList()
  if (prefix === undefined) {
    list.addAddress(address!, type)
    return list
  }
  const bits = /^\d{1,3}$/.test(prefix) ? Number(prefix) : Number.NaN
  if (!(bits >= 0 && bits <= (family === 4 ? 32 : 128))) return undefined
  list.addSubnet(address!, bits, type)
  return list
}

/** Whether `address` (a socket's peer) is in `range`; an IPv4 peer of a dual-stack socket arrives as `::ffff:a.b.c.d`. */
export const inAddressRange = (range: Net.BlockList, address: string | undefined): boolean => {
  if (address === undefined) return false
  const plain = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1] ?? address
  const family = Net.isIP(plain)
  return family !== 0 && range.check(plain, family === 4 ? "ipv4" : "ipv6")
}
