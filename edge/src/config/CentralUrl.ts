import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import { BlockList, isIP } from "node:net"

/**
 * Where the collector may send its API key. Every request to the central server carries the key, so
 * the central URL must be https; plain http is allowed only when the installation says the central
 * server is on a trusted local network (`central_insecure_local: true` in `config.yaml`, or
 * `EDGE_ALLOW_HTTP_CENTRAL=1`), and then only to a loopback or private IP address: a host name could
 * be answered by anyone on that network who can spoof DNS.
 */

const trustedLocal = new BlockList()
trustedLocal.addSubnet("127.0.0.0", 8, "ipv4")
trustedLocal.addSubnet("10.0.0.0", 8, "ipv4")
trustedLocal.addSubnet("172.16.0.0", 12, "ipv4")
trustedLocal.addSubnet("192.168.0.0", 16, "ipv4")
trustedLocal.addSubnet("169.254.0.0", 16, "ipv4")
trustedLocal.addAddress("::1", "ipv6")
trustedLocal.addSubnet("fc00::", 7, "ipv6")
trustedLocal.addSubnet("fe80::", 10, "ipv6")

/** `EDGE_ALLOW_HTTP_CENTRAL`: the environment's way of marking the central server as local. */
export const allowHttpCentral = Config.boolean("EDGE_ALLOW_HTTP_CENTRAL").pipe(Config.withDefault(false))

const MARKER = "set central_insecure_local: true in config.yaml (or EDGE_ALLOW_HTTP_CENTRAL=1)"

/** Why `url` may not be the central URL, or undefined when it may. */
export const centralUrlProblem = (url: string, insecureLocal: boolean): string | undefined => {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return `central_url ${JSON.stringify(url)} is not a URL`
  }
  if (parsed.protocol === "https:") return undefined
  if (parsed.protocol !== "http:") return `central_url must be an https URL, not ${parsed.protocol}`
  if (!insecureLocal) {
    return `central_url must be https (${url}): the collector's API key goes with every request. ` +
      `Only for a central server on a trusted local network, ${MARKER}`
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, "$1")
  const family = isIP(host)
  if (family === 0) {
    return `http is allowed only to a loopback or private IP address, not to the name ${host}: use https, or the address`
  }
  if (!trustedLocal.check(host, family === 4 ? "ipv4" : "ipv6")) {
    return `http is allowed only to a loopback or private IP address; ${host} is neither: use https`
  }
  return undefined
}

/** Fails with `onProblem` when `url` may not be used, given the configuration's marker and the environment's. */
export const checkCentralUrl = <E>(url: string, configMarker: boolean, onProblem: (message: string) => E) =>
  Effect.gen(function*() {
    const fromEnv = yield* allowHttpCentral.pipe(
      Effect.mapError((e) => onProblem(`EDGE_ALLOW_HTTP_CENTRAL: ${String(e)}`))
    )
    const problem = centralUrlProblem(url, configMarker || fromEnv)
    if (problem !== undefined) return yield* Effect.fail(onProblem(problem))
  })
