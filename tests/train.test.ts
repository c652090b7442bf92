import { strict as assert } from "assert";
import * as tf from "@tensorflow/tfjs";
import { Random } from "../lib/random";
import { AdamW, AdamWState } from "../lib/train/adamw";
import { clipGradNorm, clipGradNormTensor } from "../lib/train/clip";
import { crossEntropy, maskedCrossEntropy } from "../lib/train/losses";
import { NonFiniteGradientError, StepLog, trainSteps } from "../lib/train/loop";

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(
      Math.abs(actual[i] - expected[i]) <= tol,
      `${what}[${i}]: got ${actual[i]}, expected ${expected[i]} (tol ${tol})`,
    );
  }
}

/** PyTorch's AdamW for one flat parameter, in doubles, over a sequence of gradients and learning rates. */
function referenceAdamW(
  p0: number[],
  grads: number[][],
  lrs: number[],
  o: { beta1: number; beta2: number; eps: number; wd: number },
): number[] {
  const p = [...p0];
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  grads.forEach((g, s) => {
    const t = s + 1;
    const lr = lrs[s];
    const bc1 = 1 - o.beta1 ** t;
    const bc2 = 1 - o.beta2 ** t;
    for (let i = 0; i < p.length; i++) {
      p[i] *= 1 - lr * o.wd;
      m[i] = o.beta1 * m[i] + (1 - o.beta1) * g[i];
      v[i] = o.beta2 * v[i] + (1 - o.beta2) * g[i] * g[i];
      const denom = Math.sqrt(v[i]) / Math.sqrt(bc2) + o.eps;
      p[i] -= (lr / bc1) * (m[i] / denom);
    }
  });
  return p;
}

function softmax(row: number[]): number[] {
  const mx = Math.max(...row);
  const e = row.map((x) => Math.exp(x - mx));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

describe("train/adamw", () => {
  // eps is large relative to |g| so its placement (outside sqrt(v̂)) changes the answer.
  const hyper = { beta1: 0.9, beta2: 0.999, eps: 1e-2, wd: 0.1 };
  const w0 = [0.5, -1.0, 2.0, 0.25];
  const b0 = [0.3, -0.7];
  const gw = [[0.02, -0.05, 0.1, 0.0], [-0.03, 0.04, 0.2, 0.01]];
  const gb = [[0.05, -0.02], [0.01, 0.03]];

  function makeParams(): [string, tf.Variable][] {
    return [
      ["layer.weight", tf.variable(tf.tensor2d(w0, [2, 2]))],
      ["layer.bias", tf.variable(tf.tensor1d(b0))],
    ];
  }

  it("matches PyTorch's update for two steps, decaying matrices but not rank-1 params", () => {
    const params = makeParams();
    const [w, b] = params.map(([, v]) => v);
    const opt = new AdamW(params, { lr: 0.1, betas: [hyper.beta1, hyper.beta2], eps: hyper.eps, weightDecay: hyper.wd });
    for (let s = 0; s < 2; s++) {
      const grads = { "layer.weight": tf.tensor2d(gw[s], [2, 2]), "layer.bias": tf.tensor1d(gb[s]) };
      opt.step(grads);
      tf.dispose(grads);
    }
    assert.equal(opt.stepCount, 2);
    assert.deepEqual(opt.decayedNames(), ["layer.weight"]);
    assertClose(w.dataSync(), referenceAdamW(w0, gw, [0.1, 0.1], hyper), 1e-6, "weight");
    const bExpected = referenceAdamW(b0, gb, [0.1, 0.1], { ...hyper, wd: 0 });
    assertClose(b.dataSync(), bExpected, 1e-6, "bias");
    // The decayed answer differs by more than the tolerance, so the check above can tell them apart.
    const bIfDecayed = referenceAdamW(b0, gb, [0.1, 0.1], hyper);
    assert.ok(Math.abs(bIfDecayed[0] - bExpected[0]) > 1e-4);
    opt.dispose();
    tf.dispose([w, b]);
  });

  it("honours an lr schedule, called with the 0-based update index", () => {
    const params = makeParams();
    const [w, b] = params.map(([, v]) => v);
    const seen: number[] = [];
    const schedule = (step: number) => {
      seen.push(step);
      return 0.2 / (step + 1);
    };
    const opt = new AdamW(params, { lr: schedule, betas: [hyper.beta1, hyper.beta2], eps: hyper.eps, weightDecay: hyper.wd });
    assert.equal(opt.currentLr(), 0.2);
    for (let s = 0; s < 2; s++) {
      const grads = new Map<string | tf.Variable, tf.Tensor>([
        [w, tf.tensor2d(gw[s], [2, 2])],
        [b, tf.tensor1d(gb[s])],
      ]);
      opt.step(grads);
      tf.dispose([...grads.values()]);
    }
    assert.ok(seen.includes(0) && seen.includes(1) && !seen.some((s) => s > 2), `schedule saw ${seen}`);
    assertClose(w.dataSync(), referenceAdamW(w0, gw, [0.2, 0.1], hyper), 1e-6, "weight");
    assertClose(b.dataSync(), referenceAdamW(b0, gb, [0.2, 0.1], { ...hyper, wd: 0 }), 1e-6, "bias");
    opt.dispose();
    tf.dispose([w, b]);
  });

  it("creates its state once, skips params without gradients, and frees state on dispose", () => {
    const params = makeParams();
    const [w, b] = params.map(([, v]) => v);
    const before = tf.memory().numTensors;
    const opt = new AdamW(params, { lr: 0.1 });
    const g = { "layer.weight": tf.ones([2, 2]) };
    opt.step(g);
    const afterFirst = tf.memory().numTensors;
    assert.equal(afterFirst, before + 1 + 2, "one gradient plus m and v for the weight only");
    opt.step(g);
    opt.step(g);
    assert.equal(tf.memory().numTensors, afterFirst);
    assert.deepEqual(Array.from(b.dataSync()), Array.from(new Float32Array(b0)), "bias had no gradient");
    assert.deepEqual(Object.keys(opt.getState().params), ["layer.weight"]);
    assert.equal(opt.getState().params["layer.weight"].step, 3);
    opt.dispose();
    tf.dispose(g);
    assert.equal(tf.memory().numTensors, before);
    assert.throws(() => opt.step({}), /disposed/);
    tf.dispose([w, b]);
  });

  it("round-trips its state through JSON so a resumed run continues identically", () => {
    const pa = makeParams();
    const pb = makeParams();
    const pc = makeParams();
    const optA = new AdamW(pa, { lr: 0.1, weightDecay: 0.1 });
    const g1 = { "layer.weight": tf.tensor2d(gw[0], [2, 2]), "layer.bias": tf.tensor1d(gb[0]) };
    const g2 = { "layer.weight": tf.tensor2d(gw[1], [2, 2]), "layer.bias": tf.tensor1d(gb[1]) };
    optA.step(g1);
    const state = JSON.parse(JSON.stringify(optA.getState())) as AdamWState;
    pb.forEach(([, v], i) => v.assign(pa[i][1]));
    pc.forEach(([, v], i) => v.assign(pa[i][1]));
    const optB = new AdamW(pb, { lr: 0.1, weightDecay: 0.1 });
    optB.setState(state);
    assert.equal(optB.stepCount, 1);
    const optC = new AdamW(pc, { lr: 0.1, weightDecay: 0.1 }); // same weights, no restored moments
    for (const o of [optA, optB, optC]) o.step(g2);
    pa.forEach(([, v], i) => assertClose(pb[i][1].dataSync(), v.dataSync(), 0, pa[i][0]));
    assert.ok(Math.abs(pc[0][1].dataSync()[0] - pa[0][1].dataSync()[0]) > 1e-4, "the restored state mattered");
    assert.throws(() => optB.setState({ stepCount: 1, params: { nope: state.params["layer.weight"] } }), /nope/);
    for (const o of [optA, optB, optC]) o.dispose();
    tf.dispose([g1, g2, ...[pa, pb, pc].flat().map(([, v]) => v)]);
  });

  it("rejects unknown gradients, wrong shapes and bad options with messages that name them", () => {
    const params = makeParams();
    const opt = new AdamW(params);
    const stray = tf.ones([2]);
    assert.throws(() => opt.step({ "other.weight": stray }), /other\.weight/);
    assert.throws(() => opt.step({ "layer.weight": stray }), /layer\.weight.*shape/);
    assert.throws(() => new AdamW(params, { betas: [1, 0.999] }), /betas\[0\]/);
    assert.throws(() => new AdamW(params, { lr: -1 }), /lr/);
    const bad = new AdamW(params, { lr: () => NaN });
    assert.throws(() => bad.step({ "layer.bias": stray }), /schedule/);
    assert.equal(opt.stepCount, 0);
    tf.dispose([stray, ...params.map(([, v]) => v)]);
    opt.dispose();
    bad.dispose();
  });
});

describe("train/clip", () => {
  it("scales by maxNorm/(norm+1e-6) when the global norm is above maxNorm", () => {
    const grads = { a: tf.tensor1d([3, 4]), b: tf.tensor2d([[12]]) }; // global norm 13
    const before = tf.memory().numTensors;
    const out = clipGradNorm(grads, 6.5);
    assert.ok(Math.abs(out.totalNorm - 13) < 1e-5, `norm ${out.totalNorm}`);
    const coef = 6.5 / (13 + 1e-6);
    assertClose(out.grads.a.dataSync(), [3 * coef, 4 * coef], 1e-6, "a");
    assertClose(out.grads.b.dataSync(), [12 * coef], 1e-6, "b");
    assert.deepEqual(out.grads.b.shape, [1, 1]);
    assert.equal(tf.memory().numTensors, before + 2, "only the two clipped gradients remain");
    tf.dispose(out.grads);
    assert.equal(tf.memory().numTensors, before);
    assertClose(grads.a.dataSync(), [3, 4], 0, "inputs untouched");
    tf.dispose(grads);
  });

  it("leaves gradients unchanged below maxNorm and keeps the norm on device in the tensor variant", () => {
    const grads = { a: tf.tensor1d([3, 4]), b: tf.tensor1d([12]) };
    const before = tf.memory().numTensors;
    const out = clipGradNorm(grads, 20);
    assert.ok(Math.abs(out.totalNorm - 13) < 1e-5);
    assertClose(out.grads.a.dataSync(), [3, 4], 0, "a");
    assertClose(out.grads.b.dataSync(), [12], 0, "b");
    tf.dispose(out.grads);
    const onDevice = clipGradNormTensor(grads, 1);
    assert.ok(Math.abs(onDevice.totalNorm.dataSync()[0] - 13) < 1e-5);
    assertClose(onDevice.grads.a.dataSync(), [3 / (13 + 1e-6), 4 / (13 + 1e-6)], 1e-7, "clipped a");
    tf.dispose([onDevice.grads, onDevice.totalNorm]);
    assert.equal(tf.memory().numTensors, before);
    assert.throws(() => clipGradNorm(grads, 0), /maxNorm/);
    tf.dispose(grads);
  });
});

describe("train/losses", () => {
  // logits [2, 3, 4]; labels [2, 3] with two ignored positions.
  const logitsData = [
    [[1, 2, 0.5, -1], [0, 0, 0, 0], [3, -2, 1, 0.1]],
    [[-0.5, 0.2, 2.5, 1], [10, 9, 8, 7], [0.3, 0.1, -0.4, 2]],
  ];
  const labelsData = [[1, -100, 2], [2, 0, -100]];

  function handLoss(): { loss: number; correct: number; count: number; grad: number[][][] } {
    let total = 0, correct = 0, count = 0;
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < 3; j++) {
        const y = labelsData[i][j];
        if (y === -100) continue;
        const row = logitsData[i][j];
        total -= Math.log(softmax(row)[y]);
        const argmax = row.indexOf(Math.max(...row));
        if (argmax === y) correct++;
        count++;
      }
    }
    const grad = logitsData.map((rows, i) =>
      rows.map((row, j) => {
        const y = labelsData[i][j];
        if (y === -100) return row.map(() => 0);
        return softmax(row).map((p, k) => (p - (k === y ? 1 : 0)) / count);
      }),
    );
    return { loss: total / count, correct, count, grad };
  }

  it("averages −log p(label) over counted positions and counts correct arg-maxes", () => {
    const logits = tf.tensor3d(logitsData);
    const labels = tf.tensor2d(labelsData, undefined, "int32");
    const before = tf.memory().numTensors;
    const out = maskedCrossEntropy(logits, labels);
    const want = handLoss();
    assert.equal(want.count, 4);
    assert.ok(Math.abs(out.loss.dataSync()[0] - want.loss) < 1e-6, `loss ${out.loss.dataSync()[0]} vs ${want.loss}`);
    assert.equal(out.correct.dataSync()[0], want.correct);
    assert.equal(out.count.dataSync()[0], want.count);
    tf.dispose([out.loss, out.correct, out.count]);
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([logits, labels]);
  });

  it("has gradients on this backend: (softmax − onehot)/count at counted positions, 0 elsewhere", () => {
    const logits = tf.tensor3d(logitsData);
    const labels = tf.tensor2d(labelsData, undefined, "int32");
    const grad = tf.grad((x: tf.Tensor) => maskedCrossEntropy(x, labels).loss)(logits);
    assertClose(grad.dataSync(), handLoss().grad.flat(2), 1e-6, `grad on ${tf.getBackend()}`);
    tf.dispose([logits, labels, grad]);
  });

  it("gives loss 0 (not NaN) and zero gradient when every label is ignored", () => {
    const logits = tf.tensor2d([[1, 2], [3, 4]]);
    const labels = tf.tensor1d([-100, -100], "int32");
    const out = maskedCrossEntropy(logits, labels);
    assert.equal(out.loss.dataSync()[0], 0);
    assert.equal(out.count.dataSync()[0], 0);
    assert.equal(out.correct.dataSync()[0], 0);
    const grad = tf.grad((x: tf.Tensor) => maskedCrossEntropy(x, labels).loss)(logits);
    assertClose(grad.dataSync(), [0, 0, 0, 0], 0, "grad");
    tf.dispose([logits, labels, grad, out.loss, out.count, out.correct]);
  });

  it("stays finite for large logits", () => {
    const logits = tf.tensor2d([[1000, 0, -1000], [500, 501, 499]]);
    const labels = tf.tensor1d([1, 1], "int32");
    const out = maskedCrossEntropy(logits, labels);
    // Row 0: −log p = 1000; row 1: log(1 + e^−1 + e^−2).
    const want = (1000 + Math.log(1 + Math.exp(-1) + Math.exp(-2))) / 2;
    assert.ok(Math.abs(out.loss.dataSync()[0] - want) < 1e-3, `loss ${out.loss.dataSync()[0]}`);
    tf.dispose([logits, labels, out.loss, out.count, out.correct]);
  });

  it("crossEntropy is the plain mean over rows and checks its inputs", () => {
    const rows = [[1, 2, 3], [0.5, -0.5, 0]];
    const logits = tf.tensor2d(rows);
    const labels = tf.tensor1d([0, 2], "int32");
    const loss = crossEntropy(logits, labels);
    const want = -(Math.log(softmax(rows[0])[0]) + Math.log(softmax(rows[1])[2])) / 2;
    assert.ok(Math.abs(loss.dataSync()[0] - want) < 1e-6);
    const floatLabels = tf.tensor1d([0, 2]);
    assert.throws(() => crossEntropy(logits, floatLabels), /int32/);
    const shortLabels = tf.tensor1d([0], "int32");
    assert.throws(() => maskedCrossEntropy(logits, shortLabels), /shape/);
    tf.dispose([logits, labels, loss, floatLabels, shortLabels]);
  });
});

describe("train/loop", () => {
  interface Batch {
    x: tf.Tensor2D;
    y: tf.Tensor1D;
  }

  // Softmax regression on 4-d points labelled by a hidden linear map: learnable to high accuracy.
  function toyProblem(seed: number) {
    const rng = new Random(seed);
    const n = 64, d = 4, c = 3;
    const wTrue = Array.from({ length: d * c }, () => rng.normal());
    const xs = Array.from({ length: n * d }, () => rng.normal());
    const ys = Array.from({ length: n }, (_, i) => {
      const scores = Array.from({ length: c }, (_, k) =>
        Array.from({ length: d }, (_, j) => xs[i * d + j] * wTrue[j * c + k]).reduce((a, b) => a + b, 0),
      );
      return scores.indexOf(Math.max(...scores));
    });
    const batch: Batch = { x: tf.tensor2d(xs, [n, d]), y: tf.tensor1d(ys, "int32") };
    const params: [string, tf.Variable][] = [
      ["linear.weight", tf.variable(tf.tensor2d(Array.from({ length: d * c }, () => 0.01 * rng.normal()), [d, c]))],
      ["linear.bias", tf.variable(tf.zeros([c]))],
    ];
    const lossFn = (b: Batch) => {
      const logits = tf.add(tf.matMul(b.x, params[0][1]), params[1][1]); // [N, C]
      const { loss, correct, count } = maskedCrossEntropy(logits, b.y);
      return { loss, metrics: { accuracy: tf.div(correct, count) as tf.Scalar } };
    };
    const dispose = () => tf.dispose([batch.x, batch.y, ...params.map(([, v]) => v)]);
    return { batch, params, lossFn, dispose };
  }

  it("lowers the loss, reports metrics, and leaks no tensors over 50 steps", async () => {
    const toy = toyProblem(3);
    const opt = new AdamW(toy.params, { lr: 0.05 });
    const initialLoss = tf.tidy(() => toy.lossFn(toy.batch).loss.dataSync()[0]);
    const counts = new Map<number, number>();
    const logs = await trainSteps({
      params: toy.params,
      optimizer: opt,
      batches: () => toy.batch,
      steps: 50,
      lossFn: toy.lossFn,
      clipNorm: 1,
      tokensPerBatch: (b) => b.y.size,
      onStep: (log) => void counts.set(log.step, tf.memory().numTensors),
    });
    assert.equal(logs.length, 50);
    assert.deepEqual(logs.map((l) => l.step), Array.from({ length: 50 }, (_, i) => i + 1));
    assert.ok(Math.abs(logs[0].loss - initialLoss) < 1e-6, "step 1 reports the loss before its update");
    assert.ok(logs[49].loss < 0.5 * logs[0].loss, `loss ${logs[0].loss} → ${logs[49].loss}`);
    assert.ok(logs[49].metrics.accuracy > 0.8, `accuracy ${logs[49].metrics.accuracy}`);
    assert.ok(logs.every((l) => l.metrics.accuracy >= 0 && l.metrics.accuracy <= 1));
    assert.ok(logs.every((l) => l.lr === 0.05 && l.gradNorm > 0 && Number.isFinite(l.gradNorm)));
    assert.ok(logs.every((l) => l.tokensPerSec! > 0 && Number.isFinite(l.tokensPerSec!)));
    assert.ok(logs[49].elapsedMs >= logs[0].elapsedMs);
    assert.equal(counts.get(5), counts.get(50), `tensors at step 5: ${counts.get(5)}, at 50: ${counts.get(50)}`);
    assert.equal(tf.memory().numTensors, counts.get(50));
    opt.dispose();
    toy.dispose();
  });

  it("a lossFn that throws half-way leaves no tensors behind (tfjs's saved-for-backward ones are freed) and training goes on", async () => {
    const toy = toyProblem(4);
    const opt = new AdamW(toy.params, { lr: 0.05 });
    await trainSteps({ params: toy.params, optimizer: opt, batches: () => toy.batch, steps: 1, lossFn: toy.lossFn });
    const before = tf.memory().numTensors;
    const failing = (b: typeof toy.batch) => {
      toy.lossFn(b); // the forward pass runs, saving tensors for a backward pass that never comes
      throw new Error("bad label in this batch");
    };
    for (let attempt = 0; attempt < 3; attempt++) {
      await assert.rejects(
        trainSteps({ params: toy.params, optimizer: opt, batches: () => toy.batch, steps: 1, lossFn: failing }),
        /bad label in this batch/,
      );
      assert.equal(tf.memory().numTensors, before, `no tensors left behind after failed attempt ${attempt + 1}`);
    }
    const logs = await trainSteps({ params: toy.params, optimizer: opt, batches: () => toy.batch, steps: 2, lossFn: toy.lossFn });
    assert.equal(logs.length, 2, "a later run trains normally");
    assert.equal(tf.memory().numTensors, before);
    opt.dispose();
    toy.dispose();
  });

  for (const clipNorm of [undefined, 1]) {
    it(`a NaN gradient stops training with an error naming the step, the update not applied (clipNorm ${clipNorm})`, async () => {
      // loss = Σ w·c: gradient c, so a NaN in this step's c is a NaN gradient.
      const w = tf.variable(tf.tensor1d([0.5, -1]));
      const opt = new AdamW([["w", w]], { lr: 0.1, weightDecay: 0 });
      const coefs = [[1, 2], [3, -1], [NaN, 1], [1, 1]].map((c) => tf.tensor1d(c));
      let afterStep2: number[] = [];
      let tensorsAfterStep2 = 0; // once the optimizer holds its moments
      await assert.rejects(
        trainSteps({
          params: [["w", w]], optimizer: opt, batches: coefs, steps: 4, clipNorm,
          lossFn: (k) => ({ loss: tf.sum(tf.mul(w, k)) as tf.Scalar }),
          onStep: (log) => {
            if (log.step !== 2) return;
            afterStep2 = Array.from(w.dataSync());
            tensorsAfterStep2 = tf.memory().numTensors;
          },
        }),
        (err: Error) => err instanceof NonFiniteGradientError && err.step === 3 && /gradients of step 3 have a global norm of NaN/.test(err.message) && /weights are as after step 2/.test(err.message),
      );
      assert.equal(afterStep2.length, 2, "steps 1 and 2 ran");
      assert.deepEqual(Array.from(w.dataSync()), afterStep2, "the weights are those after step 2");
      assert.equal(opt.stepCount, 2, "the optimizer did not count the refused step");
      assert.equal(tf.memory().numTensors, tensorsAfterStep2, "the failed step leaves no tensors behind");
      opt.dispose();
      tf.dispose([w, ...coefs]);
    });
  }

  it("clips with clipNorm: the first update equals AdamW's on the clipped gradient", async () => {
    // loss = Σ w·c has gradient c; with a large eps the Adam step depends on the gradient's scale.
    const c = [3, 4];
    const run = async (clipNorm?: number) => {
      const w = tf.variable(tf.zeros([2]));
      const coef = tf.tensor1d(c);
      const opt = new AdamW([["w", w]], { lr: 1, eps: 1, weightDecay: 0 });
      const logs = await trainSteps({
        params: [["w", w]], optimizer: opt, batches: () => coef, steps: 1, clipNorm,
        lossFn: (k) => ({ loss: tf.sum(tf.mul(w, k)) as tf.Scalar }),
      });
      const out = Array.from(w.dataSync());
      opt.dispose();
      tf.dispose([w, coef]);
      return { out, log: logs[0] };
    };
    const clipped = await run(1);
    const scale = 1 / (5 + 1e-6);
    // First Adam step: m̂ = g, sqrt(v̂) = |g|, so Δ = −lr·g/(|g| + eps).
    assertClose(clipped.out, c.map((g) => -(g * scale) / (Math.abs(g * scale) + 1)), 1e-6, "clipped");
    assert.ok(Math.abs(clipped.log.gradNorm - 5) < 1e-5, "gradNorm is the norm before clipping");
    const plain = await run(undefined);
    assertClose(plain.out, c.map((g) => -g / (Math.abs(g) + 1)), 1e-6, "unclipped");
  });

  it("stops at a step boundary when shouldStop turns true, and yields to the event loop every step", async () => {
    const toy = toyProblem(5);
    const opt = new AdamW(toy.params, { lr: 0.05 });
    let interrupted = false;
    setImmediate(() => (interrupted = true)); // like a kernel interrupt arriving while step 1 runs
    const events: string[] = [];
    const logs = await trainSteps({
      params: toy.params,
      optimizer: opt,
      batches: () => toy.batch,
      steps: 10,
      lossFn: (b) => {
        events.push("loss");
        return toy.lossFn(b);
      },
      // Synchronous, so only the loop's own yield lets the pending setImmediate run.
      onStep: (log: StepLog) => void events.push(`onStep ${log.step}`),
      shouldStop: () => interrupted,
    });
    assert.equal(logs.length, 1);
    assert.equal(opt.stepCount, 1);
    assert.deepEqual(events, ["loss", "onStep 1"]);

    // An async onStep finishes before the next step starts.
    const order: string[] = [];
    await trainSteps({
      params: toy.params, optimizer: opt, batches: () => toy.batch, steps: 2,
      lossFn: (b) => (order.push("loss"), toy.lossFn(b)),
      onStep: async (log: StepLog) => {
        await new Promise((r) => setTimeout(r, 5));
        order.push(`onStep ${log.step}`);
      },
    });
    assert.deepEqual(order, ["loss", "onStep 2", "loss", "onStep 3"]);

    let stopAfter = 3;
    const more = await trainSteps({
      params: toy.params, optimizer: opt, batches: () => toy.batch, steps: 10, lossFn: toy.lossFn,
      onStep: () => void stopAfter--,
      shouldStop: () => stopAfter === 0,
    });
    assert.deepEqual(more.map((l) => l.step), [4, 5, 6], "steps continue the optimizer's count");
    opt.dispose();
    toy.dispose();
  });

  it("ends when an iterable runs out and can dispose fresh batches", async () => {
    const toy = toyProblem(7);
    const opt = new AdamW(toy.params, { lr: 0.05 });
    const fixed = await trainSteps({
      params: toy.params, optimizer: opt, batches: [toy.batch, toy.batch], steps: 5, lossFn: toy.lossFn,
    });
    assert.equal(fixed.length, 2);
    const counts: number[] = [];
    await trainSteps({
      params: toy.params,
      optimizer: opt,
      batches: () => ({ x: tf.clone(toy.batch.x), y: tf.clone(toy.batch.y) }),
      disposeBatches: true,
      steps: 6,
      lossFn: toy.lossFn,
      onStep: () => void counts.push(tf.memory().numTensors),
    });
    assert.ok(counts.every((n) => n === counts[0]), `tensor counts ${counts}`);
    await assert.rejects(
      trainSteps({ params: toy.params, optimizer: opt, batches: () => toy.batch, steps: 1, lossFn: () => ({} as never) }),
      /lossFn must return/,
    );
    assert.equal(tf.memory().numTensors, counts[0], "a failing step frees what it made");
    await assert.rejects(
      trainSteps({ params: toy.params, optimizer: opt, batches: () => toy.batch, steps: -1, lossFn: toy.lossFn }),
      /steps/,
    );
    opt.dispose();
    toy.dispose();
  });
});

describe("train/losses (fused gradient)", () => {
  /** The taped reference the fused loss replaced: −Σ onehot·logSoftmax, masked, over the mean's count. */
  function tapedLoss(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
    return tf.tidy(() => {
      const counted = tf.cast(tf.notEqual(labels, -100), "float32"); // [N]
      const safe = tf.mul(labels, tf.cast(tf.notEqual(labels, -100), "int32")) as tf.Tensor1D; // [N]
      const onehot = tf.cast(tf.oneHot(safe, logits.shape[1]), "float32"); // [N, V]
      const nll = tf.neg(tf.sum(tf.mul(onehot, tf.logSoftmax(logits)), -1)); // [N]
      return tf.div(tf.sum(tf.mul(nll, counted)), tf.maximum(tf.sum(counted), 1)) as tf.Scalar;
    });
  }

  it("matches the taped logSoftmax loss and gradient on random logits, under a loss scale, without leaks", () => {
    const rng = new Random(5);
    const [n, v] = [37, 101];
    const logits = tf.tensor2d(Array.from({ length: n * v }, () => rng.normal() * 4), [n, v]);
    const labels = tf.tensor1d(Array.from({ length: n }, (_, i) => (i % 5 === 0 ? -100 : rng.int(v))), "int32");
    const before = tf.memory().numTensors;
    const scale = 1024; // what dynamic loss scaling multiplies dy by
    const fused = tf.valueAndGrad((x: tf.Tensor) => tf.mul(maskedCrossEntropy(x, labels).loss, scale) as tf.Scalar)(logits);
    const taped = tf.valueAndGrad((x: tf.Tensor) => tf.mul(tapedLoss(x as tf.Tensor2D, labels), scale) as tf.Scalar)(logits);
    assertClose(fused.value.dataSync(), taped.value.dataSync(), 1e-6 * scale * 10, "scaled loss");
    assertClose(fused.grad.dataSync(), taped.grad.dataSync(), 1e-6 * scale, "scaled grad");
    const rowsIgnored = Array.from(fused.grad.dataSync().slice(0, v)); // row 0 is ignored
    assert.ok(rowsIgnored.every((g) => g === 0), "an ignored row gets no gradient");
    tf.dispose([fused.value, fused.grad, taped.value, taped.grad]);
    assert.equal(tf.memory().numTensors, before, "no tensors left behind by the custom gradient");
    tf.dispose([logits, labels]);
  });

  it("lets labels outside [0, V) count but contribute neither loss nor gradient, in both losses", () => {
    const logits = tf.tensor2d([[1, 2, 3], [0.5, -0.5, 0], [2, 2, 2]]);
    const labels = tf.tensor1d([0, 7, -3], "int32");
    const want = -Math.log(softmax([1, 2, 3])[0]) / 3; // 3 counted rows, one contributing
    const out = maskedCrossEntropy(logits, labels);
    assert.ok(Math.abs(out.loss.dataSync()[0] - want) < 1e-6, `masked loss ${out.loss.dataSync()[0]} vs ${want}`);
    assert.equal(out.count.dataSync()[0], 3);
    assert.equal(out.correct.dataSync()[0], 0);
    const plain = crossEntropy(logits, labels);
    assert.ok(Math.abs(plain.dataSync()[0] - want) < 1e-6, `crossEntropy ${plain.dataSync()[0]} vs ${want}`);
    const grad = tf.grad((x: tf.Tensor) => crossEntropy(x, labels))(logits);
    const p = softmax([1, 2, 3]);
    assertClose(grad.dataSync(), [(p[0] - 1) / 3, p[1] / 3, p[2] / 3, 0, 0, 0, 0, 0, 0], 1e-6, "grad");
    tf.dispose([logits, labels, out.loss, out.count, out.correct, plain, grad]);
  });

  it("keeps −log p finite and its gradient exact when p(label) underflows float32", () => {
    const logits = tf.tensor2d([[200, 0, -200], [0, 300, 1]]);
    const labels = tf.tensor1d([2, 0], "int32"); // p = e^−400 and e^−300: 0 in float32
    const { loss } = maskedCrossEntropy(logits, labels);
    assert.ok(Math.abs(loss.dataSync()[0] - (400 + 300) / 2) < 1e-3, `loss ${loss.dataSync()[0]}`);
    const grad = tf.grad((x: tf.Tensor) => maskedCrossEntropy(x, labels).loss)(logits);
    assertClose(grad.dataSync(), [0.5, 0, -0.5, -0.5, 0.5, 0], 1e-6, "grad");
    tf.dispose([logits, labels, loss, grad]);
  });
});

describe("AdamW misuse", () => {
  it("names params and the fix when given a model instead of its parameters", () => {
    const notAList = { namedParameters: () => [] } as unknown as [string, tf.Variable][];
    assert.throws(() => new AdamW(notAList), /AdamW: params must be an array .*model\.namedParameters\(\)/);
  });
});
