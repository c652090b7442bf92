import * as tf from "@tensorflow/tfjs";

/** Gradients keyed by name (as `tf.variableGrads` returns them). */
export type NamedGradients = Record<string, tf.Tensor>;

/** PyTorch's constant in the clipping coefficient maxNorm / (norm + 1e-6). */
export const CLIP_EPS = 1e-6;

function checkArgs(grads: NamedGradients, maxNorm: number): void {
  if (grads == null || typeof grads !== "object") throw new Error("clipGradNorm: grads must be a { name: tensor } map");
  if (typeof maxNorm !== "number" || !(maxNorm > 0) || !Number.isFinite(maxNorm)) {
    throw new Error(`clipGradNorm: maxNorm must be a finite number > 0, got ${maxNorm}`);
  }
}

/**
 * Like {@link clipGradNorm} but leaves the norm on the device as a scalar, so a training step can read it
 * together with the loss in one transfer. Returns new tensors; the caller disposes them and the inputs.
 */
export function clipGradNormTensor<G extends NamedGradients>(
  grads: G,
  maxNorm: number,
): { grads: G; totalNorm: tf.Scalar } {
  checkArgs(grads, maxNorm);
  const names = Object.keys(grads).filter((k) => grads[k] != null);
  return tf.tidy(() => {
    const totalNorm = globalNorm(grads);
    // min(1, coef) rather than a branch keeps the step free of a device→host read; ×1 is exact.
    const coef = tf.minimum(tf.scalar(1), tf.div(tf.scalar(maxNorm), tf.add(totalNorm, tf.scalar(CLIP_EPS))));
    const clipped: NamedGradients = {};
    for (const k of names) clipped[k] = tf.mul(grads[k], coef);
    return { grads: clipped as G, totalNorm };
  });
}

/**
 * Rescales gradients so their global L2 norm is at most `maxNorm`, as torch.nn.utils.clip_grad_norm_:
 * every gradient is multiplied by min(1, maxNorm / (totalNorm + 1e-6)). Returns new tensors and the
 * norm before clipping; the input tensors are not disposed.
 */
export function clipGradNorm<G extends NamedGradients>(grads: G, maxNorm: number): { grads: G; totalNorm: number } {
  const out = clipGradNormTensor(grads, maxNorm);
  const totalNorm = out.totalNorm.dataSync()[0];
  out.totalNorm.dispose();
  return { grads: out.grads, totalNorm };
}

/** The global L2 norm of all gradients, as a scalar tensor the caller disposes. */
export function globalNorm(grads: NamedGradients): tf.Scalar {
  return tf.tidy(() => {
    const squares = Object.values(grads)
      .filter((g) => g != null)
      .map((g) => tf.sum(tf.square(tf.cast(g, "float32"))));
    return squares.length === 0 ? tf.scalar(0) : (tf.sqrt(tf.addN(squares)) as tf.Scalar);
  });
}
