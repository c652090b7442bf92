/**
 * The data-parallel trainer's checkpoint: one directory, written once per save by the coordinator (never by the
 * workers), replaced atomically. It is a Hugging Face model directory — config.json + model.safetensors, which
 * `fromPretrained` and `transformers` open as they are — plus optimizer.safetensors (AdamW moments, named
 * `<param>.exp_avg` / `<param>.exp_avg_sq`) and trainer_state.json. Nothing in it depends on the number of
 * workers, so a run can resume with a different count.
 */
import { existsSync, readFileSync } from "fs";
import { join } from "path";
import { PRETRAINED_FILES } from "../io/pretrained";
import { replaceDirAtomic, writeFileSynced } from "../io/atomic";
import { readConfigJson } from "../io/config_json";
import { Float32Tensor, encodeSafetensors, loadSafetensors } from "../io/safetensors";
import { LlamaConfig } from "../model/config";
import { LossScalerState } from "../precision/loss_scaler";
import { NamedOptimizerState } from "./messages";

/** File names of a data-parallel checkpoint beyond the pretrained-model files. */
export const DATA_PARALLEL_FILES = Object.freeze({ optimizer: "optimizer.safetensors", state: "trainer_state.json" });

/** The `format` written in trainer_state.json of a data-parallel checkpoint. */
export const FORMAT = "llamalab-data-parallel/1";

/** trainer_state.json. */
export interface DataParallelTrainerState {
  format: typeof FORMAT;
  /** Training steps taken (including steps skipped for fp16 overflow). */
  step: number;
  /** Optimizer updates applied; the lr schedule is evaluated at this count. */
  optimizerSteps: number;
  /** Per-parameter AdamW step counts. */
  paramSteps: Record<string, number>;
  /** Worker count of the run that wrote it (informational: any count can resume). */
  workers: number;
  lossScaler?: LossScalerState | Record<string, never>;
  /** The run's planned steps when it was configured with TrainingArguments (its schedule spans them). */
  maxSteps?: number;
}

/** Everything a resumed run needs. */
export interface DataParallelCheckpoint {
  config: LlamaConfig;
  params: Map<string, Float32Tensor>;
  optimizer: NamedOptimizerState;
  state: DataParallelTrainerState;
}

/** Writes a checkpoint to `dir`, replacing any previous one whole (a crash leaves the old one or the new one). */
export function writeDataParallelCheckpoint(dir: string, ckpt: DataParallelCheckpoint): void {
  const config = ckpt.config.with({ architectures: ["LlamaForCausalLM"] });
  const weights = encodeSafetensors(ckpt.params, { format: "pt" });
  const moments: [string, Float32Tensor][] = [];
  for (const [name, m] of ckpt.optimizer.m) moments.push([`${name}.exp_avg`, m], [`${name}.exp_avg_sq`, ckpt.optimizer.v.get(name)!]);
  const optimizer = encodeSafetensors(moments, { stepCount: String(ckpt.optimizer.stepCount) });
  replaceDirAtomic(dir, (tmp) => {
    writeFileSynced(join(tmp, PRETRAINED_FILES.weights), weights);
    writeFileSynced(join(tmp, PRETRAINED_FILES.config), JSON.stringify(config.toJSON(), null, 2) + "\n");
    writeFileSynced(join(tmp, DATA_PARALLEL_FILES.optimizer), optimizer);
    writeFileSynced(join(tmp, DATA_PARALLEL_FILES.state), JSON.stringify(ckpt.state, null, 2) + "\n");
  });
}

/** Reads a checkpoint written by {@link writeDataParallelCheckpoint}; errors name the missing or bad file. */
export function readDataParallelCheckpoint(dir: string): DataParallelCheckpoint {
  for (const f of [PRETRAINED_FILES.config, PRETRAINED_FILES.weights, DATA_PARALLEL_FILES.optimizer, DATA_PARALLEL_FILES.state]) {
    if (!existsSync(join(dir, f))) {
      throw new Error(`${dir} is not a data-parallel checkpoint: ${f} is missing (save one with checkpointDir/saveCheckpoint)`);
    }
  }
  const { config } = readConfigJson(join(dir, PRETRAINED_FILES.config));
  const stateFile = join(dir, DATA_PARALLEL_FILES.state);
  let state: DataParallelTrainerState;
  try {
    state = JSON.parse(readFileSync(stateFile, "utf8")) as DataParallelTrainerState;
  } catch (e) {
    throw new Error(`${stateFile} is not valid JSON (${(e as Error).message})`);
  }
  if (state?.format !== FORMAT || !Number.isInteger(state.step) || !Number.isInteger(state.optimizerSteps)) {
    throw new Error(`${stateFile}: expected format "${FORMAT}" with integer step and optimizerSteps`);
  }
  const params = loadSafetensors(join(dir, PRETRAINED_FILES.weights));
  const moments = loadSafetensors(join(dir, DATA_PARALLEL_FILES.optimizer));
  const m = new Map<string, Float32Tensor>();
  const v = new Map<string, Float32Tensor>();
  for (const name of params.keys()) {
    const em = moments.get(`${name}.exp_avg`);
    const ev = moments.get(`${name}.exp_avg_sq`);
    if (em === undefined || ev === undefined) {
      throw new Error(`${join(dir, DATA_PARALLEL_FILES.optimizer)}: no moments for "${name}"; the checkpoint is incomplete`);
    }
    m.set(name, em);
    v.set(name, ev);
  }
  return { config, params, optimizer: { stepCount: state.optimizerSteps, paramSteps: state.paramSteps, m, v }, state };
}
