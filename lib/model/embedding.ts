/**
 * Token embedding. The lookup has its own gradient because tfjs's `gather` gradient needs
 * UnsortedSegmentSum, which the wasm backend lacks; `scatterND` sums rows for repeated ids just the same.
 */
import * as tf from "@tensorflow/tfjs";
import { Random } from "../random";
import { Module, normalValues, variableFromValues } from "./module";

/** `tf.gather` of rows, turning the backend's out-of-range error (cpu/wasm check; no readback here) into one naming the fix. */
function gatherRows(w: tf.Tensor, flatIds: tf.Tensor, vocab: number): tf.Tensor {
  try {
    return tf.gather(w, flatIds); // [N, D]
  } catch (e) {
    const detail = e instanceof Error ? e.message : String(e);
    throw new Error(
      `embedding: token ids must be in [0, vocab_size=${vocab}) (${detail}); check that the tokenizer's ` +
        `vocabSize matches config.vocab_size and that no id is negative`,
    );
  }
}

/**
 * Rows of `weight` [V, D] picked by integer `ids` (any shape S) → [...S, D]. The gradient scatters back
 * into [V, D], summing duplicate ids; when `padId` is given, the pad row gets no gradient (as PyTorch's
 * `padding_idx`).
 */
export function embeddingLookup(weight: tf.Tensor2D, ids: tf.Tensor, padId: number | null = null): tf.Tensor {
  if (ids.dtype !== "int32") throw new Error(`embeddingLookup: ids must be int32, got ${ids.dtype}`);
  if (weight.rank !== 2) throw new Error(`embeddingLookup: weight must be [vocab, dim], got shape [${weight.shape}]`);
  const [vocab, dim] = weight.shape;
  const outShape = [...ids.shape, dim];
  const lookup = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [w, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const flatIds = tf.reshape(ids, [-1]); // [N]
    save([flatIds]);
    const value = tf.reshape(gatherRows(w, flatIds, vocab), outShape); // [...S, D]
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor => {
      const savedIds = saved[0]; // [N]
      let rows = tf.reshape(dy, [-1, dim]); // [N, D]
      if (padId !== null) {
        const keep = tf.cast(tf.notEqual(savedIds, padId), "float32"); // [N]
        rows = tf.mul(rows, tf.expandDims(keep, 1)); // [N, D]
      }
      const indices = tf.expandDims(savedIds, 1); // [N, 1]
      return tf.scatterND(indices, rows, [vocab, dim]); // [V, D], duplicates summed
    };
    return { value, gradFunc };
  });
  return lookup(weight);
}

/** `model.embed_tokens`: a [vocab_size, hidden_size] table, pad row initialised to zero. */
export class Embedding extends Module {
  /** [V, D] */
  readonly weight: tf.Variable<tf.Rank.R2>;

  /** Pad id whose row starts at zero and never receives gradient; null for none. */
  readonly paddingIdx: number | null;

  /** Rows ~ N(0, std²) from `rng`, except the pad row (if any), which is zero. */
  constructor(
    readonly numEmbeddings: number,
    readonly embeddingDim: number,
    opts: { rng: Random; std: number; paddingIdx?: number | null },
  ) {
    super();
    this.paddingIdx = opts.paddingIdx ?? null;
    const values = normalValues(opts.rng, numEmbeddings * embeddingDim, opts.std);
    if (this.paddingIdx !== null) values.fill(0, this.paddingIdx * embeddingDim, (this.paddingIdx + 1) * embeddingDim);
    const init = variableFromValues(values, [numEmbeddings, embeddingDim]) as tf.Variable<tf.Rank.R2>;
    this.weight = this.addParameter("weight", init);
  }

  /** ids int32 [B, T] → [B, T, D]. */
  forward(ids: tf.Tensor2D): tf.Tensor3D {
    return embeddingLookup(this.weight, ids, this.paddingIdx) as tf.Tensor3D;
  }
}
