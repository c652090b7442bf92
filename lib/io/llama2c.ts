/**
 * karpathy/llama2.c checkpoints (`.bin`), float32 versions 0 (legacy) and 1, as written by its export.py and
 * read by run.c; the tinystories models (stories15M.bin, ...) are legacy files.
 *
 * Legacy (v0) layout, all little-endian:
 *   7 × int32: dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len
 *              (vocab_size < 0 means the classifier is NOT shared with the embedding; |vocab_size| is the size)
 *   float32 tensors, each stacked over layers where marked [L, ...]:
 *     token_embedding [V, D], rms_att [L, D], wq [L, H·hd, D], wk [L, KV·hd, D], wv [L, KV·hd, D],
 *     wo [L, D, H·hd], rms_ffn [L, D], w1 [L, F, D], w2 [L, D, F], w3 [L, F, D], rms_final [D],
 *     freq_cis_real [seq_len, hd/2], freq_cis_imag [seq_len, hd/2] (unused by readers), wcls [V, D] if unshared
 * Version 1 layout:
 *   uint32 magic 0x616b3432 ("ak42"), int32 version = 1, the same 7 × int32 (vocab_size positive),
 *   uint8 shared_classifier, zero padding to byte 256; then float32 tensors in the order
 *     rms_att [L, D], rms_ffn [L, D], rms_final [D], token_embedding [V, D], wq, wk, wv, wo, w1, w2, w3 (each
 *     [L, ...] as above), wcls [V, D] if not shared.
 * Matrices are PyTorch nn.Linear weights [out, in]. w1 = gate_proj, w2 = down_proj, w3 = up_proj.
 *
 * llama2.c rotates interleaved pairs (x[2i], x[2i+1]) as Meta's code does, where Hugging Face rotates the two
 * halves of each head; the rows of wq and wk are permuted on the way in (and back on the way out) exactly as
 * transformers' convert_llama_weights_to_hf does, so the same model gives the same logits in both.
 * run.c fixes rope_theta = 10000 and rms_norm_eps = 1e-5; head_dim = dim / n_heads.
 */
import { closeSync, openSync, readSync, statSync } from "fs";
import { LlamaConfig } from "../model/config";
import { LlamaForCausalLM } from "../model/causal_lm";
import { writeFileAtomic } from "./atomic";
import { loadStateDict, stateDict } from "./pretrained";
import { Float32Tensor } from "./safetensors";

/** The magic number opening a versioned llama2.c file ("ak42" read as a little-endian uint32). */
export const LLAMA2C_MAGIC = 0x616b3432;

/** The llama2.c header fields, plus what the file says about itself. */
export interface Llama2cHeader {
  version: 0 | 1;
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  vocabSize: number;
  seqLen: number;
  sharedClassifier: boolean;
}

const V1_HEADER_BYTES = 256;
const LEGACY_HEADER_BYTES = 28;

function readBytes(path: string, offset: number, length: number): Uint8Array {
  const fd = openSync(path, "r");
  try {
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const n = readSync(fd, out, done, length - done, offset + done);
      if (n === 0) break;
      done += n;
    }
    return out.subarray(0, done);
  } finally {
    closeSync(fd);
  }
}

/** Parses and validates the header of a llama2.c `.bin` file (reads 256 bytes at most). */
export function readLlama2cHeader(path: string): Llama2cHeader {
  const head = readBytes(path, 0, V1_HEADER_BYTES);
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const fail = (msg: string): never => {
    throw new Error(`${path}: ${msg}`);
  };
  if (head.length < LEGACY_HEADER_BYTES) fail(`is ${head.length} bytes, too short for a llama2.c header`);
  let h: Llama2cHeader;
  if (view.getUint32(0, true) === LLAMA2C_MAGIC) {
    const version = view.getInt32(4, true);
    if (version !== 1) {
      fail(
        `is a llama2.c version ${version} file; Llama Lab reads the float32 versions 0 (legacy) and 1. ` +
          `Export it again with llama2.c's export.py --version 1`,
      );
    }
    if (head.length < V1_HEADER_BYTES) fail("is truncated inside its 256-byte version-1 header");
    const ints = Array.from({ length: 7 }, (_, i) => view.getInt32(8 + 4 * i, true));
    h = header(1, ints, view.getUint8(36) !== 0);
  } else {
    const ints = Array.from({ length: 7 }, (_, i) => view.getInt32(4 * i, true));
    h = header(0, [...ints.slice(0, 5), Math.abs(ints[5]), ints[6]], ints[5] > 0);
  }
  const names = ["dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"] as const;
  const values = [h.dim, h.hiddenDim, h.nLayers, h.nHeads, h.nKvHeads, h.vocabSize, h.seqLen];
  values.forEach((v, i) => {
    if (!(v > 0 && v < 1 << 24)) fail(`header field ${names[i]} is ${v}; this is not a llama2.c float32 checkpoint`);
  });
  if (h.dim % h.nHeads !== 0) fail(`n_heads (${h.nHeads}) does not divide dim (${h.dim})`);
  if (h.nHeads % h.nKvHeads !== 0) fail(`n_kv_heads (${h.nKvHeads}) does not divide n_heads (${h.nHeads})`);
  const expected = expectedFileBytes(h);
  const actual = statSync(path).size;
  if (actual !== expected) {
    fail(
      `is ${actual} bytes but a version-${h.version} file with this header (dim ${h.dim}, ${h.nLayers} layers, ` +
        `vocab ${h.vocabSize}, ${h.sharedClassifier ? "shared" : "separate"} classifier) has ${expected}; ` +
        `it is truncated or not a float32 llama2.c checkpoint`,
    );
  }
  return h;
}

function header(version: 0 | 1, ints: number[], sharedClassifier: boolean): Llama2cHeader {
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, seqLen] = ints;
  return { version, dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, seqLen, sharedClassifier };
}

/** The tensors of a file in storage order: llama2.c's name (".i" per layer) and shape. */
function layout(h: Llama2cHeader): [string, number[]][] {
  const { dim: d, hiddenDim: f, nLayers: l, nHeads: nh, nKvHeads: nkv, vocabSize: v, seqLen } = h;
  const hd = d / nh;
  const stacked = (name: string, shape: number[]): [string, number[]][] =>
    Array.from({ length: l }, (_, i) => [`${name}.${i}`, shape] as [string, number[]]);
  const attn = [
    ...stacked("wq", [nh * hd, d]),
    ...stacked("wk", [nkv * hd, d]),
    ...stacked("wv", [nkv * hd, d]),
    ...stacked("wo", [d, nh * hd]),
  ];
  const ffn = [...stacked("w1", [f, d]), ...stacked("w2", [d, f]), ...stacked("w3", [f, d])];
  const cls: [string, number[]][] = h.sharedClassifier ? [] : [["wcls", [v, d]]];
  if (h.version === 0) {
    return [
      ["tok_embeddings", [v, d]],
      ...stacked("rms_att", [d]),
      ...attn,
      ...stacked("rms_ffn", [d]),
      ...ffn,
      ["rms_final", [d]],
      ["freq_cis_real", [seqLen, hd / 2]],
      ["freq_cis_imag", [seqLen, hd / 2]],
      ...cls,
    ];
  }
  return [
    ...stacked("rms_att", [d]),
    ...stacked("rms_ffn", [d]),
    ["rms_final", [d]],
    ["tok_embeddings", [v, d]],
    ...attn,
    ...ffn,
    ...cls,
  ];
}

function numel(shape: number[]): number {
  return shape.reduce((n, x) => n * x, 1);
}

function expectedFileBytes(h: Llama2cHeader): number {
  const start = h.version === 1 ? V1_HEADER_BYTES : LEGACY_HEADER_BYTES;
  return start + 4 * layout(h).reduce((n, [, shape]) => n + numel(shape), 0);
}

/**
 * Reorders the rows of a q or k weight [heads·hd, in] between Meta's interleaved-pair RoPE and HF's
 * half-rotation RoPE. `toHf` true: row h·hd + s·hd/2 + i of the result is row h·hd + 2i + s of the input
 * (transformers' `permute`); false: the inverse.
 */
export function permuteRotaryRows(w: Float32Array, heads: number, inFeatures: number, toHf: boolean): Float32Array {
  const hd = w.length / inFeatures / heads;
  const half = hd / 2;
  const out = new Float32Array(w.length);
  for (let h = 0; h < heads; h++) {
    for (let s = 0; s < 2; s++) {
      for (let i = 0; i < half; i++) {
        const hfRow = h * hd + s * half + i;
        const metaRow = h * hd + 2 * i + s;
        const [to, from] = toHf ? [hfRow, metaRow] : [metaRow, hfRow];
        out.set(w.subarray(from * inFeatures, (from + 1) * inFeatures), to * inFeatures);
      }
    }
  }
  return out;
}

/** The Llama Lab config that a llama2.c header describes (rope_theta 10000, rms_norm_eps 1e-5 as in run.c). */
export function configFromLlama2cHeader(h: Llama2cHeader): LlamaConfig {
  return new LlamaConfig({
    vocab_size: h.vocabSize,
    hidden_size: h.dim,
    intermediate_size: h.hiddenDim,
    num_hidden_layers: h.nLayers,
    num_attention_heads: h.nHeads,
    num_key_value_heads: h.nKvHeads,
    max_position_embeddings: h.seqLen,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    tie_word_embeddings: h.sharedClassifier,
    // llama2.c's sentencepiece vocabularies put <s> at 1 and </s> at 2.
    bos_token_id: h.vocabSize > 1 ? 1 : null,
    eos_token_id: h.vocabSize > 2 ? 2 : null,
  });
}

/** Which HF parameter each llama2.c tensor of layer i is, and whether its rows are RoPE-permuted. */
function hfName(name: string): { hf: string; rotary?: "q" | "k" } | null {
  const [kind, layer] = name.split(".");
  const p = `model.layers.${layer}.`;
  switch (kind) {
    case "tok_embeddings": return { hf: "model.embed_tokens.weight" };
    case "rms_final": return { hf: "model.norm.weight" };
    case "wcls": return { hf: "lm_head.weight" };
    case "rms_att": return { hf: p + "input_layernorm.weight" };
    case "rms_ffn": return { hf: p + "post_attention_layernorm.weight" };
    case "wq": return { hf: p + "self_attn.q_proj.weight", rotary: "q" };
    case "wk": return { hf: p + "self_attn.k_proj.weight", rotary: "k" };
    case "wv": return { hf: p + "self_attn.v_proj.weight" };
    case "wo": return { hf: p + "self_attn.o_proj.weight" };
    case "w1": return { hf: p + "mlp.gate_proj.weight" };
    case "w2": return { hf: p + "mlp.down_proj.weight" };
    case "w3": return { hf: p + "mlp.up_proj.weight" };
    default: return null; // freq_cis tables: recomputed from the config
  }
}

/** Loads a llama2.c `.bin` (version 0 or 1, float32) as a LlamaForCausalLM with HF names and RoPE layout. */
export function importLlama2c(path: string): LlamaForCausalLM {
  const h = readLlama2cHeader(path);
  const config = configFromLlama2cHeader(h);
  const bytes = readBytes(path, 0, expectedFileBytes(h));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tensors = new Map<string, Float32Tensor>();
  let at = h.version === 1 ? V1_HEADER_BYTES : LEGACY_HEADER_BYTES;
  for (const [name, shape] of layout(h)) {
    const size = numel(shape);
    const target = hfName(name);
    if (target !== null) {
      let data = new Float32Array(size);
      for (let i = 0; i < size; i++) data[i] = view.getFloat32(at + 4 * i, true);
      if (target.rotary) data = permuteRotaryRows(data, target.rotary === "q" ? h.nHeads : h.nKvHeads, h.dim, true);
      tensors.set(target.hf, { shape, data });
    }
    at += 4 * size;
  }
  const model = new LlamaForCausalLM(config);
  try {
    loadStateDict(model, tensors);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}

/** Why `config` cannot be written as a llama2.c file (run.c hard-codes parts of the architecture), or null. */
export function llama2cIncompatibility(config: LlamaConfig): string | null {
  if (config.head_dim * config.num_attention_heads !== config.hidden_size) {
    return `head_dim (${config.head_dim}) × num_attention_heads must equal hidden_size; llama2.c derives head_dim`;
  }
  if (config.rope_theta !== 10000) return `rope_theta is ${config.rope_theta}; llama2.c's run.c uses 10000`;
  if (config.rope_scaling !== null) return `rope_scaling is set; llama2.c has no RoPE scaling`;
  if (config.rms_norm_eps !== 1e-5) {
    return `rms_norm_eps is ${config.rms_norm_eps}; llama2.c's run.c uses 1e-5 (build the model with rms_norm_eps: 1e-5)`;
  }
  if (config.attention_bias || config.mlp_bias) return "attention_bias/mlp_bias are set; llama2.c has no biases";
  return null;
}

/** Writes a LlamaForCausalLM as a llama2.c `.bin` (version 1 by default, or 0 = legacy), atomically. */
export function exportLlama2c(model: LlamaForCausalLM, path: string, opts: { version?: 0 | 1 } = {}): void {
  const version = opts.version ?? 1;
  if (version !== 0 && version !== 1) throw new Error(`exportLlama2c: version must be 0 or 1, got ${String(version)}`);
  if (!(model instanceof LlamaForCausalLM)) throw new Error("exportLlama2c: model must be a LlamaForCausalLM");
  const c = model.config;
  const why = llama2cIncompatibility(c);
  if (why !== null) throw new Error(`exportLlama2c: cannot write this model for llama2.c: ${why}`);
  const h: Llama2cHeader = {
    version,
    dim: c.hidden_size,
    hiddenDim: c.intermediate_size,
    nLayers: c.num_hidden_layers,
    nHeads: c.num_attention_heads,
    nKvHeads: c.num_key_value_heads,
    vocabSize: c.vocab_size,
    seqLen: c.max_position_embeddings,
    sharedClassifier: c.tie_word_embeddings,
  };
  const weights = stateDict(model);
  const out = new Uint8Array(expectedFileBytes(h));
  const view = new DataView(out.buffer);
  const ints = [h.dim, h.hiddenDim, h.nLayers, h.nHeads, h.nKvHeads, h.vocabSize, h.seqLen];
  let at: number;
  if (version === 1) {
    view.setUint32(0, LLAMA2C_MAGIC, true);
    view.setInt32(4, 1, true);
    ints.forEach((v, i) => view.setInt32(8 + 4 * i, v, true));
    view.setUint8(36, h.sharedClassifier ? 1 : 0);
    at = V1_HEADER_BYTES;
  } else {
    if (!h.sharedClassifier) ints[5] = -ints[5]; // the legacy flag for a separate classifier
    ints.forEach((v, i) => view.setInt32(4 * i, v, true));
    at = LEGACY_HEADER_BYTES;
  }
  const hd = c.head_dim;
  for (const [name, shape] of layout(h)) {
    const size = numel(shape);
    let data: Float32Array;
    const target = hfName(name);
    if (target === null) {
      data = ropeTable(name === "freq_cis_real" ? Math.cos : Math.sin, h.seqLen, hd);
    } else {
      data = weights.get(target.hf)!.data;
      if (target.rotary) data = permuteRotaryRows(data, target.rotary === "q" ? h.nHeads : h.nKvHeads, h.dim, false);
    }
    if (data.length !== size) throw new Error(`exportLlama2c: ${name} has ${data.length} values, expected ${size}`);
    for (let i = 0; i < size; i++) view.setFloat32(at + 4 * i, data[i], true);
    at += 4 * size;
  }
  writeFileAtomic(path, out);
}

/** The legacy freq_cis table [seqLen, hd/2]: f(pos · 10000^(−2i/hd)), as llama2.c's model.py computes it. */
function ropeTable(f: (x: number) => number, seqLen: number, hd: number): Float32Array {
  const half = hd / 2;
  const out = new Float32Array(seqLen * half);
  for (let p = 0; p < seqLen; p++) {
    for (let i = 0; i < half; i++) out[p * half + i] = f(p * Math.fround(1 / Math.pow(10000, (2 * i) / hd)));
  }
  return out;
}
