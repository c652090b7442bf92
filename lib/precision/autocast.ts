/**
 * An autocast policy in the manner of `torch.autocast`, simulated on float32 storage: matmuls take inputs
 * rounded to the 16-bit format, accumulate in fp32 (as tensor cores do) and round their output; numerically
 * sensitive ops stay in fp32; master weights stay fp32 variables. Gradients are rounded wherever the 16-bit
 * tensor they belong to is, so small gradients underflow exactly as they would in a real fp16 run.
 */
import * as tf from "@tensorflow/tfjs";
import { Precision, checkPrecision } from "./formats";
import { roundTo } from "./rounding";

/** Which computations run in which precision under autocast. */
export interface AutocastPolicy {
  precision: Precision;
  /** Computations whose inputs and outputs are held in `precision`. */
  lowPrecision: readonly string[];
  /** Computations kept in fp32 whatever `precision` is. */
  fullPrecision: readonly string[];
  /** Where gradients are held in `precision`. */
  gradients: string;
  /** The optimizer always updates fp32 master weights. */
  masterWeights: "fp32";
  /** Whether dynamic loss scaling is needed: yes for fp16 (narrow range), no for bf16 (fp32's range). */
  lossScaling: boolean;
}

const LOW = Object.freeze([
  "linear layers: q/k/v/o, gate/up/down and lm_head (inputs, weights cast from the fp32 masters, outputs)",
  "attention matmuls: Q·Kᵀ scores and probabilities·V",
  "elementwise activations on 16-bit inputs (SiLU, the gate·up product): 16-bit outputs",
]);

const FULL = Object.freeze([
  "RMSNorm (mean of squares, rsqrt, scale)",
  "softmax over attention scores",
  "reductions (sums, means, norms of gradients)",
  "cross-entropy loss on fp32 logits",
  "the residual stream (fp32 + 16-bit promotes to fp32) and embeddings",
  "optimizer update, master weights and AdamW moments",
  "loss scaling and unscaling",
]);

/** The policy for `precision` ("fp32" lists nothing as low precision). */
export function autocastPolicy(precision: Precision): AutocastPolicy {
  checkPrecision(precision);
  const low = precision !== "fp32";
  return {
    precision,
    lowPrecision: low ? LOW : [],
    fullPrecision: low ? FULL : [...LOW, ...FULL],
    gradients: low
      ? `gradients of every ${precision} tensor (matmul inputs, outputs and the cast weights) are ${precision}; ` +
        "they become fp32 when they reach the fp32 master weights"
      : "all fp32",
    masterWeights: "fp32",
    lossScaling: precision === "fp16",
  };
}

/** Sees each gradient as it reaches a cast (`dy`, fp32) and as the 16-bit tensor holds it (`rounded`). */
export type CastGradientObserver = (dy: tf.Tensor, rounded: tf.Tensor) => void;

let castGradientObserver: CastGradientObserver | undefined;

/** Installs (or with undefined removes) the observer of gradients at casts; returns the previous one. */
export function setCastGradientObserver(observer: CastGradientObserver | undefined): CastGradientObserver | undefined {
  const previous = castGradientObserver;
  castGradientObserver = observer;
  return previous;
}

function castFn(precision: "fp16" | "bf16"): (x: tf.Tensor) => tf.Tensor {
  return tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: roundTo(args[0] as tf.Tensor, precision),
    gradFunc: (dy: tf.Tensor) => {
      const rounded = roundTo(dy, precision);
      castGradientObserver?.(dy, rounded);
      return rounded;
    },
  })) as (x: tf.Tensor) => tf.Tensor;
}

const CASTS = { fp16: castFn("fp16"), bf16: castFn("bf16") };

/**
 * `t` held in `precision`, like PyTorch's `t.to(dtype)` inside autocast: the value is rounded, and so is the
 * gradient flowing back through it (a 16-bit tensor's gradient is 16-bit). "fp32" returns a clone.
 */
export function castTo<T extends tf.Tensor>(t: T, precision: Precision): T {
  checkPrecision(precision);
  if (!(t instanceof tf.Tensor) || t.dtype !== "float32") throw new Error("castTo: t must be a float32 tf.Tensor");
  return (precision === "fp32" ? tf.clone(t) : CASTS[precision](t)) as T;
}

/**
 * a·b (with optional transposes, batched as tf.matMul) under autocast: inputs and output in `precision`,
 * products accumulated in fp32. Gradients of a and b come back rounded to `precision`.
 */
export function autocastMatMul(
  a: tf.Tensor,
  b: tf.Tensor,
  precision: Precision,
  transposeA = false,
  transposeB = false,
): tf.Tensor {
  checkPrecision(precision);
  if (precision === "fp32") return tf.matMul(a, b, transposeA, transposeB);
  return tf.tidy(() => castTo(tf.matMul(castTo(a, precision), castTo(b, precision), transposeA, transposeB), precision));
}

/**
 * y = x·Wᵀ under autocast, for x [..., in] and W [out, in] (HF layout, typically the fp32 master variable):
 * x and W are cast to `precision`, the product accumulates in fp32 and y [..., out] is rounded.
 */
export function autocastLinear(x: tf.Tensor, weight: tf.Tensor, precision: Precision): tf.Tensor {
  checkPrecision(precision);
  if (weight.rank !== 2) throw new Error(`autocastLinear: weight must be [out, in], got shape [${weight.shape}]`);
  const [out, inFeatures] = weight.shape;
  if (x.rank < 1 || x.shape[x.rank - 1] !== inFeatures) {
    throw new Error(`autocastLinear: x's last dimension must be ${inFeatures} (weight is [${out}, ${inFeatures}]), got [${x.shape}]`);
  }
  return tf.tidy(() => {
    const lead = x.shape.slice(0, -1);
    const x2 = tf.reshape(x, [-1, inFeatures]); // [N, in]
    const y2 = autocastMatMul(x2, weight, precision, false, true); // [N, out]
    return tf.reshape(y2, [...lead, out]); // [..., out]
  });
}
