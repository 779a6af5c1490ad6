import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { createHash } from "node:crypto"
import * as Os from "node:os"
import { checkCentralUrl } from "../config/CentralUrl"
import { readLayer, writeLayer } from "../config/EdgeConfig"
import { centralHttpClientLayer, makeCentral } from "../uploader/Central"
import { EDGE_VERSION } from "../version"
import { machineIdentity, makeSecretStore, type Protection } from "./Secrets"

export class ClaimRefused extends Schema.TaggedError<ClaimRefused>()("ClaimRefused", { message: Schema.String }) {}

/**
 * Claims this collector with a code made by an admin: the central server answers with the
 * collector's id and API key. The key goes into the encrypted secrets; the central URL into the base
 * configuration. The device identity is sent only as a hash.
 */
export const claim = (options: {
  readonly dir: string
  readonly code: string
  readonly centralUrl: string
  readonly machineIdFile?: string
  /** how the API key is protected at rest (the device identity when not given) */
  readonly protection?: Protection
}) =>
  Effect.gen(function*() {
    const base = yield* readLayer(options.dir, "config.yaml")
    // Checked before the claim code goes anywhere: the answer to it is the API key.
    yield* checkCentralUrl(options.centralUrl, base["central_insecure_local"] === true, (message) => new ClaimRefused({ message }))
    const centralUrl = new URL(options.centralUrl).toString().replace(/\/$/, "")
    const identity = yield* machineIdentity(options.machineIdFile)
    const central = yield* makeCentral(centralUrl, () => undefined)
    const answer = yield* central.claim({
      claim_code: options.code.trim(),
      hardware_id: createHash("sha256").update(`chaverim-edge:${identity}`).digest("hex").slice(0, 32),
      hostname: Os.hostname(),
      edge_version: EDGE_VERSION
    })
    yield* makeSecretStore(options.dir, options.machineIdFile, options.protection).update((s) => ({
      ...s,
      api_key: answer.api_key,
      collector_id: answer.collector_id
    }))
    yield* writeLayer(options.dir, "config.yaml", { ...base, central_url: centralUrl })
    return { collector_id: answer.collector_id, central_url: centralUrl }
  }).pipe(Effect.provide(centralHttpClientLayer))
