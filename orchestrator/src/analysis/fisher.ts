/**
 * Fisher's exact test on two failure rates (k1 of n1 boots against k2 of
 * n2): how likely a split at least this lopsided is when both kernels fail
 * equally often, from the hypergeometric distribution of the failures
 * given their total. Exact at any count, which a race's few boots need.
 */

const logFactorials: number[] = [0];

function logFactorial(n: number): number {
  for (let i = logFactorials.length; i <= n; i++) logFactorials[i] = logFactorials[i - 1]! + Math.log(i);
  return logFactorials[n]!;
}

function logChoose(n: number, k: number): number {
  return logFactorial(n) - logFactorial(k) - logFactorial(n - k);
}

/** P(X = x) for the failures X of the second side, given every margin of the 2x2 table. */
function hypergeometric(x: number, k1: number, n1: number, k2: number, n2: number): number {
  const failures = k1 + k2;
  return Math.exp(logChoose(n2, x) + logChoose(n1, failures - x) - logChoose(n1 + n2, failures));
}

/** One-sided p-value that the second side fails more often than the first (k2/n2 above k1/n1). */
export function fisherGreater(k1: number, n1: number, k2: number, n2: number): number {
  const failures = k1 + k2;
  let p = 0;
  for (let x = k2; x <= Math.min(n2, failures); x++) p += hypergeometric(x, k1, n1, k2, n2);
  return Math.min(1, p);
}

/** One-sided p-value that the second side fails less often than the first. */
export function fisherLess(k1: number, n1: number, k2: number, n2: number): number {
  const failures = k1 + k2;
  let p = 0;
  for (let x = Math.max(0, failures - n1); x <= k2; x++) p += hypergeometric(x, k1, n1, k2, n2);
  return Math.min(1, p);
}

/** "p < 0.001", "p = 0.021": as a reader quotes it. */
export function formatP(p: number): string {
  return p < 0.001 ? "p < 0.001" : `p = ${p.toFixed(3)}`;
}
