/**
 * Llama with a sequence-classification head, as Hugging Face's `LlamaForSequenceClassification`: a bias-free
 * `score` layer [num_labels, D] over every position, read at each row's last real token (a decoder only knows
 * the whole text at its end), and a loss chosen by the problem type.
 */
import * as tf from "@tensorflow/tfjs";
import { LlamaConfig } from "./config";
import { ForwardOptions, LlamaModel, ModelOptions } from "./llama";
import { Linear, Module } from "./module";
import { Random } from "../random";
import { maskedCrossEntropy } from "../train/losses";

/** Hugging Face's `problem_type`: which loss a classification head trains with. */
export type ProblemType = "regression" | "single_label_classification" | "multi_label_classification";

/** Options shared by the classification heads. */
export interface ClassificationHeadOptions extends ModelOptions {
  /** Number of outputs of the `score` layer (1 for regression). */
  numLabels: number;
  /** Default: regression for one label, single-label otherwise (multi-label must be asked for, or is inferred from float labels). */
  problemType?: ProblemType;
  /** Class names by id (HF `id2label`); default LABEL_0, LABEL_1, ... */
  labelNames?: readonly string[];
}

/** A loss before normalisation: the summed per-item losses and how many items they cover (both scalars). */
export interface LossSum {
  sum: tf.Scalar;
  count: tf.Scalar;
}

/** Checks the head options and returns the label names. */
export function checkHeadOptions(head: string, config: LlamaConfig, opts: ClassificationHeadOptions): string[] {
  if (!(config instanceof LlamaConfig)) throw new Error(`${head}: config must be a LlamaConfig; build one with makeConfig({...})`);
  if (opts == null || !Number.isInteger(opts.numLabels) || opts.numLabels < 1) {
    throw new Error(`${head}: numLabels must be a positive integer (1 for regression), got ${opts?.numLabels}`);
  }
  const names = opts.labelNames ? [...opts.labelNames] : Array.from({ length: opts.numLabels }, (_, i) => `LABEL_${i}`);
  if (names.length !== opts.numLabels) {
    throw new Error(`${head}: labelNames has ${names.length} names but numLabels is ${opts.numLabels}`);
  }
  const kinds: ProblemType[] = ["regression", "single_label_classification", "multi_label_classification"];
  if (opts.problemType !== undefined && !kinds.includes(opts.problemType)) {
    throw new Error(`${head}: problemType must be one of ${kinds.join(", ")}, got ${opts.problemType}`);
  }
  return names;
}

/**
 * Index of the token each row is pooled at [B] int32: the last position whose `attentionMask` is 1 or, without a
 * mask, Hugging Face's rule, the last position whose id is not `padId` (works for left and right padding). With a
 * mask, an in-text token equal to the pad id (pad id = eos id) still counts as real.
 */
export function lastTokenIndex(inputIds: tf.Tensor2D, padId: number | null, attentionMask?: tf.Tensor2D): tf.Tensor1D {
  const [b, t] = inputIds.shape;
  if (attentionMask === undefined && padId === null) {
    if (b > 1) {
      throw new Error(
        "LlamaForSequenceClassification: the config has no pad_token_id, so the last real token of each row is " +
          "unknown; set pad_token_id in the config, pass an attentionMask, or classify one row at a time",
      );
    }
    return tf.fill([b], t - 1, "int32") as tf.Tensor1D;
  }
  return tf.tidy(() => {
    const real = attentionMask !== undefined
      ? tf.cast(tf.greater(attentionMask, 0), "int32") // [B, T]
      : tf.cast(tf.notEqual(inputIds, tf.scalar(padId as number, "int32")), "int32"); // [B, T]
    const positions = tf.range(0, t, 1, "int32"); // [T]
    // argmax of position·real is the last real position (0 for a row with none, as HF).
    return tf.argMax(tf.mul(real, positions), -1) as tf.Tensor1D; // [B]
  });
}

/** Picks row b's vector at position index[b]: values [B, T, C] → [B, C]. One-hot weights, as tf.gather has no wasm gradient. */
export function poolAt(values: tf.Tensor3D, index: tf.Tensor1D): tf.Tensor2D {
  return tf.tidy(() => {
    const t = values.shape[1];
    // Cast separately: the wasm OneHot kernel ignores a float32 dtype argument.
    const pick = tf.expandDims(tf.cast(tf.oneHot(index, t), "float32"), 2); // [B, T, 1]
    return tf.sum(tf.mul(values, pick), 1) as tf.Tensor2D; // [B, C]
  });
}

/** RoPE positions counted over real tokens only, so a left-padded row is encoded exactly like the unpadded row. */
export function positionsFromMask(attentionMask: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const mask = tf.cast(tf.greater(attentionMask, 0), "float32"); // [B, T]
    return tf.cast(tf.relu(tf.sub(tf.cumsum(mask, 1), 1)), "int32") as tf.Tensor2D; // [B, T]
  });
}

/** The problem type a loss uses: the head's, else HF's inference (1 label → regression, int labels → single-label, else multi-label). */
export function resolveProblemType(numLabels: number, labels: tf.Tensor, problemType?: ProblemType): ProblemType {
  if (problemType !== undefined) return problemType;
  if (numLabels === 1) return "regression";
  return labels.dtype === "int32" ? "single_label_classification" : "multi_label_classification";
}

/**
 * Summed loss of pooled `logits` [B, C] against `labels`, and the count it is a sum over: squared error for
 * regression (float labels [B] or [B, C]), cross-entropy for single-label (int32 class ids [B], −100 ignored),
 * binary cross-entropy with logits for multi-label (float 0/1 [B, C]). Mean loss = sum / count.
 */
export function classificationLossSum(logits: tf.Tensor2D, labels: tf.Tensor, problemType: ProblemType): LossSum {
  const [b, c] = logits.shape;
  return tf.tidy(() => {
    if (problemType === "single_label_classification") {
      if (labels.dtype !== "int32" || labels.rank !== 1 || labels.shape[0] !== b) {
        throw new Error(`single-label classification needs int32 class ids [${b}], got ${labels.dtype} [${labels.shape}]`);
      }
      const ce = maskedCrossEntropy(logits, labels);
      return { sum: tf.mul(ce.loss, tf.maximum(ce.count, 1)) as tf.Scalar, count: ce.count };
    }
    const y = tf.cast(labels, "float32");
    if (problemType === "regression") {
      const oneColumn = y.rank === 1 && c === 1 && y.shape[0] === b;
      const target = oneColumn ? tf.reshape(y, [b, 1]) : y; // HF squeezes both sides for one label
      if (!tf.util.arraysEqual(target.shape, [b, c])) {
        throw new Error(`regression needs float labels [${b}]${c > 1 ? ` or [${b}, ${c}]` : ""}, got [${labels.shape}]`);
      }
      return { sum: tf.sum(tf.squaredDifference(logits, target)) as tf.Scalar, count: tf.scalar(b * c) };
    }
    if (!tf.util.arraysEqual(y.shape, [b, c])) {
      throw new Error(`multi-label classification needs 0/1 float labels [${b}, ${c}], got [${labels.shape}]`);
    }
    // BCE with logits in its stable form: max(x, 0) − x·y + log(1 + e^−|x|).
    const x = logits;
    const bce = tf.add(tf.sub(tf.relu(x), tf.mul(x, y)), tf.log1p(tf.exp(tf.neg(tf.abs(x))))); // [B, C]
    return { sum: tf.sum(bce) as tf.Scalar, count: tf.scalar(b * c) };
  });
}

/** Mean classification loss of pooled `logits` [B, C] (Hugging Face's `loss`). */
export function classificationLoss(logits: tf.Tensor2D, labels: tf.Tensor, problemType: ProblemType): tf.Scalar {
  return tf.tidy(() => {
    const { sum, count } = classificationLossSum(logits, labels, problemType);
    return tf.div(sum, tf.maximum(count, 1)) as tf.Scalar;
  });
}

/** Copies every `model.*` weight of `source` (a pretrained causal-LM, MLM, ... head) into `target`; returns the names copied. */
export function copyBaseWeights(target: Module, source: Module): string[] {
  const from = new Map(source.namedParameters());
  const copied: string[] = [];
  for (const [name, variable] of target.namedParameters()) {
    if (!name.startsWith("model.")) continue;
    const value = from.get(name);
    if (value === undefined) throw new Error(`copyBaseWeights: the source model has no "${name}"; is it a Llama of the same config?`);
    if (!tf.util.arraysEqual(value.shape, variable.shape)) {
      throw new Error(`copyBaseWeights: "${name}" is [${value.shape}] in the source but [${variable.shape}] here; build both from one config`);
    }
    variable.assign(value);
    copied.push(name);
  }
  return copied;
}

/** `LlamaForSequenceClassification`: base model + `score` [num_labels, D] (no bias) → logits [B, num_labels]. */
export class LlamaForSequenceClassification extends Module {
  /** The config built (architectures = ["LlamaForSequenceClassification"]). */
  readonly config: LlamaConfig;
  readonly model: LlamaModel;
  readonly score: Linear;
  readonly numLabels: number;
  readonly problemType?: ProblemType;
  /** Class names by id (HF `id2label`). */
  readonly labelNames: readonly string[];

  /** Initialises every weight from one stream seeded by `opts.seed` (model, then score). */
  constructor(config: LlamaConfig, opts: ClassificationHeadOptions) {
    super();
    this.labelNames = Object.freeze(checkHeadOptions("LlamaForSequenceClassification", config, opts));
    this.config = config.with({ architectures: ["LlamaForSequenceClassification"] });
    this.numLabels = opts.numLabels;
    this.problemType = opts.problemType ?? (opts.numLabels === 1 ? "regression" : undefined);
    const rng = new Random(opts.seed ?? 0);
    this.model = this.addModule("model", new LlamaModel(this.config, opts, rng));
    const std = this.config.initializer_range;
    this.score = this.addModule("score", new Linear(config.hidden_size, opts.numLabels, { rng, std }));
  }

  /** Per-position scores [B, T, num_labels], before pooling. */
  scoreAll(inputIds: tf.Tensor2D, opts: ForwardOptions = {}): tf.Tensor3D {
    return tf.tidy(() => {
      const positionIds = opts.positionIds ?? (opts.attentionMask ? positionsFromMask(opts.attentionMask) : undefined);
      const hidden = this.model.forward(inputIds, { ...opts, positionIds }); // [B, T, D]
      const [b, t, d] = hidden.shape;
      const flat = this.score.forward(tf.reshape(hidden, [b * t, d]) as tf.Tensor2D); // [B*T, C]
      return tf.reshape(flat, [b, t, this.numLabels]) as tf.Tensor3D; // [B, T, C]
    });
  }

  /**
   * inputIds int32 [B, T] → logits [B, num_labels] at each row's last real token (see {@link lastTokenIndex}).
   * With an attentionMask, RoPE positions count real tokens only, so padding on either side leaves logits unchanged.
   */
  forward(inputIds: tf.Tensor2D, opts: ForwardOptions = {}): tf.Tensor2D {
    return tf.tidy(() => {
      const index = lastTokenIndex(inputIds, this.config.pad_token_id, opts.attentionMask); // [B]
      return poolAt(this.scoreAll(inputIds, opts), index); // [B, C]
    });
  }

  /** Summed loss and count for `labels` (see {@link classificationLossSum}). */
  lossSum(logits: tf.Tensor2D, labels: tf.Tensor): LossSum {
    return classificationLossSum(logits, labels, resolveProblemType(this.numLabels, labels, this.problemType));
  }

  /** Mean loss for `labels`, by problem type. */
  loss(logits: tf.Tensor2D, labels: tf.Tensor): tf.Scalar {
    return classificationLoss(logits, labels, resolveProblemType(this.numLabels, labels, this.problemType));
  }

  /** HF `config.json` fields of this head: the Llama config plus num_labels, id2label, label2id and problem_type. */
  configJSON(): Record<string, unknown> {
    const id2label: Record<string, string> = {};
    const label2id: Record<string, number> = {};
    this.labelNames.forEach((name, i) => ((id2label[String(i)] = name), (label2id[name] = i)));
    return { ...this.config.toJSON(), num_labels: this.numLabels, id2label, label2id, problem_type: this.problemType ?? null };
  }
}
