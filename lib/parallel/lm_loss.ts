/**
 * The causal-LM objective as a token sum: Σ −log p(label) over supervised tokens, divided by a normaliser the
 * caller chooses. With the normaliser set to the supervised tokens of the whole global batch (every worker, every
 * micro-batch), the per-shard losses — and their gradients — add up to exactly one big batch's mean-over-tokens
 * loss, whatever the shard sizes. Averaging per-shard means instead would weight a 1-token shard like a 9-token one.
 */
import * as tf from "@tensorflow/tfjs";
import { padBatch } from "../data/batch";
import { LlamaForCausalLM } from "../model/causal_lm";
import { IGNORE_INDEX, maskedCrossEntropy } from "../train/losses";
import { LmExample, countSupervisedTokens } from "./sharding";

/** Right-pads examples into int32 tensors: ids [B, T] (pads = `padId`) and labels [B, T] (pads = −100). */
export function collateLmExamples(
  examples: readonly LmExample[],
  padId = 0,
): { inputIds: tf.Tensor2D; labels: tf.Tensor2D } {
  const padded = padBatch(
    examples.map((e) => e.inputIds),
    { padId, side: "right", extras: { labels: { rows: examples.map((e) => e.labels), padValue: IGNORE_INDEX } } },
  );
  const b = padded.inputIds.length;
  const t = padded.inputIds[0].length;
  return {
    inputIds: tf.tensor2d(padded.inputIds.flat(), [b, t], "int32"), // [B, T]
    labels: tf.tensor2d(padded.extras.labels.flat(), [b, t], "int32"), // [B, T]
  };
}

/**
 * Σ over supervised tokens of −log p(label), divided by `normaliser`, as a scalar (0 for no examples). Padding
 * goes on the right and attention is causal, so real positions never see a pad and need no attention mask.
 */
export function lmTokenSumLoss(model: LlamaForCausalLM, examples: readonly LmExample[], normaliser: number): tf.Scalar {
  if (!(normaliser > 0) || !Number.isFinite(normaliser)) {
    throw new Error(`lmTokenSumLoss: normaliser must be a finite number > 0 (the global supervised-token count), got ${normaliser}`);
  }
  const tokens = countSupervisedTokens(examples);
  if (tokens === 0) return tf.scalar(0);
  return tf.tidy(() => {
    const { inputIds, labels } = collateLmExamples(examples, model.config.pad_token_id ?? 0);
    const logits = model.forward(inputIds); // [B, T, V]
    const { loss } = maskedCrossEntropy(logits, labels); // mean over this batch's `tokens` positions
    return tf.mul(loss, tf.scalar(tokens / normaliser)) as tf.Scalar;
  });
}
