/** Root-mean-square layer norm (Zhang & Sennrich 2019), as Llama uses it: no mean-centering, no bias. */
import * as tf from "@tensorflow/tfjs";
import { Module, constantVariable } from "./module";

/** `LlamaRMSNorm`: x·rsqrt(mean(x²) + eps)·w over the last axis, weight initialised to ones. */
export class RMSNorm extends Module {
  /** [D] */
  readonly weight: tf.Variable<tf.Rank.R1>;

  /** A norm over vectors of size `dim`; `eps` keeps rsqrt finite for an all-zero vector. */
  constructor(
    readonly dim: number,
    readonly eps: number,
  ) {
    super();
    this.weight = this.addParameter("weight", constantVariable([dim], 1) as tf.Variable<tf.Rank.R1>);
  }

  /** x [..., D] → [..., D]. tfjs computes in float32 throughout, which is what HF upcasts to. */
  forward<T extends tf.Tensor>(x: T): T {
    return tf.tidy(() => {
      const meanSquare = tf.mean(tf.square(x), -1, true); // [..., 1]
      const normed = tf.mul(x, tf.rsqrt(tf.add(meanSquare, this.eps))); // [..., D]
      return tf.mul(normed, this.weight) as T; // [..., D]
    });
  }
}
