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

// −log p(label) per row. oneHot·logSoftmax instead of gather: gather's gradient needs UnsortedSegmentSum,
// which the wasm backend lacks; logSoftmax subtracts the row max, so large logits stay finite.
function rowNll(logits2d: tf.Tensor2D, safeLabels: tf.Tensor1D): tf.Tensor1D {
  const numClasses = logits2d.shape[1];
  const logProbs = tf.logSoftmax(tf.cast(logits2d, "float32")); // [N, C]
  // Cast separately: the wasm OneHot kernel ignores a float32 dtype argument and writes int32 bits.
  const target = tf.cast(tf.oneHot(safeLabels, numClasses), "float32"); // [N, C]
  return tf.neg(tf.sum(tf.mul(target, logProbs), -1)) as tf.Tensor1D; // [N]
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
    const safeLabels = tf.mul(flatLabels, tf.cast(counted, "int32")) as tf.Tensor1D; // ignored → class 0
    const nll = rowNll(flatLogits, safeLabels); // [N]
    const count = tf.sum(mask);
    const loss = tf.div(tf.sum(tf.mul(nll, mask)), tf.maximum(count, tf.scalar(1))) as tf.Scalar;
    const predicted = tf.argMax(flatLogits, -1); // [N] int32
    const hits = tf.cast(tf.logicalAnd(tf.equal(predicted, flatLabels), counted), "float32");
    const correct = tf.sum(hits) as tf.Scalar;
    return { loss, correct, count: count as tf.Scalar };
  });
}

/** Mean cross-entropy of `logits` [N, C] against int32 class ids `labels` [N] (no ignored labels). */
export function crossEntropy(logits: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  checkLabels("crossEntropy", logits, labels);
  if (logits.rank !== 2) throw new Error(`crossEntropy: logits must be [N, C], got [${logits.shape}]`);
  return tf.tidy(() => tf.mean(rowNll(logits as tf.Tensor2D, labels as tf.Tensor1D)) as tf.Scalar);
}
