/**
 * All-reduce of flat gradient buffers, done by the coordinator: every worker sends its gradient, the
 * coordinator sums them and sends the one result back to all. The sum runs in worker-index order with float32
 * rounding after each add, so the result depends only on the inputs, never on which worker answered first.
 * {@link ringAllReduce} shows the bandwidth-optimal ring algorithm that NCCL and Gloo use across machines.
 */
import { CLIP_EPS } from "../train/clip";

/** Σ parts[0] + parts[1] + … in that order, element by element, rounded to float32 after every add. */
export function sumInOrder(parts: readonly Float32Array[]): Float32Array {
  if (parts.length === 0) throw new Error("sumInOrder: no buffers to reduce");
  return sumInOrderInPlace([Float32Array.from(parts[0]), ...parts.slice(1)]);
}

/**
 * {@link sumInOrder} accumulated into parts[0] (returned), for a caller that owns the buffers: the same values,
 * without allocating and copying a fresh buffer per step.
 */
export function sumInOrderInPlace(parts: readonly Float32Array[]): Float32Array {
  if (parts.length === 0) throw new Error("sumInOrder: no buffers to reduce");
  const n = parts[0].length;
  for (const [k, p] of parts.entries()) {
    if (p.length !== n) throw new Error(`sumInOrder: buffer ${k} has ${p.length} values, buffer 0 has ${n}`);
  }
  const out = parts[0];
  for (let k = 1; k < parts.length; k++) {
    const p = parts[k];
    for (let i = 0; i < n; i++) out[i] += p[i]; // the store into a Float32Array rounds to float32
  }
  return out;
}

/** The L2 norm of a flat buffer (accumulated in double precision). */
export function flatNorm(values: Float32Array): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i] * values[i];
  return Math.sqrt(s);
}

/** Whether every value is finite (no Inf or NaN, which an fp16 overflow produces). */
export function allFinite(values: Float32Array): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return false;
  return true;
}

/** Multiplies every value by `factor` (rounded to float32 first), in place. */
export function scaleInPlace(values: Float32Array, factor: number): void {
  const f = Math.fround(factor);
  if (f === 1) return;
  for (let i = 0; i < values.length; i++) values[i] *= f;
}

/**
 * Clips the global norm in place as torch.nn.utils.clip_grad_norm_ does: values × min(1, maxNorm/(norm + 1e-6)).
 * Returns the norm before clipping.
 */
export function clipFlatInPlace(values: Float32Array, maxNorm: number): number {
  if (!(maxNorm > 0) || !Number.isFinite(maxNorm)) throw new Error(`clipFlatInPlace: maxNorm must be a finite number > 0, got ${maxNorm}`);
  const norm = flatNorm(values);
  scaleInPlace(values, Math.min(1, maxNorm / (norm + CLIP_EPS)));
  return norm;
}

/** One transfer of a ring all-reduce: `from` sends chunk `chunk` to `to` (its right neighbour). */
export interface RingTransfer {
  phase: "reduce-scatter" | "all-gather";
  /** 0-based round within the phase; every worker sends once per round, all at the same time. */
  round: number;
  from: number;
  to: number;
  chunk: number;
}

/** Result of {@link ringAllReduce}: every worker's final buffer and the transfers that produced them. */
export interface RingAllReduceResult {
  buffers: Float32Array[];
  transfers: RingTransfer[];
  /** Values each worker sent in total: 2·(N−1)/N of the buffer, independent of N — why the ring scales. */
  valuesSentPerWorker: number;
  /** With `recordRounds`: copies of every worker's buffer after each round (reduce-scatter rounds, then all-gather). */
  rounds?: Float32Array[][];
}

/**
 * Simulates a ring all-reduce over N buffers: each is cut into N chunks; in N−1 reduce-scatter rounds every
 * worker passes a running chunk sum to its right neighbour, so worker w ends holding the full sum of chunk
 * (w+1) mod N; N−1 all-gather rounds then circulate the finished chunks. The sums are the same as
 * {@link sumInOrder}'s up to float32 rounding (each chunk is added in a different rotation of the order).
 */
export function ringAllReduce(parts: readonly Float32Array[], opts: { recordRounds?: boolean } = {}): RingAllReduceResult {
  const n = parts.length;
  if (n === 0) throw new Error("ringAllReduce: no buffers to reduce");
  const size = parts[0].length;
  if (parts.some((p) => p.length !== size)) throw new Error("ringAllReduce: buffers must have equal lengths");
  const bounds = Array.from({ length: n + 1 }, (_, c) => Math.floor((c * size) / n));
  const chunk = (buf: Float32Array, c: number): Float32Array => buf.subarray(bounds[c], bounds[c + 1]);
  const buffers = parts.map((p) => Float32Array.from(p));
  const transfers: RingTransfer[] = [];
  let sent = 0;
  const rounds: Float32Array[][] | undefined = opts.recordRounds ? [] : undefined;
  const mod = (x: number): number => ((x % n) + n) % n;
  for (let round = 0; round < n - 1; round++) {
    // All sends of a round happen at once: snapshot what each worker sends before anyone adds.
    const outgoing = buffers.map((buf, w) => Float32Array.from(chunk(buf, mod(w - round))));
    for (let w = 0; w < n; w++) {
      const c = mod(w - round);
      const to = mod(w + 1);
      const target = chunk(buffers[to], c);
      for (let i = 0; i < target.length; i++) target[i] += outgoing[w][i];
      transfers.push({ phase: "reduce-scatter", round, from: w, to, chunk: c });
      if (w === 0) sent += outgoing[w].length;
    }
    rounds?.push(buffers.map((b) => Float32Array.from(b)));
  }
  for (let round = 0; round < n - 1; round++) {
    const outgoing = buffers.map((buf, w) => Float32Array.from(chunk(buf, mod(w + 1 - round))));
    for (let w = 0; w < n; w++) {
      const c = mod(w + 1 - round);
      const to = mod(w + 1);
      chunk(buffers[to], c).set(outgoing[w]);
      transfers.push({ phase: "all-gather", round, from: w, to, chunk: c });
      if (w === 0) sent += outgoing[w].length;
    }
    rounds?.push(buffers.map((b) => Float32Array.from(b)));
  }
  return { buffers, transfers, valuesSentPerWorker: sent, rounds };
}
