/**
 * Llama with a token-classification head, as Hugging Face's `LlamaForTokenClassification`: a `score` layer
 * [num_labels, D] with bias on every position (named entities, part of speech, ...), cross-entropy over the
 * positions whose label is not −100.
 */
import * as tf from "@tensorflow/tfjs";
import { LlamaConfig } from "./config";
import { ForwardOptions, LlamaModel } from "./llama";
import { Linear, Module } from "./module";
import { ClassificationHeadOptions, LossSum, checkHeadOptions } from "./sequence_classification";
import { Random } from "../random";
import { maskedCrossEntropy } from "../train/losses";

/** `LlamaForTokenClassification`: base model + `score` [num_labels, D] with bias → logits [B, T, num_labels]. */
export class LlamaForTokenClassification extends Module {
  /** The config built (architectures = ["LlamaForTokenClassification"]). */
  readonly config: LlamaConfig;
  readonly model: LlamaModel;
  readonly score: Linear;
  readonly numLabels: number;
  /** Class names by id (HF `id2label`). */
  readonly labelNames: readonly string[];

  /** Initialises every weight from one stream seeded by `opts.seed` (model, then score; bias zero). */
  constructor(config: LlamaConfig, opts: Omit<ClassificationHeadOptions, "problemType">) {
    super();
    this.labelNames = Object.freeze(checkHeadOptions("LlamaForTokenClassification", config, opts));
    this.config = config.with({ architectures: ["LlamaForTokenClassification"] });
    this.numLabels = opts.numLabels;
    const rng = new Random(opts.seed ?? 0);
    this.model = this.addModule("model", new LlamaModel(this.config, opts, rng));
    const std = this.config.initializer_range;
    this.score = this.addModule("score", new Linear(config.hidden_size, opts.numLabels, { rng, std, bias: true }));
  }

  /** inputIds int32 [B, T] → logits [B, T, num_labels]. */
  forward(inputIds: tf.Tensor2D, opts: ForwardOptions = {}): tf.Tensor3D {
    return tf.tidy(() => {
      const hidden = this.model.forward(inputIds, opts); // [B, T, D]
      const [b, t, d] = hidden.shape;
      const flat = this.score.forward(tf.reshape(hidden, [b * t, d]) as tf.Tensor2D); // [B*T, C]
      return tf.reshape(flat, [b, t, this.numLabels]) as tf.Tensor3D; // [B, T, C]
    });
  }

  /** Summed cross-entropy over positions labelled ≠ −100 (int32 labels [B, T]) and their count. */
  lossSum(logits: tf.Tensor3D, labels: tf.Tensor): LossSum {
    return tf.tidy(() => {
      const ce = maskedCrossEntropy(logits, labels);
      return { sum: tf.mul(ce.loss, tf.maximum(ce.count, 1)) as tf.Scalar, count: ce.count };
    });
  }

  /** Mean cross-entropy over the labelled positions. */
  loss(logits: tf.Tensor3D, labels: tf.Tensor): tf.Scalar {
    return tf.tidy(() => maskedCrossEntropy(logits, labels).loss);
  }
}
