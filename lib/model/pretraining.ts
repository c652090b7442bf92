/**
 * BERT's two pre-training objectives on a Llama encoder: masked-token prediction and next-sentence
 * prediction (is segment B the real continuation of segment A?), read from the [CLS] token at position 0.
 */
import * as tf from "@tensorflow/tfjs";
import { LlamaConfig } from "./config";
import { LlamaModel } from "./llama";
import { Linear, Module } from "./module";
import { projectToVocab } from "./causal_lm";
import { EncoderForwardOptions, EncoderModelOptions, encoderConfig } from "./masked_lm";
import { Random } from "../random";

/** The two heads' outputs. */
export type PreTrainingOutput = {
  /** [B, T, V] */
  mlmLogits: tf.Tensor3D;
  /** [B, 2]: index 0 = "B follows A", 1 = "B is random" (BERT's convention). */
  nspLogits: tf.Tensor2D;
};

/** BERT's next-sentence head, `cls.seq_relationship`: Linear D → 2 with bias, applied to the [CLS] state. */
export class NspHead extends Module {
  readonly seq_relationship: Linear;

  /** Weight ~ N(0, initializer_range²) from `rng`, bias zero. */
  constructor(config: LlamaConfig, rng: Random) {
    super();
    const std = config.initializer_range;
    this.seq_relationship = this.addModule("seq_relationship", new Linear(config.hidden_size, 2, { rng, std, bias: true }));
  }
}

/** `LlamaForPreTraining`: bidirectional encoder + MLM head + NSP head. */
export class LlamaForPreTraining extends Module {
  /** The config actually built (tie_word_embeddings reflects the head). */
  readonly config: LlamaConfig;
  readonly model: LlamaModel;
  /** Absent when tied (the default). */
  readonly lm_head?: Linear;
  readonly cls: NspHead;

  /** Initialises every weight from one stream seeded by `opts.seed` (model, lm_head, then cls). */
  constructor(config: LlamaConfig, opts: EncoderModelOptions = {}) {
    super();
    this.config = encoderConfig(config, opts, "LlamaForPreTraining");
    const rng = new Random(opts.seed ?? 0);
    this.model = this.addModule("model", new LlamaModel(this.config, opts, rng));
    const std = this.config.initializer_range;
    if (!this.config.tie_word_embeddings) {
      this.lm_head = this.addModule("lm_head", new Linear(config.hidden_size, config.vocab_size, { rng, std }));
    }
    this.cls = this.addModule("cls", new NspHead(this.config, rng));
  }

  /** The [V, D] output matrix (the embedding table when tied). */
  get lmHeadWeight(): tf.Variable<tf.Rank.R2> {
    return this.lm_head ? this.lm_head.weight : this.model.embed_tokens.weight;
  }

  /** inputIds int32 [B, T] (position 0 = [CLS]) → MLM logits [B, T, V] and NSP logits [B, 2]. */
  forward(inputIds: tf.Tensor2D, opts: EncoderForwardOptions = {}): PreTrainingOutput {
    return tf.tidy(() => {
      const hidden = this.model.forward(inputIds, { ...opts, maskMode: "bidirectional" }); // [B, T, D]
      const [b, , d] = hidden.shape;
      const mlmLogits = projectToVocab(hidden, this.lmHeadWeight); // [B, T, V]
      const cls = tf.reshape(tf.slice(hidden, [0, 0, 0], [b, 1, d]), [b, d]) as tf.Tensor2D; // [B, D]
      const nspLogits = this.cls.seq_relationship.forward(cls); // [B, 2]
      return { mlmLogits, nspLogits };
    });
  }
}
