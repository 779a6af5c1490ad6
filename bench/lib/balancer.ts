import * as Net from "node:net"

/**
 * A round-robin TCP balancer on a free local port, as a simple load balancer in front of several
 * servers would be: each new connection goes to the next server. It runs in the benchmark's own
 * process, so its CPU counts as the benchmark's.
 */
export const startBalancer = async (targets: ReadonlyArray<URL>): Promise<{ readonly url: string; readonly close: () => Promise<void> }> => {
  let next = 0
  const open = new Set<Net.Socket>()
  const server = Net.createServer((client) => {
    const target = targets[next++ % targets.length]!
    const upstream = Net.connect(Number(target.port), target.hostname)
    client.setNoDelay(true)
    upstream.setNoDelay(true)
    open.add(client).add(upstream)
    const end = () => {
      client.destroy()
      upstream.destroy()
      open.delete(client)
      open.delete(upstream)
    }
    for (const socket of [client, upstream]) {
      socket.once("error", end)
      socket.once("close", end)
    }
    client.pipe(upstream)
    upstream.pipe(client)
  })
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => resolve())
  })
  const port = (server.address() as Net.AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy()
        server.close(() => resolve())
      })
  }
}
