import { strict as assert } from "assert";
import * as tf from "@tensorflow/tfjs";
import { Random } from "../lib/random";
import { AdamW } from "../lib/train/adamw";

/** Index and bit patterns of the first element where `a` and `b` differ (exact: -0 ≠ +0, any NaN ≠ a number), or null. */
function firstBitDifference(a: Float32Array, b: Float32Array): string | null {
  const [x, y] = [new Uint32Array(a.buffer, a.byteOffset, a.length), new Uint32Array(b.buffer, b.byteOffset, b.length)];
  if (x.length !== y.length) return `lengths ${x.length} vs ${y.length}`;
  for (let i = 0; i < x.length; i++) {
    if (x[i] !== y[i]) return `[${i}]: ${a[i]} (0x${x[i].toString(16)}) vs ${b[i]} (0x${y[i].toString(16)})`;
  }
  return null;
}

describe("train/adamw fused wasm kernel", () => {
  const hyper = { lr: 3e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, wd: 0.1 };

  before(function () {
    if (tf.getBackend() !== "wasm") this.skip();
  });

  /** The tf-op update of lib/train/adamw.ts, written out here so the fused kernel is compared with it. */
  function tfOpUpdate(p0: tf.Tensor, g: tf.Tensor, m0: tf.Tensor, v0: tf.Tensor, t: number, decays: boolean): Float32Array[] {
    return tf.tidy(() => {
      const { lr, beta1, beta2, eps, wd } = hyper;
      const p = decays ? tf.mul(p0, tf.scalar(1 - lr * wd)) : p0;
      const m = tf.add(m0, tf.mul(tf.scalar(1 - beta1), tf.sub(g, m0)));
      const v = tf.add(tf.mul(v0, tf.scalar(beta2)), tf.mul(tf.square(g), tf.scalar(1 - beta2)));
      const denom = tf.add(tf.div(tf.sqrt(v), tf.scalar(Math.sqrt(1 - beta2 ** t))), tf.scalar(eps));
      const p1 = tf.sub(p, tf.div(tf.mul(m, tf.scalar(lr / (1 - beta1 ** t))), denom));
      return [p1, m, v].map((x) => x.dataSync() as Float32Array);
    });
  }

  for (const size of [1, 3, 4, 7, 1000, 65537]) {
    for (const decays of [true, false]) {
      for (const t of [1, 5]) {
        it(`matches the tf ops bit for bit: ${size} elements, ${decays ? "decaying" : "no decay"}, step ${t}`, async () => {
          const rng = new Random(size * 31 + t + (decays ? 7 : 0));
          // Values over many magnitudes (and some exact zeros) exercise rounding everywhere; v ≥ 0 as in training.
          const draw = (scale: number) => Float32Array.from({ length: size }, (_, i) =>
            i % 97 === 5 ? 0 : rng.normal() * scale * Math.exp(6 * (rng.next() - 0.5)));
          const [p, g, m] = [draw(1), draw(1e-2), draw(1e-3)];
          const v = draw(1e-4).map((x) => x * x);
          const shape = size === 1000 ? [40, 25] : [size];
          const variable = tf.variable(tf.tensor(p, shape), true, `fused_${size}_${decays}_${t}`);
          const grad = tf.tensor(g, shape);
          const opt = new AdamW([["w", variable]], { ...hyper, betas: [hyper.beta1, hyper.beta2], weightDecay: hyper.wd, decay: () => decays });
          opt.setState({ stepCount: t - 1, params: { w: { step: t - 1, shape, m: Array.from(m), v: Array.from(v) } } });
          const expected = tf.tidy(() => tfOpUpdate(tf.tensor(p, shape), grad, tf.tensor(m, shape), tf.tensor(v, shape), t, decays));

          const before = tf.memory().numTensors;
          const profile = await tf.profile(() => opt.step({ w: grad }));
          assert.equal(tf.memory().numTensors, before, "step leaked tensors");
          // No tf kernel ran: the fused kernel did the update (else this test would compare the fallback with itself).
          assert.deepEqual(profile.kernelNames, []);
          const state = opt.getState().params.w;
          assert.equal(state.step, t);
          const got = [variable.dataSync() as Float32Array, Float32Array.from(state.m), Float32Array.from(state.v)];
          ["p", "m", "v"].forEach((name, i) => {
            const diff = firstBitDifference(got[i], expected[i]);
            assert.equal(diff, null, `${name} differs at ${diff}`);
          });
          opt.dispose();
          variable.dispose();
          grad.dispose();
        });
      }
    }
  }
});
