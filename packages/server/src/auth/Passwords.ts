import * as argon2 from "argon2"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import { randomInt } from "node:crypto"

/**
 * Argon2id with OWASP's recommended minimum (19 MiB, two passes, one lane): about 30 ms a hash on a
 * server core, which a guesser pays per try and a volunteer does not notice.
 */
const OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const

export const hashPassword = (password: string) => Effect.promise(() => argon2.hash(password, OPTIONS))

/** Argon2 verifications: the work sign-in limits are there to bound (see Throttle). */
export const passwordChecks = Metric.counter("alpr_auth_password_checks_total", {
  description: "Passwords checked against a hash (sign-in, decoys and password changes)",
  incremental: true
})

/** False for a wrong password and for a hash that cannot be read; never fails. */
export const verifyPassword = (hash: string, password: string) =>
  Effect.zipRight(Metric.increment(passwordChecks), Effect.promise(() => argon2.verify(hash, password).catch(() => false)))

/**
 * A hash of nothing anyone knows: checked against when the username does not exist, so that
 * answering "wrong username or password" takes as long either way.
 */
export const decoyHash = () => hashPassword(`decoy-${randomInt(2 ** 40)}`)

// Unambiguous when read aloud or copied from a screen: no 0/O, 1/l/I.
const ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789"

/** A one-time password: 20 characters (about 115 bits), in groups of five for copying by hand. */
export const oneTimePassword = (): string => {
  const groups: Array<string> = []
  for (let g = 0; g < 4; g++) {
    let group = ""
    for (let i = 0; i < 5; i++) group += ALPHABET[randomInt(ALPHABET.length)]
    groups.push(group)
  }
  return groups.join("-")
}
