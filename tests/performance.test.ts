import { strict as assert } from "assert";
import * as fs from "fs";
import * as tf from "@tensorflow/tfjs";
import { installWasmKernels } from "../lib/kernels/install";
import { gemmPoolFor } from "../lib/kernels/gemm_pool";
import { installWasmMatMul, useOwnMatMulKernels } from "../lib/kernels/wasm_matmul";
import { wasmInternals, wasmMemoryOf } from "../lib/kernels/wasm_heap";
import { wasmThreads } from "../lib/kernels/wasm_threads";
import { makeConfig } from "../lib/model/config";
import { LlamaForCausalLM } from "../lib/model/causal_lm";
import { Random } from "../lib/random";
import { AdamW } from "../lib/train/adamw";
import { maskedCrossEntropy } from "../lib/train/losses";
import { trainSteps } from "../lib/train/loop";

/** A [...batch, rows, cols] tensor of seeded values, and the same values as a flat array. */
function randomTensor(rng: Random, shape: number[]): { t: tf.Tensor; v: Float32Array } {
  const v = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal());
  return { t: tf.tensor(v, shape), v };
}

/**
 * Batched a·b in doubles from flat row-major arrays, with tfjs' transpose flags and batch-1 broadcasting; also
 * Σ|a·b| per element, which bounds float32 rounding error.
 */
function referenceMatMul(
  a: Float32Array, aShape: number[], b: Float32Array, bShape: number[], transposeA: boolean, transposeB: boolean,
): { values: number[]; magnitudes: number[] } {
  const [ar, ac] = aShape.slice(-2);
  const [br, bc] = bShape.slice(-2);
  const [m, k] = transposeA ? [ac, ar] : [ar, ac];
  const n = transposeB ? br : bc;
  const batchA = a.length / (ar * ac);
  const batchB = b.length / (br * bc);
  const out: number[] = [];
  const magnitudes: number[] = [];
  for (let i = 0; i < Math.max(batchA, batchB); i++) {
    const ao = (batchA === 1 ? 0 : i) * ar * ac;
    const bo = (batchB === 1 ? 0 : i) * br * bc;
    for (let r = 0; r < m; r++) {
      for (let c = 0; c < n; c++) {
        let s = 0;
        let size = 0;
        for (let j = 0; j < k; j++) {
          const p = a[ao + (transposeA ? j * ac + r : r * ac + j)] * b[bo + (transposeB ? c * bc + j : j * bc + c)];
          s += p;
          size += Math.abs(p);
        }
        out.push(s);
        magnitudes.push(size);
      }
    }
  }
  return { values: out, magnitudes };
}

describe("kernels/wasm_identity", () => {
  it("on wasm, a clone or same-dtype cast shares its source's data (no copy) and outlives it; gradients are unchanged", function () {
    if (tf.getBackend() !== "wasm") this.skip(); // the kernel only exists on wasm; other backends already share data
    assert.ok(installWasmKernels(), "the wasm kernels are installed");
    const before = tf.memory().numTensors;
    const x = tf.tensor([1, 2, 3, 4], [2, 2]);
    const buffers = tf.memory().numDataBuffers;
    const y = tf.clone(x);
    assert.equal(tf.memory().numDataBuffers, buffers, "the clone got no data buffer of its own");
    x.dispose();
    assert.deepEqual(Array.from(y.dataSync()), [1, 2, 3, 4], "the clone keeps the data after its source is freed");
    const same = tf.cast(y, "float32");
    assert.equal(tf.memory().numDataBuffers, buffers, "a cast to the same dtype got no data buffer either");
    const ints = tf.cast(y, "int32");
    assert.equal(tf.memory().numDataBuffers, buffers + 1, "a real cast still makes new data");
    assert.deepEqual(Array.from(ints.dataSync()), [1, 2, 3, 4]);
    tf.dispose([same, ints]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.clone(t), t)))(y); // d/dt Σ t² = 2t
    assert.deepEqual(Array.from(g.dataSync()), [2, 4, 6, 8]);
    tf.dispose([y, g]);
    assert.equal(tf.memory().numTensors, before, "no tensors left behind");
  });
});

describe("kernels/wasm_matmul", () => {
  it("installs on wasm, and (on any backend) matches a reference matmul for every flag and batch layout", () => {
    // On other backends it is a no-op (or already in place for wasm, if an earlier test switched to it).
    if (tf.getBackend() === "wasm") assert.ok(installWasmMatMul(), "the fast kernel is installed on wasm");
    const rng = new Random(3);
    const cases: [number[], number[], boolean, boolean][] = [
      [[5, 3], [3, 4], false, false], // plain 2-D
      [[5, 3], [4, 3], false, true], // x·Wᵀ with few rows: decoding, from the cached transpose
      [[5, 3], [4, 3], false, true], // (a fresh W: the cache must not answer for the freed one)
      [[70, 3], [4, 3], false, true], // x·Wᵀ with many rows: a linear layer's forward in training
      [[3, 5], [3, 4], true, false], // dyᵀ·x, a weight gradient
      [[3, 5], [4, 3], true, true],
      [[70, 3], [4100, 3], false, true], // a wide LM head: computed as (W·xᵀ)ᵀ
      [[3, 70], [3, 4100], true, false],
      [[2, 3, 5, 3], [2, 3, 4, 3], false, true], // attention scores q·kᵀ [B, H, T, hd]
      [[2, 3, 5, 4], [2, 3, 4, 3], false, false], // probs·v
      [[2, 3, 5, 4], [2, 3, 5, 3], true, false], // a gradient of probs·v
      [[2, 5, 3], [3, 4], false, false], // shared right operand (batch folded into rows)
      [[2, 5, 3], [1, 4, 3], false, true],
      [[5, 3], [2, 3, 4], false, false], // shared left operand
      [[300, 229], [300, 5], true, false], // a matrix big enough for the tiled transpose, sides not multiples of 16
      [[2, 5, 257], [2, 263, 257], false, true], // tiled transposes of a batch of big matrices
      // From 64 rows, Llama Lab's FMA kernels: edges of 4-row groups and 8-column panels, k in blocks of 256,
      // transposes through strides, batches split over threads, big products split by rows.
      [[2, 3, 70, 33], [2, 3, 33, 70], false, false],
      [[2, 3, 33, 70], [2, 3, 33, 20], true, false],
      [[2, 3, 70, 9], [2, 3, 13, 9], false, true],
      [[2, 70, 9], [9, 13], false, false], // a weight shared by batches: folded into rows
      [[2, 9, 70], [13, 9], true, true], // …except under a transposed left operand
      [[1, 70, 5], [3, 5, 6], false, false], // a left operand shared by batches
      [[130, 301], [67, 301], false, true], // ≥ 2²⁰ multiply-adds: split over threads
      [[301, 130], [301, 67], true, false],
      [[100, 700], [50, 700], false, true], // k = 700: three blocks of k, each added to C
    ];
    // Both routes on wasm: our FMA kernels, and XNNPACK's (kept for engines without relaxed SIMD).
    try {
      for (const [aShape, bShape, ta, tb, own] of [true, false].flatMap((o) => cases.map((c) => [...c, o] as const))) {
        useOwnMatMulKernels(own);
        const before = tf.memory().numTensors;
        const a = randomTensor(rng, aShape);
        const b = randomTensor(rng, bShape);
        const got = tf.matMul(a.t, b.t, ta, tb);
        const { values: want, magnitudes } = referenceMatMul(a.v, aShape, b.v, bShape, ta, tb);
        const what = `[${aShape}]${ta ? "ᵀ" : ""}·[${bShape}]${tb ? "ᵀ" : ""}${own ? "" : " (XNNPACK route)"}`;
        const values = got.dataSync();
        assert.equal(values.length, want.length, `${what}: size`);
        // float32 sums of up to 700 products: the error scales with Σ|a·b| (one product here is ~1, far above it)
        values.forEach((x, i) => assert.ok(Math.abs(x - want[i]) < 1e-6 * (1 + magnitudes[i]), `${what}[${i}]: ${x} vs ${want[i]}`));
        tf.dispose([a.t, b.t, got]);
        assert.equal(tf.memory().numTensors, before, `${what}: no tensors left behind`);
      }
    } finally {
      useOwnMatMulKernels(true);
    }
  });

  it("on wasm, runs products on Llama Lab's FMA kernels, on as many threads as the backend has", function () {
    if (tf.getBackend() !== "wasm") this.skip(); // the kernels only exist on wasm
    const be = wasmInternals(tf.backend());
    assert.ok(be !== null);
    const threads = wasmThreads() ?? 1;
    const pool = gemmPoolFor(be);
    assert.ok(pool !== null, "the relaxed-SIMD kernels compiled on this engine");
    assert.equal(pool.threads, wasmMemoryOf(be)?.shared ? threads : 1);
    // A fused multiply-add rounds once: −(1 + 2⁻¹¹) + (1 + 2⁻¹²)² is 2⁻²⁴ fused, 0 as a multiply then an add,
    // which is what V8 emits for relaxed_madd on a CPU without FMA (Linux lists "fma" among the CPU flags).
    const cpuinfo = fs.existsSync("/proc/cpuinfo") ? fs.readFileSync("/proc/cpuinfo", "utf8") : "";
    const hasFma = /^flags\s*:.*\bfma\b/m.test(cpuinfo) || !/^flags\s*:/m.test(cpuinfo); // no flags listed: expect FMA
    const x = 1 + 2 ** -12;
    const a = tf.tensor2d([[1, x, 0, 0, 0, 0, 0, 0]]);
    const b = tf.tensor2d([[-(1 + 2 ** -11)], [x], [0], [0], [0], [0], [0], [0]]);
    const rows = tf.tile(a, [64, 1]); // 64 rows: not a decoding-sized product
    const c = tf.matMul(rows, b);
    assert.equal(c.dataSync()[0], hasFma ? 2 ** -24 : 0, hasFma ? "the multiply-add is fused" : "no FMA on this CPU");
    tf.dispose([a, b, rows, c]);
  });

  it("a product that faults in wasm throws on every thread count and leaves the pool working", function () {
    if (tf.getBackend() !== "wasm") this.skip();
    const be = wasmInternals(tf.backend())!;
    const pool = gemmPoolFor(be)!;
    const [m, n, k] = [256, 64, 64]; // ≥ 2²⁰ multiply-adds: split over threads where there are any
    const outside = -65536; // 4 GiB − 64 KiB as an unsigned wasm address: past the end of any smaller memory
    // Job: batches, m, n, k, a, aBatch, rsA, csA, b, bBatch, rsB, csB, c, cBatch, ldc, threads
    pool.job.set([1, m, n, k, outside, 0, 4 * k, 4, outside, 0, 4 * n, 4, outside, 0, 4 * n, 0]);
    assert.throws(() => pool.run(pool.threads), /memory access out of bounds|worker thread failed/);
    const [a, b] = [tf.ones([m, k]), tf.ones([k, n])];
    const c = tf.matMul(a, b);
    assert.ok(Array.from(c.dataSync()).every((x) => x === k), "the next product is right");
    tf.dispose([a, b, c]);
  });

  it("keeps tfjs' error for mismatched inner sizes", () => {
    const a = tf.zeros([2, 3]);
    const b = tf.zeros([4, 5]);
    assert.throws(() => tf.matMul(a, b), /inner shapes/);
    tf.dispose([a, b]);
  });
});

describe("performance/no tensor growth", () => {
  it("trains a tiny Llama for 1,000 steps with a constant number of live tensors", async function () {
    const config = makeConfig({
      vocab_size: 32, hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1,
      intermediate_size: 32,
    });
    const model = new LlamaForCausalLM(config, { seed: 0 });
    const params = model.namedParameters();
    const optimizer = new AdamW(params, { lr: 1e-2 });
    const rng = new Random(5);
    const row = Array.from({ length: 2 * 9 }, () => rng.int(32));
    const ids = tf.tensor2d(row.filter((_, i) => i % 9 !== 8), [2, 8], "int32"); // [B, T]
    const labels = tf.tensor2d(row.filter((_, i) => i % 9 !== 0), [2, 8], "int32"); // next tokens [B, T]
    const lossFn = () => ({ loss: maskedCrossEntropy(model.forward(ids), labels).loss });
    const run = (steps: number) => trainSteps({ params, optimizer, batches: () => null, steps, clipNorm: 1, lossFn });
    await run(1); // creates the optimizer's moments
    const before = tf.memory().numTensors;
    const logs = await run(1000);
    assert.equal(logs.length, 1000);
    assert.equal(tf.memory().numTensors, before, "live tensors after 1,000 more steps");
    assert.ok(logs[999].loss < logs[0].loss - 0.5, `the model learns the fixed batch: ${logs[0].loss} → ${logs[999].loss}`);
    tf.dispose([ids, labels]);
    model.dispose();
    optimizer.dispose();
  });
});
