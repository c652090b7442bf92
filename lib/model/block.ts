/** One transformer layer of Llama: pre-norm attention and pre-norm MLP, each with a residual connection. */
import * as tf from "@tensorflow/tfjs";
import { LlamaConfig } from "./config";
import { LayerKVCache, LlamaAttention } from "./attention";
import { LlamaMLP } from "./mlp";
import { Module } from "./module";
import { RMSNorm } from "./rmsnorm";
import { RotaryAngles } from "./rope";
import { Random } from "../random";

/** `LlamaDecoderLayer`: h = x + attn(norm₁(x)); out = h + mlp(norm₂(h)). */
export class LlamaDecoderLayer extends Module {
  readonly input_layernorm: RMSNorm;
  readonly self_attn: LlamaAttention;
  readonly post_attention_layernorm: RMSNorm;
  readonly mlp: LlamaMLP;

  /** Submodules registered in HF's state-dict order. */
  constructor(config: LlamaConfig, rng: Random) {
    super();
    this.input_layernorm = this.addModule("input_layernorm", new RMSNorm(config.hidden_size, config.rms_norm_eps));
    this.self_attn = this.addModule("self_attn", new LlamaAttention(config, rng));
    this.post_attention_layernorm = this.addModule(
      "post_attention_layernorm",
      new RMSNorm(config.hidden_size, config.rms_norm_eps),
    );
    this.mlp = this.addModule("mlp", new LlamaMLP(config, rng));
  }

  /** x [B, T, D] → hidden [B, T, D] and this layer's attention probabilities [B, H, T, S] (S = T without a cache). */
  forward(
    x: tf.Tensor3D,
    angles: RotaryAngles,
    bias: tf.Tensor4D,
    cache?: LayerKVCache,
  ): { hidden: tf.Tensor3D; probs: tf.Tensor4D } {
    return tf.tidy(() => {
      const attn = this.self_attn.forward(this.input_layernorm.forward(x), angles, bias, cache);
      const h = tf.add(x, attn.output) as tf.Tensor3D; // [B, T, D]
      const hidden = tf.add(h, this.mlp.forward(this.post_attention_layernorm.forward(h))) as tf.Tensor3D; // [B, T, D]
      return { hidden, probs: attn.probs };
    });
  }
}
