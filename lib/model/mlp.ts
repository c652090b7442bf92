/** The feed-forward half of a Llama block: a SwiGLU MLP (Shazeer 2020). */
import * as tf from "@tensorflow/tfjs";
import { LlamaConfig } from "./config";
import { Linear, Module } from "./module";
import { Random } from "../random";

/** silu(x) = x·σ(x), Llama's `hidden_act`. */
export function silu<T extends tf.Tensor>(x: T): T {
  return tf.mul(x, tf.sigmoid(x));
}

/** `LlamaMLP`: down(silu(gate(x)) · up(x)), hidden_size → intermediate_size → hidden_size. */
export class LlamaMLP extends Module {
  readonly gate_proj: Linear;
  readonly up_proj: Linear;
  readonly down_proj: Linear;

  /** Projections initialised from `rng` in HF order: gate, up, down. */
  constructor(config: LlamaConfig, rng: Random) {
    super();
    const { hidden_size: d, intermediate_size: f, initializer_range: std, mlp_bias: bias } = config;
    this.gate_proj = this.addModule("gate_proj", new Linear(d, f, { rng, std, bias }));
    this.up_proj = this.addModule("up_proj", new Linear(d, f, { rng, std, bias }));
    this.down_proj = this.addModule("down_proj", new Linear(f, d, { rng, std, bias }));
  }

  /** x [B, T, D] → [B, T, D]. */
  forward(x: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const [b, t, d] = x.shape;
      const flat = tf.reshape(x, [b * t, d]) as tf.Tensor2D; // [B*T, D]
      const gated = tf.mul(silu(this.gate_proj.forward(flat)), this.up_proj.forward(flat)); // [B*T, F]
      const out = this.down_proj.forward(gated as tf.Tensor2D); // [B*T, D]
      return tf.reshape(out, [b, t, d]) as tf.Tensor3D; // [B, T, D]
    });
  }
}
