import { createHash, createHmac, randomBytes, randomInt } from "node:crypto"

export const sha256Hex = (data: string | Uint8Array): string => createHash("sha256").update(data).digest("hex")

// Lives and dies with the process, so a stored tag cannot be reversed by guessing, even by someone
// holding the database: it only tells whether two failures since the start typed the same name.
const TAG_KEY = randomBytes(32)

/** A short tag of what someone typed as a username (case folded), never the text itself. */
export const typedNameTag = (typed: string): string =>
  createHmac("sha256", TAG_KEY).update(typed.trim().toLowerCase()).digest("hex").slice(0, 16)

/** Crockford's base32: no I, L, O or U, so a code read aloud or typed from a phone survives. */
const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

/** A human-typable code of `groups` groups of four, such as `7KQ2-M9XD-4TPA` (5 bits a character). */
export const newTypableCode = (groups: number): string =>
  Array.from({ length: groups }, () => Array.from({ length: 4 }, () => CROCKFORD[randomInt(CROCKFORD.length)]).join(""))
    .join("-")

/** The canonical form of a typed code: case, separators and look-alike letters forgiven. */
export const canonicalCode = (typed: string): string =>
  typed.toUpperCase().replace(/[^0-9A-Z]/g, "").replace(/O/g, "0").replace(/[IL]/g, "1")

/** A collector's claim code: three groups, 60 bits, single-use and short-lived. */
export const newClaimCode = (): string => newTypableCode(3)
export const canonicalClaimCode = canonicalCode

/** A collector API key: `alpr_<prefix>_<secret>`; the prefix is safe to show, the rest never is. */
export const newApiKey = (): { readonly key: string; readonly prefix: string } => {
  const prefix = `alpr_${randomBytes(5).toString("hex")}`
  return { key: `${prefix}_${randomBytes(32).toString("base64url")}`, prefix }
}
