/**
 * Rotary position embeddings (Su et al. 2021) in the Hugging Face convention: the head dimension is split
 * into two halves that rotate against each other (`rotate_half`), not interleaved pairs as in Meta's code.
 */
import * as tf from "@tensorflow/tfjs";
import { LlamaConfig, RopeScaling } from "./config";

/**
 * inv_freq[i] = θ^(−2i/hd) for i < hd/2, adjusted by `rope_scaling` ("linear" divides every frequency by
 * the factor; "llama3" divides only the low frequencies and blends the band between).
 */
export function ropeInverseFrequencies(
  headDim: number,
  theta: number,
  scaling: RopeScaling | null = null,
): Float32Array {
  if (headDim % 2 !== 0) throw new Error(`ropeInverseFrequencies: headDim must be even, got ${headDim}`);
  const half = headDim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / Math.pow(theta, (2 * i) / headDim);
  if (scaling?.rope_type === "linear") {
    for (let i = 0; i < half; i++) inv[i] /= scaling.factor;
  } else if (scaling?.rope_type === "llama3") {
    const { factor, low_freq_factor: low, high_freq_factor: high } = scaling;
    const oldContext = scaling.original_max_position_embeddings;
    const lowFreqWavelen = oldContext / low;
    const highFreqWavelen = oldContext / high;
    for (let i = 0; i < half; i++) {
      const wavelen = (2 * Math.PI) / inv[i];
      if (wavelen > lowFreqWavelen) {
        inv[i] /= factor; // long wavelengths: interpolate like linear scaling
      } else if (wavelen >= highFreqWavelen) {
        const smooth = (oldContext / wavelen - low) / (high - low); // 0 at the low edge, 1 at the high
        inv[i] = (1 - smooth) * (inv[i] / factor) + smooth * inv[i];
      } // short wavelengths: unchanged
    }
  }
  return Float32Array.from(inv);
}

/** cos and sin of the rotation angles, each [B, T, hd] (B may be 1 to broadcast over the batch). */
export interface RotaryAngles {
  cos: tf.Tensor3D;
  sin: tf.Tensor3D;
}

/** `LlamaRotaryEmbedding`: turns position ids into the cos/sin tables that {@link applyRotary} uses. */
export class RotaryEmbedding {
  /** [hd/2] */
  readonly invFreq: Float32Array;

  /** Frequencies from the config's head_dim, rope_theta and rope_scaling. */
  constructor(config: LlamaConfig) {
    this.invFreq = ropeInverseFrequencies(config.head_dim, config.rope_theta, config.rope_scaling);
  }

  /** positionIds [B, T] (int32 or float32) → cos, sin [B, T, hd]. */
  forward(positionIds: tf.Tensor2D): RotaryAngles {
    return tf.tidy(() => {
      const pos = tf.expandDims(tf.cast(positionIds, "float32"), 2); // [B, T, 1]
      const freqs = tf.mul(pos, tf.tensor1d(this.invFreq)); // [B, T, hd/2]
      const angles = tf.concat([freqs, freqs], -1) as tf.Tensor3D; // [B, T, hd]
      return { cos: tf.cos(angles), sin: tf.sin(angles) };
    });
  }
}

/**
 * R [hd, hd] with x·R = rotate_half(x): column i < hd/2 takes −x[i + hd/2], column i ≥ hd/2 takes x[i − hd/2].
 * A product with this fixed matrix is one fast matmul forward and one backward, where split + neg + concat
 * cost four copying kernels and as many again in the gradient (measured on wasm, 3.3M model: 13.2 → ~8 ms per
 * call forward + backward, 8 calls per step; docs/performance.md).
 */
function rotateHalfMatrix(hd: number): tf.Tensor2D {
  const half = hd / 2;
  const r = new Float32Array(hd * hd);
  for (let i = 0; i < half; i++) {
    r[(i + half) * hd + i] = -1; // row i + hd/2, column i
    r[i * hd + i + half] = 1; // row i, column i + hd/2
  }
  return tf.tensor2d(r, [hd, hd]);
}

/** [x₁, x₂] → [−x₂, x₁] over the two halves of the last axis. */
export function rotateHalf<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => {
    const hd = x.shape[x.rank - 1];
    if (hd % 2 !== 0) throw new Error(`rotateHalf: the last axis must have even length, got [${x.shape}]`);
    const rows = tf.reshape(x, [-1, hd]) as tf.Tensor2D; // [N, hd]
    return tf.reshape(tf.matMul(rows, rotateHalfMatrix(hd)), x.shape) as T; // [..., hd]
  });
}

/** x [B, H, T, hd] rotated by position: x·cos + rotate_half(x)·sin. */
export function applyRotary(x: tf.Tensor4D, angles: RotaryAngles): tf.Tensor4D {
  return tf.tidy(() => {
    const cos = tf.expandDims(angles.cos, 1); // [B, 1, T, hd], broadcast over heads
    const sin = tf.expandDims(angles.sin, 1); // [B, 1, T, hd]
    return tf.add(tf.mul(x, cos), tf.mul(rotateHalf(x), sin)) as tf.Tensor4D; // [B, H, T, hd]
  });
}
