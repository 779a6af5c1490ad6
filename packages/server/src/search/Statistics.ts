const lnFactorial = (n: number) => {
  let s = 0
  for (let i = 2; i <= n; i++) s += Math.log(i)
  return s
}

/**
 * -ln P(X >= k) for X ~ Poisson(expected): how surprising `k` events are when `expected` were due to
 * chance. Summed upwards from k when k is beyond the mean (so a tiny tail keeps its precision), else
 * one minus the terms below k.
 */
export const poissonSurprise = (k: number, expected: number): number => {
  if (k <= 0) return 0
  if (expected <= 0) return Number.POSITIVE_INFINITY
  const logTerm = (i: number) => -expected + i * Math.log(expected) - lnFactorial(i)
  if (k > expected) {
    let sum = 1
    let ratio = 1
    for (let j = 1; j < 100_000; j++) {
      ratio *= expected / (k + j)
      sum += ratio
      if (ratio < 1e-15 * sum) break
    }
    return Math.max(0, -(logTerm(k) + Math.log(sum)))
  }
  let below = 0
  for (let i = 0; i < k; i++) below += Math.exp(logTerm(i))
  return -Math.log(Math.min(1, Math.max(Number.MIN_VALUE, 1 - below)))
}

/** x to `digits` decimals, as the answers give seconds, speeds and scores. */
export const round = (x: number, digits: number) => {
  const f = 10 ** digits
  return Math.round(x * f) / f
}
