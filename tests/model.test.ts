import { strict as assert } from "assert";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { Random } from "../lib/random";
import { ownsTensors } from "../lib/ownership";
import { maxAbsDiff } from "./numeric";
import {
  LlamaConfig,
  LlamaConfigInit,
  LlamaForCausalLM,
  LlamaForMaskedLM,
  LlamaForPreTraining,
  LlamaModel,
  Module,
  RMSNorm,
  RotaryEmbedding,
  applyRotary,
  embeddingLookup,
  makeConfig,
  repeatKv,
  ropeInverseFrequencies,
} from "../lib/model";

const SMALL: LlamaConfigInit = {
  vocab_size: 50,
  hidden_size: 32,
  intermediate_size: 64,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  max_position_embeddings: 64,
};

function small(overrides: Partial<LlamaConfigInit> = {}): LlamaConfig {
  return makeConfig({ ...SMALL, ...overrides });
}

function ids(rows: number[][]): tf.Tensor2D {
  return tf.tensor2d(rows, [rows.length, rows[0].length], "int32");
}

function randomIds(rng: Random, b: number, t: number, vocab: number): number[][] {
  return Array.from({ length: b }, () => Array.from({ length: t }, () => rng.int(vocab)));
}

/** Runs `f`, reads its tensor as nested arrays, disposes it. */
function read(f: () => tf.Tensor): number[] {
  const t = f();
  const out = Array.from(t.dataSync());
  t.dispose();
  return out;
}

/** Logits of positions [from, to) of batch row `row`, from flat [B, T, V] logits. */
function positions(flat: number[], T: number, V: number, row: number, from: number, to: number): number[] {
  return flat.slice((row * T + from) * V, (row * T + to) * V);
}

/**
 * A deliberately naive Llama forward in plain JavaScript loops (float64), written from the HF equations
 * independently of the tfjs code: the standard the tensor implementation is checked against.
 */
function referenceCausalLogits(model: LlamaForCausalLM, tokens: number[]): number[][] {
  const c = model.config;
  const P = new Map(model.namedParameters().map(([n, v]) => [n, Array.from(v.dataSync())]));
  const W = (name: string): number[] => {
    const w = P.get(name);
    if (!w) throw new Error(`reference: no parameter ${name}`);
    return w;
  };
  const D = c.hidden_size, H = c.num_attention_heads, KV = c.num_key_value_heads, hd = c.head_dim;
  const matvec = (w: number[], x: number[], out: number): number[] =>
    Array.from({ length: out }, (_, o) => x.reduce((s, xi, i) => s + w[o * x.length + i] * xi, 0));
  const rms = (x: number[], w: number[]): number[] => {
    const r = 1 / Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length + c.rms_norm_eps);
    return x.map((v, i) => v * r * w[i]);
  };
  const inv = Array.from({ length: hd / 2 }, (_, i) => 1 / Math.pow(c.rope_theta, (2 * i) / hd));
  const rotate = (x: number[], pos: number): number[] => {
    const out = x.slice();
    for (let i = 0; i < hd / 2; i++) {
      const cos = Math.cos(pos * inv[i]), sin = Math.sin(pos * inv[i]);
      out[i] = x[i] * cos - x[i + hd / 2] * sin;
      out[i + hd / 2] = x[i + hd / 2] * cos + x[i] * sin;
    }
    return out;
  };
  const emb = W("model.embed_tokens.weight");
  let xs = tokens.map((id) => emb.slice(id * D, (id + 1) * D));
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `model.layers.${l}.`;
    const normed = xs.map((x) => rms(x, W(p + "input_layernorm.weight")));
    const q = normed.map((x) => matvec(W(p + "self_attn.q_proj.weight"), x, H * hd));
    const k = normed.map((x) => matvec(W(p + "self_attn.k_proj.weight"), x, KV * hd));
    const v = normed.map((x) => matvec(W(p + "self_attn.v_proj.weight"), x, KV * hd));
    const attnOut = xs.map((_, i) => {
      const merged: number[] = [];
      for (let h = 0; h < H; h++) {
        const g = Math.floor(h / (H / KV));
        const qi = rotate(q[i].slice(h * hd, (h + 1) * hd), i);
        const scores = Array.from({ length: i + 1 }, (_, j) => {
          const kj = rotate(k[j].slice(g * hd, (g + 1) * hd), j);
          return qi.reduce((s, a, d) => s + a * kj[d], 0) / Math.sqrt(hd);
        });
        const mx = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - mx));
        const z = e.reduce((a, b) => a + b, 0);
        for (let d = 0; d < hd; d++) merged.push(e.reduce((s, ej, j) => s + (ej / z) * v[j][g * hd + d], 0));
      }
      return matvec(W(p + "self_attn.o_proj.weight"), merged, D);
    });
    xs = xs.map((x, i) => x.map((xv, d) => xv + attnOut[i][d]));
    xs = xs.map((x) => {
      const n = rms(x, W(p + "post_attention_layernorm.weight"));
      const gate = matvec(W(p + "mlp.gate_proj.weight"), n, c.intermediate_size);
      const up = matvec(W(p + "mlp.up_proj.weight"), n, c.intermediate_size);
      const act = gate.map((gv, i) => (gv / (1 + Math.exp(-gv))) * up[i]);
      const down = matvec(W(p + "mlp.down_proj.weight"), act, D);
      return x.map((xv, d) => xv + down[d]);
    });
  }
  const head = c.tie_word_embeddings ? emb : W("lm_head.weight");
  return xs.map((x) => matvec(head, rms(x, W("model.norm.weight")), c.vocab_size));
}

describe("LlamaConfig", () => {
  it("fills HF defaults", () => {
    const c = small();
    assert.equal(c.num_key_value_heads, 4);
    assert.equal(c.head_dim, 8);
    assert.equal(c.rms_norm_eps, 1e-6);
    assert.equal(c.rope_theta, 10000);
    assert.equal(c.rope_scaling, null);
    assert.equal(c.tie_word_embeddings, false);
    assert.equal(c.initializer_range, 0.02);
    assert.equal(c.hidden_act, "silu");
    assert.equal(c.attention_bias, false);
    assert.equal(c.mlp_bias, false);
  });

  const bad: [string, Partial<LlamaConfigInit> | Record<string, unknown>, RegExp][] = [
    ["heads not dividing hidden", { num_attention_heads: 5 }, /num_attention_heads.*hidden_size/],
    ["kv heads not dividing heads", { num_key_value_heads: 3 }, /num_key_value_heads/],
    ["zero layers", { num_hidden_layers: 0 }, /num_hidden_layers/],
    ["negative vocab", { vocab_size: -3 }, /vocab_size/],
    ["fractional intermediate", { intermediate_size: 64.5 }, /intermediate_size/],
    ["pad id ≥ vocab", { pad_token_id: 50 }, /pad_token_id/],
    ["eos list entry out of range", { eos_token_id: [1, 99] }, /eos_token_id\[1\]/],
    ["unknown hidden_act", { hidden_act: "relu" }, /hidden_act/],
    ["odd head_dim", { head_dim: 7 }, /head_dim.*even/],
    ["non-positive eps", { rms_norm_eps: 0 }, /rms_norm_eps/],
    ["non-positive theta", { rope_theta: -1 }, /rope_theta/],
    ["unknown field", { hidden_sise: 3 }, /hidden_sise/],
    ["rope type unknown", { rope_scaling: { rope_type: "magic", factor: 2 } }, /rope_type.*magic/],
    ["linear without factor", { rope_scaling: { rope_type: "linear" } }, /rope_scaling\.factor/],
    [
      "llama3 missing low_freq_factor",
      { rope_scaling: { rope_type: "llama3", factor: 8, high_freq_factor: 4, original_max_position_embeddings: 8192 } },
      /rope_scaling\.low_freq_factor/,
    ],
    [
      "llama3 missing original_max_position_embeddings",
      { rope_scaling: { rope_type: "llama3", factor: 8, low_freq_factor: 1, high_freq_factor: 4 } },
      /rope_scaling\.original_max_position_embeddings/,
    ],
  ];
  for (const [what, overrides, message] of bad) {
    it(`rejects ${what}, naming the field`, () => {
      assert.throws(() => makeConfig({ ...SMALL, ...overrides } as LlamaConfigInit), message);
    });
  }

  it("accepts GQA, explicit head_dim, llama3 and legacy `type` rope scaling", () => {
    assert.equal(small({ num_key_value_heads: 2 }).num_key_value_heads, 2);
    assert.equal(small({ num_attention_heads: 3, head_dim: 16 }).head_dim, 16);
    const c = small({
      rope_scaling: { type: "llama3", factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 16 },
    });
    assert.equal(c.rope_scaling?.rope_type, "llama3");
  });

  it("toJSON gives a config.json-shaped object that fromJSON reads back", () => {
    const c = small({ num_key_value_heads: 2, pad_token_id: 0, rope_scaling: { rope_type: "linear", factor: 2 } });
    const json = JSON.parse(JSON.stringify(c));
    assert.equal(json.model_type, "llama");
    assert.deepEqual(json.architectures, ["LlamaForCausalLM"]);
    assert.equal(json.num_key_value_heads, 2);
    assert.equal(json.head_dim, 8);
    assert.deepEqual(json.rope_scaling, { rope_type: "linear", factor: 2 });
    const back = LlamaConfig.fromJSON({ ...json, transformers_version: "4.45.0" });
    assert.deepEqual(back.toJSON(), c.toJSON());
  });

  it("fromJSON reads transformers v5 rope_parameters", () => {
    const c = LlamaConfig.fromJSON({
      ...SMALL,
      model_type: "llama",
      rope_parameters: {
        rope_type: "llama3",
        rope_theta: 500000,
        factor: 32,
        low_freq_factor: 1,
        high_freq_factor: 4,
        original_max_position_embeddings: 8192,
      },
    });
    assert.equal(c.rope_theta, 500000);
    assert.equal(c.rope_scaling?.rope_type, "llama3");
    assert.throws(() => LlamaConfig.fromJSON({ ...SMALL, model_type: "gpt2" }), /model_type/);
  });
});

describe("embeddingLookup", () => {
  it("looks up rows and sums the gradient of duplicate ids", () => {
    const w = tf.tensor2d([[1, 2], [3, 4], [5, 6]]);
    const x = ids([[2, 0, 2, 2]]);
    const out = embeddingLookup(w, x);
    assert.deepEqual(out.shape, [1, 4, 2]);
    assert.deepEqual(Array.from(out.dataSync()), [5, 6, 1, 2, 5, 6, 5, 6]);
    const g = tf.grad((ww: tf.Tensor) => tf.sum(tf.mul(embeddingLookup(ww as tf.Tensor2D, x), tf.tensor3d([[[1, 10], [2, 20], [3, 30], [4, 40]]]))))(w);
    assert.deepEqual(Array.from(g.dataSync()), [2, 20, 0, 0, 8, 80]);
    tf.dispose([w, x, out, g]);
  });

  it("gives the pad row no gradient", () => {
    const w = tf.ones([4, 3]) as tf.Tensor2D;
    const x = ids([[1, 3, 1, 0]]);
    const g = tf.grad((ww: tf.Tensor) => tf.sum(embeddingLookup(ww as tf.Tensor2D, x, 1)))(w);
    assert.deepEqual(Array.from(g.dataSync()), [1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1]);
    tf.dispose([w, x, g]);
  });

  it("matches the cpu backend's tf.gather gradient", async () => {
    const rng = new Random(7);
    const V = 11, D = 5;
    const wVals = Array.from({ length: V * D }, () => rng.normal());
    const idVals = Array.from({ length: 24 }, () => rng.int(V));
    const dyVals = Array.from({ length: 24 * D }, () => rng.normal());
    const gradOf = (lookup: (w: tf.Tensor2D, i: tf.Tensor2D) => tf.Tensor): number[] =>
      tf.tidy(() => {
        const w = tf.tensor2d(wVals, [V, D]);
        const i = tf.tensor2d(idVals, [4, 6], "int32");
        const dy = tf.tensor3d(dyVals, [4, 6, D]);
        return Array.from(tf.grad((ww: tf.Tensor) => tf.sum(tf.mul(lookup(ww as tf.Tensor2D, i), dy)))(w).dataSync());
      });
    const ours = gradOf((w, i) => embeddingLookup(w, i));
    const previous = tf.getBackend();
    let reference: number[];
    try {
      await tf.setBackend("cpu");
      reference = gradOf((w, i) => tf.gather(w, i));
    } finally {
      await tf.setBackend(previous);
    }
    assert.equal(tf.getBackend(), previous);
    assert.ok(maxAbsDiff(ours, reference) < 1e-5, `max diff ${maxAbsDiff(ours, reference)}`);
  });
});

describe("RMSNorm and RoPE", () => {
  it("RMSNorm computes x·rsqrt(mean(x²)+eps)·w", () => {
    const norm = new RMSNorm(4, 1e-5);
    const got = read(() => norm.forward(tf.tensor2d([[1, 2, 3, 4]])));
    const rms = Math.sqrt((1 + 4 + 9 + 16) / 4 + 1e-5);
    assert.ok(maxAbsDiff(got, [1 / rms, 2 / rms, 3 / rms, 4 / rms]) < 1e-6);
    norm.dispose();
  });

  it("inverse frequencies follow θ^(−2i/hd), linear and llama3 scaling", () => {
    const base = ropeInverseFrequencies(8, 10000);
    assert.ok(maxAbsDiff(base, [1, 10000 ** -0.25, 10000 ** -0.5, 10000 ** -0.75]) < 1e-7);
    const lin = ropeInverseFrequencies(8, 10000, { rope_type: "linear", factor: 4 });
    assert.ok(maxAbsDiff(lin, Array.from(base, (f) => f / 4)) < 1e-7);
    const scaling = { rope_type: "llama3" as const, factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 };
    const hd = 32;
    const plain = ropeInverseFrequencies(hd, 500000);
    const l3 = ropeInverseFrequencies(hd, 500000, scaling);
    let sawHigh = false, sawLow = false, sawMid = false;
    for (let i = 0; i < hd / 2; i++) {
      const wavelen = (2 * Math.PI) / plain[i];
      if (wavelen < 64 / 4) {
        sawHigh = true;
        assert.ok(Math.abs(l3[i] - plain[i]) < 1e-12, `high freq ${i} must be unchanged`);
      } else if (wavelen > 64) {
        sawLow = true;
        assert.ok(Math.abs(l3[i] - plain[i] / 8) < 1e-9 * plain[i] + 1e-12, `low freq ${i} must be divided by factor`);
      } else {
        sawMid = true;
        assert.ok(l3[i] < plain[i] && l3[i] > plain[i] / 8, `mid freq ${i} must be blended`);
      }
    }
    assert.ok(sawHigh && sawLow && sawMid);
  });

  for (const scaling of [null, { rope_type: "llama3" as const, factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8 }]) {
    it(`q·k after rotation depends only on the position difference (${scaling ? "llama3" : "plain"})`, () => {
      const hd = 16, T = 12, s = 3;
      const rope = new RotaryEmbedding(small({ head_dim: hd, num_attention_heads: 2, rope_scaling: scaling }));
      const rng = new Random(3);
      const qv = Array.from({ length: hd }, () => rng.normal());
      const kv = Array.from({ length: hd }, () => rng.normal());
      const scores = tf.tidy(() => {
        const q = tf.tile(tf.tensor4d(qv, [1, 1, 1, hd]), [1, 1, T, 1]) as tf.Tensor4D; // same vector at every position
        const k = tf.tile(tf.tensor4d(kv, [1, 1, 1, hd]), [1, 1, T, 1]) as tf.Tensor4D;
        const angles = rope.forward(tf.tensor2d([Array.from({ length: T }, (_, i) => i)], [1, T], "int32"));
        return tf.matMul(applyRotary(q, angles), applyRotary(k, angles), false, true).arraySync() as number[][][][];
      })[0][0];
      let varied = false;
      for (const [m, n] of [[0, 0], [5, 2], [2, 7], [8, 1], [4, 4]]) {
        assert.ok(Math.abs(scores[m][n] - scores[m + s][n + s]) < 1e-4, `(${m},${n}) vs shifted`);
        if (Math.abs(scores[m][n] - scores[0][0]) > 1e-3) varied = true;
      }
      assert.ok(varied, "scores should differ across position differences");
    });
  }
});

describe("LlamaModel and heads", () => {
  it("every head returns the documented shapes", () => {
    const config = small();
    const x = ids(randomIds(new Random(1), 2, 5, 50));
    const base = new LlamaModel(config, { seed: 1 });
    const h = base.forward(x);
    assert.deepEqual(h.shape, [2, 5, 32]);
    const { hiddenStates, attentions } = base.forwardWithAttentions(x);
    assert.equal(attentions.length, 2);
    assert.deepEqual(attentions[0].shape, [2, 4, 5, 5]);
    assert.ok(maxAbsDiff(hiddenStates.dataSync(), h.dataSync()) < 1e-6);
    const rowSums = tf.sum(attentions[1], -1).dataSync();
    assert.ok(rowSums.every((v) => Math.abs(v - 1) < 1e-5));
    const causalProbs = attentions[0].arraySync() as number[][][][];
    assert.equal(causalProbs[0][0][1][3], 0); // causal: query 1 gives key 3 nothing
    const clm = new LlamaForCausalLM(config, { seed: 1 });
    const mlm = new LlamaForMaskedLM(config, { seed: 1 });
    const pre = new LlamaForPreTraining(config, { seed: 1 });
    const logits = clm.forward(x);
    const mlmLogits = mlm.forward(x);
    const out = pre.forward(x);
    assert.deepEqual(logits.shape, [2, 5, 50]);
    assert.deepEqual(mlmLogits.shape, [2, 5, 50]);
    assert.deepEqual(out.mlmLogits.shape, [2, 5, 50]);
    assert.deepEqual(out.nspLogits.shape, [2, 2]);
    assert.equal(logits.dtype, "float32");
    assert.ok(logits.dataSync().every(Number.isFinite));
    tf.dispose([x, h, hiddenStates, attentions, logits, mlmLogits, out]);
    for (const m of [base, clm, mlm, pre]) m.dispose();
  });

  it("rejects bad inputs naming the argument", () => {
    const m = new LlamaForCausalLM(small(), { seed: 0 });
    const floatIds = tf.tensor2d([[1, 2]], [1, 2], "float32");
    const x = ids([[1, 2, 3]]);
    const shortMask = tf.ones([1, 2]) as tf.Tensor2D;
    const shortPositions = ids([[0, 1]]);
    const before = tf.memory().numTensors;
    assert.throws(() => m.forward(floatIds), /inputIds.*int32/);
    assert.throws(() => m.forward(x, { attentionMask: shortMask }), /attentionMask/);
    assert.throws(() => m.forward(x, { positionIds: shortPositions }), /positionIds/);
    assert.throws(() => m.model.forward(x, { maskMode: "sideways" as never }), /maskMode/);
    assert.equal(tf.memory().numTensors, before, "a failed forward must not leak tensors");
    tf.dispose([floatIds, x, shortMask, shortPositions]);
    m.dispose();
  });

  it("matches a naive loop-by-loop reference forward (GQA, tied and untied)", () => {
    for (const overrides of [{ num_key_value_heads: 2 }, { num_key_value_heads: 1, tie_word_embeddings: true }]) {
      const m = new LlamaForCausalLM(small({ ...overrides, initializer_range: 0.2 }), { seed: 21 });
      const tokens = [4, 17, 4, 42, 9, 30, 1];
      const got = read(() => tf.tidy(() => m.forward(ids([tokens]))));
      const want = referenceCausalLogits(m, tokens).flat();
      const scale = Math.max(...want.map(Math.abs));
      assert.ok(scale > 0.1, "weights large enough for a meaningful comparison");
      assert.ok(maxAbsDiff(got, want) < 1e-4 * scale, `tfjs vs reference diff ${maxAbsDiff(got, want)}`);
      m.dispose();
    }
  });

  it("causal masking blocks the future; bidirectional mode does not", () => {
    const m = new LlamaForCausalLM(small(), { seed: 2 });
    const T = 6, t = 2, V = 50;
    const a = [[3, 14, 15, 9, 26, 5]];
    const b = [[3, 14, 15, 35, 8, 44]]; // same up to position t, different after
    for (const mode of ["causal", "bidirectional"] as const) {
      const la = read(() => tf.tidy(() => m.forward(ids(a), { maskMode: mode })));
      const lb = read(() => tf.tidy(() => m.forward(ids(b), { maskMode: mode })));
      const pastDiff = maxAbsDiff(positions(la, T, V, 0, 0, t + 1), positions(lb, T, V, 0, 0, t + 1));
      const futureDiff = maxAbsDiff(positions(la, T, V, 0, t + 1, T), positions(lb, T, V, 0, t + 1, T));
      assert.ok(futureDiff > 1e-4, `${mode}: future logits should change`);
      if (mode === "causal") assert.ok(pastDiff < 1e-6, `causal: logits at ≤ t changed by ${pastDiff}`);
      else assert.ok(pastDiff > 1e-4, `bidirectional: logits at ≤ t should change, diff ${pastDiff}`);
    }
    m.dispose();
  });

  for (const mode of ["causal", "bidirectional"] as const) {
    it(`a right-padded row matches the unpadded row at real positions (${mode})`, () => {
      const m = new LlamaForCausalLM(small({ pad_token_id: 0 }), { seed: 4 });
      const V = 50;
      const real = [7, 21, 33];
      const padded = ids([[7, 21, 33, 0, 0], [4, 5, 6, 7, 8]]);
      const mask = tf.tensor2d([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], [2, 5], "int32");
      const got = read(() => m.forward(padded, { attentionMask: mask, maskMode: mode }));
      const want = read(() => tf.tidy(() => m.forward(ids([real]), { maskMode: mode })));
      const diff = maxAbsDiff(got.slice(0, 3 * V), want);
      assert.ok(diff < 1e-5, `padded vs unpadded diff ${diff}`);
      // Without the mask, the pad tokens leak in (bidirectional) — shows the mask is what does the work.
      if (mode === "bidirectional") {
        const leaky = read(() => m.forward(padded, { maskMode: mode }));
        assert.ok(maxAbsDiff(leaky.slice(0, 3 * V), want) > 1e-4);
      }
      tf.dispose([padded, mask]);
      m.dispose();
    });
  }

  it("GQA runs with KV=1 and KV=H, and repeatKv interleaves", () => {
    for (const kv of [1, 2, 4]) {
      const m = new LlamaForCausalLM(small({ num_key_value_heads: kv }), { seed: 5 });
      const kShape = m.model.layers[0].self_attn.k_proj.weight.shape;
      assert.deepEqual(kShape, [kv * 8, 32]);
      const out = read(() => tf.tidy(() => m.forward(ids([[1, 2, 3, 4]]))));
      assert.equal(out.length, 4 * 50);
      assert.ok(out.every(Number.isFinite));
      m.dispose();
    }
    const x = tf.tensor4d([0, 1, 2, 3, 4, 5], [1, 3, 2, 1]); // 3 KV heads
    const r = repeatKv(x, 2).arraySync() as number[][][][];
    assert.deepEqual(r[0].map((h) => h.map((p) => p[0])), [[0, 1], [0, 1], [2, 3], [2, 3], [4, 5], [4, 5]]);
    x.dispose();
  });

  it("GQA equals MHA when each KV head's weights are duplicated across its group", () => {
    const H = 4, KV = 2, hd = 8, G = H / KV;
    const gqa = new LlamaForCausalLM(small({ num_key_value_heads: KV }), { seed: 6 });
    const mha = new LlamaForCausalLM(small({ num_key_value_heads: H }), { seed: 99 });
    const src = new Map(gqa.namedParameters());
    for (const [name, v] of mha.namedParameters()) {
      const w = src.get(name)!;
      if (/\.(k|v)_proj\.weight$/.test(name)) {
        v.assign(
          tf.tidy(() => {
            const perHead = tf.reshape(w, [KV, 1, hd, 32]); // [KV, 1, hd, D]
            return tf.reshape(tf.tile(perHead, [1, G, 1, 1]), [H * hd, 32]) as tf.Tensor2D; // [KV·G·hd, D]
          }),
        );
      } else {
        v.assign(w);
      }
    }
    const x = ids([[5, 9, 1, 44, 2, 17]]);
    const a = read(() => gqa.forward(x));
    const b = read(() => mha.forward(x));
    assert.ok(maxAbsDiff(a, b) < 1e-5, `GQA vs MHA diff ${maxAbsDiff(a, b)}`);
    x.dispose();
    gqa.dispose();
    mha.dispose();
  });

  it("uses HF state-dict names; tied embeddings share one variable", () => {
    const untied = new LlamaForCausalLM(small(), { seed: 0 });
    const names = untied.namedParameters().map(([n]) => n);
    assert.equal(names[0], "model.embed_tokens.weight");
    for (const n of [
      "model.layers.0.input_layernorm.weight",
      "model.layers.0.self_attn.q_proj.weight",
      "model.layers.0.self_attn.k_proj.weight",
      "model.layers.0.self_attn.v_proj.weight",
      "model.layers.0.self_attn.o_proj.weight",
      "model.layers.0.post_attention_layernorm.weight",
      "model.layers.1.mlp.gate_proj.weight",
      "model.layers.1.mlp.up_proj.weight",
      "model.layers.1.mlp.down_proj.weight",
      "model.norm.weight",
      "lm_head.weight",
    ]) {
      assert.ok(names.includes(n), `missing ${n}`);
    }
    assert.equal(names.length, 1 + 2 * 9 + 1 + 1);
    const summary = untied.parameterSummary();
    assert.deepEqual(summary.find((r) => r.name === "model.layers.0.mlp.down_proj.weight"), {
      name: "model.layers.0.mlp.down_proj.weight",
      shape: [32, 64],
      count: 2048,
    });
    const D = 32, F = 64, V = 50, L = 2;
    const perLayer = 4 * D * D + 3 * D * F + 2 * D;
    assert.equal(untied.numParameters(), V * D + L * perLayer + D + V * D);

    const tied = new LlamaForCausalLM(small({ tie_word_embeddings: true }), { seed: 0 });
    assert.ok(!tied.namedParameters().some(([n]) => n.startsWith("lm_head")));
    assert.equal(tied.lmHeadWeight, tied.model.embed_tokens.weight);
    assert.equal(tied.numParameters(), untied.numParameters() - V * D);

    const mlm = new LlamaForMaskedLM(small(), { seed: 0 });
    assert.equal(mlm.config.tie_word_embeddings, true);
    assert.ok(!mlm.namedParameters().some(([n]) => n.startsWith("lm_head")));
    const pre = new LlamaForPreTraining(small(), { seed: 0, tieWordEmbeddings: false });
    const preNames = pre.parameterSummary();
    assert.deepEqual(preNames.slice(-3).map((r) => [r.name, r.shape]), [
      ["lm_head.weight", [50, 32]],
      ["cls.seq_relationship.weight", [2, 32]],
      ["cls.seq_relationship.bias", [2]],
    ]);
    assert.deepEqual(pre.config.toJSON().architectures, ["LlamaForPreTraining"]);
    for (const m of [untied, tied, mlm, pre]) m.dispose();
  });

  it("initialises deterministically: same seed same weights, different seed different", () => {
    const config = small({ pad_token_id: 3 });
    const snapshot = (m: Module): number[][] => m.parameters().map((v) => Array.from(v.dataSync()));
    const a = new LlamaForCausalLM(config, { seed: 11 });
    const b = new LlamaForCausalLM(config, { seed: 11 });
    const c = new LlamaForCausalLM(config, { seed: 12 });
    const [sa, sb, sc] = [snapshot(a), snapshot(b), snapshot(c)];
    assert.deepEqual(sa, sb);
    assert.notDeepEqual(sa[0], sc[0]);
    assert.notDeepEqual(sa[sa.length - 1], sc[sc.length - 1]);
    const embed = a.model.embed_tokens.weight.arraySync();
    assert.ok(embed[3].every((x) => x === 0), "pad row starts at zero");
    assert.ok(embed[4].some((x) => x !== 0));
    const flat = sa[0];
    const std = Math.sqrt(flat.reduce((s, x) => s + x * x, 0) / flat.length);
    assert.ok(std > 0.015 && std < 0.025, `embedding std ${std} should be near initializer_range`);
    assert.ok(a.model.norm.weight.dataSync().every((x) => x === 1));
    for (const m of [a, b, c]) m.dispose();
  });

  it("every parameter of every head gets a non-zero gradient on the wasm backend", async () => {
    const previous = tf.getBackend();
    await tf.setBackend("wasm");
    try {
      assert.equal(tf.getBackend(), "wasm");
      everyParameterGetsAGradient();
    } finally {
      await tf.setBackend(previous);
    }
  });

  function everyParameterGetsAGradient(): void {
    const config = small({ num_key_value_heads: 2, pad_token_id: 0, attention_bias: true, mlp_bias: true });
    const rng = new Random(8);
    const x = ids([[1, 5, 9, 12, 7], [2, 8, 49, 0, 0]]); // includes a pad id so its row's gradient must be 0
    const mask = tf.tensor2d([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], [2, 5], "int32");
    const weights = tf.tensor3d(Array.from({ length: 2 * 5 * 50 }, () => rng.normal()), [2, 5, 50]);
    const nspWeights = tf.tensor2d([[1, -2], [0.5, 3]]);
    const models: [string, Module, () => tf.Scalar][] = [];
    const clm = new LlamaForCausalLM(config, { seed: 1 });
    models.push(["causal", clm, () => tf.sum(tf.mul(clm.forward(x, { attentionMask: mask }), weights))]);
    const mlm = new LlamaForMaskedLM(config, { seed: 1 });
    models.push(["masked", mlm, () => tf.sum(tf.mul(mlm.forward(x, { attentionMask: mask }), weights))]);
    const pre = new LlamaForPreTraining(config, { seed: 1 });
    models.push([
      "pretraining",
      pre,
      () => {
        const o = pre.forward(x, { attentionMask: mask });
        return tf.add(tf.sum(tf.mul(o.mlmLogits, weights)), tf.sum(tf.mul(o.nspLogits, nspWeights)));
      },
    ]);
    for (const [label, model, loss] of models) {
      const named = model.namedParameters();
      const { value, grads } = tf.variableGrads(loss, named.map(([, v]) => v));
      assert.ok(Number.isFinite(value.dataSync()[0]));
      for (const [name, v] of named) {
        const g = grads[v.name];
        assert.ok(g, `${label}: no gradient for ${name}`);
        assert.deepEqual(g.shape, v.shape);
        const norm = tf.tidy(() => tf.norm(g).dataSync()[0]);
        assert.ok(norm > 0 && Number.isFinite(norm), `${label}: zero or non-finite gradient for ${name}`);
      }
      // The lookup never sends gradient to the pad row; a tied LM head still does (as in HF), so check untied only.
      if (model instanceof LlamaForCausalLM) {
        const embedGrad = grads[model.model.embed_tokens.weight.name].arraySync() as number[][];
        assert.ok(embedGrad[0].every((g) => g === 0), `${label}: pad row must get no gradient`);
        assert.ok(embedGrad[1].some((g) => g !== 0));
      }
      tf.dispose([value, grads]);
    }
    tf.dispose([x, mask, weights, nspWeights]);
    for (const [, m] of models) m.dispose();
  }

  it("forward leaks no tensors, and dispose() frees every variable (idempotently)", () => {
    const before = tf.memory().numTensors;
    const m = new LlamaForPreTraining(small({ num_key_value_heads: 2 }), { seed: 0 });
    assert.ok(ownsTensors(m), "models are marked for the kernel's re-run cleanup");
    assert.ok(tf.memory().numTensors > before);
    const x = ids([[1, 2, 3]]);
    const mid = tf.memory().numTensors;
    const out = m.forward(x);
    tf.dispose([out.mlmLogits, out.nspLogits]);
    assert.equal(tf.memory().numTensors, mid);
    x.dispose();
    m.dispose();
    assert.equal(tf.memory().numTensors, before);
    m.dispose();
    assert.equal(tf.memory().numTensors, before);
  });

  it("building the same model twice works (no 'already registered' variable names)", () => {
    const config = small();
    const a = new LlamaForCausalLM(config, { seed: 0 });
    const b = new LlamaForCausalLM(config, { seed: 0 });
    assert.notEqual(a.model.embed_tokens.weight.name, b.model.embed_tokens.weight.name);
    a.dispose();
    b.dispose();
  });
});

describe("misuse: token ids out of range", () => {
  it("forward with an id ≥ vocab_size or a negative id names vocab_size and the fix, and leaks nothing", () => {
    const config = makeConfig(SMALL);
    const causal = new LlamaForCausalLM(config, { seed: 1 });
    const pretraining = new LlamaForPreTraining(config, { seed: 1 });
    const before = tf.memory().numTensors;
    for (const bad of [config.vocab_size, -1]) {
      const ids = tf.tensor2d([[1, bad]], undefined, "int32");
      for (const run of [() => causal.forward(ids), () => pretraining.forward(ids)]) {
        assert.throws(run, (e: Error) =>
          new RegExp(`token ids must be in \\[0, vocab_size=${config.vocab_size}\\)`).test(e.message) && /tokenizer's vocabSize/.test(e.message));
      }
      ids.dispose();
    }
    assert.equal(tf.memory().numTensors, before);
    causal.dispose();
    pretraining.dispose();
  });
});
