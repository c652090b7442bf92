import { strict as assert } from "assert";
import * as tf from "@tensorflow/tfjs";
import { Random } from "../lib/random";
import { LlamaForCausalLM, makeConfig, LlamaConfigInit } from "../lib/model";
import { KVCache } from "../lib/generate/kv_cache";
import { argMax, sampleToken, samplingDistribution } from "../lib/generate/sampling";
import { generate } from "../lib/generate/generate";
import { TextStream, generateText } from "../lib/generate/stream";
import { MimeBundle, setDisplaySink } from "../lib/display/sink";
import { maxAbsDiff } from "./numeric";

const GQA: LlamaConfigInit = {
  vocab_size: 61,
  hidden_size: 32,
  intermediate_size: 48,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 64,
  rope_theta: 500000,
  initializer_range: 0.2, // large weights: peaked logits, so position or cache mistakes change the tokens
};

function randomIds(rng: Random, n: number, vocab: number): number[] {
  return Array.from({ length: n }, () => rng.int(vocab));
}

describe("KV cache", () => {
  for (const tied of [false, true]) {
    it(`gives the logits of the uncached forward at every step (GQA, ${tied ? "tied" : "untied"} embeddings)`, () => {
      const model = new LlamaForCausalLM(makeConfig({ ...GQA, tie_word_embeddings: tied }), { seed: 3 });
      const rng = new Random(1);
      const seq = [randomIds(rng, 12, GQA.vocab_size), randomIds(rng, 12, GQA.vocab_size)]; // [2, 12]
      const before = tf.memory().numTensors;
      const full = tf.tidy(() => model.forward(tf.tensor2d(seq, [2, 12], "int32")));
      const fullValues = full.arraySync() as number[][][]; // [2, 12, V]
      full.dispose();
      const cache = new KVCache(GQA.num_hidden_layers);
      // The prompt of 5 tokens, then 3 tokens at once, then 4 single tokens.
      const chunks = [[0, 5], [5, 8], [8, 9], [9, 10], [10, 11], [11, 12]];
      let worst = 0;
      for (const [from, to] of chunks) {
        assert.equal(cache.length, from);
        const step = tf.tidy(() => model.forward(tf.tensor2d(seq.map((r) => r.slice(from, to)), [2, to - from], "int32"), { cache }));
        const values = step.arraySync() as number[][][];
        step.dispose();
        for (let r = 0; r < 2; r++) for (let t = from; t < to; t++) worst = Math.max(worst, maxAbsDiff(values[r][t - from], fullValues[r][t]));
      }
      assert.equal(cache.length, 12);
      assert.ok(worst <= 1e-4, `cached logits differ by ${worst}`);
      cache.dispose();
      assert.equal(cache.length, 0);
      assert.equal(tf.memory().numTensors, before, "the cache freed its tensors");
      model.dispose();
    });
  }

  it("rejects a mask that does not cover cached + new positions, and bidirectional attention", () => {
    const model = new LlamaForCausalLM(makeConfig(GQA), { seed: 3 });
    const cache = new KVCache(GQA.num_hidden_layers);
    tf.tidy(() => model.forward(tf.tensor2d([[1, 2, 3]], [1, 3], "int32"), { cache }));
    assert.throws(
      () => model.forward(tf.tensor2d([[4]], [1, 1], "int32"), { cache, attentionMask: tf.ones([1, 1]) as tf.Tensor2D }),
      /attentionMask must have \[1, cached 3 \+ new 1\]/,
    );
    assert.throws(() => model.forward(tf.tensor2d([[4]], [1, 1], "int32"), { cache, maskMode: "bidirectional" }), /causal/);
    assert.throws(() => cache.layer(2), /outside 0\.\.1/);
    cache.dispose();
    model.dispose();
  });
});

describe("sampling", () => {
  const logits = [Math.log(0.5), Math.log(0.3), Math.log(0.15), Math.log(0.05)];

  it("filters by top-k and top-p and renormalises", () => {
    const all = samplingDistribution(logits);
    assert.ok(maxAbsDiff(all, [0.5, 0.3, 0.15, 0.05]) < 1e-12);
    assert.ok(maxAbsDiff(samplingDistribution(logits, { topK: 2 }), [0.5 / 0.8, 0.3 / 0.8, 0, 0]) < 1e-12);
    // 0.5 < 0.7 ≤ 0.5 + 0.3: the token that crosses p is kept.
    assert.ok(maxAbsDiff(samplingDistribution(logits, { topP: 0.7 }), [0.625, 0.375, 0, 0]) < 1e-12);
    assert.ok(maxAbsDiff(samplingDistribution(logits, { topP: 0.5 }), [1, 0, 0, 0]) < 1e-12);
    // Temperature 2 flattens: p ∝ sqrt(p0).
    const roots = [0.5, 0.3, 0.15, 0.05].map(Math.sqrt);
    const z = roots.reduce((a, b) => a + b, 0);
    assert.ok(maxAbsDiff(samplingDistribution(logits, { temperature: 2 }), roots.map((r) => r / z)) < 1e-12);
    assert.deepEqual(Array.from(samplingDistribution(logits, { temperature: 0 })), [1, 0, 0, 0]);
    // Unfiltered (no sort) against the sorted top-k path on a wide random vocabulary whose one impossible token
    // (logit −∞, probability 0) is all that top-k = n − 1 drops: the same distribution.
    const rng = new Random(3);
    const wide = Array.from({ length: 5000 }, () => 8 * rng.next() - 4);
    wide[1234] = -Infinity;
    const unfiltered = samplingDistribution(wide, { temperature: 0.7 });
    assert.equal(unfiltered[1234], 0);
    assert.ok(maxAbsDiff(unfiltered, samplingDistribution(wide, { temperature: 0.7, topK: 4999 })) < 1e-15);
  });

  it("draws with the frequencies of the distribution, the same draws for the same seed", () => {
    const draw = (seed: number, n: number) => {
      const rng = new Random(seed);
      return Array.from({ length: n }, () => sampleToken(logits, { topK: 3 }, rng));
    };
    const draws = draw(7, 20000);
    const freq = [0, 1, 2, 3].map((i) => draws.filter((d) => d === i).length / draws.length);
    assert.ok(maxAbsDiff(freq, [0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0]) < 0.015, `frequencies ${freq}`);
    assert.deepEqual(draw(7, 50), draws.slice(0, 50));
    assert.notDeepEqual(draw(8, 50), draws.slice(0, 50));
    assert.equal(argMax([1, 3, 3, 2]), 1);
  });

  it("rejects bad options by name", () => {
    assert.throws(() => samplingDistribution(logits, { temperature: -1 }), /temperature/);
    assert.throws(() => samplingDistribution(logits, { topK: 0 }), /topK/);
    assert.throws(() => samplingDistribution(logits, { topP: 1.5 }), /topP/);
  });
});

describe("generate", () => {
  let model: LlamaForCausalLM;
  before(() => (model = new LlamaForCausalLM(makeConfig(GQA), { seed: 11 })));
  after(() => model.dispose());

  it("greedy decoding gives the same tokens with and without the cache, and the uncached argmax each step", async () => {
    const prompt = [5, 17, 3, 42];
    const cached = await generate(model, prompt, { maxNewTokens: 10, greedy: true });
    const plain = await generate(model, prompt, { maxNewTokens: 10, doSample: false, useCache: false });
    assert.deepEqual(cached.newTokens, plain.newTokens);
    // Independent check: each token is the arg-max of a full forward over everything before it.
    const seq = [...prompt];
    for (const expected of cached.newTokens[0]) {
      const next = tf.tidy(() => {
        const logits = model.forward(tf.tensor2d([seq], [1, seq.length], "int32")); // [1, T, V]
        return argMax(logits.slice([0, seq.length - 1, 0], [1, 1, -1]).dataSync());
      });
      assert.equal(next, expected);
      seq.push(next);
    }
    assert.deepEqual(cached.sequences[0], seq);
    assert.ok(new Set(cached.newTokens[0]).size > 1, "the model does not just repeat one token");
    assert.deepEqual(cached.finishReasons, ["length"]);
  });

  it("left-pads a ragged batch so that each row gets the tokens it gets alone", async () => {
    const prompts = [[9, 8, 7, 6, 5, 4], [1, 2], [33, 21, 14]];
    const batch = await generate(model, prompts, { maxNewTokens: 6, greedy: true });
    for (let r = 0; r < prompts.length; r++) {
      const alone = await generate(model, prompts[r], { maxNewTokens: 6, greedy: true });
      assert.deepEqual(batch.newTokens[r], alone.newTokens[0], `row ${r}`);
    }
    const sampledBatch = await generate(model, prompts, { maxNewTokens: 6, seed: 4, temperature: 0.8 });
    assert.equal(sampledBatch.newTokens.length, 3);
  });

  it("samples reproducibly from a seed, streams each token, and stops at a stop token", async () => {
    const seen: [number, number, number][] = [];
    const a = await generate(model, [1, 2, 3], { maxNewTokens: 12, seed: 5, topK: 20, topP: 0.95, onToken: (id, row, step) => void seen.push([id, row, step]) });
    const b = await generate(model, [1, 2, 3], { maxNewTokens: 12, seed: 5, topK: 20, topP: 0.95 });
    const c = await generate(model, [1, 2, 3], { maxNewTokens: 12, seed: 6, topK: 20, topP: 0.95 });
    assert.deepEqual(a.newTokens, b.newTokens);
    assert.notDeepEqual(a.newTokens, c.newTokens);
    assert.deepEqual(seen.map(([id]) => id), a.newTokens[0]);
    assert.deepEqual(seen.map(([, row, step]) => [row, step]), a.newTokens[0].map((_, i) => [0, i]));
    assert.ok(a.tokensPerSecond > 0 && a.promptSeconds > 0);
    // Stop at the first occurrence of the 4th token.
    const stop = a.newTokens[0][3];
    const firstAt = a.newTokens[0].indexOf(stop);
    const stopped = await generate(model, [1, 2, 3], { maxNewTokens: 12, seed: 5, topK: 20, topP: 0.95, stopTokens: [stop] });
    assert.deepEqual(stopped.newTokens[0], a.newTokens[0].slice(0, firstAt + 1));
    assert.deepEqual(stopped.finishReasons, ["stop"]);
  });

  it("warns once (console.warn) when generation feeds positions past max_position_embeddings, and not up to it", async () => {
    const warnings: string[] = [];
    const original = console.warn;
    console.warn = (...args: unknown[]) => void warnings.push(args.join(" "));
    try {
      // The last new token is never fed back: 4 + 61 feeds positions 0..63, exactly max_position_embeddings = 64.
      await generate(model, [[1, 2, 3, 4], [5, 6]], { maxNewTokens: 61, greedy: true });
      await generate(model, Array.from({ length: 70 }, (_, i) => i % 50), { maxNewTokens: 0 }); // no forward pass at all
      assert.deepEqual(warnings, []);
      const past = await generate(model, [1, 2, 3, 4], { maxNewTokens: 62, greedy: true });
      assert.equal(past.newTokens[0].length, 62, "it still generates");
      assert.equal(warnings.length, 1, "one warning per call, not per token");
      assert.match(warnings[0], /prompt \(4 tokens\) plus maxNewTokens \(62\) feeds the model 65 positions, past the config's max_position_embeddings=64.*lower maxNewTokens to 61 or less/);
      await generate(model, Array.from({ length: 64 }, (_, i) => i % 50), { maxNewTokens: 2, greedy: true });
      assert.match(warnings[1], /feeds the model 65 positions.*shorten the prompt/);
    } finally {
      console.warn = original;
    }
  });

  it("leaks no tensors and rejects bad input by name", async () => {
    await generate(model, [[1, 2], [3]], { maxNewTokens: 3 }); // warm-up: backends may cache kernels
    const before = tf.memory().numTensors;
    await generate(model, [[1, 2], [3]], { maxNewTokens: 5 });
    await generate(model, [4, 5], { maxNewTokens: 5, useCache: false });
    assert.equal(tf.memory().numTensors, before);
    await assert.rejects(generate(model, [1, 99], { maxNewTokens: 2 }), /token 1 is 99/);
    await assert.rejects(generate(model, [], { maxNewTokens: 2 }), /prompt 0 is empty/);
    await assert.rejects(generate(model, [1], { maxNewTokens: -1 }), /maxNewTokens/);
    await assert.rejects(generate(model, [1], { maxNewTokens: 2, greedy: true, doSample: true }), /contradict/);
    await assert.rejects(generate(model, [1], { maxNewTokens: 2, topP: 0 }), /topP/);
  });

  it("streams decoded text into a display handle as tokens arrive", async () => {
    const shown: { bundle: MimeBundle; update: boolean }[] = [];
    const previous = setDisplaySink((bundle, { update }) => shown.push({ bundle, update }));
    try {
      const letters = { encode: (s: string) => Array.from(s, (ch) => ch.charCodeAt(0) - 60), decode: (ids: readonly number[]) => ids.map((i) => String.fromCharCode(60 + i)).join("") };
      const stream = new TextStream(letters.decode, ["x: "], { minIntervalMs: 0 });
      stream.push(5);
      stream.push(6);
      assert.equal(shown.length, 3);
      assert.equal(shown[2].bundle["text/plain"], "x: AB");
      assert.ok(shown[2].update);
      shown.length = 0;
      const { texts, result } = await generateText(model, letters, "ABC", { maxNewTokens: 4, greedy: true });
      assert.equal(texts[0], letters.decode(result.newTokens[0]));
      const last = String(shown[shown.length - 1].bundle["text/plain"]);
      assert.ok(last.startsWith("ABC" + texts[0]), last);
      assert.match(last, /4 tokens at [\d.]+ tokens\/s/);
    } finally {
      setDisplaySink(previous);
    }
  });
});

describe("generate misuse", () => {
  it("throws an Error naming the options when they are left out", async () => {
    const model = new LlamaForCausalLM(makeConfig(GQA), { seed: 3 });
    const before = tf.memory().numTensors;
    for (const opts of [undefined, null]) {
      await assert.rejects(
        generate(model, [1, 2], opts as unknown as { maxNewTokens: number }),
        /generate: options are missing; pass at least \{ maxNewTokens \}/,
      );
    }
    assert.equal(tf.memory().numTensors, before);
    model.dispose();
  });
});
