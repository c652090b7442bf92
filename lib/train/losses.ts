import * as tf from "@tensorflow/tfjs";

/** Label value that marks a position as not counted (PyTorch's and Hugging Face's ignore_index). */
export const IGNORE_INDEX = -100;

/** Result of {@link maskedCrossEntropy}: all scalars the caller disposes. */
export interface MaskedCrossEntropy {
  /** Mean negative log-likelihood over counted positions; 0 when none are counted. */
  loss: tf.Scalar;
  /** Counted positions whose arg-max logit equals the label. */
  correct: tf.Scalar;
  /** Number of counted positions (labels ≠ −100). */
  count: tf.Scalar;
}

function checkLabels(fn: string, logits: tf.Tensor, labels: tf.Tensor): void {
  if (!(logits instanceof tf.Tensor) || !(labels instanceof tf.Tensor)) {
    throw new Error(`${fn}: logits and labels must be tensors`);
  }
  if (labels.dtype !== "int32") {
    throw new Error(`${fn}: labels must be int32 class ids, got ${labels.dtype}; build them with tf.tensor(ids, shape, "int32")`);
  }
  if (logits.rank < 1 || !tf.util.arraysEqual(logits.shape.slice(0, -1), labels.shape)) {
    throw new Error(
      `${fn}: logits [${logits.shape}] must be labels' shape [${labels.shape}] plus a trailing class axis`,
    );
  }
}

/** Σ over rows of the weighted −log p(label), and each row's arg-max (for accuracy). */
interface WeightedNll {
  loss: tf.Scalar;
  /** [N] int32 */
  predicted: tf.Tensor1D;
}

/**
 * Σᵢ wᵢ·(−log softmax(zᵢ)[yᵢ]) over the rows of `logits` z [N, V], with the gradient wᵢ·(softmax(zᵢ) − onehot(yᵢ))
 * written directly (tf.customGrad). Taped through logSoftmax and a one-hot product this took ~18 passes over
 * [N, V] (measured 1,168 ms fwd+bwd for the 15M model's [512, 32000] logits on wasm, now ~200 ms; docs/performance.md); here it is one fused Softmax kernel,
 * one ArgMax, and two passes in the backward (scale, then overwrite the label column). `weights` [N] carries the
 * mask and the mean's 1/count; labels outside [0, V) must arrive with weight 0 (they are read as class 0).
 */
function weightedNll(logits2d: tf.Tensor2D, labels: tf.Tensor1D, weights: tf.Tensor1D): WeightedNll {
  const [n, numClasses] = logits2d.shape;
  const z = logits2d.dtype === "float32" ? logits2d : (tf.cast(logits2d, "float32") as tf.Tensor2D); // [N, V]
  const inRange = tf.logicalAnd(tf.greaterEqual(labels, 0), tf.less(labels, numClasses)); // [N] bool
  const safeLabels = tf.mul(labels, tf.cast(inRange, "int32")); // [N], out of range → class 0
  const rowWeights = tf.mul(weights, tf.cast(inRange, "float32")) as tf.Tensor1D; // [N], out of range → 0
  const rows = tf.range(0, n, 1, "int32"); // [N]
  const atLabel = tf.stack([rows, safeLabels], 1) as tf.Tensor2D; // [N, 2] (row, label) pairs
  const predicted = tf.argMax(z, -1) as tf.Tensor1D; // [N] int32
  const atMax = tf.stack([rows, predicted], 1) as tf.Tensor2D; // [N, 2] (row, arg-max) pairs
  const fused = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
    const probs = tf.softmax(x); // [N, V], one fused kernel that subtracts the row max
    const pLabel = tf.gatherND(probs, atLabel) as tf.Tensor1D; // [N]
    // log Σⱼ exp(zⱼ) = z_max + log Σⱼ exp(zⱼ − z_max) = z_max − log p_max, and p_max ≥ 1/V, so −log p(label)
    // = (z_max − z_label) − log p_max stays finite for any logits (−log pLabel would overflow once pLabel underflows).
    const gap = tf.sub(tf.gatherND(x, atMax), tf.gatherND(x, atLabel)); // [N] z_max − z_label ≥ 0
    const nll = tf.sub(gap, tf.log(tf.gatherND(probs, atMax))); // [N]
    const value = tf.sum(tf.mul(nll, rowWeights)) as tf.Scalar;
    // Saved, not closed over: the forward pass's tensors are freed before the backward pass runs.
    save([probs, pLabel, rowWeights, atLabel]);
    const gradFunc = (dy: tf.Scalar, saved: tf.Tensor[]): tf.Tensor => {
      const [p, pAtLabel, w, at] = saved as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D, tf.Tensor2D];
      const coef = tf.mul(w, dy); // [N] wᵢ·dy
      const scaled = tf.mul(p, tf.expandDims(coef, 1)); // [N, V] wᵢ·dy·softmax
      // The label column becomes wᵢ·dy·(p_label − 1): one write per row instead of a dense one-hot.
      return tf.tensorScatterUpdate(scaled, at, tf.mul(coef, tf.sub(pAtLabel, 1))); // [N, V]
    };
    return { value, gradFunc };
  });
  return { loss: fused(z) as tf.Scalar, predicted };
}

/**
 * Cross-entropy over `logits` [..., V] against int32 `labels` [...], skipping positions labelled −100.
 * Labels are aligned with logits: for causal-LM loss, shift them one left before calling. Labels outside
 * [0, V) other than −100 match no class and contribute 0 (they are not checked, to avoid a device read).
 */
export function maskedCrossEntropy(logits: tf.Tensor, labels: tf.Tensor): MaskedCrossEntropy {
  checkLabels("maskedCrossEntropy", logits, labels);
  return tf.tidy(() => {
    const numClasses = logits.shape[logits.rank - 1];
    const flatLogits = tf.reshape(logits, [-1, numClasses]) as tf.Tensor2D; // [N, V]
    const flatLabels = tf.reshape(labels, [-1]) as tf.Tensor1D; // [N]
    const counted = tf.notEqual(flatLabels, tf.scalar(IGNORE_INDEX, "int32")); // [N] bool
    const mask = tf.cast(counted, "float32"); // [N]
    const count = tf.sum(mask);
    const weights = tf.div(mask, tf.maximum(count, tf.scalar(1))) as tf.Tensor1D; // [N] mask/count: the mean
    const { loss, predicted } = weightedNll(flatLogits, flatLabels, weights);
    const hits = tf.cast(tf.logicalAnd(tf.equal(predicted, flatLabels), counted), "float32"); // [N]
    const correct = tf.sum(hits) as tf.Scalar;
    return { loss, correct, count: count as tf.Scalar };
  });
}

/** Mean cross-entropy of `logits` [N, C] against int32 class ids `labels` [N] (no ignored labels). */
export function crossEntropy(logits: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  checkLabels("crossEntropy", logits, labels);
  if (logits.rank !== 2) throw new Error(`crossEntropy: logits must be [N, C], got [${logits.shape}]`);
  return tf.tidy(() => {
    const n = logits.shape[0];
    const weights = tf.fill([n], 1 / Math.max(n, 1)) as tf.Tensor1D; // [N]
    return weightedNll(logits as tf.Tensor2D, labels as tf.Tensor1D, weights).loss;
  });
}
