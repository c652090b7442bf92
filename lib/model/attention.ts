/** Multi-head self-attention with grouped key/value heads (GQA, Ainslie et al. 2023) and RoPE. */
import * as tf from "@tensorflow/tfjs";
import { LlamaConfig } from "./config";
import { Linear, Module } from "./module";
import { RotaryAngles, applyRotary } from "./rope";
import { Random } from "../random";
import { matMulUnderAutocast } from "../precision/autocast_context";

/**
 * Repeats each of the KV heads `groups` times, adjacent (repeat-interleave, HF's `repeat_kv`), so that
 * query head i meets KV head floor(i / groups). x [B, KV, T, hd] → [B, KV·groups, T, hd].
 */
export function repeatKv(x: tf.Tensor4D, groups: number): tf.Tensor4D {
  if (groups === 1) return x;
  return tf.tidy(() => {
    const [b, kv, t, hd] = x.shape;
    // Kept at rank 4 because tfjs has no gradient for rank-5 tile (which broadcastTo uses).
    const perHead = tf.reshape(x, [b, kv, 1, t * hd]); // [B, KV, 1, T*hd]
    const repeated = tf.tile(perHead, [1, 1, groups, 1]); // [B, KV, G, T*hd]
    return tf.reshape(repeated, [b, kv * groups, t, hd]) as tf.Tensor4D; // [B, H, T, hd]
  });
}

/** What an attention layer returns: its output and the attention probabilities it used. */
export type AttentionOutput = {
  /** [B, T, D] */
  output: tf.Tensor3D;
  /** [B, H, T, S]: row i is how query i spread its attention over the S keys (S = T without a cache). */
  probs: tf.Tensor4D;
};

/**
 * One layer's slot in a key/value cache (see lib/generate/kv_cache.ts): takes this step's rotated keys and values
 * [B, KV, T, hd] and returns all of them so far, past then new, [B, KV, S, hd].
 */
export interface LayerKVCache {
  append(keys: tf.Tensor4D, values: tf.Tensor4D): { keys: tf.Tensor4D; values: tf.Tensor4D };
}

/** `LlamaAttention`: q/k/v projections, RoPE on q and k, scaled dot-product attention, o_proj. */
export class LlamaAttention extends Module {
  readonly q_proj: Linear;
  readonly k_proj: Linear;
  readonly v_proj: Linear;
  readonly o_proj: Linear;
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly headDim: number;

  /** Projections initialised from `rng` in HF order: q, k, v, o. */
  constructor(config: LlamaConfig, rng: Random) {
    super();
    this.numHeads = config.num_attention_heads;
    this.numKvHeads = config.num_key_value_heads;
    this.headDim = config.head_dim;
    const { hidden_size: d, initializer_range: std, attention_bias: bias } = config;
    const h = this.numHeads * this.headDim;
    const kv = this.numKvHeads * this.headDim;
    this.q_proj = this.addModule("q_proj", new Linear(d, h, { rng, std, bias }));
    this.k_proj = this.addModule("k_proj", new Linear(d, kv, { rng, std, bias }));
    this.v_proj = this.addModule("v_proj", new Linear(d, kv, { rng, std, bias }));
    this.o_proj = this.addModule("o_proj", new Linear(h, d, { rng, std, bias }));
  }

  /**
   * x [B, T, D], rotary angles for the positions, additive mask [B|1, 1, T, S] → output [B, T, D] and probs.
   * With `cache`, the new keys/values are appended to the cached ones and queries attend to all S of them.
   */
  forward(x: tf.Tensor3D, angles: RotaryAngles, bias: tf.Tensor4D, cache?: LayerKVCache): AttentionOutput {
    return tf.tidy(() => {
      const [b, t, d] = x.shape;
      const { numHeads: nh, numKvHeads: nkv, headDim: hd } = this;
      const flat = tf.reshape(x, [b * t, d]) as tf.Tensor2D; // [B*T, D]
      const heads = (y: tf.Tensor2D, n: number): tf.Tensor4D =>
        tf.transpose(tf.reshape(y, [b, t, n, hd]), [0, 2, 1, 3]); // [B*T, n*hd] → [B, T, n, hd] → [B, n, T, hd]
      const q = applyRotary(heads(this.q_proj.forward(flat), nh), angles); // [B, H, T, hd]
      let k = applyRotary(heads(this.k_proj.forward(flat), nkv), angles); // [B, KV, T, hd]
      let v = heads(this.v_proj.forward(flat), nkv); // [B, KV, T, hd]
      // Keys are cached after RoPE: a past key's rotation depends only on its own position.
      if (cache) ({ keys: k, values: v } = cache.append(k, v)); // [B, KV, S, hd]
      const kAll = repeatKv(k, nh / nkv); // [B, H, S, hd]
      const vAll = repeatKv(v, nh / nkv); // [B, H, S, hd]
      const scores = tf.add(tf.mul(matMulUnderAutocast(q, kAll, false, true), 1 / Math.sqrt(hd)), bias); // [B, H, T, S]; mask added in fp32
      const probs = tf.softmax(scores, -1) as tf.Tensor4D; // [B, H, T, S]
      const context = matMulUnderAutocast(probs, vAll); // [B, H, T, hd]
      const merged = tf.reshape(tf.transpose(context, [0, 2, 1, 3]), [b * t, nh * hd]) as tf.Tensor2D; // [B*T, H*hd]
      const output = tf.reshape(this.o_proj.forward(merged), [b, t, d]) as tf.Tensor3D; // [B, T, D]
      return { output, probs };
    });
  }
}
