/**
 * Parity with the Hugging Face Llama. tests/fixtures/parity/make_fixtures.py (PyTorch, run by hand:
 * `npm run fixtures:parity`) writes a small reference of modeling_llama.py with HF's names, random weights
 * and its outputs; here the same weights are loaded through fromPretrained and every output is compared.
 *
 * Tolerances (fp32 on both sides; the differences are float rounding in a different order of operations):
 *   logits            max abs diff ≤ 1e-4 (issue 3), at every position including padded ones
 *   loss              abs diff ≤ 1e-5
 *   gradients         max abs diff ≤ 1e-5 · max(1, max |torch grad|) per parameter
 *   AdamW step        max abs diff ≤ 1e-6 per parameter, fed torch's gradients (isolates the optimizer)
 *   F16/BF16 weights  the same 1e-4 on logits, against torch with the same rounded weights
 */
import { strict as assert } from "assert";
import { readFileSync } from "fs";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { AdamW } from "../lib/train/adamw";
import { maskedCrossEntropy } from "../lib/train/losses";
import { LlamaForCausalLM } from "../lib/model";
import { SafetensorsFile } from "../lib/io/safetensors";
import { fromPretrained, loadPretrainedWeights } from "../lib/io/pretrained";
import { maxAbsDiff } from "./numeric";

const DIR = path.resolve(__dirname, "..", "..", "tests", "fixtures", "parity");

const LOGIT_TOL = 1e-4;
const LOSS_TOL = 1e-5;
const GRAD_TOL = 1e-5;
const ADAMW_TOL = 1e-6;

interface Inputs {
  input_ids: number[][];
  attention_mask: number[][] | null;
  position_ids: number[][] | null;
  labels: number[][];
  adamw?: { lr: number; betas: [number, number]; eps: number; weight_decay: number };
}

interface Case {
  name: string;
  dir: string;
  inputs: Inputs;
  expected: Map<string, { shape: number[]; data: Float32Array }>;
}

function loadCase(name: string): Case {
  const dir = path.join(DIR, name);
  const inputs = JSON.parse(readFileSync(path.join(dir, "inputs.json"), "utf8")) as Inputs;
  const file = SafetensorsFile.open(path.join(dir, "expected.safetensors"));
  const expected = new Map(file.names().map((n) => [n, file.readFloat32(n)]));
  file.close();
  return { name, dir, inputs, expected };
}

function int2d(rows: number[][]): tf.Tensor2D {
  return tf.tensor2d(rows, [rows.length, rows[0].length], "int32");
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** logits [B, T, V] with the case's mask and positions. */
function forward(model: LlamaForCausalLM, inputs: Inputs): tf.Tensor3D {
  return tf.tidy(() =>
    model.forward(int2d(inputs.input_ids), {
      attentionMask: inputs.attention_mask ? int2d(inputs.attention_mask) : undefined,
      positionIds: inputs.position_ids ? int2d(inputs.position_ids) : undefined,
    }),
  );
}

/** HF's causal-LM loss: logits at t predict labels at t+1; −100 is not counted; mean over counted tokens. */
function causalLmLoss(logits: tf.Tensor3D, labels: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const [b, t, v] = logits.shape;
    const predicting = tf.slice(logits, [0, 0, 0], [b, t - 1, v]); // [B, T−1, V]
    const next = tf.slice(labels, [0, 1], [b, t - 1]); // [B, T−1]
    const { loss, correct, count } = maskedCrossEntropy(predicting, next);
    correct.dispose();
    count.dispose();
    return loss;
  });
}

const CASES = [
  "gqa_untied_right_pad",
  "mha_tied_left_pad_theta500k",
  "llama3_scaling_v5",
  "linear_scaling_legacy_type",
];

describe("parity with the PyTorch reference of HF Llama (tests/fixtures/parity)", () => {
  for (const name of CASES) {
    describe(name, () => {
      let c: Case;
      let model: LlamaForCausalLM;
      before(() => {
        c = loadCase(name);
        model = fromPretrained(c.dir);
      });
      after(() => model.dispose());

      it(`logits match within ${LOGIT_TOL}`, () => {
        const before = tf.memory().numTensors;
        const logits = forward(model, c.inputs);
        const want = c.expected.get("logits")!;
        assert.deepEqual(logits.shape, want.shape);
        const diff = maxAbsDiff(logits.dataSync(), want.data);
        logits.dispose();
        assert.ok(diff <= LOGIT_TOL, `max abs logit diff ${diff} > ${LOGIT_TOL}`);
        assert.ok(maxAbs(want.data) > 1, "the reference logits are not trivially small");
        assert.equal(tf.memory().numTensors, before, "forward leaked tensors");
      });

      it(`causal-LM loss (ignore_index −100) matches within ${LOSS_TOL}`, () => {
        const labels = int2d(c.inputs.labels);
        const loss = tf.tidy(() => causalLmLoss(forward(model, c.inputs), labels));
        const got = loss.dataSync()[0];
        loss.dispose();
        labels.dispose();
        const want = c.expected.get("loss")!.data[0];
        assert.ok(Math.abs(got - want) <= LOSS_TOL, `loss ${got} vs torch ${want}`);
      });
    });
  }

  for (const name of ["gqa_untied_right_pad", "mha_tied_left_pad_theta500k"]) {
    describe(`${name}: one training step`, () => {
      let c: Case;
      before(() => {
        c = loadCase(name);
      });

      it("gradients of every parameter match torch's backward", () => {
        const model = fromPretrained(c.dir);
        const labels = int2d(c.inputs.labels);
        const named = model.namedParameters();
        const { value, grads } = tf.variableGrads(
          () => causalLmLoss(forward(model, c.inputs), labels),
          named.map(([, v]) => v),
        );
        const gradNames = [...c.expected.keys()].filter((k) => k.startsWith("grad/")).map((k) => k.slice(5));
        assert.deepEqual(named.map(([n]) => n).sort(), gradNames.sort(), "same parameter set as torch");
        for (const [n, v] of named) {
          const want = c.expected.get(`grad/${n}`)!;
          const got = grads[v.name].dataSync();
          const tol = GRAD_TOL * Math.max(1, maxAbs(want.data));
          const diff = maxAbsDiff(got, want.data);
          assert.ok(diff <= tol, `grad of ${n}: max abs diff ${diff} > ${tol}`);
        }
        value.dispose();
        Object.values(grads).forEach((g) => g.dispose());
        labels.dispose();
        model.dispose();
      });

      it("one AdamW step matches torch.optim.AdamW (matrices decay, norms do not)", () => {
        const model = fromPretrained(c.dir);
        const a = c.inputs.adamw!;
        const optimizer = new AdamW(model.namedParameters(), {
          lr: a.lr,
          betas: a.betas,
          eps: a.eps,
          weightDecay: a.weight_decay,
        });
        const grads = new Map<string, tf.Tensor>();
        for (const [n] of model.namedParameters()) {
          const g = c.expected.get(`grad/${n}`)!;
          grads.set(n, tf.tensor(g.data, g.shape));
        }
        optimizer.step(grads);
        grads.forEach((g) => g.dispose());
        for (const [n, v] of model.namedParameters()) {
          const want = c.expected.get(`adamw/${n}`)!;
          const diff = maxAbsDiff(v.dataSync(), want.data);
          assert.ok(diff <= ADAMW_TOL, `${n} after one AdamW step: max abs diff ${diff} > ${ADAMW_TOL}`);
        }
        optimizer.dispose();
        model.dispose();
      });
    });
  }

  describe("half-precision weight files (linear_scaling_legacy_type)", () => {
    for (const dtype of ["f16", "bf16"]) {
      it(`${dtype.toUpperCase()} safetensors load as float32 with torch's logits`, () => {
        const c = loadCase("linear_scaling_legacy_type");
        const model = fromPretrained(c.dir);
        const file = path.join(c.dir, `model.${dtype}.safetensors`);
        const header = SafetensorsFile.open(file);
        assert.equal(header.entries.get("lm_head.weight")!.dtype, dtype.toUpperCase());
        header.close();
        loadPretrainedWeights(model, file);
        const logits = forward(model, c.inputs);
        const diff = maxAbsDiff(logits.dataSync(), c.expected.get(`logits_${dtype}`)!.data);
        const f32diff = maxAbsDiff(logits.dataSync(), c.expected.get("logits")!.data);
        logits.dispose();
        model.dispose();
        assert.ok(diff <= LOGIT_TOL, `${dtype} logits: max abs diff ${diff}`);
        assert.ok(f32diff > LOGIT_TOL, "the rounded weights really differ from the F32 ones");
      });
    }
  });
});
