/**
 * Pretrained-model directories in Hugging Face's layout: `config.json` + `model.safetensors` (+ our tokenizer
 * beside them), so that `transformers`' `from_pretrained` (or any safetensors reader) opens what we save and
 * we open what the Hub ships (F32, F16 or BF16 weights; tied heads saved with or without `lm_head.weight`).
 */
import { existsSync, statSync } from "fs";
import { join } from "path";
import * as tf from "@tensorflow/tfjs";
import { LlamaConfig } from "../model/config";
import { LlamaForCausalLM } from "../model/causal_lm";
import { Module } from "../model/module";
import { ByteLevelBPETokenizer } from "../tokenizer/bpe";
import { HFTokenizer } from "../tokenizer/hf_tokenizer";
import { replaceDirAtomic, writeFileSynced } from "./atomic";
import { readConfigJson } from "./config_json";
import { Float32Tensor, READABLE_FLOAT_DTYPES, SafetensorsFile, encodeSafetensors } from "./safetensors";

/** File names inside a pretrained directory. */
export const PRETRAINED_FILES = Object.freeze({
  config: "config.json",
  weights: "model.safetensors",
  /** Llama Lab's own tokenizer format (see ByteLevelBPETokenizer); not HF's tokenizer.json. */
  tokenizer: "llamalab_tokenizer.json",
  /** Hugging Face's tokenizer.json, written beside ours so `transformers`' AutoTokenizer can load the folder. */
  hfTokenizer: "tokenizer.json",
});

/** The embedding and output names a tied checkpoint may store its one shared matrix under. */
const EMBED = "model.embed_tokens.weight";
const LM_HEAD = "lm_head.weight";

/** Buffers older HF checkpoints carry that are recomputed from the config, never loaded. */
const DERIVED_BUFFER = /\.rotary_emb\.inv_freq$/;

/** A model that carries its config (every Llama Lab model and head does). */
export type ConfiguredModule = Module & { readonly config: LlamaConfig };

/** Options for {@link savePretrained}. */
export interface SavePretrainedOptions {
  /** A tokenizer to save beside the weights (anything with toJSON(), e.g. a ByteLevelBPETokenizer). */
  tokenizer?: { toJSON(): unknown };
}

/** Options for loading weights. */
export interface LoadWeightsOptions {
  /** Error on tensors the model has no place for (default true); false ignores them, as HF warns. */
  strict?: boolean;
}

/** Every parameter of `model` by HF state-dict name, copied off the device (tied weights listed once). */
export function stateDict(model: Module): Map<string, Float32Tensor> {
  return new Map(
    model.namedParameters().map(([name, v]) => [name, { shape: [...v.shape], data: v.dataSync() as Float32Array }]),
  );
}

/** Where tensors come from: a map in memory or an open safetensors file (read one tensor at a time). */
interface TensorSource {
  label: string;
  names(): string[];
  shape(name: string): number[];
  dtype(name: string): string;
  read(name: string): Float32Tensor;
}

function mapSource(map: ReadonlyMap<string, Float32Tensor>, label: string): TensorSource {
  return {
    label,
    names: () => [...map.keys()],
    shape: (n) => map.get(n)!.shape,
    dtype: () => "F32",
    read: (n) => map.get(n)!,
  };
}

function fileSource(file: SafetensorsFile, label: string): TensorSource {
  return {
    label,
    names: () => file.names(),
    shape: (n) => file.entries.get(n)!.shape,
    dtype: (n) => file.entries.get(n)!.dtype,
    read: (n) => file.readFloat32(n),
  };
}

/** Is the model's output head tied to its input embedding (one variable under model.embed_tokens)? */
function isTied(model: Module, names: Set<string>): boolean {
  const config = (model as Partial<ConfiguredModule>).config;
  return config instanceof LlamaConfig && config.tie_word_embeddings && names.has(EMBED) && !names.has(LM_HEAD);
}

/**
 * Copies tensors into `model`'s parameters by state-dict name. Everything is checked before anything is
 * assigned (names, shapes, dtypes), so a bad checkpoint leaves the model as it was. A tied model accepts its
 * shared matrix as `model.embed_tokens.weight`, as `lm_head.weight`, or both (they must then be equal).
 */
export function loadStateDict(
  model: Module,
  tensors: ReadonlyMap<string, Float32Tensor>,
  opts: LoadWeightsOptions = {},
): void {
  loadFrom(model, mapSource(tensors, "state dict"), opts);
}

function loadFrom(model: Module, source: TensorSource, opts: LoadWeightsOptions): void {
  const params = model.namedParameters();
  const wanted = new Set(params.map(([n]) => n));
  const available = new Set(source.names().filter((n) => !DERIVED_BUFFER.test(n)));
  const tied = isTied(model, wanted);
  // Which file tensor fills which parameter.
  const plan = new Map<string, string>();
  const missing: string[] = [];
  for (const name of wanted) {
    if (available.has(name)) plan.set(name, name);
    else if (tied && name === EMBED && available.has(LM_HEAD)) plan.set(name, LM_HEAD);
    else missing.push(name);
  }
  if (missing.length > 0) {
    const hint = missing.includes(LM_HEAD)
      ? ` The config has tie_word_embeddings false, so ${LM_HEAD} must be stored; if the checkpoint is tied, ` +
        `set "tie_word_embeddings": true in its config.json.`
      : "";
    throw new Error(`${source.label}: missing tensor${missing.length > 1 ? "s" : ""} ${missing.join(", ")}.${hint}`);
  }
  const used = new Set(plan.values());
  const tiedPair = tied && available.has(EMBED) && available.has(LM_HEAD);
  if (tiedPair) used.add(LM_HEAD);
  const unexpected = [...available].filter((n) => !used.has(n));
  if (unexpected.length > 0 && opts.strict !== false) {
    throw new Error(
      `${source.label}: unexpected tensor${unexpected.length > 1 ? "s" : ""} ${unexpected.slice(0, 8).join(", ")}` +
        `${unexpected.length > 8 ? ` (+${unexpected.length - 8} more)` : ""} that ${model.constructor.name} has no ` +
        `parameter for; is the checkpoint for another architecture? Pass { strict: false } to ignore them`,
    );
  }
  const byName = new Map(params);
  const checkShape = (param: string, from: string): void => {
    const want = byName.get(param)!.shape;
    const got = source.shape(from);
    if (!tf.util.arraysEqual(want, got)) {
      throw new Error(
        `${source.label}: tensor ${from} has shape [${got}] but ${model.constructor.name}.${param} needs [${want}]; ` +
          `the checkpoint does not match this config`,
      );
    }
    const dtype = source.dtype(from);
    if (!READABLE_FLOAT_DTYPES.includes(dtype)) {
      throw new Error(`${source.label}: tensor ${from} has dtype ${dtype}; weights must be F32, F16 or BF16`);
    }
  };
  for (const [param, from] of plan) checkShape(param, from);
  if (tiedPair) checkShape(EMBED, LM_HEAD);
  // Read everything first: a read error must not leave the model half-loaded.
  const values = new Map<string, Float32Tensor>();
  for (const [param, from] of plan) values.set(param, source.read(from));
  if (tiedPair) {
    const head = source.read(LM_HEAD).data;
    const embed = values.get(EMBED)!.data;
    if (!head.every((x, i) => x === embed[i])) {
      throw new Error(
        `${source.label}: the config ties the word embeddings, but ${EMBED} and ${LM_HEAD} differ; set ` +
          `"tie_word_embeddings": false in config.json to load them as two matrices`,
      );
    }
  }
  for (const [param, t] of values) {
    const variable = byName.get(param)!;
    tf.tidy(() => variable.assign(tf.tensor(t.data, t.shape, "float32")));
  }
}

/** Loads `model.safetensors` (or the safetensors file `path` itself) into `model`'s parameters. */
export function loadPretrainedWeights(model: Module, path: string, opts: LoadWeightsOptions = {}): void {
  const file = existsSync(path) && statSync(path).isDirectory() ? join(path, PRETRAINED_FILES.weights) : path;
  if (!existsSync(file)) {
    throw new Error(
      `${file} does not exist. Llama Lab reads single-file safetensors checkpoints; a sharded one ` +
        `(model-00001-of-0000N.safetensors) must be merged first`,
    );
  }
  const safetensors = SafetensorsFile.open(file);
  try {
    loadFrom(model, fileSource(safetensors, file), opts);
  } finally {
    safetensors.close();
  }
}

/**
 * Builds a model from a pretrained directory: reads config.json, builds `LlamaForCausalLM` (or what
 * `opts.build` makes from the config) and loads model.safetensors into it.
 */
export function fromPretrained(dir: string, opts?: LoadWeightsOptions): LlamaForCausalLM;
export function fromPretrained<M extends Module>(
  dir: string,
  opts: LoadWeightsOptions & { build: (config: LlamaConfig) => M },
): M;
export function fromPretrained<M extends Module>(
  dir: string,
  opts: LoadWeightsOptions & { build?: (config: LlamaConfig) => M } = {},
): M | LlamaForCausalLM {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new Error(`fromPretrained: ${dir} is not a directory; pass the folder holding config.json and model.safetensors`);
  }
  const { config } = readConfigJson(join(dir, PRETRAINED_FILES.config));
  const model = opts.build ? opts.build(config) : new LlamaForCausalLM(config);
  try {
    loadPretrainedWeights(model, dir, opts);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}

/** The tokenizer saved beside a pretrained model by {@link savePretrained}, or null when there is none. */
export function tokenizerFromPretrained(dir: string): ByteLevelBPETokenizer | null {
  const file = join(dir, PRETRAINED_FILES.tokenizer);
  return existsSync(file) ? ByteLevelBPETokenizer.load(file) : null;
}

/**
 * Saves `model` to `dir` as config.json + model.safetensors (F32, HF names, a tied head stored once as
 * `model.embed_tokens.weight`, as HF does), plus the tokenizer if given. The directory is replaced whole:
 * after a crash it holds the old checkpoint or the new one, never a mix.
 */
export function savePretrained(model: ConfiguredModule, dir: string, opts: SavePretrainedOptions = {}): void {
  if (!(model instanceof Module) || !(model.config instanceof LlamaConfig)) {
    throw new Error("savePretrained: model must be a Llama Lab model with a config (e.g. a LlamaForCausalLM)");
  }
  if (typeof dir !== "string" || dir === "") throw new Error("savePretrained: dir must be a folder path (a non-empty string)");
  if (existsSync(dir) && !statSync(dir).isDirectory()) {
    throw new Error(`savePretrained: ${dir} is a file, not a folder; pass a folder path (it is created if missing)`);
  }
  const config = model.config.with({ architectures: [model.constructor.name] });
  const weights = encodeSafetensors(stateDict(model), { format: "pt" });
  const tokenizerJson = opts.tokenizer === undefined ? undefined : JSON.stringify(opts.tokenizer.toJSON()) + "\n";
  const hfTokenizerJson = opts.tokenizer instanceof ByteLevelBPETokenizer
    ? JSON.stringify(HFTokenizer.fromByteLevelBPE(opts.tokenizer).toJSON()) + "\n"
    : undefined;
  replaceDirAtomic(dir, (tmp) => {
    writeFileSynced(join(tmp, PRETRAINED_FILES.weights), weights);
    writeFileSynced(join(tmp, PRETRAINED_FILES.config), JSON.stringify(config.toJSON(), null, 2) + "\n");
    if (tokenizerJson !== undefined) writeFileSynced(join(tmp, PRETRAINED_FILES.tokenizer), tokenizerJson);
    if (hfTokenizerJson !== undefined) writeFileSynced(join(tmp, PRETRAINED_FILES.hfTokenizer), hfTokenizerJson);
  });
}
