import type { EvidenceKey as EvidenceKeyInfo } from "@chaverim/domain/Evidence"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { createHash, createPrivateKey, createPublicKey, type KeyObject, sign } from "node:crypto"
import { IsoTime, orBug } from "../db/Rows"

/** PKCS #8 DER of an Ed25519 private key: this prefix and the 32-byte seed (RFC 8410). */
const PKCS8_ED25519_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex")

/** What a signing key pair made from a seed shows of itself; the private half stays inside. */
export interface SigningKey {
  readonly sign: (data: Uint8Array) => Buffer
  /** the 32 bytes of the raw public key */
  readonly publicKey: Buffer
  readonly publicKeyPem: string
  /** hex SHA-256 of the raw public key */
  readonly fingerprint: string
}

/** The Ed25519 key pair of a 32-byte seed (node:crypto, from its PKCS #8 DER). */
export const signingKeyOf = (seed: Uint8Array): SigningKey => {
  if (seed.byteLength !== 32) throw new Error("an Ed25519 seed is 32 bytes")
  const privateKey: KeyObject = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]),
    format: "der",
    type: "pkcs8"
  })
  const publicObject = createPublicKey(privateKey)
  // The SubjectPublicKeyInfo of an Ed25519 key ends with the 32 bytes of the key itself.
  const publicKey = publicObject.export({ format: "der", type: "spki" }).subarray(-32)
  return {
    sign: (data) => sign(null, data, privateKey),
    publicKey: Buffer.from(publicKey),
    publicKeyPem: publicObject.export({ format: "pem", type: "spki" }).toString(),
    fingerprint: createHash("sha256").update(publicKey).digest("hex")
  }
}

/** The fingerprint's first 16 hex digits in groups of four, for reading aloud over the phone. */
export const shortFingerprint = (fingerprint: string) => fingerprint.slice(0, 16).match(/.{4}/g)!.join(" ")

/**
 * The installation's Ed25519 evidence key: its seed is `server_secrets.evidence_signing`, made once by
 * sql/0016_evidence.sql, so every replica signs alike. Read at start; never logged, never answered.
 */
export class EvidenceKey extends Effect.Service<EvidenceKey>()("@chaverim/server/EvidenceKey", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const row = yield* orBug(SqlSchema.findOne({
      Request: Schema.Void,
      Result: Schema.Struct({ secret: Schema.Uint8ArrayFromSelf, created_at: IsoTime }),
      execute: () => sql`SELECT secret, created_at FROM server_secrets WHERE name = 'evidence_signing'`
    })(undefined)).pipe(Effect.orDie)
    if (Option.isNone(row)) return yield* Effect.dieMessage("server_secrets has no evidence_signing key: run the migrations")
    const key = signingKeyOf(row.value.secret.subarray(0, 32))
    const info: EvidenceKeyInfo = {
      algorithm: "Ed25519",
      public_key_pem: key.publicKeyPem,
      public_key_base64: key.publicKey.toString("base64"),
      fingerprint: key.fingerprint,
      fingerprint_short: shortFingerprint(key.fingerprint),
      created_at: row.value.created_at
    }
    return { sign: key.sign, publicKey: key.publicKey, fingerprint: key.fingerprint, info }
  })
}) {}
