/** The Llama base model: token embedding, a stack of decoder layers, and a final norm. No task head. */
import * as tf from "@tensorflow/tfjs";
import { LlamaConfig } from "./config";
import { LayerKVCache } from "./attention";
import { LlamaDecoderLayer } from "./block";
import { Embedding } from "./embedding";
import { MASKED_SCORE, MaskMode, attentionBias } from "./mask";
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
  /** [B, T] or [1, T] positions for RoPE; default 0..T−1 for every row (past..past+T−1 with a cache). */
  positionIds?: tf.Tensor2D;
  /**
   * Keys and values of earlier positions (lib/generate/kv_cache.ts), extended in place with this call's. With a
   * cache of P positions, inputIds holds only the T new tokens and `attentionMask` covers all P + T.
   */
  cache?: AttentionCache;
}

/** What a forward pass needs of a key/value cache: how many positions it holds and one slot per layer. */
export interface AttentionCache {
  /** Positions already cached (the same in every layer). */
  readonly length: number;
  /** The slot of decoder layer `index`. */
  layer(index: number): LayerKVCache;
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
    const past = opts.cache?.length ?? 0;
    const positionIds = opts.positionIds ?? (tf.reshape(tf.range(past, past + t, 1, "int32"), [1, t]) as tf.Tensor2D); // [1, T]
    const angles = this.rotary.forward(positionIds); // cos, sin [B|1, T, hd]
    const bias = opts.cache
      ? cachedCausalBias(t, past, opts.attentionMask) // [B|1, 1, T, P+T]
      : attentionBias(t, opts.maskMode ?? "causal", opts.attentionMask); // [B|1, 1, T, T]
    let hidden = this.embed_tokens.forward(inputIds); // [B, T, D]
    const attentions: tf.Tensor4D[] = [];
    for (const [i, layer] of this.layers.entries()) {
      const out = layer.forward(hidden, angles, bias, opts.cache?.layer(i));
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
    const past = opts.cache?.length ?? 0;
    if (opts.cache && (opts.maskMode ?? "causal") !== "causal") {
      throw new Error('forward: a KV cache only makes sense with maskMode "causal" (bidirectional attention sees the future)');
    }
    const m = opts.attentionMask;
    if (m !== undefined && (m.rank !== 2 || m.shape[0] !== b || m.shape[1] !== past + t)) {
      const what = opts.cache ? `[${b}, cached ${past} + new ${t}]` : `the shape of inputIds [${b}, ${t}]`;
      throw new Error(`forward: attentionMask must have ${what}, got [${m.shape}]`);
    }
    const p = opts.positionIds;
    if (p !== undefined && (p.rank !== 2 || (p.shape[0] !== b && p.shape[0] !== 1) || p.shape[1] !== t)) {
      throw new Error(`forward: positionIds must be [${b}, ${t}] or [1, ${t}], got [${p.shape}]`);
    }
  }
}

/**
 * The additive bias [B|1, 1, T, P+T] for T new queries after P cached positions: query i (absolute position
 * P + i) sees keys 0..P+i; `paddingMask` [B, P+T] hides padded keys. Equals the last T rows of the full causal mask.
 */
function cachedCausalBias(t: number, past: number, paddingMask?: tf.Tensor2D): tf.Tensor4D {
  const s = past + t;
  // bandPart keeps j − i ≤ past: the causal triangle shifted right by the cached length.
  let allowed: tf.Tensor = tf.reshape(tf.linalg.bandPart(tf.ones([t, s]), -1, past), [1, 1, t, s]); // [1, 1, T, S]
  if (paddingMask) {
    allowed = tf.mul(allowed, tf.reshape(tf.cast(paddingMask, "float32"), [paddingMask.shape[0], 1, 1, s])); // [B, 1, T, S]
  }
  return tf.mul(tf.sub(1, allowed), MASKED_SCORE) as tf.Tensor4D;
}
