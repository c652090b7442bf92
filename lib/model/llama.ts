/** The Llama base model: token embedding, a stack of decoder layers, and a final norm. No task head. */
import * as tf from "@tensorflow/tfjs";
import { LlamaConfig } from "./config";
import { LlamaDecoderLayer } from "./block";
import { Embedding } from "./embedding";
import { MaskMode, attentionBias } from "./mask";
import { Module } from "./module";
import { RMSNorm } from "./rmsnorm";
import { RotaryEmbedding } from "./rope";
import { Random } from "../random";

/** Options for a forward pass. */
export interface ForwardOptions {
  /** [B, T], 1 for real tokens and 0 for padding (int32 or float32). Padded keys are never attended to. */
  attentionMask?: tf.Tensor2D;
  /** "causal" (default: Llama, each token sees the past) or "bidirectional" (BERT-style encoder). */
  maskMode?: MaskMode;
  /** [B, T] or [1, T] positions for RoPE; default 0..T−1 for every row. */
  positionIds?: tf.Tensor2D;
}

/** How a model is seeded. */
export interface ModelOptions {
  /** Seed for the weight initialisation; the same seed gives identical weights on every backend. Default 0. */
  seed?: number;
}

/** Hidden states plus every layer's attention probabilities, for visualisation. */
export type LlamaModelOutput = {
  /** [B, T, D], after the final norm. */
  hiddenStates: tf.Tensor3D;
  /** One [B, H, T, T] tensor per layer. */
  attentions: tf.Tensor4D[];
};

/** `LlamaModel`: ids [B, T] → final-normed hidden states [B, T, D]. */
export class LlamaModel extends Module {
  readonly config: LlamaConfig;
  readonly embed_tokens: Embedding;
  readonly layers: LlamaDecoderLayer[];
  readonly norm: RMSNorm;
  readonly rotary: RotaryEmbedding;

  /**
   * Builds and initialises the model from `opts.seed`, or from `rng` when a head builds its base model and
   * wants one random stream for all of its weights.
   */
  constructor(config: LlamaConfig, opts: ModelOptions = {}, rng: Random = new Random(opts.seed ?? 0)) {
    super();
    if (!(config instanceof LlamaConfig)) {
      throw new Error("LlamaModel: config must be a LlamaConfig; build one with makeConfig({...})");
    }
    this.config = config;
    const std = config.initializer_range;
    this.embed_tokens = this.addModule(
      "embed_tokens",
      new Embedding(config.vocab_size, config.hidden_size, { rng, std, paddingIdx: config.pad_token_id }),
    );
    this.layers = [];
    for (let i = 0; i < config.num_hidden_layers; i++) {
      this.layers.push(this.addModule(`layers.${i}`, new LlamaDecoderLayer(config, rng)));
    }
    this.norm = this.addModule("norm", new RMSNorm(config.hidden_size, config.rms_norm_eps));
    this.rotary = new RotaryEmbedding(config);
  }

  /** inputIds int32 [B, T] → hidden states [B, T, D]. */
  forward(inputIds: tf.Tensor2D, opts: ForwardOptions = {}): tf.Tensor3D {
    return tf.tidy(() => this.run(inputIds, opts, false).hiddenStates);
  }

  /** Like {@link forward}, also returning each layer's attention probabilities [B, H, T, T]. */
  forwardWithAttentions(inputIds: tf.Tensor2D, opts: ForwardOptions = {}): LlamaModelOutput {
    return tf.tidy(() => this.run(inputIds, opts, true));
  }

  private run(inputIds: tf.Tensor2D, opts: ForwardOptions, keepAttentions: boolean): LlamaModelOutput {
    this.checkInputs(inputIds, opts);
    const t = inputIds.shape[1];
    const positionIds = opts.positionIds ?? (tf.reshape(tf.range(0, t, 1, "int32"), [1, t]) as tf.Tensor2D); // [1, T]
    const angles = this.rotary.forward(positionIds); // cos, sin [B|1, T, hd]
    const bias = attentionBias(t, opts.maskMode ?? "causal", opts.attentionMask); // [B|1, 1, T, T]
    let hidden = this.embed_tokens.forward(inputIds); // [B, T, D]
    const attentions: tf.Tensor4D[] = [];
    for (const layer of this.layers) {
      const out = layer.forward(hidden, angles, bias);
      hidden = out.hidden; // [B, T, D]
      if (keepAttentions) attentions.push(out.probs);
    }
    return { hiddenStates: this.norm.forward(hidden), attentions }; // [B, T, D]
  }

  private checkInputs(inputIds: tf.Tensor2D, opts: ForwardOptions): void {
    if (!(inputIds instanceof tf.Tensor) || inputIds.rank !== 2) {
      throw new Error(`forward: inputIds must be a 2-D int32 tensor [batch, seq], got shape [${inputIds?.shape}]`);
    }
    if (inputIds.dtype !== "int32") {
      throw new Error(`forward: inputIds must be int32, got ${inputIds.dtype}; use tf.tensor2d(ids, shape, "int32")`);
    }
    const [b, t] = inputIds.shape;
    if (t === 0) throw new Error("forward: inputIds has no positions (seq length 0)");
    const m = opts.attentionMask;
    if (m !== undefined && (m.rank !== 2 || m.shape[0] !== b || m.shape[1] !== t)) {
      throw new Error(`forward: attentionMask must have the shape of inputIds [${b}, ${t}], got [${m.shape}]`);
    }
    const p = opts.positionIds;
    if (p !== undefined && (p.rank !== 2 || (p.shape[0] !== b && p.shape[0] !== 1) || p.shape[1] !== t)) {
      throw new Error(`forward: positionIds must be [${b}, ${t}] or [1, ${t}], got [${p.shape}]`);
    }
  }
}
