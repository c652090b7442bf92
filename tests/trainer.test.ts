import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { LlamaConfig } from "../lib/model/config";
import { LlamaForSequenceClassification } from "../lib/model/sequence_classification";
import { LlamaForTokenClassification } from "../lib/model/token_classification";
import { Random } from "../lib/random";
import { clearInterrupt, requestInterrupt } from "../lib/interrupt";
import { MimeBundle, setDisplaySink } from "../lib/display/sink";
import { PLOTLY_MIME } from "../lib/display/plotly";
import { IGNORE_INDEX } from "../lib/train/losses";
import { LabeledExample, Trainer } from "../lib/trainer/trainer";
import { makeSchedule } from "../lib/trainer/schedules";
import { classificationReport, confusionMatrix } from "../lib/trainer/metrics";
import { EarlyStopping } from "../lib/trainer/early_stopping";
import { CHECKPOINT_FILES, sequenceClassifierFromPretrained } from "../lib/trainer/checkpoint";
import { savePretrained } from "../lib/io/pretrained";
import { LlamaForCausalLM } from "../lib/model/causal_lm";
import { readJsonl } from "../lib/trainer/callbacks";
import { LabelMap } from "../lib/datasets/text_dataset";

const PAD = 0;
const config = new LlamaConfig({
  vocab_size: 16, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1, num_attention_heads: 2,
  num_key_value_heads: 1, pad_token_id: PAD,
});

const tmpDir = (): string => fs.mkdtempSync(path.join(os.tmpdir(), "llamalab-trainer-"));

/** A learnable task: the class is whether the text's last token is 3 (class 1) or 4 (class 0). */
function lastTokenTask(n: number, seed: number): LabeledExample[] {
  const rng = new Random(seed);
  return Array.from({ length: n }, () => {
    const len = 2 + rng.int(5);
    const body = Array.from({ length: len - 1 }, () => 5 + rng.int(10));
    const label = rng.int(2);
    return { inputIds: [...body, label === 1 ? 3 : 4], label };
  });
}

const charTokenizer = { encode: (s: string) => [...s].map((c) => (c === "a" ? 3 : c === "b" ? 4 : 5 + (c.charCodeAt(0) % 10))) };

function params(model: { namedParameters(): [string, tf.Variable][] }): Record<string, Float32Array> {
  return Object.fromEntries(model.namedParameters().map(([n, v]) => [n, v.dataSync() as Float32Array]));
}

describe("Trainer", function () {
  this.timeout(120000);
  afterEach(() => clearInterrupt());

  it("accumulation: micro-batches of 1, 6, 2 and 9 supervised tokens give one batch's loss and gradients (sum / 18)", () => {
    const model = new LlamaForTokenClassification(config, { numLabels: 3, seed: 4 });
    const supervised = [1, 6, 2, 9];
    const rng = new Random(9);
    const examples: LabeledExample[] = supervised.map((k, i) => {
      const len = k + 1 + i; // some positions stay unsupervised
      const inputIds = Array.from({ length: len }, () => 1 + rng.int(15));
      const label = inputIds.map((_, j) => (j < k ? rng.int(3) : IGNORE_INDEX));
      return { inputIds, label };
    });
    const trainer = new Trainer({ model, train: examples, args: { batchSize: 1, progress: false } });
    const before = tf.memory().numTensors;
    const micro = examples.map((e) => trainer.collate([e]));
    assert.deepEqual(micro.map((b) => b.count), supervised);
    const whole = trainer.collate(examples);
    assert.equal(whole.count, 18);
    const acc = trainer.computeLossAndGrads(micro);
    const one = trainer.computeLossAndGrads([whole]);
    const accLoss = acc.loss.dataSync()[0], oneLoss = one.loss.dataSync()[0];
    assert.ok(Math.abs(accLoss - oneLoss) < 1e-5 * Math.abs(oneLoss), `accumulated ${accLoss} vs one batch ${oneLoss}`);
    for (const [name, g] of Object.entries(one.grads)) {
      const a = acc.grads[name].dataSync(), b = g.dataSync();
      const scale = Math.max(...Array.from(b, Math.abs));
      const diff = Math.max(...Array.from(a, (x, i) => Math.abs(x - b[i])));
      assert.ok(diff <= 1e-5 * scale + 1e-9, `${name}: max diff ${diff} (scale ${scale})`);
    }
    // The wrong rule, the mean of per-micro-batch means, gives a clearly different loss.
    const means = micro.map((b) => trainer.computeLossAndGrads([b]));
    const meanOfMeans = means.reduce((s, o) => s + o.loss.dataSync()[0], 0) / 4;
    assert.ok(Math.abs(meanOfMeans - oneLoss) > 1e-3, `mean of means ${meanOfMeans} should differ from ${oneLoss}`);
    for (const o of [acc, one, ...means]) tf.dispose([o.loss, ...Object.values(o.grads)]);
    for (const b of [...micro, whole]) tf.dispose([b.inputIds, b.attentionMask, b.labels]);
    assert.equal(tf.memory().numTensors, before, "no tensors leak");
    trainer.dispose();
    model.dispose();
  });

  it("schedules: constant, linear and cosine with warm-up, used step by step by the optimizer", async () => {
    const lin = makeSchedule("linear", { lr: 1, warmupSteps: 2, totalSteps: 10 });
    assert.deepEqual([0, 1, 2, 6, 10, 12].map(lin), [0, 0.5, 1, 0.5, 0, 0]);
    const cos = makeSchedule("cosine", { lr: 2, warmupSteps: 2, totalSteps: 10 });
    assert.ok(Math.abs(cos(6) - 1) < 1e-12 && Math.abs(cos(2) - 2) < 1e-12 && Math.abs(cos(10)) < 1e-12);
    assert.ok(Math.abs(cos(4) - (1 + Math.cos(Math.PI / 4))) < 1e-12);
    const con = makeSchedule("constant", { lr: 3, warmupSteps: 4, totalSteps: 10 });
    assert.deepEqual([0, 2, 4, 9].map(con), [0, 1.5, 3, 3]);
    assert.throws(() => makeSchedule("step" as never, { lr: 1, totalSteps: 3 }), /unknown schedule/);

    const model = new LlamaForSequenceClassification(config, { numLabels: 2, seed: 1 });
    const trainer = new Trainer({
      model, train: lastTokenTask(12, 1),
      args: { batchSize: 4, numEpochs: 2, learningRate: 0.01, lrScheduler: "cosine", warmupSteps: 2, progress: false },
    });
    const result = await trainer.train();
    const lrs = result.history.filter((r) => r.kind === "train").map((r) => r.values.lr);
    const expected = makeSchedule("cosine", { lr: 0.01, warmupSteps: 2, totalSteps: 6 });
    assert.deepEqual(lrs, [0, 1, 2, 3, 4, 5].map(expected));
    trainer.dispose();
    model.dispose();
  });

  it("decays weight matrices and embeddings, never norms or biases", () => {
    const model = new LlamaForTokenClassification(config, { numLabels: 2 });
    const trainer = new Trainer({ model, train: [{ inputIds: [1, 2], label: [0, 1] }], args: { progress: false } });
    const decayed = new Set(trainer.optimizer.decayedNames());
    assert.ok(decayed.has("model.layers.0.self_attn.q_proj.weight") && decayed.has("model.embed_tokens.weight") && decayed.has("score.weight"));
    for (const n of ["model.layers.0.input_layernorm.weight", "model.layers.0.post_attention_layernorm.weight", "model.norm.weight", "score.bias"]) {
      assert.ok(!decayed.has(n), `${n} must not decay`);
    }
    trainer.dispose();
    model.dispose();
  });

  it("resumes exactly: interrupted at step 4 and resumed ≡ uninterrupted (bit-identical parameters)", async () => {
    const data = lastTokenTask(24, 2);
    const args = {
      batchSize: 4, gradientAccumulationSteps: 2, numEpochs: 3, learningRate: 0.02, lrScheduler: "cosine" as const,
      warmupSteps: 2, maxGradNorm: 0.5, weightDecay: 0.1, seed: 7, progress: false,
    };
    const a = new LlamaForSequenceClassification(config, { numLabels: 2, seed: 1 });
    const ta = new Trainer({ model: a, train: data, args });
    assert.equal(ta.maxSteps, 9);
    const full = await ta.train();
    assert.equal(full.reason, "completed");

    const dir = tmpDir();
    const b = new LlamaForSequenceClassification(config, { numLabels: 2, seed: 1 });
    const tb = new Trainer({
      model: b, train: data, args: { ...args, outputDir: dir },
      callbacks: [{ onStep: (r) => void (r.step === 4 && requestInterrupt()) }],
    });
    const cut = await tb.train();
    assert.equal(cut.reason, "interrupted");
    assert.equal(cut.globalStep, 4, "stops at the step boundary after the interrupt");
    assert.ok(Object.values(params(b)).every((p) => p.every(Number.isFinite)), "the model is usable");
    clearInterrupt();

    // A fresh process would rebuild model and trainer; a different init proves the weights come from the checkpoint.
    const c = new LlamaForSequenceClassification(config, { numLabels: 2, seed: 99 });
    const tc = new Trainer({ model: c, train: data, args: { ...args, outputDir: dir } });
    const rest = await tc.train({ resumeFrom: path.join(dir, "checkpoint") });
    assert.equal(rest.reason, "completed");
    assert.equal(rest.globalStep, 9);
    const pa = params(a), pc = params(c);
    for (const name of Object.keys(pa)) assert.deepEqual(pc[name], pa[name], `${name} differs after resume`);
    const losses = (h: typeof full.history) => h.filter((r) => r.kind === "train").map((r) => r.values.loss);
    assert.deepEqual(losses(rest.history), losses(full.history), "the same loss at every step");
    // Resuming with other data is refused rather than silently diverging.
    const d = new LlamaForSequenceClassification(config, { numLabels: 2 });
    const td = new Trainer({ model: d, train: data.slice(4), args });
    await assert.rejects(td.train({ resumeFrom: path.join(dir, "checkpoint") }), /same data and arguments/);
    for (const t of [ta, tb, tc, td]) t.dispose();
    for (const m of [a, b, c, d]) m.dispose();
  });

  it("learns, keeps the best checkpoint with its label map, logs JSONL, shows progress and predicts raw strings", async () => {
    const dir = tmpDir();
    const shown: { bundle: MimeBundle; update: boolean }[] = [];
    const previous = setDisplaySink((bundle, o) => shown.push({ bundle, update: o.update }));
    const labels = new LabelMap(["ends-in-b", "ends-in-a"]);
    const model = new LlamaForSequenceClassification(config, { numLabels: 2, seed: 3, labelNames: labels.names });
    const before = tf.memory().numTensors;
    const trainer = new Trainer({
      model, train: lastTokenTask(64, 3), eval: lastTokenTask(32, 4), tokenizer: charTokenizer,
      args: {
        batchSize: 8, numEpochs: 6, learningRate: 0.01, evalSteps: 8, metricForBestModel: "accuracy",
        outputDir: dir, logFile: path.join(dir, "log.jsonl"),
      },
    });
    const result = await trainer.train();
    setDisplaySink(previous);
    assert.equal(result.reason, "completed");
    const final = trainer.evaluate();
    assert.ok(final.metrics.eval_accuracy >= 0.9, `accuracy ${final.metrics.eval_accuracy}`);
    assert.equal(final.metrics.eval_accuracy, result.bestMetric, "the best model is loaded at the end");
    assert.deepEqual(final.report!.confusion.flat().reduce((a, b) => a + b), 32);

    const config_ = JSON.parse(fs.readFileSync(path.join(dir, "best", CHECKPOINT_FILES.config), "utf8"));
    assert.deepEqual(config_.id2label, { 0: "ends-in-b", 1: "ends-in-a" });
    const other = sequenceClassifierFromPretrained(path.join(dir, "best"));
    assert.deepEqual(other.labelNames, ["ends-in-b", "ends-in-a"], "the label map comes back from config.json");
    assert.deepEqual(params(other), params(model), "best/ holds the best weights");
    other.dispose();

    const log = readJsonl(path.join(dir, "log.jsonl"));
    assert.equal(log.filter((r) => r.kind === "train").length, result.globalStep);
    const evals = log.filter((r) => r.kind === "eval");
    assert.equal(evals.length, result.globalStep / 8);
    assert.ok(evals.every((r) => typeof r.eval_accuracy === "number" && typeof r.eval_f1 === "number"));
    assert.equal(log[log.length - 1].reason, "completed");

    const texts = shown.map((s) => String(s.bundle["text/plain"] ?? ""));
    assert.ok(texts.some((t) => /ETA \d+:\d\d/.test(t)), "a progress bar with an ETA");
    assert.ok(texts.some((t) => /done in/.test(t)), "the final state");
    assert.ok(shown.filter((s) => s.bundle[PLOTLY_MIME]).length >= 2, "a live evaluation plot, redrawn");
    assert.ok(shown.some((s) => s.update), "displays update in place");

    const preds = trainer.predict(["xyzxa", "qb", "hello worlda", "b"]);
    assert.deepEqual(preds.map((p) => p.label), ["ends-in-a", "ends-in-b", "ends-in-a", "ends-in-b"]);
    for (const p of preds) assert.ok(Math.abs(p.probabilities[0] + p.probabilities[1] - 1) < 1e-5 && p.score >= 0.5);
    trainer.dispose();
    assert.equal(tf.memory().numTensors, before, "training leaks no tensors");
    model.dispose();
  });

  it("stops early after `patience` evaluations without improvement", async () => {
    const model = new LlamaForSequenceClassification(config, { numLabels: 2, seed: 3 });
    const trainer = new Trainer({
      model, train: lastTokenTask(16, 5), eval: lastTokenTask(8, 6),
      args: { batchSize: 4, numEpochs: 5, learningRate: 0, evalSteps: 1, earlyStoppingPatience: 2, progress: false },
    });
    const result = await trainer.train();
    assert.equal(result.reason, "early_stopping");
    assert.equal(result.globalStep, 3, "evaluations at steps 1 (best), 2 and 3 (no better) → stop");
    const stopper = new EarlyStopping({ patience: 2, greaterIsBetter: true, threshold: 0.01 });
    assert.deepEqual([0.5, 0.505, 0.6, 0.6, 0.59].map((v) => stopper.update(v)), [false, false, false, false, true]);
    trainer.dispose();
    model.dispose();
  });

  it("rejects bad arguments and labels with messages that say what to fix", () => {
    const model = new LlamaForSequenceClassification(config, { numLabels: 2 });
    assert.throws(() => new Trainer({ model, train: [{ inputIds: [1], label: 2 }] }), /train\[0\]\.label is 2/);
    assert.throws(() => new Trainer({ model, train: lastTokenTask(4, 1), args: { batchSize: 0 } }), /batchSize must be at least 1/);
    assert.throws(() => new Trainer({ model, train: lastTokenTask(4, 1), args: { earlyStoppingPatience: 2 } }), /needs an eval set/);
    const t = new Trainer({ model, train: lastTokenTask(4, 1), args: { progress: false } });
    assert.throws(() => t.predict(["x"]), /tokenizer/);
    t.dispose();
    model.dispose();
  });
});

describe("sequenceClassifierFromPretrained", () => {
  it("starts a classifier from a savePretrained language model: base weights copied, score fresh", () => {
    const dir = tmpDir();
    const lm = new LlamaForCausalLM(config, { seed: 11 });
    savePretrained(lm, path.join(dir, "lm"));
    assert.throws(() => sequenceClassifierFromPretrained(path.join(dir, "lm")), /pass numLabels/);
    const clf = sequenceClassifierFromPretrained(path.join(dir, "lm"), { numLabels: 3, labelNames: ["a", "b", "c"] });
    const lmParams = params(lm), clfParams = params(clf);
    for (const name of Object.keys(clfParams).filter((n) => n.startsWith("model."))) assert.deepEqual(clfParams[name], lmParams[name], name);
    assert.deepEqual(clf.score.weight.shape, [3, 16]);
    lm.dispose();
    clf.dispose();
  });
});

describe("classification metrics", () => {
  it("accuracy, per-class and macro precision/recall/F1, confusion matrix", () => {
    const yTrue = [0, 0, 0, 1, 1, 2];
    const yPred = [0, 1, 0, 1, 0, 1];
    assert.deepEqual(confusionMatrix(yTrue, yPred, 3), [[2, 1, 0], [1, 1, 0], [0, 1, 0]]);
    const r = classificationReport(yTrue, yPred, ["a", "b", "c"]);
    assert.equal(r.accuracy, 0.5);
    assert.deepEqual(r.perClass.map((c) => [c.precision, c.recall, c.support]), [[2 / 3, 2 / 3, 3], [1 / 3, 1 / 2, 2], [0, 0, 1]]);
    assert.ok(Math.abs(r.perClass[1].f1 - 0.4) < 1e-12);
    assert.ok(Math.abs(r.macroF1 - (2 / 3 + 0.4 + 0) / 3) < 1e-12);
    assert.throws(() => confusionMatrix([0, 3], [0, 0], 3), /class ids in \[0, 3\)/);
  });
});
