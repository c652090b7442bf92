/**
 * Data-parallel training on one machine: N worker threads, each with its own tfjs backend and a full model
 * replica. Every step the global batch is sharded by supervised tokens, each worker computes the gradient of
 * its shard's token-sum loss divided by the global token count, the coordinator sums the gradients in worker
 * order (the all-reduce), unscales and clips them once, and every worker applies the same AdamW update to its
 * replica. Same starting weights + same update bytes + same deterministic kernels = replicas that never drift.
 *
 * Its options can be the Trainer's own {@link TrainingArguments} names (schedule by name with warm-up, weight
 * decay, max grad norm, accumulation, mixed precision, output dir / save steps), resolved and validated by
 * lib/trainer so that both trainers mean the same thing by them. Under mixed precision every worker runs its
 * forward pass in {@link withAutocast}; fp16's loss-scale check is made once, on the reduced gradient, so every
 * replica skips (or takes) the same steps.
 */
import { join } from "path";
import { Float32Tensor } from "../io/safetensors";
import { loadStateDict } from "../io/pretrained";
import { interruptRequested } from "../interrupt";
import { LlamaConfig, LlamaConfigInit } from "../model/config";
import { LlamaForCausalLM } from "../model/causal_lm";
import { OWNS_TENSORS } from "../ownership";
import { Precision } from "../precision/formats";
import { DynamicLossScaler } from "../precision/loss_scaler";
import { LearningRate, learningRateAt } from "../train/adamw";
import { NonFiniteGradientError } from "../train/loop";
import {
  TrainingArguments, computePrecision, learningRateSchedule, lossScalerFor, resolveTrainingArguments,
} from "../trainer/training_arguments";
import { allFinite, clipFlatInPlace, flatNorm, scaleInPlace, sumInOrderInPlace } from "./allreduce";
import { DataParallelTrainerState, FORMAT, readDataParallelCheckpoint, writeDataParallelCheckpoint } from "./checkpoint";
import { ParamLayout, paramLayout, unflatten } from "./flat_params";
import { FaultInjection, NamedOptimizerState, WorkerAdamWOptions, WorkerReply } from "./messages";
import { LmExample, countSupervisedTokens, shardBySupervisedTokens, splitIntoMicroBatches } from "./sharding";
import { WorkerPool } from "./worker_pool";

/** The {@link TrainingArguments} that apply to data-parallel causal-LM training: same names, types and defaults. */
export type DataParallelTrainingArguments = Pick<
  TrainingArguments,
  | "maxSteps" | "gradientAccumulationSteps" | "learningRate" | "lrScheduler" | "warmupSteps" | "warmupRatio"
  | "weightDecay" | "maxGradNorm" | "mixedPrecision" | "lossScaler" | "outputDir" | "saveSteps"
>;

// Checked against the type both ways, so the runtime list cannot drift from DataParallelTrainingArguments.
const DATA_PARALLEL_ARGUMENTS = Object.keys({
  maxSteps: true, gradientAccumulationSteps: true, learningRate: true, lrScheduler: true, warmupSteps: true, warmupRatio: true,
  weightDecay: true, maxGradNorm: true, mixedPrecision: true, lossScaler: true, outputDir: true, saveSteps: true,
} satisfies Record<keyof DataParallelTrainingArguments, true>);

/** Options that `args` replaces; giving both would leave two answers to one question. */
const REPLACED_BY_ARGS = {
  lr: "learningRate (+ lrScheduler, warmupSteps)",
  weightDecay: "args.weightDecay",
  clipNorm: "maxGradNorm",
  lossScaler: "mixedPrecision: \"fp16\" (+ args.lossScaler options)",
  checkpointDir: "outputDir (checkpoints go to outputDir/checkpoint)",
  checkpointEvery: "saveSteps",
} as const;

/** Options of {@link DataParallelTrainer.create}. */
export interface DataParallelOptions {
  /** Number of worker threads (one model replica and one backend each); typically os.cpus().length. */
  workers: number;
  /** The model to train (LlamaForCausalLM); not needed when `resumeFrom` is given. */
  config?: LlamaConfig | LlamaConfigInit;
  /** Weight-initialisation seed shared by every replica (default 0). */
  seed?: number;
  /** Start from these weights (e.g. `stateDict(model)`) instead of config + seed. */
  initialParameters?: ReadonlyMap<string, Float32Tensor>;
  /** Resume from a checkpoint directory written by this trainer (any worker count may resume it). */
  resumeFrom?: string;
  /**
   * The Trainer's options by their TrainingArguments names, validated and defaulted by lib/trainer (learning rate
   * 5e-4, linear schedule, weight decay 0.01, max grad norm 1). `maxSteps` is required: it is the schedule's length
   * and the default `steps` of {@link DataParallelTrainer.train}. Replaces lr, weightDecay, clipNorm, lossScaler,
   * checkpointDir and checkpointEvery. With `outputDir` the checkpoint is outputDir/checkpoint, written every
   * `saveSteps` steps (0: only when a train() call ends or is interrupted).
   */
  args?: DataParallelTrainingArguments;
  /** Learning rate or schedule `optimizerStep → lr`, evaluated by the coordinator (default 1e-3). */
  lr?: LearningRate;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  /** Clip the global norm of the reduced gradient to this (torch.nn.utils.clip_grad_norm_). */
  clipNorm?: number;
  /** fp16-style dynamic loss scaling: losses are scaled in the workers, the reduced gradient is checked and unscaled once. */
  lossScaler?: DynamicLossScaler;
  /** Save a checkpoint here every `checkpointEvery` steps (and when interrupted). */
  checkpointDir?: string;
  checkpointEvery?: number;
  /** Longest wait for any worker's reply in a step before the run is stopped as hung (default 120 000 ms). */
  stepTimeoutMs?: number;
  /** For tests and demos: make one worker fail at one step. */
  injectFault?: FaultInjection;
}

/** What one data-parallel step did. */
export interface DataParallelStepLog {
  /** Steps taken so far, this one included (1 for the first). */
  step: number;
  /** Mean loss over every supervised token of the global batch. */
  loss: number;
  /** Learning rate used (NaN when the update was skipped). */
  lr: number;
  /** Global L2 norm of the reduced (unscaled) gradient before clipping. */
  gradNorm: number;
  /** Supervised tokens in the global batch. */
  tokens: number;
  /** Supervised tokens each worker processed, by worker index. */
  workerTokens: number[];
  /** Milliseconds each worker spent computing its gradient, by worker index (the rest of stepMs is communication). */
  workerMs: number[];
  /** True when the loss scaler found Inf/NaN and every replica skipped the update. */
  skipped: boolean;
  /** Loss scale the step's losses were multiplied by (1 without loss scaling). */
  lossScale: number;
  /** Wall time of the step; within train() the update runs on into the next step, whose stepMs waits for it. */
  stepMs: number;
  tokensPerSec: number;
}

/** Options of {@link DataParallelTrainer.train}. */
export interface DataParallelTrainOptions {
  /** Steps to run; default: up to args.maxSteps (counting steps already taken, as after a resume). */
  steps?: number;
  /** The global batch of a step — examples, or micro-batches for accumulation — by number of steps already taken. */
  batches: (step: number) => LmExample[] | LmExample[][];
  /** Called after each step (awaited, so a notebook can redraw). */
  onStep?: (log: DataParallelStepLog) => void | Promise<void>;
}

/** Result of {@link DataParallelTrainer.train}. */
export interface DataParallelRunResult {
  logs: DataParallelStepLog[];
  /** True when a Jupyter interrupt stopped the run at a step boundary (the workers were then stopped). */
  interrupted: boolean;
}

const DEFAULT_TIMEOUT_MS = 120_000;
/** Starting a worker loads the wasm backend and builds a replica: allow longer than a step. */
const MIN_INIT_TIMEOUT_MS = 60_000;

function asMicroBatches(batch: LmExample[] | LmExample[][]): LmExample[][] {
  if (!Array.isArray(batch) || batch.length === 0) {
    throw new Error("DataParallelTrainer: a batch must be a non-empty array of examples (or of micro-batches of examples)");
  }
  return Array.isArray(batch[0]) ? (batch as LmExample[][]) : [batch as LmExample[]];
}

/** What the options mean for a step, whichever way (flat options or TrainingArguments) they were given. */
interface StepSettings {
  lr: LearningRate;
  weightDecay?: number;
  clipNorm?: number;
  scaler?: DynamicLossScaler;
  precision: Precision;
  /** Micro-batches per step (TrainingArguments.gradientAccumulationSteps); undefined: batches are used as given. */
  accumulation?: number;
  checkpointDir?: string;
  checkpointEvery?: number;
  /** Write the checkpoint when a train() call ends (TrainingArguments.outputDir, as the Trainer does). */
  saveAtEnd: boolean;
  maxSteps?: number;
}

function settingsFrom(opts: DataParallelOptions): StepSettings {
  if (opts.args === undefined) {
    if (opts.clipNorm !== undefined && !(opts.clipNorm > 0 && Number.isFinite(opts.clipNorm))) {
      throw new Error(`DataParallelTrainer: clipNorm must be a finite number > 0, got ${opts.clipNorm}`);
    }
    return {
      lr: opts.lr ?? 1e-3,
      weightDecay: opts.weightDecay,
      clipNorm: opts.clipNorm,
      scaler: opts.lossScaler,
      precision: "fp32",
      checkpointDir: opts.checkpointDir,
      checkpointEvery: opts.checkpointEvery,
      saveAtEnd: false,
    };
  }
  if (opts.args === null || typeof opts.args !== "object") throw new Error("DataParallelTrainer: args must be an object of TrainingArguments");
  for (const [key, instead] of Object.entries(REPLACED_BY_ARGS)) {
    if (opts[key as keyof typeof REPLACED_BY_ARGS] !== undefined) {
      throw new Error(`DataParallelTrainer: give ${key} or args, not both; with args use ${instead}`);
    }
  }
  for (const key of Object.keys(opts.args)) {
    if (!DATA_PARALLEL_ARGUMENTS.includes(key)) {
      throw new Error(
        `DataParallelTrainer: args.${key} does not apply to data-parallel training (batches come from train({ batches })); ` +
          `supported: ${DATA_PARALLEL_ARGUMENTS.join(", ")}`,
      );
    }
  }
  const a = resolveTrainingArguments(opts.args);
  if (a.maxSteps === undefined) {
    throw new Error("DataParallelTrainer: args.maxSteps is required (the schedule's length; there are no epochs, batches come from a function)");
  }
  const scaler = lossScalerFor(a);
  return {
    lr: learningRateSchedule(a, a.maxSteps),
    weightDecay: a.weightDecay,
    clipNorm: a.maxGradNorm > 0 ? a.maxGradNorm : undefined,
    scaler: scaler.isEnabled() ? scaler : undefined,
    precision: computePrecision(a),
    accumulation: a.gradientAccumulationSteps,
    checkpointDir: a.outputDir !== undefined ? join(a.outputDir, "checkpoint") : undefined,
    checkpointEvery: a.saveSteps > 0 ? a.saveSteps : undefined,
    saveAtEnd: a.outputDir !== undefined,
    maxSteps: a.maxSteps,
  };
}

function checkPositiveInt(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isInteger(value) && value >= 1)) {
    throw new Error(`DataParallelTrainer: ${name} must be a positive integer, got ${value}`);
  }
}

/** Trains one LlamaForCausalLM on N worker threads with synchronous data parallelism. */
export class DataParallelTrainer {
  /** The kernel calls dispose() (stopping the workers) when a cell rebinds the trainer's name. */
  readonly [OWNS_TENSORS] = true;
  private steps: number;
  private optimizerSteps: number;
  private lastParams: Float32Array | null = null;
  private lastSavedStep: number | null = null;
  /**
   * The update train() posted last and has not waited for. Workers handle requests in arrival order, so the
   * next step's gradient request (and any params/state request) runs after it; waiting is only for its errors.
   */
  private applying: Promise<unknown> | null = null;

  private constructor(
    private readonly pool: WorkerPool,
    readonly config: LlamaConfig,
    private readonly layout: ParamLayout,
    private readonly opts: DataParallelOptions,
    private readonly settings: StepSettings,
    resumed: DataParallelTrainerState | null,
  ) {
    this.steps = resumed?.step ?? 0;
    this.optimizerSteps = resumed?.optimizerSteps ?? 0;
  }

  /** Starts the workers, builds (or loads) identical replicas on each, and resolves when all are ready. */
  static async create(opts: DataParallelOptions): Promise<DataParallelTrainer> {
    if (opts == null || typeof opts !== "object") throw new Error("DataParallelTrainer.create: pass an options object");
    checkPositiveInt("workers", opts.workers);
    if (opts.workers === undefined) throw new Error("DataParallelTrainer: workers is required (e.g. os.cpus().length)");
    checkPositiveInt("checkpointEvery", opts.checkpointEvery);
    checkPositiveInt("stepTimeoutMs", opts.stepTimeoutMs);
    if (opts.checkpointEvery !== undefined && opts.checkpointDir === undefined) {
      throw new Error("DataParallelTrainer: checkpointEvery needs checkpointDir");
    }
    const settings = settingsFrom(opts);
    if (opts.resumeFrom !== undefined && opts.initialParameters !== undefined) {
      throw new Error("DataParallelTrainer: give resumeFrom or initialParameters, not both");
    }
    const f = opts.injectFault;
    if (f !== undefined && !(Number.isInteger(f.worker) && f.worker >= 0 && f.worker < opts.workers)) {
      throw new Error(`DataParallelTrainer: injectFault.worker must be a worker index in [0, ${opts.workers}), got ${f.worker}`);
    }
    if (f !== undefined && f.during !== undefined && f.during !== "gradients" && f.during !== "update") {
      throw new Error(`DataParallelTrainer: injectFault.during must be "gradients" or "update", got ${String(f.during)}`);
    }
    const ckpt = opts.resumeFrom !== undefined ? readDataParallelCheckpoint(opts.resumeFrom) : null;
    let config: LlamaConfig;
    if (ckpt !== null) {
      config = ckpt.config;
      if (opts.config !== undefined) {
        const given = opts.config instanceof LlamaConfig ? opts.config : new LlamaConfig(opts.config);
        if (JSON.stringify(given.with({ architectures: config.architectures }).toJSON()) !== JSON.stringify(config.toJSON())) {
          throw new Error(`DataParallelTrainer: config differs from the one in ${opts.resumeFrom}; leave config out to resume`);
        }
      }
      if (settings.maxSteps !== undefined && ckpt.state.maxSteps !== undefined && ckpt.state.maxSteps !== settings.maxSteps) {
        throw new Error(
          `DataParallelTrainer: the checkpoint in ${opts.resumeFrom} belongs to a run of maxSteps ${ckpt.state.maxSteps}; ` +
            `args.maxSteps is ${settings.maxSteps}. Resume with the same maxSteps (the schedule spans it)`,
        );
      }
      // As the Trainer: a saved scale resumes under loss scaling; a run without scaling ignores it.
      if (settings.scaler !== undefined && ckpt.state.lossScaler && Object.keys(ckpt.state.lossScaler).length > 0) {
        settings.scaler.setState(ckpt.state.lossScaler);
      }
    } else if (opts.config !== undefined) {
      config = opts.config instanceof LlamaConfig ? opts.config : new LlamaConfig(opts.config);
    } else {
      throw new Error("DataParallelTrainer: give config (a LlamaConfig) or resumeFrom (a checkpoint directory)");
    }
    const timeout = opts.stepTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    const pool = new WorkerPool(opts.workers, timeout);
    const optimizer: WorkerAdamWOptions = { betas: opts.betas, eps: opts.eps, weightDecay: settings.weightDecay };
    const params = ckpt?.params ?? (opts.initialParameters ? new Map(opts.initialParameters) : undefined);
    const optimizerState: NamedOptimizerState | undefined = ckpt?.optimizer;
    try {
      const replies = await pool.all(
        (index) => ({
          body: {
            type: "init", index, config: config.toInit(), seed: opts.seed ?? 0, params, optimizer, optimizerState,
            precision: settings.precision, fault: opts.injectFault,
          },
        }),
        null,
        Math.max(timeout, MIN_INIT_TIMEOUT_MS),
      );
      const ready = replies[0] as Extract<WorkerReply, { type: "ready" }>;
      const layout = paramLayout(ready.names.map((name, i) => [name, { shape: ready.shapes[i] }] as const));
      return new DataParallelTrainer(pool, config, layout, opts, settings, ckpt?.state ?? null);
    } catch (e) {
      await pool.terminate();
      throw e;
    }
  }

  /** Number of workers. */
  get workers(): number {
    return this.pool.count;
  }

  /** Steps taken so far (across resumes). */
  get stepCount(): number {
    return this.steps;
  }

  /** Compute precision of the workers' forward passes ("fp32" unless args.mixedPrecision is "fp16" or "bf16"). */
  get precision(): Precision {
    return this.settings.precision;
  }

  /** The dynamic loss scaler in use (fp16), or undefined when losses are not scaled. */
  get lossScaler(): DynamicLossScaler | undefined {
    return this.settings.scaler;
  }

  /** Steps the run is configured for (args.maxSteps), or undefined without TrainingArguments. */
  get maxSteps(): number | undefined {
    return this.settings.maxSteps;
  }

  /** Where checkpoints are written (checkpointDir, or args.outputDir/checkpoint), if anywhere. */
  get checkpointDir(): string | undefined {
    return this.settings.checkpointDir;
  }

  /** The learning rate the next update will use. */
  currentLr(): number {
    return learningRateAt(this.settings.lr, this.optimizerSteps, "DataParallelTrainer");
  }

  /**
   * One synchronous step on a global batch: a list of examples, or a list of micro-batches whose gradients are
   * accumulated (the loss is normalised over the supervised tokens of all of them together). With
   * args.gradientAccumulationSteps k a list of examples is split into k micro-batches, and a list of micro-batches
   * must hold k of them.
   */
  async trainStep(batch: LmExample[] | LmExample[][]): Promise<DataParallelStepLog> {
    const log = await this.step(batch);
    await this.settleUpdate();
    return log;
  }

  /** Waits for the update train() posted last (rethrowing its failure). */
  private async settleUpdate(): Promise<void> {
    const applying = this.applying;
    this.applying = null;
    if (applying !== null) await applying;
  }

  /**
   * One step that posts its update without waiting for the workers to finish it: the coordinator prepares and
   * posts the next batch while the replicas run AdamW, instead of a reply round trip after every update.
   */
  private async step(batch: LmExample[] | LmExample[][]): Promise<DataParallelStepLog> {
    const start = performance.now();
    const micro = this.microBatches(batch);
    const tokens = micro.reduce((n, mb) => n + countSupervisedTokens(mb), 0);
    if (tokens === 0) throw new Error("DataParallelTrainer.trainStep: the batch has no supervised tokens (every label is -100)");
    const n = this.pool.count;
    const shards = micro.map((mb) => shardBySupervisedTokens(mb, n)); // [micro][worker]
    const step = this.steps + 1;
    const scaler = this.settings.scaler;
    const scale = scaler?.getScale() ?? 1;
    const previous = this.applying;
    this.applying = null;
    const replies = (await this.pool.all(
      (w) => ({ body: { type: "grads", step, shards: shards.map((s) => s[w].examples), normaliser: tokens, lossScale: scale } }),
      step,
    )) as Extract<WorkerReply, { type: "grads" }>[];
    await previous; // done by now: each worker answered it before these gradients
    // The all-reduce: a sum in worker order, so the result never depends on which worker answered first.
    // The gradient buffers were transferred to this thread and are used once: sum into worker 0's.
    const reduced = sumInOrderInPlace(replies.map((r) => r.grads));
    const loss = replies.reduce((s, r) => s + r.loss, 0);
    let skipped = false;
    if (scaler !== undefined) {
      // One decision, on the reduced gradient, for every replica: Inf/NaN in any worker's part reaches the sum.
      skipped = !allFinite(reduced);
      scaleInPlace(reduced, 1 / scale); // GradScaler multiplies by the float32 reciprocal
    }
    const clipNorm = this.settings.clipNorm;
    const gradNorm = skipped ? NaN : clipNorm !== undefined ? clipFlatInPlace(reduced, clipNorm) : flatNorm(reduced);
    if (!skipped && !Number.isFinite(gradNorm)) throw new NonFiniteGradientError("DataParallelTrainer", step, gradNorm, loss);
    let lr = NaN;
    if (!skipped) {
      lr = this.currentLr();
      // Each worker gets its own buffer, transferred rather than structured-cloned: a clone is serialised on this
      // thread per worker (before the next worker's message leaves) and again in the worker, where a copy costs a
      // memcpy. The last worker takes the reduced buffer itself.
      const applying = this.pool.all((w) => {
        const grads = w === n - 1 ? reduced : reduced.slice();
        return { body: { type: "apply", step, grads, lr }, transfer: [grads.buffer as ArrayBuffer] };
      }, step);
      applying.catch(() => undefined); // a failure also rejects the next request; settleUpdate() rethrows it
      this.applying = applying;
      this.optimizerSteps += 1;
    }
    scaler?.update(skipped);
    this.steps = step;
    this.lastParams = null;
    const { checkpointEvery, checkpointDir } = this.settings;
    if (checkpointEvery !== undefined && step % checkpointEvery === 0) await this.saveCheckpoint(checkpointDir!);
    const stepMs = performance.now() - start;
    const workerTokens = Array.from({ length: n }, (_, w) => shards.reduce((s, mb) => s + mb[w].tokens, 0));
    const workerMs = replies.map((r) => r.computeMs);
    return { step, loss, lr, gradNorm, tokens, workerTokens, workerMs, skipped, lossScale: scale, stepMs, tokensPerSec: tokens / (stepMs / 1000) };
  }

  private microBatches(batch: LmExample[] | LmExample[][]): LmExample[][] {
    const micro = asMicroBatches(batch);
    const k = this.settings.accumulation;
    if (k === undefined) return micro;
    if (Array.isArray(batch[0])) {
      if (micro.length !== k) {
        throw new Error(
          `DataParallelTrainer.trainStep: got ${micro.length} micro-batches but args.gradientAccumulationSteps is ${k}; ` +
            "pass k micro-batches, or one list of examples for the trainer to split",
        );
      }
      return micro;
    }
    return splitIntoMicroBatches(micro[0], k);
  }

  /**
   * Runs `steps` steps (default: up to args.maxSteps), taking each global batch from `batches(stepsTaken)` (so a
   * resumed run sees the same data order); with args.outputDir the checkpoint is written when the run ends. A
   * Jupyter interrupt stops it at the next step boundary: a checkpoint is written (when configured),
   * the final weights are kept for {@link parameters}, and the workers are terminated. A worker failure stops
   * it with a {@link WorkerFailure} naming the worker and step; earlier checkpoints are untouched. Gradients with a
   * non-finite norm stop it with a {@link NonFiniteGradientError} before their update: the trainer stays usable,
   * and the last good weights are checkpointed (when configured).
   */
  async train(run: DataParallelTrainOptions): Promise<DataParallelRunResult> {
    if (run == null || typeof run !== "object") throw new Error("DataParallelTrainer.train: pass { steps?, batches, onStep? }");
    const maxSteps = this.settings.maxSteps;
    if (run.steps === undefined && maxSteps === undefined) {
      throw new Error("DataParallelTrainer.train: give steps (or create the trainer with args.maxSteps)");
    }
    const steps = run.steps ?? Math.max(0, maxSteps! - this.steps);
    if (!(Number.isInteger(steps) && steps >= 0)) throw new Error(`DataParallelTrainer.train: steps must be an integer ≥ 0, got ${steps}`);
    if (typeof run.batches !== "function") throw new Error("DataParallelTrainer.train: batches must be a function stepsTaken → batch");
    const logs: DataParallelStepLog[] = [];
    try {
      for (let i = 0; i < steps; i++) {
        if (interruptRequested()) {
          await this.stopForInterrupt();
          return { logs, interrupted: true };
        }
        const log = await this.step(run.batches(this.steps));
        logs.push(log);
        if (run.onStep) await run.onStep(log);
      }
      await this.settleUpdate();
      if (this.settings.saveAtEnd && logs.length > 0 && this.lastSavedStep !== this.steps) await this.saveCheckpoint(this.settings.checkpointDir!);
    } catch (e) {
      if (e instanceof NonFiniteGradientError) {
        // The workers are fine and hold the last good weights: keep them (and the trainer) and checkpoint them.
        const dir = this.settings.checkpointDir;
        if (dir !== undefined && this.lastSavedStep !== this.steps) await this.saveCheckpoint(dir);
      } else {
        await this.pool.terminate();
      }
      throw e;
    }
    return { logs, interrupted: false };
  }

  private async stopForInterrupt(): Promise<void> {
    this.lastParams = await this.flatParams();
    if (this.settings.checkpointDir !== undefined) await this.saveCheckpoint(this.settings.checkpointDir);
    await this.pool.terminate();
  }

  private async flatParams(): Promise<Float32Array> {
    await this.settleUpdate();
    if (this.lastParams !== null) return this.lastParams;
    const reply = (await this.pool.request(0, { type: "params" }, this.steps)) as Extract<WorkerReply, { type: "params" }>;
    return (this.lastParams = reply.params);
  }

  /** The current weights by state-dict name (from worker 0; every replica holds the same). */
  async parameters(): Promise<Map<string, Float32Tensor>> {
    return unflatten(this.layout, await this.flatParams());
  }

  /** Every replica's weights as one flat buffer each, in worker order: to check that they are identical. */
  async replicaParameters(): Promise<Float32Array[]> {
    await this.settleUpdate();
    const replies = await this.pool.all(() => ({ body: { type: "params" } }), this.steps);
    return replies.map((r) => (r as Extract<WorkerReply, { type: "params" }>).params);
  }

  /** Live tensors in each worker's backend, in worker order (constant from step to step when nothing leaks). */
  async workerTensorCounts(): Promise<number[]> {
    await this.settleUpdate();
    const replies = await this.pool.all(() => ({ body: { type: "memory" } }), this.steps);
    return replies.map((r) => (r as Extract<WorkerReply, { type: "memory" }>).numTensors);
  }

  /** A LlamaForCausalLM in this thread holding the current weights (the caller disposes it). */
  async model(): Promise<LlamaForCausalLM> {
    const params = await this.parameters();
    const model = new LlamaForCausalLM(this.config, { seed: this.opts.seed ?? 0 });
    loadStateDict(model, params);
    return model;
  }

  /** Writes one checkpoint (Hugging Face model files + optimizer + trainer state) to `dir`, atomically. */
  async saveCheckpoint(dir: string): Promise<void> {
    await this.settleUpdate();
    const reply = (await this.pool.request(0, { type: "state" }, this.steps)) as Extract<WorkerReply, { type: "state" }>;
    const params = unflatten(this.layout, reply.params);
    const m = unflatten(this.layout, reply.optimizer.m);
    const v = unflatten(this.layout, reply.optimizer.v);
    const paramSteps = Object.fromEntries(this.layout.names.map((name, i) => [name, reply.optimizer.paramSteps[i]]));
    writeDataParallelCheckpoint(dir, {
      config: this.config,
      params,
      optimizer: { stepCount: reply.optimizer.stepCount, paramSteps, m, v },
      state: {
        format: FORMAT,
        step: this.steps,
        optimizerSteps: this.optimizerSteps,
        paramSteps,
        workers: this.pool.count,
        lossScaler: this.settings.scaler?.getState(),
        ...(this.settings.maxSteps !== undefined ? { maxSteps: this.settings.maxSteps } : {}),
      },
    });
    this.lastSavedStep = this.steps;
  }

  /** Stops every worker; the trainer cannot step afterwards. */
  async dispose(): Promise<void> {
    await this.pool.terminate();
  }
}
