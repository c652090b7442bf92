/**
 * AdamW's per-parameter update as one WebAssembly SIMD pass for the wasm backend. lib/train/adamw.ts expresses it
 * as 14 tf ops, each a full pass over the parameter's memory (~18% of a 15M-model training step); this kernel reads
 * p, g, m, v once and writes p', m', v' once. It does the same float32 operations in the same order, each rounded
 * once (plain f32x4 mul/add/sub/div/sqrt, never relaxed_madd, which would fuse and round differently), so results
 * are bit-identical to the tf-op code, which stays the fallback. tests/adamw_fused.test.ts checks this bit for bit.
 */
import * as tf from "@tensorflow/tfjs";
import { F32, FunctionBuilder, I32, V128, WasmMemory, anyMemory, instantiate, moduleBytes } from "./wasm_assembler";
import { WasmBackendInternals, offsetOf, wasmInternals, wasmMemoryOf } from "./wasm_heap";

/** The step's constants as JS numbers; the kernel rounds each to float32, as tf.scalar does. */
export interface AdamWScalars {
  /** 1 − lr·weightDecay (used only when the parameter decays). */
  decayFactor: number;
  oneMinusBeta1: number;
  beta2: number;
  oneMinusBeta2: number;
  /** sqrt(1 − β2^t). */
  bc2Sqrt: number;
  eps: number;
  /** lr / (1 − β1^t). */
  stepSize: number;
}

/** Order of the constants in the kernel's scalar block (float32 indices). */
const SCALARS = ["decayFactor", "oneMinusBeta1", "beta2", "oneMinusBeta2", "bc2Sqrt", "eps", "stepSize"] as const;

type AdamWKernel = (
  p: number, g: number, m: number, v: number, pOut: number, mOut: number, vOut: number,
  count: number, scalars: number, decays: number,
) => void;

/**
 * adamw(p, g, m, v, pOut, mOut, vOut, count, scalars, decays), pointers in bytes, per element:
 *   p1 = decays ? p·decayFactor : p;   m' = m + (1−β1)·(g − m);   v' = v·β2 + (g·g)·(1−β2)
 *   p' = p1 − (m'·stepSize) / (sqrt(v')/bc2Sqrt + eps)
 * Four lanes per iteration, then a scalar tail for count % 4.
 */
function adamwKernel(): FunctionBuilder {
  const f = new FunctionBuilder("adamw", 10);
  const [p, g, m, v, pOut, mOut, vOut, count, scalars, decays] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const pointers = [p, g, m, v, pOut, mOut, vOut];
  const trips = f.local(I32);
  const scalar = { consts: SCALARS.map(() => f.local(F32)), g: f.local(F32), m: f.local(F32), v: f.local(F32) };
  const vector = { consts: SCALARS.map(() => f.local(V128)), g: f.local(V128), m: f.local(V128), v: f.local(V128) };
  // Constants are loaded once per call, into f32 locals for the tail and splatted into v128 locals for the vectors.
  SCALARS.forEach((_, i) => f.get(scalars).f32Load(4 * i).tee(scalar.consts[i]).f32x4Splat().set(vector.consts[i]));

  /** A loop over `trips` (consumed) groups of 4 floats (`simd`) or 1; `decay` is fixed at assembly time. */
  const loop = (simd: boolean, decay: boolean): void => {
    const l = simd ? vector : scalar;
    const c = (name: (typeof SCALARS)[number]) => l.consts[SCALARS.indexOf(name)];
    const load = () => (simd ? f.v128Load() : f.f32Load());
    const store = () => (simd ? f.v128Store() : f.f32Store());
    const sub = () => (simd ? f.f32x4Sub() : f.f32Sub());
    const mul = () => (simd ? f.f32x4Mul() : f.f32Mul());
    const add = () => (simd ? f.f32x4Add() : f.f32Add());
    const div = () => (simd ? f.f32x4Div() : f.f32Div());
    const sqrt = () => (simd ? f.f32x4Sqrt() : f.f32Sqrt());
    f.block().loop();
    f.get(trips).eqz().brIf(1);
    f.get(g); load(); f.set(l.g);
    // m' = m + (1−β1)·(g − m), PyTorch's lerp, as in adamw.ts.
    f.get(mOut).get(m); load(); f.tee(l.m).get(c("oneMinusBeta1")).get(l.g).get(l.m); sub(); mul(); add();
    f.tee(l.m); store();
    // v' = v·β2 + (g·g)·(1−β2)
    f.get(vOut).get(v); load(); f.get(c("beta2")); mul(); f.get(l.g).get(l.g); mul(); f.get(c("oneMinusBeta2")); mul(); add();
    f.tee(l.v); store();
    // p' = p1 − (m'·stepSize) / (sqrt(v')/bc2Sqrt + eps)
    f.get(pOut).get(p); load();
    if (decay) { f.get(c("decayFactor")); mul(); }
    f.get(l.m).get(c("stepSize")); mul(); f.get(l.v); sqrt(); f.get(c("bc2Sqrt")); div(); f.get(c("eps")); add(); div(); sub();
    store();
    for (const q of pointers) f.bump(q, simd ? 16 : 4);
    f.get(trips).i32(1).sub().set(trips).br(0);
    f.end().end();
  };
  const loops = (decay: boolean): void => {
    f.get(count).i32(2).shrU().set(trips);
    loop(true, decay);
    f.get(count).i32(3).and().set(trips);
    loop(false, decay);
  };
  // The decay test is made once per call, so neither loop body branches.
  f.get(decays).if();
  loops(true);
  f.else();
  loops(false);
  f.end();
  return f;
}

/** The kernel and its scalar block on one backend (null: not available there). */
interface Fused {
  kernel: AdamWKernel;
  memory: WasmMemory;
  /** Byte offset of SCALARS.length floats of wasm heap, allocated once per backend and kept. */
  scalars: number;
}

const fusedByBackend = new WeakMap<object, Fused | null>();

function fusedFor(be: WasmBackendInternals): Fused | null {
  let fused = fusedByBackend.get(be);
  if (fused !== undefined) return fused;
  fused = null;
  const found = wasmMemoryOf(be);
  const malloc = be.wasm._malloc;
  if (found !== null && malloc !== undefined) {
    try {
      const kernel = instantiate(moduleBytes(anyMemory(found.shared), [adamwKernel()]), found.memory).adamw as AdamWKernel;
      const scalars = malloc(4 * SCALARS.length) >>> 0;
      if (scalars !== 0) fused = { kernel, memory: found.memory, scalars };
    } catch {
      fused = null; // an engine without WebAssembly SIMD: the tf ops do the work
    }
  }
  fusedByBackend.set(be, fused);
  return fused;
}

/**
 * One AdamW update of parameter `p` with gradient `g` and moments `m`, `v` (same shape, float32), bit-identical
 * to lib/train/adamw.ts's tf ops. Returns new tensors [p', m', v'] (inputs are left untouched: tensors may share
 * data), tracked like any op's result so an enclosing tf.tidy frees them; or null when the fused kernel cannot run
 * (not the wasm backend, other dtypes, empty or unreachable data) and the caller must use tf ops.
 */
export function fusedAdamW(
  p: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, decays: boolean, scalars: AdamWScalars,
): [tf.Tensor, tf.Tensor, tf.Tensor] | null {
  if (tf.getBackend() !== "wasm" || p.size === 0) return null;
  const be = wasmInternals(tf.backend());
  const fused = be === null ? null : fusedFor(be);
  if (be === null || fused === null) return null;
  const inputs = [p, g, m, v].map((t) => offsetOf(be, t));
  if (inputs.some((o) => o === null)) return null;
  const outputs = [0, 1, 2].map(() => be.makeOutput([...p.shape], "float32"));
  const outOffsets = outputs.map((info) => be.dataIdMap.get(info.dataId)!.memoryOffset!);
  // A fresh view: the memory may have grown (and its buffer changed) since the last call.
  new Float32Array(fused.memory.buffer, fused.scalars, SCALARS.length).set(SCALARS.map((name) => scalars[name]));
  const [pi, gi, mi, vi] = inputs as number[];
  const [po, mo, vo] = outOffsets;
  fused.kernel(pi, gi, mi, vi, po, mo, vo, p.size, fused.scalars, decays ? 1 : 0);
  const [pNew, mNew, vNew] = outputs.map((info) => tf.engine().makeTensorFromTensorInfo(info));
  return [pNew, mNew, vNew];
}
