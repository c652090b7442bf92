/**
 * Choosing the next token from a row of logits: greedy arg-max, or sampling after temperature, top-k and top-p
 * (nucleus) filtering, with a seeded {@link Random} so that the same seed gives the same text.
 */
import { Random } from "../random";

/** How the next token is chosen. */
export interface SamplingOptions {
  /** Always take the most likely token (default false; also implied by temperature 0). */
  greedy?: boolean;
  /** Divides the logits before the softmax: < 1 sharpens, > 1 flattens (default 1). */
  temperature?: number;
  /** Keep only the k most likely tokens (default: all). */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability sums to at least p (default 1: all). */
  topP?: number;
}

/** Checks sampling options, throwing an Error that names the bad one. */
export function checkSamplingOptions(opts: SamplingOptions): void {
  const { temperature, topK, topP } = opts;
  if (temperature !== undefined && !(Number.isFinite(temperature) && temperature >= 0)) {
    throw new Error(`sampling: temperature must be a finite number ≥ 0 (0 means greedy), got ${temperature}`);
  }
  if (topK !== undefined && !(Number.isInteger(topK) && topK >= 1)) {
    throw new Error(`sampling: topK must be an integer ≥ 1, got ${topK}`);
  }
  if (topP !== undefined && !(topP > 0 && topP <= 1)) {
    throw new Error(`sampling: topP must be in (0, 1], got ${topP}`);
  }
}

/** Index of the largest logit (the first one on ties). */
export function argMax(logits: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

/**
 * Zeroes `probs` (unnormalised, summing to `total`) outside the top-k tokens and outside the top-p nucleus; returns
 * the mass kept.
 */
function zeroOutsideFilters(probs: Float64Array, logits: ArrayLike<number>, topK: number, topP: number, total: number): number {
  const n = probs.length;
  // Most likely first; both filters keep a prefix of this order.
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => logits[b] - logits[a] || a - b);
  let keep = topK;
  let mass = 0;
  for (let r = 0; r < keep && topP < 1; r++) {
    mass += probs[order[r]] / total;
    if (mass >= topP) keep = r + 1; // the token that crosses p is kept, as in Hugging Face's TopPLogitsWarper
  }
  let kept = 0;
  for (let r = 0; r < n; r++) {
    if (r < keep) kept += probs[order[r]];
    else probs[order[r]] = 0;
  }
  return kept;
}

/**
 * The probabilities sampling draws from: softmax(logits / temperature), zero outside the top-k and outside the
 * top-p nucleus, renormalised. Returned for inspection (a notebook can plot them).
 */
export function samplingDistribution(logits: ArrayLike<number>, opts: SamplingOptions = {}): Float64Array {
  checkSamplingOptions(opts);
  const n = logits.length;
  if (n === 0) throw new Error("sampling: logits are empty");
  const temperature = opts.temperature ?? 1;
  const probs = new Float64Array(n);
  if (opts.greedy || temperature === 0) {
    probs[argMax(logits)] = 1;
    return probs;
  }
  const max = logits[argMax(logits)];
  let total = 0;
  for (let i = 0; i < n; i++) total += probs[i] = Math.exp((logits[i] - max) / temperature);
  const topK = Math.min(n, opts.topK ?? n);
  const topP = opts.topP ?? 1;
  // Only a filter needs the vocabulary sorted (32,000 logits: 12.5 ms, about one 15M decoding step).
  const kept = topK < n || topP < 1 ? zeroOutsideFilters(probs, logits, topK, topP, total) : total;
  for (let i = 0; i < n; i++) probs[i] /= kept;
  return probs;
}

/** One token id drawn from {@link samplingDistribution}; greedy choices use no randomness. */
export function sampleToken(logits: ArrayLike<number>, opts: SamplingOptions, rng: Random): number {
  if (opts.greedy || opts.temperature === 0) {
    checkSamplingOptions(opts);
    return argMax(logits);
  }
  const probs = samplingDistribution(logits, opts);
  let u = rng.next();
  let last = 0;
  for (let i = 0; i < probs.length; i++) {
    if (probs[i] === 0) continue;
    last = i;
    u -= probs[i];
    if (u < 0) return i;
  }
  return last; // u ran past the end by rounding: the last kept token
}
