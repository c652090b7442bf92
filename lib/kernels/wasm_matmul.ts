/**
 * A faster `BatchMatMul` for the wasm backend. Every product runs on Llama Lab's own fused-multiply-add kernels
 * (lib/kernels/wasm_gemm.ts, on all threads through gemm_pool.ts), which take transposed operands through strides,
 * except decoding's x·Wᵀ for a few rows, which stays on XNNPACK with a cached Wᵀ. Where those kernels cannot run
 * (an engine without relaxed SIMD), the earlier route is kept: tfjs-backend-wasm 4.22 sends a matmul to XNNPACK's
 * fast path only when it is plain 2-D (batch 1, no transpose flag) and runs everything else as a naive loop at
 * ~1 GFLOP/s, so transpose flags become explicit transposes, a shared right operand folds the batch into rows, and
 * other batches run one fast 2-D matmul per batch on views into the operands' wasm memory (no copies).
 *
 * Only the wasm backend is touched; other backends (cpu, tfjs-node) keep their own kernels, and model code
 * stays backend-agnostic. If the backend's internals ever differ from what is checked here, the original
 * kernel runs.
 */
import * as tf from "@tensorflow/tfjs";
import { gemmPoolFor } from "./gemm_pool";
import { Job } from "./wasm_gemm";
import { WasmBackendInternals, viewOf, wasmInternals } from "./wasm_heap";

type MatMulCall = (
  aId: number, aShape: Uint8Array, aRank: number, bId: number, bShape: Uint8Array, bRank: number,
  transposeA: boolean, transposeB: boolean, outId: number,
) => void;

let installed = false;
/** Whether products go to our FMA kernels (LLAMALAB_WASM_GEMM=0 keeps them on XNNPACK, e.g. to compare). */
let ownKernels = process.env.LLAMALAB_WASM_GEMM?.trim() !== "0";

/** Sends wasm products to Llama Lab's FMA kernels (true, the default) or to XNNPACK's route (false). */
export function useOwnMatMulKernels(on: boolean): void {
  ownKernels = on;
}
const calls = new WeakMap<object, MatMulCall>();

function matMulCall(be: WasmBackendInternals): MatMulCall {
  let call = calls.get(be);
  if (call === undefined) {
    const types = ["number", "array", "number", "number", "array", "number", "number", "number", "number"];
    call = be.wasm.cwrap("BatchMatMul", null, types) as MatMulCall;
    calls.set(be, call);
  }
  return call;
}

const shapeBytes = (shape: number[]): Uint8Array => new Uint8Array(new Int32Array(shape).buffer);
const sizeOf = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/**
 * Replaces the wasm backend's BatchMatMul kernel with the fast-path version, once. A no-op unless the wasm
 * backend is active (call it again after switching to wasm). Returns whether the fast kernel is in place.
 */
export function installWasmMatMul(): boolean {
  if (installed) return true;
  if (tf.getBackend() !== "wasm" || wasmInternals(tf.backend()) === null) return false;
  const original = tf.getKernel(tf.BatchMatMul, "wasm");
  const transpose = tf.getKernel(tf.Transpose, "wasm");
  if (original === undefined || transpose === undefined) return false;
  const originalFunc = original.kernelFunc as (args: object) => tf.TensorInfo;
  const transposeFunc = transpose.kernelFunc as (args: object) => tf.TensorInfo;

  const kernelFunc = (args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { transposeA, transposeB } = (args.attrs ?? {}) as { transposeA?: boolean; transposeB?: boolean };
    const be = wasmInternals(args.backend);
    if (be === null || a.dtype !== "float32" || b.dtype !== "float32" || a.shape.length < 2 || b.shape.length < 2) {
      return originalFunc(args);
    }
    const temps: tf.TensorInfo[] = [];
    const swapLast = (x: tf.TensorInfo): tf.TensorInfo => {
      const t = swapLastFunc(transposeFunc, args.backend)(x);
      temps.push(t);
      return t;
    };
    const m = transposeA ? a.shape[a.shape.length - 1] : a.shape[a.shape.length - 2];
    const batchB = sizeOf(b.shape.slice(0, -2));
    // Decoding (x·Wᵀ for a few rows) keeps XNNPACK on a cached Wᵀ: our kernels would repack W on every call.
    // Everything else runs on our kernels, which compute each row of C the same way however many rows there are,
    // so a data-parallel worker's smaller batches give the same numbers as the whole batch in one process.
    const decoding = m < DECODE_M && transposeB && batchB === 1 && !transposeA;
    if (!decoding && ownKernels) {
      const out = gemmMatMul(be, a, b, transposeA === true, transposeB === true);
      if (out !== null) return out;
    }
    if (m < SMALL_M && transposeB) {
      // Decoding (a few rows): transposing a big operand every call would cost more than the naive loop saves,
      // so a weight's transpose is kept (see transposedWeight); small batched products stay on the naive loop.
      if (batchB !== 1 || transposeA) return originalFunc(args);
      const bt = transposedWeight(be, b, swapLastFunc(transposeFunc, args.backend));
      if (bt === null) return originalFunc(args);
      return plainMatMul(be, a, bt, () => originalFunc({ ...args, inputs: { a, b: bt }, attrs: { transposeA: false, transposeB: false } }));
    }
    try {
      const n = transposeB ? b.shape[b.shape.length - 2] : b.shape[b.shape.length - 1];
      if (a.shape.length === 2 && b.shape.length === 2 && n >= WIDE_N && n > 4 * m) {
        // A very wide right operand (an LM head's vocabulary) is slow as XNNPACK's weights (~10 GFLOP/s for
        // N = 32000 against ~25): compute Cᵀ = Bᵀ·Aᵀ, where the wide side becomes rows, then transpose C back.
        const bt = transposeB ? b : swapLast(b); // [N, K]
        const at = transposeA ? a : swapLast(a); // [K, M]
        const ct = plainMatMul(be, bt, at, () => originalFunc({ ...args, inputs: { a: bt, b: at }, attrs: { transposeA: false, transposeB: false } }));
        temps.push(ct); // [N, M]
        return swapLastFunc(transposeFunc, args.backend)(ct); // [M, N]
      }
      const aa = transposeA ? swapLast(a) : a; // [...A, M, K]
      const bb = transposeB ? swapLast(b) : b; // [...B, K, N]
      return plainMatMul(be, aa, bb, () => originalFunc({ ...args, inputs: { a: aa, b: bb }, attrs: { transposeA: false, transposeB: false } }));
    } finally {
      for (const t of temps) be.disposeData(t.dataId);
    }
  };
  tf.unregisterKernel(tf.BatchMatMul, "wasm");
  tf.registerKernel({ kernelName: tf.BatchMatMul, backendName: "wasm", kernelFunc: kernelFunc as tf.KernelFunc });
  installed = true;
  return true;
}

/**
 * An explicit transpose of the last two axes, so that a matmul can run without transpose flags. Large float32
 * matrices are transposed here in tiles: the wasm Transpose kernel walks the source row by row, which is ~3×
 * slower once a matrix outgrows the cache ([1024, 688]: 5.4 ms against 1.7 ms) though faster for small ones.
 */
function swapLastFunc(transposeFunc: (args: object) => tf.TensorInfo, backend: unknown): (x: tf.TensorInfo) => tf.TensorInfo {
  return (x) => {
    const be = wasmInternals(backend);
    const [rows, cols] = x.shape.slice(-2);
    const shape = [...x.shape.slice(0, -2), cols, rows];
    if (be !== null && x.dtype === "float32" && rows * cols >= TILED_MIN_SIZE) {
      const out = be.makeOutput(shape, "float32");
      const src = viewOf(be, x);
      const dst = viewOf(be, out);
      if (src !== null && dst !== null) {
        transposeTiles(src, dst, src.length / (rows * cols), rows, cols);
        return out;
      }
      be.disposeData(out.dataId);
    }
    const perm = x.shape.map((_, i) => i);
    [perm[perm.length - 2], perm[perm.length - 1]] = [perm[perm.length - 1], perm[perm.length - 2]];
    return transposeFunc({ inputs: { x }, backend, attrs: { perm } });
  };
}

const TILE = 16;
/** Matrices of at least this many values are transposed in tiles; smaller ones by the wasm kernel. */
const TILED_MIN_SIZE = 65536;

/** dst[b, j, i] = src[b, i, j] for `batch` row-major [rows, cols] matrices, in TILE × TILE blocks. */
function transposeTiles(src: Float32Array, dst: Float32Array, batch: number, rows: number, cols: number): void {
  const size = rows * cols;
  for (let b = 0; b < batch; b++) {
    const base = b * size;
    for (let j0 = 0; j0 < cols; j0 += TILE) {
      const j1 = Math.min(j0 + TILE, cols);
      for (let i0 = 0; i0 < rows; i0 += TILE) {
        const i1 = Math.min(i0 + TILE, rows);
        for (let j = j0; j < j1; j++) {
          const out = base + j * rows;
          for (let i = i0; i < i1; i++) dst[out + i] = src[base + i * cols + j];
        }
      }
    }
  }
}

/** From this many output columns (and 4× more columns than rows) a 2-D product is computed transposed. */
const WIDE_N = 4096;
/** Below this many rows of a, a transposed right operand is cached instead of transposed per call. */
const SMALL_M = 64;
/** Below this many rows, x·Wᵀ is taken as a decoding step (see kernelFunc). */
const DECODE_M = 8;
/** At most this many floats of transposed copies are kept (256 MB). */
const CACHE_FLOATS = 64 * 1024 * 1024;
const transposedCache = new Map<tf.DataId, tf.TensorInfo>();
let cachedFloats = 0;

/**
 * bᵀ for a right operand used again and again with few rows on the left (a weight while decoding), from a
 * cache keyed by b's data. An entry goes when its source tensor has been disposed (a weight updated by the
 * optimizer gets new data), checked on every call, or when the cache is full (oldest first). Null if b is too big.
 */
function transposedWeight(
  be: WasmBackendInternals, b: tf.TensorInfo, swapLast: (x: tf.TensorInfo) => tf.TensorInfo,
): tf.TensorInfo | null {
  for (const [source, copy] of transposedCache) {
    if (!be.dataIdMap.has(source)) dropCached(be, source, copy);
  }
  const hit = transposedCache.get(b.dataId);
  if (hit !== undefined) {
    transposedCache.delete(b.dataId); // re-insert: the Map's order is least recently used first
    transposedCache.set(b.dataId, hit);
    return hit;
  }
  const size = sizeOf(b.shape);
  if (size > CACHE_FLOATS / 4) return null;
  for (const [source, copy] of transposedCache) {
    if (cachedFloats + size <= CACHE_FLOATS) break;
    dropCached(be, source, copy);
  }
  const copy = swapLast(b);
  transposedCache.set(b.dataId, copy);
  cachedFloats += size;
  return copy;
}

function dropCached(be: WasmBackendInternals, source: tf.DataId, copy: tf.TensorInfo): void {
  transposedCache.delete(source);
  cachedFloats -= sizeOf(copy.shape);
  be.disposeData(copy.dataId);
}

/** From this many multiply-adds a product is split over threads (below it, waking them costs more than it saves). */
const PARALLEL_MIN = 1 << 20;

/** Leading 1s do not change a batch layout. */
const stripOnes = (dims: number[]): number[] => {
  const first = dims.findIndex((d) => d !== 1);
  return first < 0 ? [] : dims.slice(first);
};

/** Sizes and memory of a product a [...A, M, K] · b [...B, K, N] (read through the transpose flags). */
interface ProductLayout {
  m: number;
  k: number;
  n: number;
  batchA: number;
  batchB: number;
  /** The output's batch shape. */
  outer: number[];
  a: { id: number; memoryOffset: number };
  b: { id: number; memoryOffset: number };
}

/**
 * The layout of a product whose batches are one of: all of a's against one b, one a against all of b's, or equal;
 * null for anything else (mismatched inner sizes, general broadcasts, empty or unplaced operands), which the
 * original kernel handles, with its error messages.
 */
function productLayout(
  be: WasmBackendInternals, a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean,
): ProductLayout | null {
  const [m, k] = transposeA ? a.shape.slice(-2).reverse() : a.shape.slice(-2);
  const [k2, n] = transposeB ? b.shape.slice(-2).reverse() : b.shape.slice(-2);
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const batchA = sizeOf(outerA);
  const batchB = sizeOf(outerB);
  const simple = batchA === 1 || batchB === 1 || tf.util.arraysEqual(stripOnes(outerA), stripOnes(outerB));
  const aInfo = be.dataIdMap.get(a.dataId);
  const bInfo = be.dataIdMap.get(b.dataId);
  if (k !== k2 || m * k * n === 0 || !simple || aInfo?.memoryOffset == null || bInfo?.memoryOffset == null) return null;
  const outer = tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
  return {
    m, k, n, batchA, batchB, outer,
    a: { id: aInfo.id, memoryOffset: aInfo.memoryOffset },
    b: { id: bInfo.id, memoryOffset: bInfo.memoryOffset },
  };
}

/**
 * The product on Llama Lab's own FMA kernels (lib/kernels/wasm_gemm.ts), reading transposed operands through
 * strides instead of transposing them; null when they are not available or the layout is not one they take
 * (mismatched or general broadcast batches), so the caller runs another path.
 */
function gemmMatMul(be: WasmBackendInternals, a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean): tf.TensorInfo | null {
  const pool = gemmPoolFor(be);
  const layout = pool === null ? null : productLayout(be, a, b, transposeA, transposeB);
  if (pool === null || layout === null) return null;
  const { m, k, n, batchA, batchB, outer } = layout;
  const out = be.makeOutput([...outer, m, n], "float32");
  const job = pool.job;
  // Strides in bytes: A[i, k] = a[i·rsA + k·csA], B[k, j] = b[k·rsB + j·csB].
  job[Job.rsA] = transposeA ? 4 : 4 * k;
  job[Job.csA] = transposeA ? 4 * m : 4;
  job[Job.rsB] = transposeB ? 4 : 4 * n;
  job[Job.csB] = transposeB ? 4 * k : 4;
  job[Job.a] = layout.a.memoryOffset;
  job[Job.b] = layout.b.memoryOffset;
  job[Job.c] = be.dataIdMap.get(out.dataId)!.memoryOffset!;
  job[Job.n] = n;
  job[Job.k] = k;
  job[Job.ldc] = 4 * n;
  const batches = Math.max(batchA, batchB);
  if (batchB === 1 && !transposeA) {
    // One shared right operand (a weight): the batches of a are just more rows.
    [job[Job.batches], job[Job.m]] = [1, batchA * m];
  } else {
    [job[Job.batches], job[Job.m]] = [batches, m];
  }
  job[Job.aBatch] = batchA === 1 ? 0 : 4 * m * k;
  job[Job.bBatch] = batchB === 1 ? 0 : 4 * k * n;
  job[Job.cBatch] = 4 * m * n;
  try {
    pool.run(batches * m * n * k >= PARALLEL_MIN ? pool.threads : 1);
  } catch (e) {
    be.disposeData(out.dataId);
    throw e;
  }
  return out;
}

/** a [...A, M, K] · b [...B, K, N] with no transposes, as fast-path 2-D matmuls; `fallback` for odd broadcasts. */
function plainMatMul(be: WasmBackendInternals, a: tf.TensorInfo, b: tf.TensorInfo, fallback: () => tf.TensorInfo): tf.TensorInfo {
  const layout = productLayout(be, a, b, false, false);
  if (layout === null) return fallback();
  const { m, k, n, batchA, batchB, outer, a: aInfo, b: bInfo } = layout;
  const call = matMulCall(be);
  if (batchB === 1) {
    // One shared right operand (a weight): all batches of a are just more rows. [A·M, K]·[K, N].
    if (batchA === 1) return fallback(); // already the fast 2-D case
    const out = be.makeOutput([...outer, m, n], "float32");
    const outId = be.dataIdMap.get(out.dataId)!.id;
    call(aInfo.id, shapeBytes([1, batchA * m, k]), 3, bInfo.id, shapeBytes([1, k, n]), 3, false, false, outId);
    return out;
  }
  const out = be.makeOutput([...outer, m, n], "float32");
  const outOffset = be.dataIdMap.get(out.dataId)!.memoryOffset!;
  const batches = Math.max(batchA, batchB);
  // Temporary tensor ids that point into the operands' memory: batch i of a, b and out, each 2-D.
  const view = (offset: number, size: number): number => {
    const id = be.dataIdNextNumber++;
    be.wasm.tfjs.registerTensor(id, size, offset);
    return id;
  };
  const aShape = shapeBytes([1, m, k]);
  const bShape = shapeBytes([1, k, n]);
  for (let i = 0; i < batches; i++) {
    const ai = view(aInfo.memoryOffset + 4 * (batchA === 1 ? 0 : i) * m * k, m * k);
    const bi = view(bInfo.memoryOffset + 4 * i * k * n, k * n);
    const oi = view(outOffset + 4 * i * m * n, m * n);
    call(ai, aShape, 3, bi, bShape, 3, false, false, oi);
    // Unregisters the ids (and any XNNPACK operator cached for them); the memory stays with its owner.
    be.wasm.tfjs.disposeData(ai);
    be.wasm.tfjs.disposeData(bi);
    be.wasm.tfjs.disposeData(oi);
  }
  return out;
}
