import { randomBytes } from "node:crypto"

/** A collector a benchmark claimed: its id and the API key it uploads with. */
export interface ClaimedCollector {
  readonly collectorId: string
  readonly apiKey: string
}

/**
 * Claims a collector with one of the claim codes the benchmark server made (bench/server.ts), as a
 * collector does (POST /api/v1/collectors/claim), under the host name `name`.
 */
export const claimCollector = async (url: string, code: string, name: string): Promise<ClaimedCollector> => {
  const response = await fetch(`${url}/api/v1/collectors/claim`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ claim_code: code, hardware_id: `${name}-${randomBytes(4).toString("hex")}`, hostname: name, edge_version: "bench" })
  })
  if (response.status !== 201) throw new Error(`claim failed: ${response.status} ${await response.text()}`)
  const body = (await response.json()) as { collector_id: string; api_key: string }
  return { collectorId: body.collector_id, apiKey: body.api_key }
}
