/** Llama with its language-modelling head: predicts the next token at every position. */
import * as tf from "@tensorflow/tfjs";
import { LlamaConfig } from "./config";
import { ForwardOptions, LlamaModel, ModelOptions } from "./llama";
import { Linear, Module, linear } from "./module";
import { Random } from "../random";

/** hidden [B, T, D] · Wᵀ for an LM head weight W [V, D] → logits [B, T, V]. */
export function projectToVocab(hidden: tf.Tensor3D, weight: tf.Tensor2D): tf.Tensor3D {
  return tf.tidy(() => {
    const [b, t, d] = hidden.shape;
    const flat = tf.reshape(hidden, [b * t, d]) as tf.Tensor2D; // [B*T, D]
    return tf.reshape(linear(flat, weight), [b, t, weight.shape[0]]) as tf.Tensor3D; // [B*T, V] → [B, T, V]
  });
}

/**
 * `LlamaForCausalLM`: base model + `lm_head` [V, D]. With `tie_word_embeddings` the head reuses
 * `model.embed_tokens.weight` and no `lm_head.weight` exists.
 */
export class LlamaForCausalLM extends Module {
  readonly config: LlamaConfig;
  readonly model: LlamaModel;
  /** Absent when the word embeddings are tied. */
  readonly lm_head?: Linear;

  /** Initialises every weight from one stream seeded by `opts.seed` (embed, layers, norm, then lm_head). */
  constructor(config: LlamaConfig, opts: ModelOptions = {}) {
    super();
    const rng = new Random(opts.seed ?? 0);
    this.model = this.addModule("model", new LlamaModel(config, opts, rng));
    this.config = config;
    if (!config.tie_word_embeddings) {
      const std = config.initializer_range;
      this.lm_head = this.addModule("lm_head", new Linear(config.hidden_size, config.vocab_size, { rng, std }));
    }
  }

  /** The [V, D] matrix that maps hidden states to logits (the embedding table when tied). */
  get lmHeadWeight(): tf.Variable<tf.Rank.R2> {
    return this.lm_head ? this.lm_head.weight : this.model.embed_tokens.weight;
  }

  /** inputIds int32 [B, T] → next-token logits [B, T, V] (causal attention unless opts.maskMode says otherwise). */
  forward(inputIds: tf.Tensor2D, opts: ForwardOptions = {}): tf.Tensor3D {
    return tf.tidy(() => projectToVocab(this.model.forward(inputIds, opts), this.lmHeadWeight));
  }
}
