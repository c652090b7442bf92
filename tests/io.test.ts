import { HFTokenizer } from "../lib/tokenizer/hf_tokenizer";
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
// The module object itself (not an import namespace, whose bindings are read-only), to inject write failures.
import nodeFs = require("fs");
import { Random } from "../lib/random";
import { LlamaConfigInit, LlamaForCausalLM, LlamaModel, makeConfig } from "../lib/model";
import { AdamW } from "../lib/train/adamw";
import { ByteLevelBPETokenizer } from "../lib/tokenizer/bpe";
import {
  Float32Tensor,
  MAX_HEADER_BYTES,
  SafetensorsFile,
  encodeSafetensors,
  loadSafetensors,
  saveSafetensors,
} from "../lib/io/safetensors";
import { configFromHfJson, readConfigJson } from "../lib/io/config_json";
import {
  PRETRAINED_FILES,
  fromPretrained,
  loadPretrainedWeights,
  savePretrained,
  stateDict,
  tokenizerFromPretrained,
} from "../lib/io/pretrained";
import { exportLlama2c, importLlama2c, permuteRotaryRows, readLlama2cHeader } from "../lib/io/llama2c";
import { maxAbsDiff } from "./numeric";

const SMALL: LlamaConfigInit = {
  vocab_size: 40,
  hidden_size: 16,
  intermediate_size: 24,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 32,
  rms_norm_eps: 1e-5,
};

let scratch: string;
before(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), "llamalab-io-"));
});
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

function tmp(name: string): string {
  return path.join(scratch, name);
}

function ids(rows: number[][]): tf.Tensor2D {
  return tf.tensor2d(rows, [rows.length, rows[0].length], "int32");
}

const TOKENS = [
  [3, 17, 5, 22, 9, 31, 2, 11],
  [7, 7, 38, 1, 0, 25, 14, 6],
];

function logitsOf(model: LlamaForCausalLM, rows: number[][] = TOKENS): Float32Array {
  return tf.tidy(() => model.forward(ids(rows)).dataSync() as Float32Array);
}

/** Runs `f` and checks it throws an Error whose message matches every pattern. */
function throwsWith(f: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(f, (e: Error) => {
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });
}

function u64(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return b;
}

/** A safetensors file from a raw header object and data bytes (to build malformed files). */
function rawSafetensors(header: unknown, data: Uint8Array): Uint8Array {
  const json = Buffer.from(JSON.stringify(header), "utf8");
  return Buffer.concat([u64(BigInt(json.length)), json, data]);
}

describe("safetensors", () => {
  it("round-trips float32 tensors and metadata, data 8-byte aligned", () => {
    const rng = new Random(1);
    const a: Float32Tensor = { shape: [3, 5], data: Float32Array.from({ length: 15 }, () => rng.normal()) };
    const s: Float32Tensor = { shape: [], data: Float32Array.of(-2.5) };
    const bytes = encodeSafetensors([["a.weight", a], ["scalar", s]], { format: "pt" });
    const headerLen = Number(Buffer.from(bytes).readBigUInt64LE(0));
    assert.equal((8 + headerLen) % 8, 0);
    const file = SafetensorsFile.fromBytes(bytes);
    assert.deepEqual(file.names(), ["a.weight", "scalar"]);
    assert.deepEqual(file.metadata, { format: "pt" });
    assert.deepEqual(file.readFloat32("a.weight"), a);
    assert.deepEqual(file.readFloat32("scalar"), s);
    const p = tmp("roundtrip.safetensors");
    saveSafetensors(p, [["a.weight", a]]);
    assert.deepEqual(loadSafetensors(p).get("a.weight"), a);
  });

  it("decodes F16 and BF16 exactly (values chosen representable in each)", () => {
    const f16 = Buffer.alloc(8);
    [0x3c00, 0xc000, 0x0001, 0x7bff].forEach((h, i) => f16.writeUInt16LE(h, 2 * i)); // 1, −2, 2^−24, 65504
    const bf16 = Buffer.alloc(6);
    [0x3f80, 0xc0a0, 0x0080].forEach((h, i) => bf16.writeUInt16LE(h, 2 * i)); // 1, −5, 2^−126
    const file = SafetensorsFile.fromBytes(
      rawSafetensors(
        {
          h: { dtype: "F16", shape: [4], data_offsets: [0, 8] },
          b: { dtype: "BF16", shape: [3], data_offsets: [8, 14] },
        },
        Buffer.concat([f16, bf16]),
      ),
    );
    assert.deepEqual(Array.from(file.readFloat32("h").data), [1, -2, 2 ** -24, 65504]);
    assert.deepEqual(Array.from(file.readFloat32("b").data), [1, -5, 2 ** -126]);
  });

  describe("malformed and hostile files get an error that says what they are", () => {
    const good = (): Uint8Array =>
      encodeSafetensors([["w", { shape: [4, 4], data: new Float32Array(16).fill(1) }]], { format: "pt" });

    it("a huge header length is refused before anything is allocated", () => {
      const bytes = Buffer.concat([u64(1n << 62n), Buffer.from("{}      ")]);
      throwsWith(() => SafetensorsFile.fromBytes(bytes, "huge"), /huge: declares a \d+-byte header/, /limit/);
      const justOver = Buffer.concat([u64(BigInt(MAX_HEADER_BYTES + 1)), Buffer.alloc(8)]);
      throwsWith(() => SafetensorsFile.fromBytes(justOver), /limit/);
    });

    it("a tensor whose offsets run past the end of the file", () => {
      const bytes = rawSafetensors({ w: { dtype: "F32", shape: [1000000, 1000], data_offsets: [0, 4e9] } }, new Uint8Array(16));
      throwsWith(() => SafetensorsFile.fromBytes(bytes), /tensor "w" ends at data byte 4000000000/, /16 data bytes/);
    });

    it("overlapping tensors", () => {
      const bytes = rawSafetensors(
        {
          a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
          b: { dtype: "F32", shape: [2], data_offsets: [4, 12] },
        },
        new Uint8Array(12),
      );
      throwsWith(() => SafetensorsFile.fromBytes(bytes), /"a" and "b" overlap/);
    });

    it("offsets that disagree with dtype × shape, unknown dtypes, bad shapes", () => {
      const size = rawSafetensors({ w: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8));
      throwsWith(() => SafetensorsFile.fromBytes(size), /"w" \(F32 \[3\]\) needs 12 bytes but data_offsets \[0, 8\] span 8/);
      const dtype = rawSafetensors({ w: { dtype: "F42", shape: [2], data_offsets: [0, 8] } }, new Uint8Array(8));
      throwsWith(() => SafetensorsFile.fromBytes(dtype), /unknown dtype "F42"/);
      const shape = rawSafetensors({ w: { dtype: "F32", shape: [-2], data_offsets: [0, 8] } }, new Uint8Array(8));
      throwsWith(() => SafetensorsFile.fromBytes(shape), /shape \[-2\]/);
    });

    it("a known but non-float dtype cannot be read as weights", () => {
      const bytes = rawSafetensors({ w: { dtype: "I64", shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8));
      const file = SafetensorsFile.fromBytes(bytes, "ints");
      throwsWith(() => file.readFloat32("w"), /tensor "w" has dtype I64/, /F32, F16, BF16/);
    });

    it("a Git LFS pointer file", () => {
      const pointer =
        "version https://git-lfs.github.com/spec/v1\noid sha256:4d7a2145e8b5c6e5bd8e3c4a5a1c1e4c\nsize 1097\n";
      const p = tmp("lfs.safetensors");
      fs.writeFileSync(p, pointer);
      throwsWith(() => SafetensorsFile.open(p), /Git LFS pointer/, /git lfs pull/);
    });

    it("a zip archive (a PyTorch .bin renamed)", () => {
      const zip = Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(60)]);
      throwsWith(() => SafetensorsFile.fromBytes(zip), /zip archive/);
    });

    it("a truncated download, cut in the header or in the data", () => {
      const bytes = good();
      throwsWith(() => SafetensorsFile.fromBytes(bytes.subarray(0, 20)), /truncated: its header needs/);
      throwsWith(() => SafetensorsFile.fromBytes(bytes.subarray(0, bytes.length - 10)), /truncated or corrupt: tensor "w"/);
      throwsWith(() => SafetensorsFile.fromBytes(bytes.subarray(0, 5)), /too short/);
    });

    it("a header that is not JSON", () => {
      const bytes = Buffer.concat([u64(4n), Buffer.from("{no}")]);
      throwsWith(() => SafetensorsFile.fromBytes(bytes), /header is not valid UTF-8 JSON/);
    });
  });
});

describe("config.json", () => {
  const v4 = {
    architectures: ["LlamaForCausalLM"],
    model_type: "llama",
    ...SMALL,
    max_position_embeddings: 4096,
    rope_theta: 500000.0,
    rope_scaling: {
      factor: 8.0,
      low_freq_factor: 1.0,
      high_freq_factor: 4.0,
      original_max_position_embeddings: 8192,
      rope_type: "llama3",
    },
    torch_dtype: "bfloat16",
    transformers_version: "4.43.0",
    use_cache: true,
    pretraining_tp: 1,
  };

  it("reads the v4 layout (rope_theta, rope_scaling, torch_dtype) and the v5 layout (rope_parameters, dtype) alike", () => {
    const { rope_theta, rope_scaling, torch_dtype, ...rest } = v4;
    const v5 = { ...rest, rope_parameters: { rope_theta, ...rope_scaling }, dtype: torch_dtype };
    const a = configFromHfJson(v4);
    const b = configFromHfJson(v5);
    assert.deepEqual(a.config.toInit(), b.config.toInit());
    assert.equal(a.config.rope_theta, 500000);
    assert.equal(a.config.rope_scaling?.rope_type, "llama3");
    assert.equal(a.dtype, "bfloat16");
    assert.equal(b.dtype, "bfloat16");
  });

  it('rope scaling as {"type": "linear"} (older files) and {"rope_type": "linear"} both load', () => {
    const legacy = configFromHfJson({ ...v4, rope_scaling: { type: "linear", factor: 2 } });
    const current = configFromHfJson({ ...v4, rope_scaling: { rope_type: "linear", factor: 2 } });
    assert.deepEqual(legacy.config.rope_scaling, { rope_type: "linear", factor: 2 });
    assert.deepEqual(legacy.config.toInit(), current.config.toInit());
  });

  it("a llama3 rope block missing a key fails naming that key", () => {
    const { low_freq_factor: _, ...partial } = v4.rope_scaling;
    const p = tmp("config-missing.json");
    fs.writeFileSync(p, JSON.stringify({ ...v4, rope_scaling: partial }));
    throwsWith(() => readConfigJson(p), /config-missing\.json/, /rope_scaling\.low_freq_factor is required/);
  });

  it("a file that is not JSON, or is missing, says so", () => {
    const p = tmp("config-bad.json");
    fs.writeFileSync(p, "{ not json");
    throwsWith(() => readConfigJson(p), /is not valid JSON/);
    throwsWith(() => readConfigJson(tmp("nope.json")), /does not exist/);
  });
});

describe("savePretrained / fromPretrained", () => {
  it("round-trips weights, config and tokenizer; the files are HF's layout", () => {
    const before = tf.memory().numTensors;
    const model = new LlamaForCausalLM(makeConfig(SMALL), { seed: 3 });
    const tokenizer = ByteLevelBPETokenizer.train(["the cat sat on the mat", "the cat ate"], {
      vocabSize: 270,
      specialTokens: {},
    });
    const dir = tmp("ckpt-roundtrip");
    savePretrained(model, dir, { tokenizer });
    assert.deepEqual(fs.readdirSync(dir).sort(), [
      PRETRAINED_FILES.config,
      PRETRAINED_FILES.tokenizer,
      PRETRAINED_FILES.hfTokenizer,
      PRETRAINED_FILES.weights,
    ].sort());
    const hf = HFTokenizer.load(dir);
    assert.deepEqual(hf.encode("the cat sat"), tokenizer.encode("the cat sat"), "HF tokenizer.json encodes like ours");
    assert.equal(fs.statSync(dir).mode & 0o777, 0o755, "an ordinary directory, not mkdtemp's private 0700");
    const config = JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8"));
    assert.equal(config.model_type, "llama");
    assert.equal(config.torch_dtype, "float32");
    assert.deepEqual(config.architectures, ["LlamaForCausalLM"]);
    const file = SafetensorsFile.open(path.join(dir, "model.safetensors"));
    assert.equal(file.metadata.format, "pt");
    assert.ok(file.names().includes("lm_head.weight"));
    assert.ok(file.names().includes("model.layers.1.mlp.down_proj.weight"));
    assert.ok([...file.entries.values()].every((e) => e.dtype === "F32"));
    file.close();
    const loaded = fromPretrained(dir);
    assert.deepEqual(logitsOf(loaded), logitsOf(model), "same logits, bit for bit");
    const reloadedTokenizer = tokenizerFromPretrained(dir)!;
    assert.deepEqual(reloadedTokenizer.encode("the cat sat"), tokenizer.encode("the cat sat"));
    loaded.dispose();
    model.dispose();
    assert.equal(tf.memory().numTensors, before, "save/load leaked tensors");
  });

  it("keeps files of the directory it does not write, and replaces its own", () => {
    const dir = tmp("ckpt-keep");
    const a = new LlamaForCausalLM(makeConfig(SMALL), { seed: 1 });
    const b = new LlamaForCausalLM(makeConfig(SMALL), { seed: 2 });
    savePretrained(a, dir);
    fs.writeFileSync(path.join(dir, "README.md"), "my model\n");
    savePretrained(b, dir);
    assert.equal(fs.readFileSync(path.join(dir, "README.md"), "utf8"), "my model\n");
    const loaded = fromPretrained(dir);
    assert.deepEqual(logitsOf(loaded), logitsOf(b));
    assert.deepEqual(fs.readdirSync(scratch).filter((n) => n.includes("ckpt-keep.")), [], "no temp dirs left");
    [a, b, loaded].forEach((m) => m.dispose());
  });

  it("a base LlamaModel saves as architectures [\"LlamaModel\"] and reloads with build", () => {
    const dir = tmp("ckpt-base");
    const base = new LlamaModel(makeConfig(SMALL), { seed: 4 });
    savePretrained(base, dir);
    assert.deepEqual(readConfigJson(path.join(dir, "config.json")).config.architectures, ["LlamaModel"]);
    const loaded = fromPretrained(dir, { build: (c) => new LlamaModel(c) });
    const x = ids(TOKENS);
    const [h1, h2] = [base.forward(x), loaded.forward(x)];
    assert.deepEqual(h1.dataSync(), h2.dataSync());
    tf.dispose([x, h1, h2]);
    base.dispose();
    loaded.dispose();
  });

  describe("tied word embeddings", () => {
    const tiedConfig = makeConfig({ ...SMALL, tie_word_embeddings: true });
    let source: LlamaForCausalLM;
    let weights: Map<string, Float32Tensor>;
    before(() => {
      source = new LlamaForCausalLM(tiedConfig, { seed: 5 });
      weights = stateDict(source);
    });
    after(() => source.dispose());

    function dirWith(name: string, tensors: [string, Float32Tensor][], config = tiedConfig): string {
      const dir = tmp(name);
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify(config.toJSON()));
      saveSafetensors(path.join(dir, "model.safetensors"), tensors);
      return dir;
    }

    it("savePretrained stores the shared matrix once, as model.embed_tokens.weight (like HF)", () => {
      const dir = tmp("tied-saved");
      savePretrained(source, dir);
      const names = loadSafetensors(path.join(dir, "model.safetensors"));
      assert.ok(names.has("model.embed_tokens.weight"));
      assert.ok(!names.has("lm_head.weight"));
    });

    it("only embed_tokens, only lm_head, or both: identical logits, and the weight stays shared after a step", () => {
      const embed = weights.get("model.embed_tokens.weight")!;
      const rest = [...weights].filter(([n]) => n !== "model.embed_tokens.weight");
      const variants = {
        embedOnly: dirWith("tied-embed", [...weights]),
        headOnly: dirWith("tied-head", [["lm_head.weight", embed], ...rest]),
        both: dirWith("tied-both", [...weights, ["lm_head.weight", embed]]),
      };
      const expected = logitsOf(source);
      for (const [kind, dir] of Object.entries(variants)) {
        const model = fromPretrained(dir);
        assert.deepEqual(logitsOf(model), expected, `${kind}: logits`);
        assert.equal(model.lm_head, undefined, `${kind}: no separate head`);
        assert.equal(model.lmHeadWeight, model.model.embed_tokens.weight, `${kind}: one shared variable`);
        // One training step through both uses of the matrix: it must stay one matrix.
        const opt = new AdamW(model.namedParameters(), { lr: 0.05 });
        const x = ids(TOKENS);
        const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(model.forward(x))) as tf.Scalar);
        opt.step(grads);
        tf.dispose([x, value, ...Object.values(grads)]);
        assert.equal(model.lmHeadWeight, model.model.embed_tokens.weight);
        assert.ok(maxAbsDiff(model.lmHeadWeight.dataSync(), embed.data) > 1e-3, `${kind}: the step moved the weights`);
        opt.dispose();
        model.dispose();
      }
    });

    it("both present but different is an error, not a silent choice", () => {
      const embed = weights.get("model.embed_tokens.weight")!;
      const other = { shape: embed.shape, data: embed.data.map((x) => x + 1) };
      const dir = dirWith("tied-conflict", [...weights, ["lm_head.weight", other]]);
      throwsWith(() => fromPretrained(dir), /ties the word embeddings, but model\.embed_tokens\.weight and lm_head\.weight differ/);
    });

    it("an untied config whose file lacks lm_head.weight is an error naming the missing tensor", () => {
      const untied = makeConfig({ ...SMALL, tie_word_embeddings: false });
      const dir = dirWith("untied-missing-head", [...weights], untied);
      throwsWith(() => fromPretrained(dir), /missing tensor lm_head\.weight/, /tie_word_embeddings/);
    });
  });

  it("wrong shapes, unexpected tensors and non-float dtypes are refused before any weight changes", () => {
    const model = new LlamaForCausalLM(makeConfig(SMALL), { seed: 6 });
    const weights = stateDict(model);
    const before = logitsOf(model);
    const q = "model.layers.0.self_attn.q_proj.weight";
    const wrong = new Map(weights);
    wrong.set("model.embed_tokens.weight", { shape: [40, 16], data: new Float32Array(640) }); // fine, but…
    wrong.set(q, { shape: [8, 16], data: new Float32Array(128) }); // …this one is wrong
    const p = tmp("wrong-shape.safetensors");
    saveSafetensors(p, wrong);
    throwsWith(() => loadPretrainedWeights(model, p), new RegExp(`${q} has shape \\[8,16\\]`), /needs \[16,16\]/);
    assert.deepEqual(logitsOf(model), before, "nothing was assigned");

    const extra = tmp("extra.safetensors");
    saveSafetensors(extra, [...weights, ["score.weight", { shape: [2, 16], data: new Float32Array(32) }]]);
    throwsWith(() => loadPretrainedWeights(model, extra), /unexpected tensor score\.weight/, /strict: false/);
    loadPretrainedWeights(model, extra, { strict: false });

    // Older HF checkpoints carry rotary inv_freq buffers; they are recomputed, not an error.
    const buffers = tmp("inv-freq.safetensors");
    saveSafetensors(buffers, [...weights, ["model.layers.0.self_attn.rotary_emb.inv_freq", { shape: [2], data: Float32Array.of(1, 0.1) }]]);
    loadPretrainedWeights(model, buffers);
    model.dispose();
  });

  it("a failure in the middle of writing leaves the previous checkpoint intact", () => {
    const dir = tmp("ckpt-atomic");
    const old = new LlamaForCausalLM(makeConfig(SMALL), { seed: 7 });
    const next = new LlamaForCausalLM(makeConfig(SMALL), { seed: 8 });
    savePretrained(old, dir);
    const snapshot = new Map(fs.readdirSync(dir).map((f) => [f, fs.readFileSync(path.join(dir, f))]));
    // Inject a disk error after the first bytes of the new checkpoint are written.
    const realWriteSync = nodeFs.writeSync;
    let calls = 0;
    (nodeFs as { writeSync: unknown }).writeSync = (...args: unknown[]) => {
      if (++calls > 1) throw new Error("ENOSPC: injected disk full");
      return (realWriteSync as (...a: unknown[]) => number)(...args);
    };
    try {
      throwsWith(() => savePretrained(next, dir), /injected disk full/);
    } finally {
      (nodeFs as { writeSync: unknown }).writeSync = realWriteSync;
    }
    assert.ok(calls > 1, "the failure was really injected");
    for (const [f, bytes] of snapshot) assert.ok(fs.readFileSync(path.join(dir, f)).equals(bytes), `${f} unchanged`);
    assert.deepEqual(fs.readdirSync(scratch).filter((n) => n.includes("ckpt-atomic.")), [], "temp dir removed");
    const loaded = fromPretrained(dir);
    assert.deepEqual(logitsOf(loaded), logitsOf(old));
    [old, next, loaded].forEach((m) => m.dispose());
  });

  it("a process killed while saving leaves the previous checkpoint loadable", () => {
    const dir = tmp("ckpt-crash");
    const old = new LlamaForCausalLM(makeConfig(SMALL), { seed: 9 });
    savePretrained(old, dir);
    // A child process saves another model over it and dies (no cleanup) during the write.
    const script = `
      const fs = require("fs");
      const real = fs.writeSync;
      let n = 0;
      fs.writeSync = (...a) => { if (++n > 1) process.kill(process.pid, "SIGKILL"); return real(...a); };
      const { makeConfig, LlamaForCausalLM } = require(${JSON.stringify(path.resolve(__dirname, "../lib/model"))});
      const { savePretrained } = require(${JSON.stringify(path.resolve(__dirname, "../lib/io/pretrained"))});
      savePretrained(new LlamaForCausalLM(makeConfig(${JSON.stringify(SMALL)}), { seed: 10 }), ${JSON.stringify(dir)});
    `;
    const child = spawnSync(process.execPath, ["-e", script], { encoding: "utf8", cwd: path.resolve(__dirname, "..", "..") });
    assert.equal(child.signal, "SIGKILL", `the child should have been killed mid-write: ${child.stderr}`);
    const loaded = fromPretrained(dir);
    assert.deepEqual(logitsOf(loaded), logitsOf(old));
    [old, loaded].forEach((m) => m.dispose());
  });
});

// ------------------------------------------------------------------------------------------------------------
// llama2.c

/** llama2.c-layout weights (Meta's interleaved RoPE rows), each [L, ...] stacked as run.c reads them. */
interface MetaWeights {
  dim: number;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  vocab: number;
  seqLen: number;
  emb: Float32Array;
  rmsAtt: Float32Array;
  wq: Float32Array;
  wk: Float32Array;
  wv: Float32Array;
  wo: Float32Array;
  rmsFfn: Float32Array;
  w1: Float32Array;
  w2: Float32Array;
  w3: Float32Array;
  rmsFinal: Float32Array;
  wcls: Float32Array | null;
}

function randomMetaWeights(shared: boolean): MetaWeights {
  const rng = new Random(11);
  const [dim, hidden, layers, heads, kvHeads, vocab, seqLen] = [16, 24, 2, 4, 2, 20, 16];
  const kvDim = (dim / heads) * kvHeads;
  const r = (n: number, std: number, mean = 0): Float32Array => Float32Array.from({ length: n }, () => mean + std * rng.normal());
  return {
    dim, hidden, layers, heads, kvHeads, vocab, seqLen,
    emb: r(vocab * dim, 1),
    rmsAtt: r(layers * dim, 0.2, 1),
    wq: r(layers * dim * dim, 0.25),
    wk: r(layers * kvDim * dim, 0.25),
    wv: r(layers * kvDim * dim, 0.25),
    wo: r(layers * dim * dim, 0.25),
    rmsFfn: r(layers * dim, 0.2, 1),
    w1: r(layers * hidden * dim, 0.25),
    w2: r(layers * dim * hidden, 0.2),
    w3: r(layers * hidden * dim, 0.25),
    rmsFinal: r(dim, 0.2, 1),
    wcls: shared ? null : r(vocab * dim, 0.25),
  };
}

/**
 * A legacy (version 0) llama2.c file written field by field:
 *   int32 dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size (negative: separate classifier), seq_len
 *   float32 token_embedding, rms_att, wq, wk, wv, wo, rms_ffn, w1, w2, w3, rms_final,
 *           freq_cis_real [seq_len, hd/2], freq_cis_imag [seq_len, hd/2], wcls (only when not shared)
 */
function legacyFile(w: MetaWeights): Buffer {
  const header = Buffer.alloc(28);
  [w.dim, w.hidden, w.layers, w.heads, w.kvHeads, w.wcls ? -w.vocab : w.vocab, w.seqLen].forEach((v, i) =>
    header.writeInt32LE(v, 4 * i),
  );
  const freqCis = new Float32Array((w.seqLen * (w.dim / w.heads)) / 2).fill(7); // readers ignore these tables
  const parts = [w.emb, w.rmsAtt, w.wq, w.wk, w.wv, w.wo, w.rmsFfn, w.w1, w.w2, w.w3, w.rmsFinal, freqCis, freqCis];
  if (w.wcls) parts.push(w.wcls);
  return Buffer.concat([header, ...parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength))]);
}

/** run.c's forward, token by token with a KV cache, in float64: interleaved-pair RoPE, Meta layout. */
function runCLogits(w: MetaWeights, tokens: number[]): number[][] {
  const { dim, hidden, heads, kvHeads } = w;
  const hs = dim / heads;
  const kvDim = hs * kvHeads;
  const kvMul = heads / kvHeads;
  const matvec = (m: Float32Array, off: number, x: number[], rows: number): number[] =>
    Array.from({ length: rows }, (_, i) => x.reduce((s, xj, j) => s + m[off + i * x.length + j] * xj, 0));
  const rmsnorm = (x: number[], g: Float32Array, off: number): number[] => {
    const r = 1 / Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length + 1e-5);
    return x.map((v, i) => v * r * g[off + i]);
  };
  const keys: number[][][] = Array.from({ length: w.layers }, () => []);
  const values: number[][][] = Array.from({ length: w.layers }, () => []);
  const out: number[][] = [];
  tokens.forEach((tok, pos) => {
    let x = Array.from(w.emb.subarray(tok * dim, (tok + 1) * dim));
    for (let l = 0; l < w.layers; l++) {
      const xb = rmsnorm(x, w.rmsAtt, l * dim);
      const q = matvec(w.wq, l * dim * dim, xb, dim);
      const k = matvec(w.wk, l * kvDim * dim, xb, kvDim);
      const v = matvec(w.wv, l * kvDim * dim, xb, kvDim);
      for (let i = 0; i < dim; i += 2) {
        const freq = 1 / Math.pow(10000, (i % hs) / hs);
        const [c, s] = [Math.cos(pos * freq), Math.sin(pos * freq)];
        for (const vec of i < kvDim ? [q, k] : [q]) {
          const [a, b] = [vec[i], vec[i + 1]];
          vec[i] = a * c - b * s;
          vec[i + 1] = a * s + b * c;
        }
      }
      keys[l].push(k);
      values[l].push(v);
      const att = new Array<number>(dim).fill(0);
      for (let h = 0; h < heads; h++) {
        const kvOff = Math.floor(h / kvMul) * hs;
        const scores = keys[l].map((kt) => {
          let s = 0;
          for (let i = 0; i < hs; i++) s += q[h * hs + i] * kt[kvOff + i];
          return s / Math.sqrt(hs);
        });
        const m = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - m));
        const z = e.reduce((a, b) => a + b, 0);
        values[l].forEach((vt, t) => {
          for (let i = 0; i < hs; i++) att[h * hs + i] += (e[t] / z) * vt[kvOff + i];
        });
      }
      const o = matvec(w.wo, l * dim * dim, att, dim);
      x = x.map((xi, i) => xi + o[i]);
      const xf = rmsnorm(x, w.rmsFfn, l * dim);
      const h1 = matvec(w.w1, l * hidden * dim, xf, hidden);
      const h3 = matvec(w.w3, l * hidden * dim, xf, hidden);
      const g = h1.map((a, i) => (a / (1 + Math.exp(-a))) * h3[i]);
      const down = matvec(w.w2, l * dim * hidden, g, dim);
      x = x.map((xi, i) => xi + down[i]);
    }
    const xn = rmsnorm(x, w.rmsFinal, 0);
    out.push(matvec(w.wcls ?? w.emb, 0, xn, w.vocab));
  });
  return out;
}

describe("llama2.c checkpoints", () => {
  const tokens = [1, 5, 9, 3, 17, 12, 4, 19, 2, 8];

  for (const shared of [true, false]) {
    it(`imports a hand-built legacy file (${shared ? "shared" : "separate"} classifier) with run.c's logits`, () => {
      const w = randomMetaWeights(shared);
      const p = tmp(`legacy-${shared}.bin`);
      fs.writeFileSync(p, legacyFile(w));
      const header = readLlama2cHeader(p);
      assert.deepEqual(
        [header.version, header.dim, header.nKvHeads, header.vocabSize, header.sharedClassifier],
        [0, 16, 2, 20, shared],
      );
      const model = importLlama2c(p);
      assert.equal(model.config.tie_word_embeddings, shared);
      assert.equal(model.config.rms_norm_eps, 1e-5);
      const got = logitsOf(model, [tokens]);
      const want = runCLogits(w, tokens).flat();
      const diff = maxAbsDiff(got, want);
      assert.ok(diff <= 1e-4, `logits vs run.c reference: max abs diff ${diff}`);
      assert.ok(Math.max(...want.map(Math.abs)) > 1, "reference logits are not trivially small");
      // Without the q/k row permutation the logits would be wrong: check the test can tell.
      const q = model.model.layers[0].self_attn.q_proj.weight;
      const unpermuted = tf.tensor2d(w.wq.subarray(0, 256), [16, 16]);
      q.assign(unpermuted);
      unpermuted.dispose();
      assert.ok(maxAbsDiff(logitsOf(model, [tokens]), want) > 1e-2, "an unpermuted wq changes the logits");
      model.dispose();
    });
  }

  it("refuses truncated files, other versions and nonsense headers with a clear reason", () => {
    const bytes = legacyFile(randomMetaWeights(true));
    const cut = tmp("cut.bin");
    fs.writeFileSync(cut, bytes.subarray(0, bytes.length - 4));
    throwsWith(() => importLlama2c(cut), /is \d+ bytes but a version-0 file with this header/, /truncated/);
    const v2 = tmp("v2.bin");
    const head = Buffer.alloc(256);
    head.writeUInt32LE(0x616b3432, 0);
    head.writeInt32LE(2, 4);
    fs.writeFileSync(v2, head);
    throwsWith(() => importLlama2c(v2), /version 2 file/, /--version 1/);
    const junk = tmp("junk.bin");
    fs.writeFileSync(junk, Buffer.from("this is a text file, not weights at all"));
    throwsWith(() => importLlama2c(junk), /header field dim is/);
  });

  it("permuteRotaryRows to HF and back is the identity, and moves rows as transformers' permute", () => {
    const w = Float32Array.from({ length: 8 * 3 }, (_, i) => i);
    const hf = permuteRotaryRows(w, 2, 3, true);
    // Head 0 (rows 0..3, hd 4): HF rows are Meta rows 0, 2, 1, 3 (evens, then odds).
    assert.deepEqual(Array.from(hf.subarray(0, 12)), [0, 1, 2, 6, 7, 8, 3, 4, 5, 9, 10, 11]);
    assert.deepEqual(permuteRotaryRows(hf, 2, 3, false), w);
  });

  for (const version of [0, 1] as const) {
    for (const tied of [true, false]) {
      it(`export version ${version} → import gives identical logits (${tied ? "tied" : "untied"})`, () => {
        const config = makeConfig({ ...SMALL, tie_word_embeddings: tied });
        const model = new LlamaForCausalLM(config, { seed: 12 });
        const p = tmp(`export-v${version}-${tied}.bin`);
        exportLlama2c(model, p, { version });
        const header = readLlama2cHeader(p);
        assert.equal(header.version, version);
        assert.equal(header.sharedClassifier, tied);
        if (version === 1) assert.equal(fs.readFileSync(p).subarray(0, 4).toString("latin1"), "24ka");
        const loaded = importLlama2c(p);
        assert.deepEqual(logitsOf(loaded), logitsOf(model));
        assert.equal(loaded.config.tie_word_embeddings, tied);
        loaded.dispose();
        model.dispose();
      });
    }
  }

  it("export refuses what run.c cannot run, naming the field", () => {
    const model = new LlamaForCausalLM(makeConfig({ ...SMALL, rope_theta: 500000 }));
    throwsWith(() => exportLlama2c(model, tmp("no.bin")), /rope_theta is 500000/);
    model.dispose();
    const eps = new LlamaForCausalLM(makeConfig({ ...SMALL, rms_norm_eps: 1e-6 }));
    throwsWith(() => exportLlama2c(eps, tmp("no.bin")), /rms_norm_eps/);
    eps.dispose();
    assert.ok(!fs.existsSync(tmp("no.bin")));
  });
});

describe("savePretrained misuse", () => {
  it("refuses a path that is a file, naming it, and leaves the file alone", () => {
    const file = tmp("a-file.txt");
    fs.writeFileSync(file, "keep me");
    const model = new LlamaForCausalLM(makeConfig(SMALL), { seed: 1 });
    throwsWith(() => savePretrained(model, file), /savePretrained: .*a-file\.txt is a file, not a folder/, /folder path/);
    assert.equal(fs.readFileSync(file, "utf8"), "keep me");
    model.dispose();
  });
});
