/**
 * Memory accounting for training a Llama in fp32 or in fp16/bf16 mixed precision: the bytes a native
 * half-precision backend (PyTorch on a GPU) would hold. The tfjs simulation in this library stores every
 * tensor as float32, so its own footprint is always the fp32 column; these numbers are what the same run
 * would need where 16-bit tensors really are 16 bits.
 */
import { FORMATS, Precision, checkPrecision } from "./formats";
import type { LlamaConfigInit } from "../model/config";

/** The config fields the accounting needs, with Hugging Face's names (a `LlamaConfig` or config.json fits). */
export type MemoryConfig = Pick<LlamaConfigInit, "vocab_size" | "hidden_size" | "intermediate_size" | "num_hidden_layers" |
  "num_attention_heads" | "num_key_value_heads" | "head_dim" | "tie_word_embeddings" | "attention_bias" | "mlp_bias">;

/** The run being accounted: batch shape, precision and optimizer. */
export interface MemoryOptions {
  batchSize: number;
  seqLen: number;
  precision: Precision;
  /** Only AdamW (two fp32 moments per parameter) for now; the default. */
  optimizer?: "adamw";
}

/** Parameter counts by part of the model. */
export interface ParameterCount {
  embedding: number;
  /** All decoder layers together. */
  layers: number;
  perLayer: number;
  finalNorm: number;
  /** 0 when tied to the embedding. */
  lmHead: number;
  total: number;
}

/** Bytes by category; `total` is their sum. */
export interface MemoryBytes {
  weights: number;
  gradients: number;
  optimizerState: number;
  masterWeights: number;
  activations: number;
  total: number;
}

/** Result of {@link memoryEstimate}. */
export interface MemoryEstimate {
  precision: Precision;
  parameters: number;
  bytes: MemoryBytes;
  /** What the numbers stand for. */
  basis: string;
}

function positiveInt(config: object, field: string): number {
  const value = (config as Record<string, unknown>)[field];
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new Error(`memoryEstimate: ${field} must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

interface Sizes {
  V: number;
  D: number;
  I: number;
  L: number;
  H: number;
  KV: number;
  hd: number;
}

function sizes(config: MemoryConfig): Sizes {
  if (config == null || typeof config !== "object") throw new Error("memoryEstimate: config must be an object");
  const D = positiveInt(config, "hidden_size");
  const H = positiveInt(config, "num_attention_heads");
  const KV = config.num_key_value_heads == null ? H : positiveInt(config, "num_key_value_heads");
  if (H % KV !== 0) {
    throw new Error(`memoryEstimate: num_attention_heads (${H}) must be a multiple of num_key_value_heads (${KV})`);
  }
  let hd: number;
  if (config.head_dim == null) {
    if (D % H !== 0) {
      throw new Error(`memoryEstimate: hidden_size (${D}) must divide by num_attention_heads (${H}), or set head_dim`);
    }
    hd = D / H;
  } else {
    hd = positiveInt(config, "head_dim");
  }
  return {
    V: positiveInt(config, "vocab_size"),
    D,
    I: positiveInt(config, "intermediate_size"),
    L: positiveInt(config, "num_hidden_layers"),
    H,
    KV,
    hd,
  };
}

/** Parameter count of a Llama causal LM with this config (tied embeddings counted once). */
export function countParameters(config: MemoryConfig): ParameterCount {
  const { V, D, I, L, H, KV, hd } = sizes(config);
  const attention = D * H * hd + 2 * D * KV * hd + H * hd * D + (config.attention_bias ? H * hd + 2 * KV * hd + D : 0);
  const mlp = 3 * D * I + (config.mlp_bias ? 2 * I + D : 0);
  const perLayer = attention + mlp + 2 * D; // + input_layernorm and post_attention_layernorm
  const embedding = V * D;
  const lmHead = config.tie_word_embeddings ? 0 : V * D;
  const layers = L * perLayer;
  return { embedding, layers, perLayer, finalNorm: D, lmHead, total: embedding + layers + D + lmHead };
}

/**
 * Activation elements saved for the backward pass, per token, by one decoder layer:
 *   2D (RMSNorm₁ input and output) + (H + 2·KV)·hd (q, k after RoPE, v) + H·T (softmax probabilities)
 *   + H·hd (attention output, o_proj input) + 2D (RMSNorm₂ input and output) + 4I (gate, up, silu(gate) and
 *   the product fed to down_proj).
 * The attention scores before softmax, the RoPE'd-away q/k and the per-token norm statistics are not kept
 * (or are negligible). No dropout, as in Llama. This is the counting of Korthikanti et al. (2022) adapted to
 * RMSNorm, SwiGLU and grouped-query attention, without activation recomputation or fused attention.
 */
export function activationElementsPerTokenPerLayer(config: MemoryConfig, seqLen: number): number {
  const { D, I, H, KV, hd } = sizes(config);
  return 2 * D + (H + 2 * KV) * hd + H * seqLen + H * hd + 2 * D + 4 * I;
}

/**
 * Bytes to train `config` on batches of `batchSize × seqLen` tokens with AdamW, as a native backend holds them:
 * - fp32: weights 4, gradients 4, AdamW moments 8 bytes per parameter, no master copy;
 * - fp16/bf16 mixed precision (the ZeRO paper's accounting): 16-bit weights 2 and gradients 2, fp32 master
 *   weights 4, fp32 AdamW moments 8 bytes per parameter — the same 16 bytes as fp32; the saving is in
 *   activations;
 * - activations: batchSize·seqLen·(L·{@link activationElementsPerTokenPerLayer} + 2D) elements at the
 *   compute width (4 or 2 bytes) — the 2D being the final norm's input and output — plus the logits, kept in
 *   fp32 for the loss (4·V bytes per token) in every precision.
 */
export function memoryEstimate(config: MemoryConfig, opts: MemoryOptions): MemoryEstimate {
  if (opts == null || typeof opts !== "object") throw new Error("memoryEstimate: options { batchSize, seqLen, precision } are required");
  const batchSize = positiveInt(opts, "batchSize");
  const seqLen = positiveInt(opts, "seqLen");
  checkPrecision(opts.precision, "memoryEstimate: precision");
  if (opts.optimizer !== undefined && opts.optimizer !== "adamw") {
    throw new Error(`memoryEstimate: optimizer must be "adamw", got ${JSON.stringify(opts.optimizer)}`);
  }
  const { V, D, L } = sizes(config);
  const P = countParameters(config).total;
  const mixed = opts.precision !== "fp32";
  const width = FORMATS[opts.precision].bytes;
  const tokens = batchSize * seqLen;
  const perToken = (L * activationElementsPerTokenPerLayer(config, seqLen) + 2 * D) * width + V * FORMATS.fp32.bytes;
  const bytes = {
    weights: P * width,
    gradients: P * width,
    optimizerState: 2 * P * FORMATS.fp32.bytes,
    masterWeights: mixed ? P * FORMATS.fp32.bytes : 0,
    activations: tokens * perToken,
  };
  const total = bytes.weights + bytes.gradients + bytes.optimizerState + bytes.masterWeights + bytes.activations;
  return {
    precision: opts.precision,
    parameters: P,
    bytes: { ...bytes, total },
    basis:
      "what a native half-precision backend would hold (the tfjs simulation stores all of it as float32)" +
      (mixed ? "; 16-bit weights/gradients with fp32 master weights and AdamW moments" : ""),
  };
}
