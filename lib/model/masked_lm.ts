/**
 * Llama's layers used as a BERT-style encoder: bidirectional attention and a head that predicts the masked
 * tokens. Llama never trains this way; it is here to contrast the two objectives.
 */
import * as tf from "@tensorflow/tfjs";
import { LlamaConfig } from "./config";
import { ForwardOptions, LlamaModel, ModelOptions } from "./llama";
import { Linear, Module } from "./module";
import { projectToVocab } from "./causal_lm";
import { Random } from "../random";

/** Options for the encoder heads. */
export interface EncoderModelOptions extends ModelOptions {
  /** Share the LM head with the embedding table (BERT does). Default true, overriding config.tie_word_embeddings. */
  tieWordEmbeddings?: boolean;
}

/** The head's config: the given one with tie_word_embeddings and architectures set to what is built. */
export function encoderConfig(config: LlamaConfig, opts: EncoderModelOptions, architecture: string): LlamaConfig {
  if (!(config instanceof LlamaConfig)) {
    throw new Error(`${architecture}: config must be a LlamaConfig; build one with makeConfig({...})`);
  }
  return config.with({ tie_word_embeddings: opts.tieWordEmbeddings ?? true, architectures: [architecture] });
}

/** Forward options for an encoder: bidirectional attention, no caller-chosen mask mode. */
export type EncoderForwardOptions = Omit<ForwardOptions, "maskMode">;

/** `LlamaForMaskedLM`: bidirectional Llama encoder + LM head (tied by default) → logits [B, T, V]. */
export class LlamaForMaskedLM extends Module {
  /** The config actually built (tie_word_embeddings reflects the head). */
  readonly config: LlamaConfig;
  readonly model: LlamaModel;
  /** Absent when tied. */
  readonly lm_head?: Linear;

  /** Initialises every weight from one stream seeded by `opts.seed`. */
  constructor(config: LlamaConfig, opts: EncoderModelOptions = {}) {
    super();
    this.config = encoderConfig(config, opts, "LlamaForMaskedLM");
    const rng = new Random(opts.seed ?? 0);
    this.model = this.addModule("model", new LlamaModel(this.config, opts, rng));
    if (!this.config.tie_word_embeddings) {
      const std = this.config.initializer_range;
      this.lm_head = this.addModule("lm_head", new Linear(config.hidden_size, config.vocab_size, { rng, std }));
    }
  }

  /** The [V, D] output matrix (the embedding table when tied). */
  get lmHeadWeight(): tf.Variable<tf.Rank.R2> {
    return this.lm_head ? this.lm_head.weight : this.model.embed_tokens.weight;
  }

  /** inputIds int32 [B, T] → token logits [B, T, V], every position seeing the whole sequence. */
  forward(inputIds: tf.Tensor2D, opts: EncoderForwardOptions = {}): tf.Tensor3D {
    return tf.tidy(() =>
      projectToVocab(this.model.forward(inputIds, { ...opts, maskMode: "bidirectional" }), this.lmHeadWeight),
    );
  }
}
