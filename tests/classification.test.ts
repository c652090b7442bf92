import { strict as assert } from "assert";
import * as tf from "@tensorflow/tfjs";
import { LlamaConfig } from "../lib/model/config";
import { LlamaForCausalLM } from "../lib/model/causal_lm";
import {
  LlamaForSequenceClassification,
  classificationLoss,
  copyBaseWeights,
  lastTokenIndex,
  resolveProblemType,
} from "../lib/model/sequence_classification";
import { LlamaForTokenClassification } from "../lib/model/token_classification";

const EOS = 2;
const tiny = (pad: number | null = EOS): LlamaConfig =>
  new LlamaConfig({
    vocab_size: 24, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 2, num_attention_heads: 2,
    num_key_value_heads: 1, pad_token_id: pad, eos_token_id: EOS,
  });

const ids = (rows: number[][]) => tf.tensor2d(rows, undefined, "int32");
const mask = (rows: number[][]) => tf.tensor2d(rows, undefined, "float32");

function maxAbsDiff(a: number[] | number[][], b: number[] | number[][]): number {
  const fa = (a as number[]).flat(), fb = (b as number[]).flat();
  assert.equal(fa.length, fb.length);
  return Math.max(...fa.map((x, i) => Math.abs(x - fb[i])));
}

describe("LlamaForSequenceClassification", () => {
  // The real text [5, eos, 7, 9] holds an eos (= pad id) inside it; rows padded right, left, and not at all.
  const right = [5, EOS, 7, 9, EOS, EOS], rightMask = [1, 1, 1, 1, 0, 0];
  const left = [EOS, EOS, 5, EOS, 7, 9], leftMask = [0, 0, 1, 1, 1, 1];
  const full = [3, 4, 5, EOS, 7, 9], fullMask = [1, 1, 1, 1, 1, 1];

  it("pools each row at its last real token: pad id = eos id, eos inside a row, left/right/no padding", () => {
    const batch = ids([right, left, full]);
    const m = mask([rightMask, leftMask, fullMask]);
    const withMask = lastTokenIndex(batch, EOS, m);
    const withoutMask = lastTokenIndex(batch, EOS);
    assert.deepEqual(Array.from(withMask.dataSync()), [3, 5, 5]);
    assert.deepEqual(Array.from(withoutMask.dataSync()), [3, 5, 5], "HF's ids rule agrees when the text does not end in eos");
    tf.dispose([batch, m, withMask, withoutMask]);
  });

  it("gives a padded row (right or left) the logits of the unpadded row", () => {
    const model = new LlamaForSequenceClassification(tiny(), { numLabels: 3, seed: 1 });
    const batch = ids([right, left, full]);
    const m = mask([rightMask, leftMask, fullMask]);
    const alone = ids([[5, EOS, 7, 9]]);
    const before = tf.memory().numTensors;
    const logits = model.forward(batch, { attentionMask: m });
    const single = model.forward(alone);
    assert.equal(tf.memory().numTensors, before + 2, "forward leaks nothing");
    const rows = logits.arraySync();
    const ref = single.arraySync()[0];
    assert.deepEqual(logits.shape, [3, 3]);
    assert.ok(maxAbsDiff(rows[0], ref) < 1e-5, `right-padded row ${rows[0]} vs unpadded ${ref}`);
    assert.ok(maxAbsDiff(rows[1], ref) < 1e-5, `left-padded row ${rows[1]} vs unpadded ${ref}`);
    assert.ok(maxAbsDiff(rows[2], ref) > 1e-4, "a different text gives different logits");
    // The pooled logits are the per-position scores at the last real token.
    const all = model.scoreAll(batch, { attentionMask: m }).arraySync();
    assert.ok(maxAbsDiff(all[0][3], rows[0]) < 1e-6 && maxAbsDiff(all[1][5], rows[1]) < 1e-6);
    tf.dispose([batch, m, alone, logits, single]);
    model.dispose();
  });

  it("throws without a pad id for a batch of more than one row, and works for one row", () => {
    const model = new LlamaForSequenceClassification(tiny(null), { numLabels: 2, seed: 1 });
    const two = ids([[3, 4, 5], [6, 7, 8]]);
    assert.throws(() => model.forward(two), /no pad_token_id/);
    const one = ids([[3, 4, 5]]);
    const logits = model.forward(one);
    assert.deepEqual(logits.shape, [1, 2]);
    tf.dispose([two, one, logits]);
    model.dispose();
  });

  it("has HF's parameter names: score.weight [num_labels, D], no bias", () => {
    const model = new LlamaForSequenceClassification(tiny(), { numLabels: 3, labelNames: ["a", "b", "c"] });
    const names = model.namedParameters().map(([n]) => n);
    assert.ok(names.includes("model.embed_tokens.weight") && names.includes("score.weight"));
    assert.ok(!names.some((n) => n.startsWith("score.bias")));
    assert.deepEqual(model.score.weight.shape, [3, 16]);
    const json = model.configJSON();
    assert.deepEqual(json.id2label, { 0: "a", 1: "b", 2: "c" });
    assert.deepEqual(json.label2id, { a: 0, b: 1, c: 2 });
    assert.deepEqual(json.architectures, ["LlamaForSequenceClassification"]);
    assert.throws(() => new LlamaForSequenceClassification(tiny(), { numLabels: 2, labelNames: ["x"] }), /labelNames has 1/);
    model.dispose();
  });

  describe("loss by problem type", () => {
    const logitsRows = [[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]];

    it("single-label: mean cross-entropy of int class ids", () => {
      const logits = tf.tensor2d(logitsRows);
      const labels = tf.tensor1d([2, 0], "int32");
      const expected = logitsRows.map((r, i) => {
        const lse = Math.log(r.reduce((s, x) => s + Math.exp(x), 0));
        return lse - r[[2, 0][i]];
      }).reduce((a, b) => a + b) / 2;
      const loss = classificationLoss(logits, labels, resolveProblemType(3, labels));
      assert.ok(Math.abs(loss.dataSync()[0] - expected) < 1e-5);
      tf.dispose([logits, labels, loss]);
    });

    it("multi-label: mean binary cross-entropy with logits of float 0/1 labels", () => {
      const logits = tf.tensor2d(logitsRows);
      const y = [[1, 0, 1], [0, 0, 1]];
      const labels = tf.tensor2d(y);
      assert.equal(resolveProblemType(3, labels), "multi_label_classification");
      const sig = (x: number) => 1 / (1 + Math.exp(-x));
      let total = 0;
      logitsRows.forEach((r, i) => r.forEach((x, j) => (total -= y[i][j] * Math.log(sig(x)) + (1 - y[i][j]) * Math.log(1 - sig(x)))));
      const loss = classificationLoss(logits, labels, "multi_label_classification");
      assert.ok(Math.abs(loss.dataSync()[0] - total / 6) < 1e-5);
      tf.dispose([logits, labels, loss]);
    });

    it("regression (one label): mean squared error; the head picks it from num_labels = 1", () => {
      const model = new LlamaForSequenceClassification(tiny(), { numLabels: 1, seed: 3 });
      assert.equal(model.problemType, "regression");
      const batch = ids([[3, 4, 5], [6, 7, 8]]);
      const logits = model.forward(batch);
      const target = [0.5, -2];
      const labels = tf.tensor1d(target);
      const out = logits.dataSync();
      const expected = ((out[0] - 0.5) ** 2 + (out[1] + 2) ** 2) / 2;
      const loss = model.loss(logits, labels);
      assert.ok(Math.abs(loss.dataSync()[0] - expected) < 1e-6);
      assert.throws(() => model.loss(logits, tf.tensor1d([1, 2, 3])), /regression needs/);
      tf.dispose([batch, logits, labels, loss]);
      model.dispose();
    });

    it("rejects labels of the wrong kind", () => {
      const logits = tf.tensor2d(logitsRows);
      const floats = tf.tensor1d([1, 0]);
      assert.throws(() => classificationLoss(logits, floats, "single_label_classification"), /int32 class ids/);
      tf.dispose([logits, floats]);
    });
  });

  it("starts from a pretrained causal LM: copyBaseWeights copies every model.* weight", () => {
    const lm = new LlamaForCausalLM(tiny(), { seed: 5 });
    const clf = new LlamaForSequenceClassification(tiny(), { numLabels: 2, seed: 6 });
    const copied = copyBaseWeights(clf, lm);
    assert.equal(copied.length, clf.namedParameters().length - 1, "all but score.weight");
    const a = lm.model.layers[1].self_attn.q_proj.weight.dataSync();
    const b = clf.model.layers[1].self_attn.q_proj.weight.dataSync();
    assert.deepEqual(Array.from(a), Array.from(b));
    const other = new LlamaForCausalLM(tiny().with({ hidden_size: 32, intermediate_size: 64 }), { seed: 5 });
    assert.throws(() => copyBaseWeights(clf, other), /same config|one config/);
    lm.dispose();
    clf.dispose();
    other.dispose();
  });
});

describe("LlamaForTokenClassification", () => {
  it("scores every token with a biased score layer and ignores −100 in the loss", () => {
    const model = new LlamaForTokenClassification(tiny(), { numLabels: 4, seed: 2 });
    assert.deepEqual(model.score.bias!.shape, [4]);
    const batch = ids([[3, 4, 5, EOS], [6, 7, 8, 9]]);
    const logits = model.forward(batch);
    assert.deepEqual(logits.shape, [2, 4, 4]);
    const labels = tf.tensor2d([[1, -100, 3, -100], [0, 0, -100, 2]], undefined, "int32");
    const { sum, count } = model.lossSum(logits, labels);
    assert.equal(count.dataSync()[0], 5);
    const rows = logits.arraySync();
    let expected = 0;
    [[0, 0, 1], [0, 2, 3], [1, 0, 0], [1, 1, 0], [1, 3, 2]].forEach(([b, t, c]) => {
      const r = rows[b][t];
      expected += Math.log(r.reduce((s, x) => s + Math.exp(x), 0)) - r[c];
    });
    assert.ok(Math.abs(sum.dataSync()[0] - expected) < 1e-4);
    tf.dispose([batch, logits, labels, sum, count]);
    model.dispose();
  });
});
