import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { Random } from "../lib/random";
import { FORMATS } from "../lib/precision/formats";
import {
  bf16Bits,
  bf16FromBits,
  float32Bits,
  fp16Bits,
  fp16FromBits,
  roundArray,
  roundArrayToBf16,
  roundArrayToFp16,
  roundTo,
  roundToBf16,
  roundToFp16,
} from "../lib/precision/rounding";
import { DynamicLossScaler, LossScalerState } from "../lib/precision/loss_scaler";
import { activationElementsPerTokenPerLayer, countParameters, memoryEstimate, MemoryConfig } from "../lib/precision/memory";
import { autocastLinear, autocastMatMul, autocastPolicy, castTo } from "../lib/precision/autocast";

// Fixtures are read from the source tree (dist/tests → ../../tests/fixtures), made by make_fixtures.py.
const FIXTURE = path.resolve(__dirname, "..", "..", "tests", "fixtures", "precision", "rounding.json");

interface Group {
  input: number[];
  fp16: number[];
  fp16_bits: number[];
  bf16: number[];
}

const fixture: { numpy: string; groups: Record<string, Group> } = JSON.parse(fs.readFileSync(FIXTURE, "utf8"));

function isNaNBits(bits: number): boolean {
  return (bits & 0x7f800000) === 0x7f800000 && (bits & 0x7fffff) !== 0;
}

function floatsFromBits(bits: number[]): Float32Array {
  return new Float32Array(new Uint32Array(bits).buffer);
}

function bitsOf(values: Float32Array | ArrayLike<number>): Uint32Array {
  return new Uint32Array(Float32Array.from(values).buffer);
}

/** Asserts two float32 bit arrays are identical, except that NaN only has to meet NaN. */
function assertSameBits(actual: ArrayLike<number>, expected: ArrayLike<number>, inputs: ArrayLike<number>, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] >>> 0, e = expected[i] >>> 0;
    const ok = isNaNBits(e) ? isNaNBits(a) : a === e;
    if (!ok) {
      assert.fail(
        `${what}[${i}]: input 0x${(inputs[i] >>> 0).toString(16)} gave 0x${a.toString(16)}, expected 0x${e.toString(16)}`,
      );
    }
  }
}

function roundTensorBits(values: Float32Array, format: "fp16" | "bf16"): Uint32Array {
  const out = tf.tidy(() => (format === "fp16" ? roundToFp16(tf.tensor1d(values)) : roundToBf16(tf.tensor1d(values))));
  const data = out.dataSync() as Float32Array;
  out.dispose();
  return bitsOf(data);
}

describe("precision: 16-bit rounding", () => {
  const groups = Object.entries(fixture.groups);

  it("has a fixture sweep covering ties both ways, subnormals, overflow, NaN and signed zero", () => {
    const all = groups.flatMap(([, g]) => g.input.map((bits, i) => ({ bits, g, i })));
    const x = (bits: number) => floatsFromBits([bits])[0];
    const count = (pred: (c: (typeof all)[number]) => boolean) => all.filter(pred).length;
    // A tie: the input sits exactly halfway between two fp16 neighbours (its residue is half an fp16 ulp).
    const fp16Ties = all.filter(({ bits }) => {
      const e = (bits >>> 23) & 0xff;
      return e >= 113 && e < 142 && (bits & 0x1fff) === 0x1000;
    });
    assert.ok(fp16Ties.some(({ g, i }) => Math.abs(x(g.fp16[i])) > Math.abs(x(g.input[i]))), "a tie rounding up");
    assert.ok(fp16Ties.some(({ g, i }) => Math.abs(x(g.fp16[i])) < Math.abs(x(g.input[i]))), "a tie rounding down");
    const bf16Ties = all.filter(({ bits }) => (bits & 0xffff) === 0x8000 && !isNaNBits(bits));
    assert.ok(bf16Ties.some(({ g, i }) => ((g.bf16[i] >>> 16) & 1) === 0 && g.bf16[i] >>> 0 > (g.input[i] >>> 0)));
    assert.ok(bf16Ties.some(({ g, i }) => g.bf16[i] >>> 0 < (g.input[i] >>> 0)));
    assert.ok(count(({ g, i }) => (g.fp16_bits[i] & 0x7c00) === 0 && (g.fp16_bits[i] & 0x3ff) !== 0) > 500, "fp16 subnormals");
    assert.ok(count(({ g, i }) => Number.isFinite(x(g.input[i])) && !Number.isFinite(x(g.fp16[i]))) > 100, "fp16 overflow");
    assert.ok(count(({ g, i }) => Number.isFinite(x(g.input[i])) && !Number.isFinite(x(g.bf16[i]))) > 0, "bf16 overflow");
    assert.ok(count(({ g, i }) => (g.bf16[i] & 0x7f800000) === 0 && (g.bf16[i] & 0x7fffff) !== 0) > 100, "bf16 subnormals");
    assert.ok(count(({ bits }) => isNaNBits(bits)) > 0, "NaN inputs");
    assert.ok(count(({ bits }) => bits >>> 0 === 0x80000000) > 0, "negative zero");
  });

  for (const [name, g] of Object.entries(fixture.groups)) {
    it(`JavaScript reference matches numpy float16 and the bf16 bit reference bit for bit (${name}, ${g.input.length} values)`, () => {
      const input = floatsFromBits(g.input);
      assertSameBits(bitsOf(roundArrayToFp16(input)), g.fp16, g.input, `fp16 ${name}`);
      assertSameBits(bitsOf(roundArrayToBf16(input)), g.bf16, g.input, `bf16 ${name}`);
      for (let i = 0; i < input.length; i++) {
        if (isNaNBits(g.input[i])) continue; // NaN payload conventions differ between numpy builds
        assert.equal(fp16Bits(input[i]), g.fp16_bits[i], `fp16Bits of 0x${(g.input[i] >>> 0).toString(16)}`);
        assert.equal(bf16Bits(input[i]), g.bf16[i] >>> 16, `bf16Bits of 0x${(g.input[i] >>> 0).toString(16)}`);
      }
    });

    it(`tfjs ops give the same bits as the reference on the active backend (${name})`, () => {
      const input = floatsFromBits(g.input);
      const before = tf.memory().numTensors;
      assertSameBits(roundTensorBits(input, "fp16"), g.fp16, g.input, `roundToFp16 ${name}`);
      assertSameBits(roundTensorBits(input, "bf16"), g.bf16, g.input, `roundToBf16 ${name}`);
      assert.equal(tf.memory().numTensors, before, "no tensor leaks");
    });
  }

  it("round-trips every one of the 65536 fp16 and bf16 bit patterns, in JavaScript and in tfjs", () => {
    const all = Array.from({ length: 0x10000 }, (_, h) => h);
    for (const [format, fromBits, toBits] of [
      ["fp16", fp16FromBits, fp16Bits],
      ["bf16", bf16FromBits, bf16Bits],
    ] as const) {
      const values = Float32Array.from(all, fromBits);
      const tfBits = roundTensorBits(values, format);
      const jsBits = bitsOf(roundArray(values, format));
      for (const h of all) {
        const v = values[h];
        if (Number.isNaN(v)) {
          assert.ok(Number.isNaN(floatsFromBits([tfBits[h]])[0]), `${format} NaN 0x${h.toString(16)} stays NaN in tfjs`);
          continue;
        }
        assert.equal(toBits(v), h, `${format} 0x${h.toString(16)} → value → bits`);
        assert.equal(jsBits[h], float32Bits(v), `${format} 0x${h.toString(16)} is a fixed point of the reference`);
        assert.equal(tfBits[h], float32Bits(v), `${format} 0x${h.toString(16)} is a fixed point of the tfjs op`);
      }
    }
  });

  it("tfjs ops match the reference on every float32 of a normal and an fp16-subnormal binade", () => {
    // Every significand once: all tie, near-tie and carry cases of the normal path, and of fp16's subnormals.
    for (const exponent of [127, 107]) {
      const bits = new Uint32Array(1 << 23).map((_, m) => (exponent << 23) | m);
      const values = new Float32Array(bits.buffer);
      for (const format of ["fp16", "bf16"] as const) {
        const got = roundTensorBits(values, format);
        const want = bitsOf(roundArray(values, format));
        const first = got.findIndex((b, i) => b !== want[i]);
        assert.equal(first, -1, `${format} binade 2^${exponent - 127}: first mismatch at 0x${bits[Math.max(first, 0)].toString(16)}`);
      }
    }
  });

  it("agrees with FORMATS on each format's extremes", () => {
    assert.equal(fp16FromBits(0x7bff), FORMATS.fp16.maxFinite);
    assert.equal(fp16FromBits(0x0400), FORMATS.fp16.minNormal);
    assert.equal(fp16FromBits(0x0001), FORMATS.fp16.minSubnormal);
    assert.equal(fp16FromBits(0x3c01) - 1, FORMATS.fp16.epsilon);
    assert.equal(bf16FromBits(0x7f7f), FORMATS.bf16.maxFinite);
    assert.equal(bf16FromBits(0x0080), FORMATS.bf16.minNormal);
    assert.equal(bf16FromBits(0x0001), FORMATS.bf16.minSubnormal);
    assert.equal(bf16FromBits(0x3f81) - 1, FORMATS.bf16.epsilon);
    assert.equal(FORMATS.fp32.maxFinite, floatsFromBits([0x7f7fffff])[0]);
    assert.deepEqual([FORMATS.fp32.bytes, FORMATS.fp16.bytes, FORMATS.bf16.bytes], [4, 2, 2]);
  });

  it("keeps the sign of zero and of underflow, and overflows to signed Inf", () => {
    const input = Float32Array.from([-0, 0, -1e-45, 1e-45, 70000, -70000, 1e39, -Infinity]);
    for (const format of ["fp16", "bf16"] as const) {
      const bits = roundTensorBits(input, format);
      const out = floatsFromBits(Array.from(bits));
      assert.ok(Object.is(out[0], -0) && Object.is(out[1], 0), `${format}: ±0`);
      assert.ok(Object.is(out[2], -0) && Object.is(out[3], 0), `${format}: tiny values underflow to signed zero`);
      assert.equal(out[7], -Infinity);
      if (format === "fp16") assert.deepEqual([out[4], out[5]], [Infinity, -Infinity]);
      else assert.deepEqual([out[4], out[5]], [bf16FromBits(bf16Bits(70000)), -bf16FromBits(bf16Bits(70000))]);
    }
  });

  it("passes the gradient straight through and leaks no tensors", () => {
    const before = tf.memory().numTensors;
    const x = tf.tensor1d([0.1, -3.3, 1e-9, 70000]);
    const c = tf.tensor1d([1, 2, 3, 4]);
    for (const round of [roundToFp16, roundToBf16, (t: tf.Tensor) => roundTo(t, "fp32")]) {
      const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(round(v), c)))(x);
      assert.deepEqual(Array.from(g.dataSync()), [1, 2, 3, 4]);
      g.dispose();
    }
    x.dispose();
    c.dispose();
    assert.equal(tf.memory().numTensors, before);
  });

  it("rejects non-float32 tensors and unknown precisions with a message saying what to do", () => {
    const t = tf.tensor1d([1, 2], "int32");
    assert.throws(() => roundToFp16(t), /float32 tensor, got int32.*tf\.cast/);
    t.dispose();
    assert.throws(() => roundArray(new Float32Array(1), "fp8" as never), /precision must be "fp32", "fp16" or "bf16"/);
  });
});

describe("precision: DynamicLossScaler", () => {
  type Step = "ok" | "inf";
  function trace(scaler: DynamicLossScaler, steps: Step[]): number[] {
    return steps.map((s) => {
      scaler.update(s === "inf");
      return scaler.getScale();
    });
  }

  it("starts with GradScaler's defaults and exposes them under state_dict's keys", () => {
    const s = new DynamicLossScaler();
    assert.deepEqual(s.getState(), {
      scale: 65536,
      growth_factor: 2,
      backoff_factor: 0.5,
      growth_interval: 2000,
      _growth_tracker: 0,
    });
  });

  it("backs off on every bad step and grows after growthInterval consecutive good steps", () => {
    const s = new DynamicLossScaler({ initScale: 1024, growthInterval: 3 });
    // Worked by hand: the streak resets on every bad step, and growing also resets it.
    const steps: Step[] = ["ok", "ok", "ok", "inf", "ok", "ok", "inf", "inf", "ok", "ok", "ok", "ok", "ok", "ok"];
    assert.deepEqual(trace(s, steps), [1024, 1024, 2048, 1024, 1024, 1024, 512, 256, 256, 256, 512, 512, 512, 1024]);
    assert.equal(s.getGrowthTracker(), 0);
    s.update(false);
    assert.equal(s.getGrowthTracker(), 1);
  });

  it("with the default interval grows only on the 2000th good step", () => {
    const s = new DynamicLossScaler();
    const scales = trace(s, Array<Step>(4000).fill("ok"));
    assert.equal(scales[1998], 65536);
    assert.equal(scales[1999], 131072);
    assert.equal(scales[3998], 131072);
    assert.equal(scales[3999], 262144);
  });

  it("does not grow past float32's range and keeps halving into subnormal scales", () => {
    const s = new DynamicLossScaler({ initScale: 2 ** 127, growthInterval: 1 });
    s.update(false);
    assert.equal(s.getScale(), 2 ** 127);
    assert.equal(s.getGrowthTracker(), 0);
    const down = new DynamicLossScaler({ initScale: 1 });
    assert.equal(trace(down, Array<Step>(140).fill("inf"))[139], 2 ** -140);
  });

  it("uses custom factors as float32 arithmetic", () => {
    const s = new DynamicLossScaler({ initScale: 10, growthFactor: 3, backoffFactor: 0.1, growthInterval: 1 });
    assert.deepEqual(trace(s, ["ok", "inf", "ok"]), [30, Math.fround(Math.fround(30) * 0.1), Math.fround(Math.fround(30 * 0.1) * 3)]);
  });

  it("scales the loss, unscales gradients and detects Inf and NaN without leaking tensors", () => {
    const s = new DynamicLossScaler({ initScale: 8 });
    const before = tf.memory().numTensors;
    const loss = tf.scalar(1.5);
    const scaled = s.scale(loss);
    assert.equal(scaled.dataSync()[0], 12);
    const grads = { a: tf.tensor1d([8, -16]), b: tf.tensor2d([[4]]) };
    const clean = s.unscale(grads);
    assert.equal(clean.foundInf, false);
    assert.deepEqual(Array.from(clean.grads.a.dataSync()), [1, -2]);
    assert.deepEqual(Array.from(clean.grads.b.dataSync()), [0.5]);
    assert.throws(() => s.unscale(grads), /already called since the last update/);
    s.update();
    assert.equal(s.getScale(), 8);
    for (const bad of [Infinity, NaN, -Infinity]) {
      const g = { a: tf.tensor1d([1, bad]) };
      const r = s.unscale(g);
      assert.equal(r.foundInf, true, `${bad} found`);
      s.update();
      tf.dispose([g.a, r.grads.a]);
    }
    assert.equal(s.getScale(), 1);
    assert.throws(() => s.update(), /no Inf\/NaN check recorded/);
    tf.dispose([loss, scaled, grads.a, grads.b, clean.grads.a, clean.grads.b]);
    assert.equal(tf.memory().numTensors, before);
  });

  it("recovers fp16 gradients that underflow without scaling (autocast linear, fp16 casts)", () => {
    const rng = new Random(3);
    const x = tf.tensor2d(Array.from({ length: 32 }, () => rng.normal()), [8, 4]);
    const w = tf.variable(tf.tensor2d(Array.from({ length: 12 }, () => rng.normal()), [3, 4]));
    const tiny = 1e-9; // a loss this small has per-element gradients below fp16's 2^-24
    const gradOf = (scale: number): tf.Tensor =>
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() => tf.mul(tf.sum(autocastLinear(x, w, "fp16")), tf.scalar(tiny * scale)) as tf.Scalar, [w]);
        return grads[w.name];
      });
    const before = tf.memory().numTensors;
    const unscaled = gradOf(1);
    const largest = tf.tidy(() => tf.max(tf.abs(unscaled)).dataSync()[0]);
    assert.equal(largest, 0, "every gradient entry flushed to zero in fp16");
    const scaler = new DynamicLossScaler();
    const scaledGrad = gradOf(scaler.getScale());
    const { grads, foundInf } = scaler.unscale({ w: scaledGrad });
    assert.equal(foundInf, false);
    const exact = tf.tidy(() => tf.mul(tf.matMul(tf.ones([3, 8]), x), tf.scalar(tiny))); // d/dW of tiny·sum(x·Wᵀ)
    const relErr = tf.tidy(() => tf.max(tf.abs(tf.sub(grads.w, exact))).div(tf.max(tf.abs(exact))).dataSync()[0]);
    assert.ok(relErr < 2e-3, `relative error ${relErr} after unscaling`);
    tf.dispose([unscaled, scaledGrad, grads.w, exact]);
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([x, w]);
  });

  it("restores its state so a resumed run continues the same scale trace", () => {
    const steps: Step[] = ["ok", "ok", "inf", "ok", "ok", "ok", "ok", "inf", "ok", "ok", "ok", "ok", "ok"];
    const a = new DynamicLossScaler({ initScale: 256, growthInterval: 3 });
    trace(a, steps.slice(0, 5));
    const saved = JSON.parse(JSON.stringify(a.getState())) as LossScalerState;
    const b = new DynamicLossScaler();
    b.setState(saved);
    assert.deepEqual(b.getState(), saved);
    assert.deepEqual(trace(b, steps.slice(5)), trace(a, steps.slice(5)));
  });

  it("is a pass-through when disabled, with an empty state like PyTorch", () => {
    const s = new DynamicLossScaler({ enabled: false });
    assert.equal(s.getScale(), 1);
    assert.deepEqual(s.getState(), {});
    s.update(true);
    assert.equal(s.getScale(), 1);
    const loss = tf.scalar(3);
    const scaled = s.scale(loss);
    const g = { a: tf.tensor1d([Infinity]) };
    const r = s.unscale(g);
    assert.equal(scaled.dataSync()[0], 3);
    assert.equal(r.foundInf, false);
    tf.dispose([loss, scaled, g.a, r.grads.a]);
    assert.throws(() => s.setState({ scale: 2 }), /disabled/);
    assert.throws(() => new DynamicLossScaler().setState({}), /empty.*disabled scaler/);
  });

  it("rejects invalid options and states, naming the field", () => {
    assert.throws(() => new DynamicLossScaler({ growthFactor: 1 }), /growthFactor must be > 1/);
    assert.throws(() => new DynamicLossScaler({ backoffFactor: 1.5 }), /backoffFactor must be < 1/);
    assert.throws(() => new DynamicLossScaler({ growthInterval: 0.5 }), /growthInterval must be a positive integer/);
    assert.throws(() => new DynamicLossScaler({ initScale: -1 }), /initScale must be a finite number > 0/);
    const state = new DynamicLossScaler().getState() as LossScalerState;
    assert.throws(() => new DynamicLossScaler().setState({ ...state, _growth_tracker: -1 }), /_growth_tracker/);
    const { scale: _omitted, ...noScale } = state;
    assert.throws(() => new DynamicLossScaler().setState(noScale), /state\.scale must be a number/);
  });
});

describe("precision: memory accounting", () => {
  // V=32, D=16, I=40, L=2, H=4, KV=2 → head_dim 4.
  const small: MemoryConfig = {
    vocab_size: 32,
    hidden_size: 16,
    intermediate_size: 40,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    tie_word_embeddings: false,
  };

  it("counts parameters as a hand computation does", () => {
    // Per layer by hand: q 16·16=256, k 16·8=128, v 128, o 256, gate+up+down 3·16·40=1920, two norms 32 → 2720.
    const c = countParameters(small);
    assert.equal(c.perLayer, 2720);
    assert.equal(c.embedding, 512);
    assert.equal(c.lmHead, 512);
    assert.equal(c.total, 512 + 2 * 2720 + 16 + 512); // 6480
    assert.equal(countParameters({ ...small, tie_word_embeddings: true }).total, 6480 - 512);
    // Biases by hand: q 16 + k 8 + v 8 + o 16 = 48 per layer; gate 40 + up 40 + down 16 = 96 per layer.
    assert.equal(countParameters({ ...small, attention_bias: true, mlp_bias: true }).total, 6480 + 2 * (48 + 96));
  });

  it("counts TinyStories 15M (llama2.c) at its published size", () => {
    // dim 288, 6 layers, 6 heads, hidden 768, vocab 32000, tied: llama2.c reports 15M parameters.
    const c = countParameters({
      vocab_size: 32000, hidden_size: 288, intermediate_size: 768, num_hidden_layers: 6,
      num_attention_heads: 6, tie_word_embeddings: true,
    });
    assert.equal(c.total, 32000 * 288 + 6 * (4 * 288 * 288 + 3 * 288 * 768 + 2 * 288) + 288);
    assert.ok(c.total > 15.0e6 && c.total < 15.3e6, `${c.total}`);
  });

  it("gives 16 bytes per parameter in both fp32 and mixed precision, and smaller activations in 16 bits", () => {
    const opts = { batchSize: 2, seqLen: 8 };
    const P = 6480;
    const fp32 = memoryEstimate(small, { ...opts, precision: "fp32" });
    const fp16 = memoryEstimate(small, { ...opts, precision: "fp16", optimizer: "adamw" });
    const bf16 = memoryEstimate(small, { ...opts, precision: "bf16" });
    assert.deepEqual(
      [fp32.bytes.weights, fp32.bytes.gradients, fp32.bytes.optimizerState, fp32.bytes.masterWeights],
      [4 * P, 4 * P, 8 * P, 0],
    );
    assert.deepEqual(
      [fp16.bytes.weights, fp16.bytes.gradients, fp16.bytes.optimizerState, fp16.bytes.masterWeights],
      [2 * P, 2 * P, 8 * P, 4 * P],
    );
    assert.deepEqual(bf16.bytes, fp16.bytes);
    // Activations by hand, per token per layer: 2·16 + (4+2+2)·4 + 4·8 + 4·4 + 2·16 + 4·40 = 304 elements.
    assert.equal(activationElementsPerTokenPerLayer(small, 8), 304);
    const tokens = 16;
    const halfWidthElements = 2 * 304 + 2 * 16;
    assert.equal(fp32.bytes.activations, tokens * (halfWidthElements * 4 + 32 * 4));
    assert.equal(fp16.bytes.activations, tokens * (halfWidthElements * 2 + 32 * 4));
    for (const e of [fp32, fp16]) {
      const b = e.bytes;
      assert.equal(b.total, b.weights + b.gradients + b.optimizerState + b.masterWeights + b.activations);
      assert.match(e.basis, /native half-precision backend/);
    }
  });

  it("rejects a config or options with a bad field, naming it", () => {
    const opts = { batchSize: 1, seqLen: 4, precision: "fp16" as const };
    assert.throws(() => memoryEstimate({ ...small, hidden_size: 0 }, opts), /hidden_size must be a positive integer/);
    assert.throws(() => memoryEstimate({ ...small, num_key_value_heads: 3 }, opts), /multiple of num_key_value_heads/);
    assert.throws(() => memoryEstimate(small, { ...opts, seqLen: 2.5 }), /seqLen must be a positive integer/);
    assert.throws(() => memoryEstimate(small, { ...opts, precision: "half" as never }), /precision must be "fp32"/);
    const { vocab_size: _v, ...noVocab } = small;
    assert.throws(() => countParameters(noVocab as MemoryConfig), /vocab_size must be a positive integer/);
  });
});

describe("precision: autocast", () => {
  it("describes which computations run in 16 bits and which stay fp32", () => {
    const fp16 = autocastPolicy("fp16");
    assert.ok(fp16.lowPrecision.some((s) => /linear/.test(s)));
    assert.ok(fp16.fullPrecision.some((s) => /softmax/.test(s)));
    assert.ok(fp16.fullPrecision.some((s) => /RMSNorm/.test(s)));
    assert.ok(fp16.fullPrecision.some((s) => /loss/.test(s)));
    assert.equal(fp16.lossScaling, true);
    assert.equal(autocastPolicy("bf16").lossScaling, false);
    assert.deepEqual(autocastPolicy("fp32").lowPrecision, []);
    assert.equal(autocastPolicy("bf16").masterWeights, "fp32");
  });

  it("autocastLinear rounds inputs, weights and outputs, accumulating in fp32", () => {
    const rng = new Random(11);
    const xv = Float32Array.from({ length: 2 * 3 * 5 }, () => rng.normal());
    const wv = Float32Array.from({ length: 4 * 5 }, () => rng.normal());
    const before = tf.memory().numTensors;
    for (const precision of ["fp16", "bf16"] as const) {
      const y = tf.tidy(() => autocastLinear(tf.tensor3d(xv, [2, 3, 5]), tf.tensor2d(wv, [4, 5]), precision));
      assert.deepEqual(y.shape, [2, 3, 4]);
      const got = y.dataSync() as Float32Array;
      y.dispose();
      assert.deepEqual(bitsOf(roundArray(got, precision)), bitsOf(got), `${precision}: outputs are representable`);
      const xr = roundArray(xv, precision), wr = roundArray(wv, precision);
      const unit = FORMATS[precision].epsilon;
      for (let n = 0; n < 6; n++) {
        for (let o = 0; o < 4; o++) {
          let acc = 0;
          for (let k = 0; k < 5; k++) acc += xr[n * 5 + k] * wr[o * 5 + k];
          const expected = roundArray(Float32Array.of(acc), precision)[0];
          // The fp32 sum may sit on the other side of a 16-bit tie than the double one: one 16-bit ulp at most.
          assert.ok(Math.abs(got[n * 4 + o] - expected) <= unit * Math.max(Math.abs(expected), 1e-3), `${precision} [${n},${o}]`);
        }
      }
      // Unrounded inputs give a different answer: the casts are really applied.
      const plain = tf.tidy(() => tf.matMul(tf.tensor2d(xv, [6, 5]), tf.tensor2d(wv, [4, 5]), false, true).dataSync());
      assert.ok(Array.from(plain).some((v, i) => v !== got[i]), `${precision} differs from fp32`);
    }
    assert.equal(tf.memory().numTensors, before);
  });

  it("holds gradients of 16-bit tensors in 16 bits, and matches fp32 for precision fp32", () => {
    const rng = new Random(5);
    const a = tf.tensor2d(Array.from({ length: 12 }, () => rng.normal()), [3, 4]);
    const b = tf.tensor2d(Array.from({ length: 8 }, () => rng.normal()), [4, 2]);
    const c = tf.tensor2d(Array.from({ length: 6 }, () => rng.normal() / 3), [3, 2]);
    const before = tf.memory().numTensors;
    for (const precision of ["fp16", "bf16"] as const) {
      const [ga, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(autocastMatMul(x, y, precision), c)))([a, b]);
      for (const g of [ga, gb]) {
        const v = g.dataSync() as Float32Array;
        assert.deepEqual(bitsOf(roundArray(v, precision)), bitsOf(v), `${precision} gradient is representable`);
      }
      tf.dispose([ga, gb]);
    }
    const f32Grads = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(autocastMatMul(x, y, "fp32"), c)))([a, b]);
    const refGrads = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, y), c)))([a, b]);
    for (let i = 0; i < 2; i++) assert.deepEqual(Array.from(f32Grads[i].dataSync()), Array.from(refGrads[i].dataSync()));
    tf.dispose([...f32Grads, ...refGrads]);
    assert.equal(tf.memory().numTensors, before);
    // castTo's gradient is rounded; roundTo's passes straight through.
    const x = tf.scalar(1);
    const dyTiny = 1e-8; // below fp16's smallest subnormal half-way point (2^-25 ≈ 2.98e-8)
    const viaCast = tf.grad((v: tf.Tensor) => tf.mul(castTo(v, "fp16"), tf.scalar(dyTiny)))(x);
    const viaRound = tf.grad((v: tf.Tensor) => tf.mul(roundToFp16(v), tf.scalar(dyTiny)))(x);
    assert.equal(viaCast.dataSync()[0], 0);
    assert.equal(viaRound.dataSync()[0], Math.fround(dyTiny));
    tf.dispose([a, b, c, x, viaCast, viaRound]);
  });

  it("rejects a weight that is not [out, in] or an input of the wrong width", () => {
    const x = tf.zeros([2, 3]);
    const w = tf.zeros([4, 5]);
    const v = tf.zeros([3]);
    assert.throws(() => autocastLinear(x, w, "fp16"), /x's last dimension must be 5/);
    assert.throws(() => autocastLinear(x, v, "fp16"), /weight must be \[out, in\]/);
    tf.dispose([x, w, v]);
  });
});
