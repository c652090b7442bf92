/** Attention masks: which key positions each query may see, as an additive bias on the scores. */
import * as tf from "@tensorflow/tfjs";

/** "causal": a token sees itself and the past (Llama). "bidirectional": it sees every token (BERT). */
export type MaskMode = "causal" | "bidirectional";

/**
 * What masked scores get. A large finite negative rather than −∞, so that a row with every key masked
 * (a pad query under left padding) softmaxes to a uniform row instead of NaN.
 */
export const MASKED_SCORE = -1e9;

/**
 * The additive attention bias [B or 1, 1, T, T]: 0 where query i may attend to key j, {@link MASKED_SCORE}
 * elsewhere. `paddingMask` [B, T] has 1 for real tokens and 0 for padding; padded keys are hidden.
 */
export function attentionBias(seqLen: number, mode: MaskMode, paddingMask?: tf.Tensor2D): tf.Tensor4D {
  if (mode !== "causal" && mode !== "bidirectional") {
    throw new Error(`attentionBias: maskMode must be "causal" or "bidirectional", got "${String(mode)}"`);
  }
  return tf.tidy(() => {
    let allowed: tf.Tensor = tf.ones([seqLen, seqLen]); // [T, T]
    if (mode === "causal") allowed = tf.linalg.bandPart(allowed, -1, 0); // [T, T], lower triangle
    allowed = tf.reshape(allowed, [1, 1, seqLen, seqLen]); // [1, 1, T, T]
    if (paddingMask) {
      const keys = tf.reshape(tf.cast(paddingMask, "float32"), [paddingMask.shape[0], 1, 1, seqLen]); // [B, 1, 1, T]
      allowed = tf.mul(allowed, keys); // [B, 1, T, T]
    }
    return tf.mul(tf.sub(1, allowed), MASKED_SCORE) as tf.Tensor4D; // [B|1, 1, T, T]
  });
}
