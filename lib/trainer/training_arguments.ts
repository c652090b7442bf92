/** The Trainer's options, named after Hugging Face's `TrainingArguments` (camelCase), with its defaults where they fit a CPU. */
import { ScheduleKind, makeSchedule } from "./schedules";
import { Precision } from "../precision/formats";
import { DynamicLossScaler, LossScalerOptions } from "../precision/loss_scaler";

/** Mixed-precision training as Hugging Face's `fp16=True` / `bf16=True` (simulated on float32 storage). */
export type MixedPrecision = "fp16" | "bf16" | "none";

/** Options of a {@link Trainer} run. */
export interface TrainingArguments {
  /** Passes over the training set (default 1); ignored when `maxSteps` is set. */
  numEpochs?: number;
  /** Optimizer steps to take, overriding `numEpochs`. */
  maxSteps?: number;
  /** Examples per micro-batch (default 8). */
  batchSize?: number;
  /** Examples per evaluation batch (default 2 × batchSize). */
  evalBatchSize?: number;
  /** Micro-batches per optimizer step; the loss is normalised over all of their examples (default 1). */
  gradientAccumulationSteps?: number;
  /** Peak learning rate (default 5e-4). */
  learningRate?: number;
  /** "constant", "linear" (default) or "cosine", each after a linear warm-up. */
  lrScheduler?: ScheduleKind;
  /** Warm-up length in steps; default `warmupRatio` × total steps. */
  warmupSteps?: number;
  /** Warm-up as a fraction of all steps (default 0). */
  warmupRatio?: number;
  /** AdamW decoupled weight decay (default 0.01), applied to weight matrices and embeddings, never norms or biases. */
  weightDecay?: number;
  /** Clip the global gradient norm to this (default 1.0); 0 turns clipping off. */
  maxGradNorm?: number;
  /** Evaluate every this many steps (and at the end) when an evaluation set is given; 0 = only at the end. */
  evalSteps?: number;
  /** Seed of the data order (default 42). */
  seed?: number;
  /** Tokens kept per example; longer ones lose their tail (default 128). */
  maxLength?: number;
  /** Where padding goes (default "right"; pooling finds the last real token either way). */
  paddingSide?: "right" | "left";
  /** Stop after this many evaluations without improvement of `metricForBestModel`; off when absent. */
  earlyStoppingPatience?: number;
  /** Minimum improvement that counts (default 0). */
  earlyStoppingThreshold?: number;
  /** Metric that picks the best model and drives early stopping (default "eval_loss"). */
  metricForBestModel?: string;
  /** Default: false for names containing "loss", true otherwise. */
  greaterIsBetter?: boolean;
  /** Restore the best evaluated weights when training completes (default true when there is an evaluation set). */
  loadBestModelAtEnd?: boolean;
  /** Folder for `best/` (the best model, with config.json and label names) and `checkpoint/` (to resume). */
  outputDir?: string;
  /** Write `outputDir/checkpoint` every this many steps (0 = only when the run stops). */
  saveSteps?: number;
  /** JSON Lines file that receives every log record. */
  logFile?: string;
  /** Show the progress bar and live plots (default true). */
  progress?: boolean;
  /**
   * Matmuls in fp16 or bf16 under autocast, fp32 master weights and loss (default "none"). "fp16" adds dynamic loss
   * scaling (steps with Inf/NaN gradients are skipped); bf16 has fp32's range and needs none.
   */
  mixedPrecision?: MixedPrecision;
  /** GradScaler options for fp16 (defaults: scale 2^16, ×2 every 2000 clean steps, ×0.5 on overflow); enabled: false turns scaling off. */
  lossScaler?: LossScalerOptions;
}

/** {@link TrainingArguments} with every default filled in. */
export type ResolvedTrainingArguments = Required<Omit<TrainingArguments, "maxSteps" | "warmupSteps" | "earlyStoppingPatience" | "outputDir" | "logFile" | "lossScaler">> &
  Pick<TrainingArguments, "maxSteps" | "warmupSteps" | "earlyStoppingPatience" | "outputDir" | "logFile" | "lossScaler">;

const INTEGER_FIELDS = ["numEpochs", "maxSteps", "batchSize", "evalBatchSize", "gradientAccumulationSteps", "warmupSteps", "evalSteps", "seed", "maxLength", "earlyStoppingPatience", "saveSteps"] as const;

/** Fills defaults and validates; throws naming the bad field. */
export function resolveTrainingArguments(args: TrainingArguments = {}): ResolvedTrainingArguments {
  for (const k of INTEGER_FIELDS) {
    const v = args[k];
    if (v !== undefined && !(Number.isInteger(v) && v >= 0)) throw new Error(`TrainingArguments: ${k} must be an integer ≥ 0, got ${v}`);
  }
  for (const k of ["batchSize", "evalBatchSize", "gradientAccumulationSteps", "maxLength", "numEpochs", "maxSteps", "earlyStoppingPatience"] as const) {
    if (args[k] === 0) throw new Error(`TrainingArguments: ${k} must be at least 1`);
  }
  for (const k of ["learningRate", "warmupRatio", "weightDecay", "maxGradNorm", "earlyStoppingThreshold"] as const) {
    const v = args[k];
    if (v !== undefined && !(Number.isFinite(v) && v >= 0)) throw new Error(`TrainingArguments: ${k} must be a finite number ≥ 0, got ${v}`);
  }
  if (args.warmupRatio !== undefined && args.warmupRatio > 1) throw new Error(`TrainingArguments: warmupRatio must be in [0, 1], got ${args.warmupRatio}`);
  const mixedPrecision = args.mixedPrecision ?? "none";
  if (mixedPrecision !== "fp16" && mixedPrecision !== "bf16" && mixedPrecision !== "none") {
    throw new Error(`TrainingArguments: mixedPrecision must be "fp16", "bf16" or "none", got ${JSON.stringify(args.mixedPrecision)}`);
  }
  if (args.lossScaler !== undefined && mixedPrecision !== "fp16") {
    throw new Error(`TrainingArguments: lossScaler applies to mixedPrecision "fp16" only (got "${mixedPrecision}"); bf16 and fp32 need no loss scaling`);
  }
  const batchSize = args.batchSize ?? 8;
  const metric = args.metricForBestModel ?? "eval_loss";
  return {
    numEpochs: args.numEpochs ?? 1,
    maxSteps: args.maxSteps,
    batchSize,
    evalBatchSize: args.evalBatchSize ?? 2 * batchSize,
    gradientAccumulationSteps: args.gradientAccumulationSteps ?? 1,
    learningRate: args.learningRate ?? 5e-4,
    lrScheduler: args.lrScheduler ?? "linear",
    warmupSteps: args.warmupSteps,
    warmupRatio: args.warmupRatio ?? 0,
    weightDecay: args.weightDecay ?? 0.01,
    maxGradNorm: args.maxGradNorm ?? 1,
    evalSteps: args.evalSteps ?? 0,
    seed: args.seed ?? 42,
    maxLength: args.maxLength ?? 128,
    paddingSide: args.paddingSide ?? "right",
    earlyStoppingPatience: args.earlyStoppingPatience,
    earlyStoppingThreshold: args.earlyStoppingThreshold ?? 0,
    metricForBestModel: metric.startsWith("eval_") ? metric : `eval_${metric}`,
    greaterIsBetter: args.greaterIsBetter ?? !metric.includes("loss"),
    loadBestModelAtEnd: args.loadBestModelAtEnd ?? true,
    outputDir: args.outputDir,
    saveSteps: args.saveSteps ?? 0,
    logFile: args.logFile,
    progress: args.progress ?? true,
    mixedPrecision,
    lossScaler: args.lossScaler,
  };
}

/** The learning rate `optimizerStep → lr` of resolved arguments over `totalSteps` updates (warm-up: warmupSteps, else ⌈warmupRatio × totalSteps⌉). */
export function learningRateSchedule(args: ResolvedTrainingArguments, totalSteps: number): (step: number) => number {
  const warmup = args.warmupSteps ?? Math.ceil(args.warmupRatio * totalSteps);
  return makeSchedule(args.lrScheduler, { lr: args.learningRate, warmupSteps: warmup, totalSteps });
}

/** Compute precision of the forward passes: "fp32" for mixedPrecision "none". */
export function computePrecision(args: ResolvedTrainingArguments): Precision {
  return args.mixedPrecision === "none" ? "fp32" : args.mixedPrecision;
}

/** The GradScaler of resolved arguments: enabled for mixedPrecision "fp16" unless lossScaler.enabled is false, else a pass-through. */
export function lossScalerFor(args: ResolvedTrainingArguments): DynamicLossScaler {
  return new DynamicLossScaler({ ...args.lossScaler, enabled: args.mixedPrecision === "fp16" && (args.lossScaler?.enabled ?? true) });
}
