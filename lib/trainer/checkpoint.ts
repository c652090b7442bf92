/**
 * The trainer's checkpoints on disk, built on lib/io: a folder with `model.safetensors` (HF names),
 * `optimizer.safetensors` (AdamW moments), `trainer_state.json` (step, data position, RNG, early stopping, log
 * history) and a `config.json` that carries the label map (`num_labels`, `id2label`, `label2id`), as Hugging Face's.
 * Each folder is replaced whole, so a crash never leaves half a checkpoint.
 */
import { existsSync, readFileSync } from "fs";
import { join } from "path";
import { LlamaForCausalLM } from "../model/causal_lm";
import { LlamaConfig } from "../model/config";
import { Module } from "../model/module";
import { LlamaForSequenceClassification, ProblemType, copyBaseWeights } from "../model/sequence_classification";
import { AdamW, AdamWState } from "../train/adamw";
import { replaceDirAtomic, writeFileSynced } from "../io/atomic";
import { readConfigJson } from "../io/config_json";
import { fromPretrained, loadStateDict, stateDict, PRETRAINED_FILES } from "../io/pretrained";
import { Float32Tensor, encodeSafetensors, loadSafetensors } from "../io/safetensors";

/** Any JSON-serialisable trainer state. */
export type TrainerStateJSON = Record<string, unknown>;

/** Files of a checkpoint folder. */
export const CHECKPOINT_FILES = {
  model: PRETRAINED_FILES.weights,
  config: PRETRAINED_FILES.config,
  optimizer: "optimizer.safetensors",
  state: "trainer_state.json",
} as const;

/**
 * Saves model weights, optionally the optimizer's moments, the trainer state and a config.json into `dir`,
 * replacing any earlier checkpoint there in one swap.
 */
export function saveCheckpoint(
  dir: string,
  parts: { model: Module; optimizer?: AdamW; state: TrainerStateJSON; config?: Record<string, unknown> },
): void {
  const weights = encodeSafetensors(stateDict(parts.model), { format: "pt" });
  let moments: Uint8Array | undefined;
  const state: TrainerStateJSON = { ...parts.state };
  if (parts.optimizer) {
    const saved = parts.optimizer.getState();
    const tensors: [string, Float32Tensor][] = [];
    const steps: Record<string, number> = {};
    for (const [name, p] of Object.entries(saved.params)) {
      tensors.push([`m.${name}`, { shape: p.shape, data: Float32Array.from(p.m) }], [`v.${name}`, { shape: p.shape, data: Float32Array.from(p.v) }]);
      steps[name] = p.step;
    }
    moments = encodeSafetensors(tensors);
    state.optimizer = { stepCount: saved.stepCount, steps };
  }
  replaceDirAtomic(dir, (tmp) => {
    writeFileSynced(join(tmp, CHECKPOINT_FILES.model), weights);
    if (moments) writeFileSynced(join(tmp, CHECKPOINT_FILES.optimizer), moments);
    writeFileSynced(join(tmp, CHECKPOINT_FILES.state), JSON.stringify(state, null, 1) + "\n");
    if (parts.config) writeFileSynced(join(tmp, CHECKPOINT_FILES.config), JSON.stringify(parts.config, null, 2) + "\n");
  });
}

/** Loads a checkpoint written by {@link saveCheckpoint} into `model` (and `optimizer`); returns the trainer state. */
export function loadCheckpoint(dir: string, parts: { model: Module; optimizer?: AdamW }): TrainerStateJSON {
  const stateFile = join(dir, CHECKPOINT_FILES.state);
  if (!existsSync(stateFile)) throw new Error(`loadCheckpoint: ${dir} has no ${CHECKPOINT_FILES.state}; is it a trainer checkpoint?`);
  const state = JSON.parse(readFileSync(stateFile, "utf8")) as TrainerStateJSON;
  const saved = state.optimizer as { stepCount: number; steps: Record<string, number> } | undefined;
  if (parts.optimizer && saved === undefined) throw new Error(`loadCheckpoint: ${dir} was saved without optimizer state; it cannot resume training`);
  const moments = parts.optimizer ? loadSafetensors(join(dir, CHECKPOINT_FILES.optimizer)) : undefined;
  loadStateDict(parts.model, loadSafetensors(join(dir, CHECKPOINT_FILES.model)));
  if (parts.optimizer && saved && moments) {
    const params: AdamWState["params"] = {};
    for (const [name, step] of Object.entries(saved.steps)) {
      const m = moments.get(`m.${name}`), v = moments.get(`v.${name}`);
      if (!m || !v) throw new Error(`loadCheckpoint: ${CHECKPOINT_FILES.optimizer} in ${dir} lacks the moments of "${name}"`);
      params[name] = { step, shape: m.shape, m: Array.from(m.data), v: Array.from(v.data) };
    }
    parts.optimizer.setState({ stepCount: saved.stepCount, params });
  }
  return state;
}

/** Options of {@link sequenceClassifierFromPretrained}. */
export interface ClassifierFromPretrainedOptions {
  /** Needed when `dir` holds a language model (no `id2label` in its config.json). */
  numLabels?: number;
  labelNames?: readonly string[];
  problemType?: ProblemType;
  /** Seed of the fresh `score` layer. */
  seed?: number;
}

/**
 * A {@link LlamaForSequenceClassification} from a folder: a saved classifier (the Trainer's `best/`: its label map
 * comes from config.json and every weight is loaded), or a pretrained language model (savePretrained of a
 * LlamaForCausalLM: its `model.*` weights are copied and `score` starts fresh, as HF's from_pretrained does).
 */
export function sequenceClassifierFromPretrained(dir: string, opts: ClassifierFromPretrainedOptions = {}): LlamaForSequenceClassification {
  const { config, json } = readConfigJson(join(dir, CHECKPOINT_FILES.config));
  const id2label = json.id2label as Record<string, string> | undefined;
  const isClassifier = Array.isArray(json.architectures) && json.architectures.includes("LlamaForSequenceClassification");
  if (isClassifier && id2label) {
    const labelNames = opts.labelNames ?? Array.from({ length: Object.keys(id2label).length }, (_, i) => id2label[String(i)]);
    const problemType = opts.problemType ?? (json.problem_type as ProblemType | null) ?? undefined;
    return fromPretrained(dir, {
      build: (c: LlamaConfig) => new LlamaForSequenceClassification(c, { numLabels: labelNames.length, labelNames, problemType, seed: opts.seed }),
    });
  }
  if (opts.numLabels === undefined) {
    throw new Error(`sequenceClassifierFromPretrained: ${dir} holds a language model, not a classifier; pass numLabels (and labelNames)`);
  }
  const lm: LlamaForCausalLM = fromPretrained(dir, { strict: false });
  try {
    const model = new LlamaForSequenceClassification(config, { numLabels: opts.numLabels, labelNames: opts.labelNames, problemType: opts.problemType, seed: opts.seed });
    copyBaseWeights(model, lm);
    return model;
  } finally {
    lm.dispose();
  }
}
