import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { LlamaConfig } from "../lib/model/config";
import { LlamaAttention, repeatKv } from "../lib/model/attention";
import { LlamaForCausalLM } from "../lib/model/causal_lm";
import { LlamaForSequenceClassification } from "../lib/model/sequence_classification";
import { linear } from "../lib/model/module";
import { attentionBias } from "../lib/model/mask";
import { RotaryEmbedding, applyRotary } from "../lib/model/rope";
import { Random } from "../lib/random";
import { clearInterrupt, requestInterrupt } from "../lib/interrupt";
import { LabeledExample, Trainer } from "../lib/trainer/trainer";
import { CHECKPOINT_FILES } from "../lib/trainer/checkpoint";
import { Precision } from "../lib/precision/formats";
import { roundArray, roundToFp16 } from "../lib/precision/rounding";
import { autocastLinear, autocastMatMul } from "../lib/precision/autocast";
import { autocastPrecision, matMulUnderAutocast, withAutocast } from "../lib/precision/autocast_context";
import { DynamicLossScaler } from "../lib/precision/loss_scaler";
import { SCALED_STEP_METRICS, mixedPrecisionGradFn, unscaleOrSkip } from "../lib/precision/scaled_step";
import { countCastUnderflow, gradientUnderflow } from "../lib/precision/gradient_underflow";

const PAD = 0;
const config = new LlamaConfig({
  vocab_size: 16, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 2, num_attention_heads: 4,
  num_key_value_heads: 2, pad_token_id: PAD,
});

const bitsOf = (t: tf.Tensor): Uint32Array => new Uint32Array(Float32Array.from(t.dataSync()).buffer);
const sameBits = (a: tf.Tensor, b: tf.Tensor): boolean => {
  const x = bitsOf(a), y = bitsOf(b);
  return x.length === y.length && x.every((v, i) => v === y[i]);
};
/** Whether every element of `t` is a value the 16-bit `precision` can hold. */
const representable = (t: tf.Tensor, precision: Precision): boolean => {
  const v = Float32Array.from(t.dataSync());
  const r = roundArray(v, precision);
  return v.every((x, i) => Object.is(x, r[i]));
};
const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor): number => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

/** A learnable task that needs attention: the class says whether the first token is 3 (class 1) or 4 (class 0). */
function firstTokenTask(n: number, seed: number): LabeledExample[] {
  const rng = new Random(seed);
  return Array.from({ length: n }, () => {
    const label = rng.int(2);
    const rest = Array.from({ length: 1 + rng.int(4) }, () => 5 + rng.int(10));
    return { inputIds: [label === 1 ? 3 : 4, ...rest], label };
  });
}

function params(model: { namedParameters(): [string, tf.Variable][] }): Record<string, Float32Array> {
  return Object.fromEntries(model.namedParameters().map(([n, v]) => [n, Float32Array.from(v.dataSync())]));
}

describe("mixed precision: the autocast scope in the model", () => {
  // Made in a hook: at file load time the backend is not initialised yet.
  let ids: tf.Tensor2D;
  before(() => { ids = tf.tensor2d([[1, 2, 3, 4, 5, 6, 7, 8], [9, 8, 7, 6, 5, 4, 3, 2]], undefined, "int32"); });
  after(() => ids.dispose());
  after(() => ids.dispose());

  it("outside any scope (and in an fp32 one) the model is exactly fp32: linear() is tf.matMul bit for bit", () => {
    const model = new LlamaForCausalLM(config, { seed: 3 });
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const plain = model.forward(ids);
      assert.ok(sameBits(plain, withAutocast("fp32", () => model.forward(ids))), "an fp32 scope changes nothing");
      assert.ok(!sameBits(plain, withAutocast("fp16", () => model.forward(ids))), "an fp16 scope does change the logits");
      const x = tf.randomNormal([5, 16], 0, 1, "float32", 1) as tf.Tensor2D;
      const w = model.namedParameters().find(([n]) => n.endsWith("q_proj.weight"))![1] as unknown as tf.Tensor2D; // [out, in]
      assert.ok(sameBits(linear(x, w), tf.matMul(x, w, false, true)));
    });
    assert.equal(tf.memory().numTensors, before, "no tensor leaks");
    model.dispose();
  });

  for (const precision of ["fp16", "bf16"] as const) {
    it(`in a ${precision} scope the linear layers and both attention matmuls round to ${precision}; softmax and the mask stay fp32`, () => {
      const attention = new LlamaAttention(config, new Random(5));
      const rotary = new RotaryEmbedding(config);
      const before = tf.memory().numTensors;
      tf.tidy(() => {
        const [b, t, d] = [2, 6, 16];
        const x = tf.randomNormal([b, t, d], 0, 1, "float32", 2) as tf.Tensor3D;
        const angles = rotary.forward(tf.reshape(tf.range(0, t, 1, "int32"), [1, t]) as tf.Tensor2D);
        const bias = attentionBias(t, "causal", tf.tensor2d([[0, 0, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1]]) as tf.Tensor2D);
        const { output, probs } = withAutocast(precision, () => attention.forward(x, angles, bias));
        // The same computation written out with explicit casts: what the scope must amount to.
        const [nh, nkv, hd] = [4, 2, 4];
        const flat = tf.reshape(x, [b * t, d]);
        const heads = (y: tf.Tensor, n: number) => tf.transpose(tf.reshape(y, [b, t, n, hd]), [0, 2, 1, 3]) as tf.Tensor4D;
        const q = applyRotary(heads(autocastLinear(flat, attention.q_proj.weight, precision), nh), angles); // [B, H, T, hd]
        const k = repeatKv(applyRotary(heads(autocastLinear(flat, attention.k_proj.weight, precision), nkv), angles), 2);
        const v = repeatKv(heads(autocastLinear(flat, attention.v_proj.weight, precision), nkv), 2);
        const scores = tf.add(tf.mul(autocastMatMul(q, k, precision, false, true), 1 / Math.sqrt(hd)), bias); // fp32 add
        const p = tf.softmax(scores, -1); // fp32
        const context = autocastMatMul(p, v, precision); // [B, H, T, hd]
        const merged = tf.reshape(tf.transpose(context, [0, 2, 1, 3]), [b * t, nh * hd]);
        const expected = tf.reshape(autocastLinear(merged, attention.o_proj.weight, precision), [b, t, d]);
        assert.ok(sameBits(probs, p), "attention probabilities = fp32 softmax of rounded scores + fp32 mask");
        assert.ok(sameBits(output, expected), "output = the explicitly cast computation");
        assert.ok(representable(output, precision), `o_proj's output is ${precision}`);
        assert.ok(!representable(probs, precision), "softmax output is not rounded (fp32)");
        const rowSums = Array.from(tf.sum(probs, -1).dataSync());
        assert.ok(rowSums.every((s) => Math.abs(s - 1) < 1e-6), "rows sum to 1 in fp32, including the fully masked pad rows");
        const fp32Out = attention.forward(x, angles, bias).output;
        assert.ok(!sameBits(output, fp32Out), `${precision} differs from fp32`);
        assert.ok(maxAbsDiff(output, fp32Out) < (precision === "fp16" ? 2e-3 : 2e-2), "but only by rounding");
      });
      assert.equal(tf.memory().numTensors, before, "no tensor leaks");
      attention.dispose();
    });
  }

  it("holds the gradients of the cast weights in 16 bits, and master weights' dtype stays float32", () => {
    const model = new LlamaForCausalLM(config, { seed: 4 });
    const named = model.namedParameters();
    const loss = () => tf.mean(tf.square(model.forward(ids))) as tf.Scalar;
    const low = tf.variableGrads(() => withAutocast("fp16", loss), model.parameters());
    const full = tf.variableGrads(loss, model.parameters());
    const qName = named.find(([n]) => n.endsWith("layers.0.self_attn.q_proj.weight"))![1].name;
    const normName = named.find(([n]) => n.endsWith("layers.0.input_layernorm.weight"))![1].name;
    assert.ok(representable(low.grads[qName], "fp16"), "q_proj's weight gradient is an fp16 tensor");
    assert.ok(!representable(full.grads[qName], "fp16"), "(in fp32 it is not)");
    assert.ok(!representable(low.grads[normName], "fp16"), "RMSNorm is fp32, and so is its weight's gradient");
    assert.ok(named.every(([, v]) => v.dtype === "float32"));
    tf.dispose([low.value, full.value, ...Object.values(low.grads), ...Object.values(full.grads)]);
    model.dispose();
  });

  it("nests like torch.autocast, restores the outer precision after a throw, and rejects async bodies and bad precisions", () => {
    assert.equal(autocastPrecision(), "fp32");
    withAutocast("fp16", () => {
      assert.equal(autocastPrecision(), "fp16");
      withAutocast("fp32", () => assert.equal(autocastPrecision(), "fp32"));
      assert.throws(() => withAutocast("bf16", () => {
        assert.equal(autocastPrecision(), "bf16");
        throw new Error("boom");
      }), /boom/);
      assert.equal(autocastPrecision(), "fp16");
    });
    assert.equal(autocastPrecision(), "fp32");
    assert.throws(() => withAutocast("fp16", async () => 1), /returned a Promise/);
    assert.equal(autocastPrecision(), "fp32");
    assert.throws(() => withAutocast("fp8" as Precision, () => 1), /withAutocast: precision must be "fp32", "fp16" or "bf16"/);
    const a = tf.tensor2d([[1.0001, 2]]), b = tf.tensor2d([[3], [4]]);
    assert.equal(matMulUnderAutocast(a, b).dataSync()[0], tf.matMul(a, b).dataSync()[0]);
    tf.dispose([a, b]);
  });

  it("case: left-padded batches give no NaN/Inf in fp32, fp16 and bf16, and agree within tolerance", () => {
    // Why the mask is added in fp32: in fp16, a causal and a padding mask of fp16's minimum (−65504) each sum
    // to −Inf, and a query row with every key masked (a pad position under left padding) then softmaxes to NaN.
    const naive = tf.tidy(() => {
      const fp16Min = tf.fill([1, 4], -65504);
      const scores = roundToFp16(tf.tensor2d([[-40, -3, -100, -1]]));
      const masked = roundToFp16(tf.add(roundToFp16(tf.add(scores, fp16Min)), fp16Min));
      return tf.softmax(masked).dataSync();
    });
    assert.ok(Array.from(naive).every(Number.isNaN), "the naive fp16 mask gives a NaN row");

    const model = new LlamaForCausalLM(config, { seed: 6 });
    const leftPadded = tf.tensor2d([[PAD, PAD, PAD, 5, 6, 7], [PAD, 9, 10, 11, 12, 13], [3, 4, 5, 6, 7, 8]], undefined, "int32");
    const mask = tf.tensor2d([[0, 0, 0, 1, 1, 1], [0, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1]]) as tf.Tensor2D;
    const before = tf.memory().numTensors;
    const logits = Object.fromEntries((["fp32", "fp16", "bf16"] as const).map((p) => [p, withAutocast(p, () => model.forward(leftPadded, { attentionMask: mask }))]));
    for (const [p, l] of Object.entries(logits)) assert.ok(Array.from(l.dataSync()).every(Number.isFinite), `${p}: every logit finite, pad rows included`);
    // Only the real tokens' logits are compared (pad rows are uniform attention over pads, meaningless).
    const real = (l: tf.Tensor) => tf.tidy(() => tf.mul(l, tf.expandDims(mask, -1)));
    const scale = tf.tidy(() => tf.max(tf.abs(logits.fp32)).dataSync()[0]);
    const d16 = tf.tidy(() => maxAbsDiff(real(logits.fp16), real(logits.fp32)));
    const dbf = tf.tidy(() => maxAbsDiff(real(logits.bf16), real(logits.fp32)));
    assert.ok(d16 <= 1e-2 * scale && d16 > 0, `fp16 vs fp32: max |Δlogit| ${d16} (max |logit| ${scale})`);
    assert.ok(dbf <= 5e-2 * scale && dbf > 0, `bf16 vs fp32: max |Δlogit| ${dbf}`);
    tf.dispose(Object.values(logits));
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([leftPadded, mask]);
    model.dispose();
  });
});

describe("mixed precision: loss-scaled steps", () => {
  it("unscaleOrSkip returns unscaled gradients on a clean step and none (a skipped step) on overflow", () => {
    const scaler = new DynamicLossScaler({ initScale: 4, growthInterval: 1 });
    const before = tf.memory().numTensors;
    const clean = unscaleOrSkip(scaler, tf.scalar(0.5), { a: tf.tensor1d([4, -8]) });
    assert.deepEqual(Array.from(clean.grads.a.dataSync()), [1, -2]);
    assert.equal(clean.metrics![SCALED_STEP_METRICS.scale].dataSync()[0], 4);
    assert.equal(clean.metrics![SCALED_STEP_METRICS.skipped].dataSync()[0], 0);
    assert.equal(scaler.getScale(), 8, "grew after growthInterval = 1 clean step");
    const bad = unscaleOrSkip(scaler, tf.scalar(0.5), { a: tf.tensor1d([Infinity, 1]) });
    assert.deepEqual(Object.keys(bad.grads), []);
    assert.equal(bad.metrics![SCALED_STEP_METRICS.skipped].dataSync()[0], 1);
    assert.equal(scaler.getScale(), 4, "backed off");
    tf.dispose([clean.loss, clean.grads.a, bad.loss, ...Object.values(clean.metrics!), ...Object.values(bad.metrics!)]);
    assert.equal(tf.memory().numTensors, before, "the scaled gradients are consumed, nothing leaks");
  });

  it("fp16 without scaling flushes gradient entries to zero; loss scaling recovers them; bf16 loses none", () => {
    const model = new LlamaForCausalLM(config, { seed: 8 });
    const rng = new Random(2);
    const ids = tf.tensor2d(Array.from({ length: 8 }, () => Array.from({ length: 12 }, () => 1 + rng.int(15))), undefined, "int32");
    const labels = tf.tensor2d(Array.from({ length: 8 }, () => Array.from({ length: 12 }, () => 1 + rng.int(15))), undefined, "int32");
    const vars = model.parameters();
    // A loss weighted down as gradient accumulation over 64 micro-batches does (loss / 64 before backward).
    const lossFn = () => ({ loss: tf.div(tf.losses.softmaxCrossEntropy(tf.oneHot(tf.reshape(labels, [-1]), 16), tf.reshape(model.forward(ids), [-1, 16])), 64) as tf.Scalar });
    const before = tf.memory().numTensors;
    const fp32 = tf.variableGrads(() => lossFn().loss, vars);
    const run = (precision: Precision, scaler?: DynamicLossScaler) => countCastUnderflow(() => mixedPrecisionGradFn({ variables: vars, precision, scaler, lossFn })(null));
    const noScale = run("fp16");
    const scaled = run("fp16", new DynamicLossScaler());
    const bf16 = run("bf16");
    const lostParams = gradientUnderflow(fp32.grads, noScale.result.grads);
    assert.ok(noScale.underflow.fraction > 0.01, `fp16 unscaled: ${(100 * noScale.underflow.fraction).toFixed(2)}% of gradient entries at casts flushed`);
    assert.ok(scaled.underflow.fraction < noScale.underflow.fraction / 20, `with scaling only ${scaled.underflow.flushed} of ${scaled.underflow.nonzero}`);
    assert.equal(bf16.underflow.flushed, 0, "bf16 has fp32's exponent range: nothing underflows");
    assert.ok(lostParams.flushed > 0, "some weight-gradient entries are lost outright");
    assert.equal(gradientUnderflow(fp32.grads, scaled.result.grads).flushed, 0, "scaled: no weight-gradient entry lost");
    for (const r of [noScale, scaled, bf16]) tf.dispose([r.result.loss, ...Object.values(r.result.grads), ...Object.values(r.result.metrics ?? {})]);
    tf.dispose([fp32.value, ...Object.values(fp32.grads)]);
    assert.equal(tf.memory().numTensors, before, "no tensor leaks");
    tf.dispose([ids, labels]);
    model.dispose();
  });
});

describe("mixed precision: the Trainer's mixedPrecision option", function () {
  this.timeout(300000);
  afterEach(() => clearInterrupt());
  const data = firstTokenTask(64, 5);
  const baseArgs = { maxSteps: 30, batchSize: 8, learningRate: 3e-3, seed: 3, progress: false };

  async function run(args: Record<string, unknown>) {
    const model = new LlamaForSequenceClassification(config, { numLabels: 2, seed: 1 });
    const trainer = new Trainer({ model, train: data, args: { ...baseArgs, ...args } });
    const result = await trainer.train();
    const evalLoss = trainer.evaluate(data).metrics.eval_loss;
    return { model, trainer, result, evalLoss };
  }

  // Stated tolerance: the final eval loss of fp16 + loss scaling and of bf16 within 0.01 (absolute) of fp32's.
  const TOLERANCE = 0.01;

  it(`fp16 with loss scaling and bf16 end within ${TOLERANCE} of the fp32 loss; bf16 runs without a scaler`, async () => {
    const before = tf.memory().numTensors;
    const fp32 = await run({});
    const fp16 = await run({ mixedPrecision: "fp16" });
    const bf16 = await run({ mixedPrecision: "bf16" });
    assert.ok(fp32.evalLoss < 0.5, `the task is learnt (fp32 eval loss ${fp32.evalLoss})`);
    for (const [name, r] of [["fp16", fp16], ["bf16", bf16]] as const) {
      assert.ok(Math.abs(r.evalLoss - fp32.evalLoss) <= TOLERANCE, `${name} eval loss ${r.evalLoss} vs fp32 ${fp32.evalLoss}`);
      assert.notEqual(r.evalLoss, fp32.evalLoss, `${name} really ran in lower precision`);
    }
    const fp16Train = fp16.result.history.filter((h) => h.kind === "train");
    assert.ok(fp16Train.every((h) => h.values.loss_scale === 65536 && h.values.skipped_step === 0), "default GradScaler: 2^16, no overflow");
    assert.equal(bf16.trainer.lossScaler.isEnabled(), false);
    assert.ok(bf16.result.history.every((h) => !("loss_scale" in h.values)), "bf16 logs no loss scale");
    for (const r of [fp32, fp16, bf16]) (r.trainer.dispose(), r.model.dispose());
    assert.equal(tf.memory().numTensors, before, "no tensor leaks");
  });

  it("skips the optimizer step on overflow (weights and AdamW moments untouched) and backs off until steps apply", async () => {
    const model = new LlamaForSequenceClassification(config, { numLabels: 2, seed: 1 });
    const start = params(model);
    const trainer = new Trainer({ model, train: data, args: { ...baseArgs, maxSteps: 1, mixedPrecision: "fp16", lossScaler: { initScale: 2 ** 40 } } });
    await trainer.train();
    const first = trainer.history.find((h) => h.kind === "train")!;
    assert.equal(first.values.skipped_step, 1, "2^40 × the loss overflows fp16 gradients");
    assert.equal(trainer.lossScaler.getScale(), 2 ** 39);
    assert.deepEqual(params(model), start, "no weight changed");
    assert.deepEqual(trainer.optimizer.getState().params, {}, "no AdamW moment was created");
    assert.equal(trainer.globalStep, 1, "the step still counts, as in HF's Trainer");
    trainer.dispose();
    model.dispose();

    const m2 = new LlamaForSequenceClassification(config, { numLabels: 2, seed: 1 });
    const t2 = new Trainer({ model: m2, train: data, args: { ...baseArgs, mixedPrecision: "fp16", lossScaler: { initScale: 2 ** 40 } } });
    const r2 = await t2.train();
    const train = r2.history.filter((h) => h.kind === "train");
    const skipped = train.filter((h) => h.values.skipped_step === 1).length;
    assert.ok(skipped >= 10 && skipped < train.length, `${skipped} of ${train.length} steps skipped while the scale backed off`);
    const firstApplied = train.findIndex((h) => h.values.skipped_step === 0);
    assert.ok(train.filter((h) => h.values.skipped_step === 0).every((h) => Number.isFinite(h.values.loss) && h.values.grad_norm > 0));
    assert.equal(train[firstApplied].values.loss_scale, 2 ** (40 - firstApplied), "halved once per skipped step");
    t2.dispose();
    m2.dispose();
  });

  it("saves the scaler's state (GradScaler's state_dict keys) in checkpoints and resumes the same scale trace and weights", async () => {
    const args = { ...baseArgs, maxSteps: 10, mixedPrecision: "fp16" as const, lossScaler: { initScale: 2 ** 20, growthInterval: 2 } };
    const a = new LlamaForSequenceClassification(config, { numLabels: 2, seed: 1 });
    const ta = new Trainer({ model: a, train: data, args });
    const full = await ta.train();

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "llamalab-mp-"));
    const b = new LlamaForSequenceClassification(config, { numLabels: 2, seed: 1 });
    const tb = new Trainer({ model: b, train: data, args: { ...args, outputDir: dir }, callbacks: [{ onStep: (r) => void (r.step === 5 && requestInterrupt()) }] });
    const cut = await tb.train();
    assert.equal(cut.globalStep, 5);
    clearInterrupt();
    const saved = JSON.parse(fs.readFileSync(path.join(dir, "checkpoint", CHECKPOINT_FILES.state), "utf8")).lossScaler;
    assert.deepEqual(Object.keys(saved).sort(), ["_growth_tracker", "backoff_factor", "growth_factor", "growth_interval", "scale"]);
    assert.equal(saved.scale, tb.lossScaler.getScale());

    const c = new LlamaForSequenceClassification(config, { numLabels: 2, seed: 99 });
    const tc = new Trainer({ model: c, train: data, args: { ...args, outputDir: dir } });
    const rest = await tc.train({ resumeFrom: path.join(dir, "checkpoint") });
    const trace = (h: typeof full.history) => h.filter((r) => r.kind === "train").map((r) => [r.values.loss_scale, r.values.skipped_step]);
    const fullTrace = trace(full.history);
    assert.ok(new Set(fullTrace.map(([s]) => s)).size >= 3, `the trace moves (grows and backs off): ${JSON.stringify(fullTrace)}`);
    assert.deepEqual(trace(rest.history), fullTrace, "the resumed run continues the scale trace exactly");
    assert.deepEqual(params(c), params(a), "and ends with bit-identical weights");
    assert.equal(tc.lossScaler.getScale(), ta.lossScaler.getScale());
    for (const t of [ta, tb, tc]) t.dispose();
    for (const m of [a, b, c]) m.dispose();
  });

  it("rejects a bad mixedPrecision and a loss scaler without fp16, naming the field", () => {
    const model = new LlamaForSequenceClassification(config, { numLabels: 2, seed: 1 });
    assert.throws(() => new Trainer({ model, train: data, args: { mixedPrecision: "fp8" as never } }), /mixedPrecision must be "fp16", "bf16" or "none", got "fp8"/);
    assert.throws(() => new Trainer({ model, train: data, args: { mixedPrecision: "bf16", lossScaler: {} } }), /lossScaler applies to mixedPrecision "fp16" only/);
    model.dispose();
  });
});
