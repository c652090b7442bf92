/**
 * The key/value cache that makes generation linear instead of quadratic: each decoder layer keeps the rotated keys
 * and values of every position seen so far, so a new token only computes its own and attends to the stored ones.
 */
import * as tf from "@tensorflow/tfjs";
import { LayerKVCache } from "../model/attention";
import { AttentionCache } from "../model/llama";
import { OWNS_TENSORS } from "../ownership";

/** Per-layer keys and values [B, KV, S, hd], grown by every forward pass that is given this cache. */
export class KVCache implements AttentionCache {
  /** Tells the kernel this object holds tensors to free with dispose() when its cell is re-run. */
  readonly [OWNS_TENSORS] = true as const;
  private readonly keys: (tf.Tensor4D | null)[];
  private readonly values: (tf.Tensor4D | null)[];

  /** An empty cache for a model with `numLayers` decoder layers. */
  constructor(readonly numLayers: number) {
    if (!Number.isInteger(numLayers) || numLayers <= 0) {
      throw new Error(`KVCache: numLayers must be a positive integer (config.num_hidden_layers), got ${numLayers}`);
    }
    this.keys = new Array(numLayers).fill(null);
    this.values = new Array(numLayers).fill(null);
  }

  /** Positions cached so far; the last layer is read because it is appended to last in a forward pass. */
  get length(): number {
    return this.keys[this.numLayers - 1]?.shape[2] ?? 0;
  }

  /** The slot of decoder layer `index`, handed to its attention by the model. */
  layer(index: number): LayerKVCache {
    if (!Number.isInteger(index) || index < 0 || index >= this.numLayers) {
      throw new Error(`KVCache.layer: index ${index} is outside 0..${this.numLayers - 1}; was the cache built for another model?`);
    }
    return { append: (k, v) => this.append(index, k, v) };
  }

  /** Appends k, v [B, KV, T, hd] to layer `index` and returns the whole [B, KV, S, hd]; frees the replaced tensors. */
  private append(index: number, k: tf.Tensor4D, v: tf.Tensor4D): { keys: tf.Tensor4D; values: tf.Tensor4D } {
    const oldK = this.keys[index];
    const oldV = this.values[index];
    if (oldK && (oldK.shape[0] !== k.shape[0] || oldK.shape[1] !== k.shape[1] || oldK.shape[3] !== k.shape[3])) {
      throw new Error(`KVCache: new keys [${k.shape}] do not fit the cached [${oldK.shape}] (batch, KV heads and head_dim must match)`);
    }
    // Kept: the model's forward runs in tf.tidy, which would otherwise free the cache at its end.
    const keys = tf.keep(oldK ? (tf.concat([oldK, k], 2) as tf.Tensor4D) : k.clone()); // [B, KV, S, hd]
    const values = tf.keep(oldV ? (tf.concat([oldV, v], 2) as tf.Tensor4D) : v.clone()); // [B, KV, S, hd]
    oldK?.dispose();
    oldV?.dispose();
    this.keys[index] = keys;
    this.values[index] = values;
    return { keys, values };
  }

  /** Frees every cached tensor; the cache is empty (length 0) afterwards and can be reused. */
  dispose(): void {
    for (let i = 0; i < this.numLayers; i++) {
      this.keys[i]?.dispose();
      this.values[i]?.dispose();
      this.keys[i] = null;
      this.values[i] = null;
    }
  }
}
