/**
 * Llama Lab's own float32 matrix product for the wasm backend, written as WebAssembly SIMD at run time
 * (lib/kernels/wasm_assembler.ts) and working in the backend's memory, so tensors are read and written in place.
 *
 * Why not XNNPACK's: tfjs-backend-wasm 4.22 is built without relaxed SIMD, so each multiply-add is two
 * instructions; with `f32x4.relaxed_madd` V8 emits one fused multiply-add (`vfmadd231ps`) where the CPU has FMA,
 * which nearly doubles the arithmetic per cycle. The layout is the classic one (Goto & van de Geijn, "Anatomy of
 * high-performance matrix multiplication", 2008): A is packed into groups of 4 rows and B into panels of 8 columns,
 * both zero-padded, so the micro-kernel keeps a 4 × 8 block of C in 8 vector registers while k runs (more rows make
 * V8 spill registers: measured). Strides make Aᵀ and Bᵀ free. Every element of C is summed over k in the same
 * order whatever the blocking or thread split, so results are deterministic.
 */
import * as v8 from "v8";
import { F32, FunctionBuilder, I32, MemoryImport, V128, WasmMemory, anyMemory, instantiate, moduleBytes } from "./wasm_assembler";

/** Rows of C per micro-kernel call: A is packed in groups this tall. */
export const MR = 4;
/** Columns of C per micro-kernel call (two f32x4 vectors): B is packed in panels this wide. */
export const NR = 8;

/** The kernels exported by the module; every pointer and stride is in bytes. */
export interface GemmExports {
  /** Packs A[rows, kc] (A[i, k] at a + i·rsA + k·csA) into groups of MR rows, [⌈rows/MR⌉][kc][MR], zero-padded. */
  packA(a: number, rsA: number, csA: number, rows: number, kc: number, dst: number): void;
  /** Packs B[kc, cols] (B[k, j] at b + k·rsB + j·csB) into panels of NR columns, [⌈cols/NR⌉][kc][NR], zero-padded. */
  packB(b: number, rsB: number, csB: number, kc: number, cols: number, dst: number): void;
  /**
   * C[rows, cols] (+)= Ap · Bp for packed operands; C[i, j] at c + i·ldc + 4j. `acc` 1 adds to C, 0 overwrites.
   * `tile` is MR·NR floats of scratch for the edges.
   */
  block(ap: number, bp: number, kc: number, c: number, ldc: number, rows: number, cols: number, acc: number, tile: number): void;
}

/** micro(ap, bp, kc, c, ldc, acc): C[MR, NR] (+)= Ap[kc][MR] · Bp[kc][NR]. */
function microKernel(): FunctionBuilder {
  const f = new FunctionBuilder("micro", 6);
  const [ap, bp, kc, c, ldc, acc] = [0, 1, 2, 3, 4, 5];
  const b = [f.local(V128), f.local(V128)];
  const x = f.local(V128);
  const sums = Array.from({ length: MR }, () => [f.local(V128), f.local(V128)]);
  f.loop();
  f.get(bp).v128Load(0).set(b[0]);
  f.get(bp).v128Load(16).set(b[1]);
  for (let r = 0; r < MR; r++) {
    f.get(ap).v128Load32Splat(4 * r).set(x);
    for (const h of [0, 1]) f.get(x).get(b[h]).get(sums[r][h]).f32x4RelaxedMadd().set(sums[r][h]);
  }
  f.bump(ap, 4 * MR).bump(bp, 4 * NR);
  f.get(kc).i32(1).sub().tee(kc).brIf(0);
  f.end();
  for (let r = 0; r < MR; r++) {
    for (const h of [0, 1]) {
      f.get(acc).if();
      f.get(c).v128Load(16 * h).get(sums[r][h]).f32x4Add().set(sums[r][h]);
      f.end();
      f.get(c).get(sums[r][h]).v128Store(16 * h);
    }
    if (r + 1 < MR) f.bumpBy(c, ldc);
  }
  return f;
}

/**
 * pack(src, lineStride, stepStride, lines, steps, dst) packs `lines` lines of `steps` floats into groups of `group`
 * lines interleaved per step: dst[g][s][l] = src[(g·group + l)·lineStride + s·stepStride], 0 past the last line.
 * A's lines are its rows (steps run along k); B's lines are its columns.
 */
function packKernel(name: string, group: number): FunctionBuilder {
  const f = new FunctionBuilder(name, 6);
  const [src, lineStride, stepStride, lines, steps, dst] = [0, 1, 2, 3, 4, 5];
  const s = f.local(I32);
  const p = f.local(I32);
  const left = f.local(I32); // lines in this group
  const offsets = Array.from({ length: group }, () => f.local(I32));
  const rowsOf4 = Array.from({ length: 4 }, () => f.local(V128));
  const pairs = Array.from({ length: 4 }, () => f.local(V128));
  for (let l = 1; l < group; l++) f.get(offsets[l - 1]).get(lineStride).add().set(offsets[l]);
  f.block().loop(); // groups
  f.get(lines).eqz().brIf(1);
  f.get(src).set(p).get(steps).set(s);
  f.minOf(lines, group).set(left);
  f.get(left).i32(group).eq().get(lineStride).i32(4).eq().and().if();
  // A full group of adjacent lines: vector copies per step.
  f.loop();
  for (let v = 0; v < group / 4; v++) f.get(dst).get(p).v128Load(16 * v).v128Store(16 * v);
  f.bump(dst, 4 * group).bumpBy(p, stepStride);
  f.get(s).i32(1).sub().tee(s).brIf(0);
  f.end();
  f.else();
  f.get(left).i32(group).eq().get(stepStride).i32(4).eq().and().if();
  // A full group of lines that are contiguous along the steps (A's rows, Bᵀ's columns): 4 steps at a time, as
  // 4 × 4 transposes of vectors, instead of one float at a time.
  f.block().loop();
  f.get(s).i32(4).ltU().brIf(1);
  for (let q = 0; q < group / 4; q++) {
    for (let l = 0; l < 4; l++) f.get(p).get(offsets[4 * q + l]).add().v128Load().set(rowsOf4[l]);
    // [a0 a1 a2 a3], [b…], [c…], [d…] → [a0 b0 a1 b1], [a2 b2 a3 b3], [c0 d0 c1 d1], [c2 d2 c3 d3] → columns.
    f.get(rowsOf4[0]).get(rowsOf4[1]).shuffle32([0, 4, 1, 5]).set(pairs[0]);
    f.get(rowsOf4[0]).get(rowsOf4[1]).shuffle32([2, 6, 3, 7]).set(pairs[1]);
    f.get(rowsOf4[2]).get(rowsOf4[3]).shuffle32([0, 4, 1, 5]).set(pairs[2]);
    f.get(rowsOf4[2]).get(rowsOf4[3]).shuffle32([2, 6, 3, 7]).set(pairs[3]);
    for (let step = 0; step < 4; step++) {
      const [x, y] = step < 2 ? [pairs[0], pairs[2]] : [pairs[1], pairs[3]];
      const lanes: [number, number, number, number] = step % 2 === 0 ? [0, 1, 4, 5] : [2, 3, 6, 7];
      f.get(dst).get(x).get(y).shuffle32(lanes).v128Store(4 * group * step + 16 * q);
    }
  }
  f.bump(dst, 16 * group).bump(p, 16);
  f.get(s).i32(4).sub().set(s);
  f.br(0);
  f.end().end();
  f.end();
  // Anything else (and the last steps of the above): one float at a time, zeros past the last line.
  f.block().loop();
  f.get(s).eqz().brIf(1);
  for (let l = 0; l < group; l++) {
    f.i32(l).get(left).ltU().if();
    f.get(dst).get(p).get(offsets[l]).add().f32Load().f32Store(4 * l);
    f.else();
    f.get(dst).f32Zero().f32Store(4 * l);
    f.end();
  }
  f.bump(dst, 4 * group).bumpBy(p, stepStride);
  f.get(s).i32(1).sub().set(s);
  f.br(0);
  f.end().end();
  f.end();
  f.get(src).get(lineStride).i32(group).mul().add().set(src);
  f.get(lines).get(left).sub().set(lines);
  f.br(0);
  f.end().end();
  return f;
}

/** addTile(tile, c, ldc, rows, cols, acc): C[r, j] (+)= tile[r, j] (tile rows are NR floats) for an edge block. */
function addTileKernel(): FunctionBuilder {
  const f = new FunctionBuilder("addTile", 6);
  const [tile, c, ldc, rows, cols, acc] = [0, 1, 2, 3, 4, 5];
  const j = f.local(I32);
  const v = f.local(F32);
  f.block().loop(); // rows
  f.get(rows).eqz().brIf(1);
  f.i32(0).set(j);
  f.block().loop(); // columns
  f.get(j).get(cols).geU().brIf(1);
  f.get(tile).get(j).i32(4).mul().add().f32Load().set(v);
  f.get(acc).if();
  f.get(v).get(c).get(j).i32(4).mul().add().f32Load().f32Add().set(v);
  f.end();
  f.get(c).get(j).i32(4).mul().add().get(v).f32Store();
  f.bump(j, 1).br(0);
  f.end().end();
  f.bump(tile, 4 * NR).bumpBy(c, ldc);
  f.get(rows).i32(1).sub().set(rows);
  f.br(0);
  f.end().end();
  return f;
}

/**
 * block(ap, bp, kc, c, ldc, rows, cols, acc, tile): for every panel of B, every group of A. Full MR × NR blocks go
 * straight to C; edge blocks are computed into `tile` and their valid part added or copied to C.
 */
function blockKernel(micro: number, addTile: number): FunctionBuilder {
  const f = new FunctionBuilder("block", 9);
  const [ap, bp, kc, c, ldc, rows, cols, acc, tile] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const a = f.local(I32);
  const cp = f.local(I32);
  const left = f.local(I32); // rows left
  const nr = f.local(I32); // valid columns in this panel
  const groupBytes = f.local(I32);
  const cStep = f.local(I32);
  f.get(kc).i32(4 * MR).mul().set(groupBytes);
  f.get(ldc).i32(MR).mul().set(cStep);
  f.block().loop(); // panels
  f.get(cols).eqz().brIf(1);
  f.minOf(cols, NR).set(nr);
  f.get(ap).set(a).get(c).set(cp).get(rows).set(left);
  f.block().loop(); // groups
  f.get(left).eqz().brIf(1);
  f.get(left).i32(MR).geU().get(nr).i32(NR).eq().and().if();
  f.get(a).get(bp).get(kc).get(cp).get(ldc).get(acc).call(micro);
  f.else();
  f.get(a).get(bp).get(kc).get(tile).i32(4 * NR).i32(0).call(micro);
  f.get(tile).get(cp).get(ldc).minOf(left, MR).get(nr).get(acc).call(addTile);
  f.end();
  f.bumpBy(a, groupBytes).bumpBy(cp, cStep);
  f.get(left).minOf(left, MR).sub().set(left);
  f.br(0);
  f.end().end();
  f.get(bp).get(kc).i32(4 * NR).mul().add().set(bp);
  f.bump(c, 4 * NR);
  f.get(cols).get(nr).sub().set(cols);
  f.br(0);
  f.end().end();
  return f;
}

/** The module's bytes for a memory shaped like `memory`. */
export function gemmModuleBytes(memory: MemoryImport): Uint8Array {
  // Function indices: micro 0, addTile 1.
  return moduleBytes(memory, [microKernel(), addTileKernel(), packKernel("packA", MR), packKernel("packB", NR), blockKernel(0, 1)]);
}

/** Instantiates the kernels on `memory`, or returns null if this engine cannot compile them (no relaxed SIMD). */
export function instantiateGemm(memory: WasmMemory, shared: boolean): GemmExports | null {
  // Relaxed SIMD is finished and on by default from V8 11.4 (Node 22); Node 20's V8 has it behind this flag, which
  // is process-wide and read when a module is compiled.
  v8.setFlagsFromString("--experimental-wasm-relaxed-simd");
  try {
    return instantiate(gemmModuleBytes(anyMemory(shared)), memory) as unknown as GemmExports;
  } catch {
    return null;
  }
}

/** k is summed in blocks of this many steps (a packed panel of B stays in the L1 cache). */
export const KC = 256;
/** Rows of A packed at a time (the packed block stays in the L2 cache). */
export const MC = 64;
/**
 * Columns of B packed at a time, so that a vocabulary-wide B is not streamed from memory once per block of rows
 * (a 512 × 32000 × 288 LM head, in isolation on 2 threads: 55–84 GFLOP/s with 1,024 or 2,048 columns, which
 * measured alike on this noisy VM).
 */
export const NC = 2048;

/** Fields of a product job, as laid out in an Int32Array (shared with worker threads). */
export const enum Job {
  batches, m, n, k,
  a, aBatch, rsA, csA,
  b, bBatch, rsB, csB,
  c, cBatch, ldc,
  /** Number of threads the job is split over. */
  threads,
  size,
}

/** Scratch memory of one thread (byte offsets into the wasm memory), laid out in an Int32Array. */
export const enum Scratch { packA, packB, tile, size }

/** Slots of the control block a pool shares with its worker threads (Int32 indices; lib/kernels/gemm_pool.ts). */
export const enum Control {
  /** Bumped once per job; workers wait on it. */
  seq,
  /** Workers that finished the current job. */
  done,
  /** Set by a worker whose share threw. */
  failed,
  /** Workers that are up and waiting for jobs. */
  ready,
  job = 8,
  scratch = job + Job.size,
}

/** Where a thread's scratch starts in the control block. */
export const scratchSlot = (thread: number): number => Control.scratch + thread * Scratch.size;

/** What a worker needs, sent as its workerData. */
export interface GemmWorkerData {
  memory: WasmMemory;
  control: SharedArrayBuffer;
  thread: number;
}

/**
 * k is cut into blocks of equal length near KC (at most 1.5·KC): every block but the first adds to C, a pass over
 * all of C, so a short last block (k = 288 as 256 + 32) would cost a whole pass for little work.
 */
export const kBlockOf = (k: number): number => Math.ceil(k / Math.max(1, Math.round(k / KC)));

/** Bytes of scratch a thread needs for products with `n` columns: packed A block, packed B block, one edge tile. */
export function scratchBytes(n: number): { packA: number; packB: number; tile: number } {
  const kc = Math.ceil(1.5 * KC); // the longest block kBlockOf gives
  return { packA: 4 * (MC + MR) * kc, packB: 4 * kc * (Math.ceil(Math.min(n, NC) / NR) * NR), tile: 4 * MR * NR };
}

/**
 * Thread `thread`'s share of the job in `job` (C = A·B per batch, all strides in bytes): whole batches when there
 * are at least as many batches as threads, else rows (in multiples of MR) or columns (of NR), whichever side is
 * longer, since every thread packs all of the other operand. Any split gives the same numbers.
 */
export function runShare(g: GemmExports, job: Int32Array, scratch: Int32Array, thread: number): void {
  const threads = job[Job.threads];
  const batches = job[Job.batches];
  const [m, n] = [job[Job.m], job[Job.n]];
  const part = (size: number, unit: number): [number, number] => {
    const units = Math.ceil(size / unit);
    const at = (t: number): number => Math.min(size, unit * Math.floor((units * t) / threads));
    return [at(thread), at(thread + 1)];
  };
  let [b0, b1, r0, r1, c0, c1] = [0, batches, 0, m, 0, n];
  if (batches >= threads) [b0, b1] = part(batches, 1);
  else if (m >= n) [r0, r1] = part(m, MR);
  else [c0, c1] = part(n, NR);
  const [k, rsA, csA, rsB, csB, ldc] = [job[Job.k], job[Job.rsA], job[Job.csA], job[Job.rsB], job[Job.csB], job[Job.ldc]];
  const [packA, packB, tile] = [scratch[Scratch.packA], scratch[Scratch.packB], scratch[Scratch.tile]];
  const kBlock = kBlockOf(k);
  for (let batch = b0; batch < b1; batch++) {
    const a = job[Job.a] + batch * job[Job.aBatch];
    const b = job[Job.b] + batch * job[Job.bBatch];
    const c = job[Job.c] + batch * job[Job.cBatch];
    for (let k0 = 0; k0 < k; k0 += kBlock) {
      const kc = Math.min(kBlock, k - k0);
      for (let j0 = c0; j0 < c1; j0 += NC) {
        const cols = Math.min(NC, c1 - j0);
        g.packB(b + k0 * rsB + j0 * csB, csB, rsB, cols, kc, packB);
        for (let i0 = r0; i0 < r1; i0 += MC) {
          const rows = Math.min(MC, r1 - i0);
          g.packA(a + i0 * rsA + k0 * csA, rsA, csA, rows, kc, packA);
          g.block(packA, packB, kc, c + i0 * ldc + 4 * j0, ldc, rows, cols, k0 > 0 ? 1 : 0, tile);
        }
      }
    }
  }
}
