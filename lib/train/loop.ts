import * as tf from "@tensorflow/tfjs";
import { interruptRequested } from "../interrupt";
import { AdamW } from "./adamw";
import { clipGradNormTensor, globalNorm } from "./clip";
import { freeTapeOnThrow } from "./tape";

/** What a loss function returns for one batch: the scalar to minimise and any scalars to report. */
export interface LossOutput {
  loss: tf.Scalar;
  metrics?: Record<string, tf.Scalar>;
}

/** What a custom gradient function returns for one batch; {@link trainSteps} disposes every tensor in it. */
export interface GradOutput {
  /** The loss the gradients belong to (for the log). */
  loss: tf.Scalar;
  /** Gradients keyed by variable name, as tf.variableGrads returns them. */
  grads: tf.NamedTensorMap;
  metrics?: Record<string, tf.Scalar>;
}

/** One training step's numbers, as read back from the device. */
export interface StepLog {
  /** Optimizer step count after this update (1 for the first update of a fresh optimizer). */
  step: number;
  loss: number;
  /** Learning rate used for this update. */
  lr: number;
  /** Global L2 norm of the gradients before clipping. */
  gradNorm: number;
  metrics: Record<string, number>;
  /** Tokens per second of this step, when `tokensPerBatch` is given. */
  tokensPerSec?: number;
  /** Wall time of this step, batch fetch to optimizer update, in milliseconds. */
  stepMs: number;
  /** Wall time since `trainSteps` started, in milliseconds. */
  elapsedMs: number;
}

/** Options for {@link trainSteps}. */
export interface TrainStepsOptions<B> {
  /** The parameters to train, by name; the optimizer must have been built over (at least) these. */
  params: [string, tf.Variable][];
  optimizer: AdamW;
  /** Batches: an iterable (the loop stops early when it runs out) or a function called once per step. */
  batches: Iterable<B> | (() => B);
  /** Number of steps to run (at most). */
  steps: number;
  /** Builds the loss for a batch; called inside the gradient tape, so it must be synchronous. */
  lossFn?: (batch: B) => LossOutput;
  /**
   * Instead of `lossFn`: computes loss and gradients itself (gradient accumulation over micro-batches, loss
   * scaling, gradients gathered from workers). Exactly one of `lossFn` and `gradFn` must be given.
   */
  gradFn?: (batch: B) => GradOutput;
  /** Clip the global gradient norm to this value (PyTorch's clip_grad_norm_); no clipping if absent. */
  clipNorm?: number;
  /** Called after every step, and awaited, so a notebook can redraw. */
  onStep?: (log: StepLog) => void | Promise<void>;
  /** Checked before every step; returning true ends the run at that step boundary. */
  shouldStop?: () => boolean;
  /** Tokens in a batch, to report `tokensPerSec`. */
  tokensPerBatch?: (batch: B) => number;
  /** Dispose every tensor in a batch after its step: set when batches are built fresh for each step. */
  disposeBatches?: boolean;
}

function checkOptions<B>(opts: TrainStepsOptions<B>): void {
  if (!Array.isArray(opts.params) || opts.params.length === 0) {
    throw new Error("trainSteps: params must be a non-empty array of [name, tf.Variable] pairs");
  }
  if (!(opts.optimizer instanceof AdamW)) throw new Error("trainSteps: optimizer must be an AdamW");
  if (!Number.isInteger(opts.steps) || opts.steps < 0) {
    throw new Error(`trainSteps: steps must be an integer ≥ 0, got ${opts.steps}`);
  }
  if ((typeof opts.lossFn === "function") === (typeof opts.gradFn === "function")) {
    throw new Error("trainSteps: give exactly one of lossFn (batch → { loss }) and gradFn (batch → { loss, grads })");
  }
  if (opts.clipNorm !== undefined && !(opts.clipNorm > 0 && Number.isFinite(opts.clipNorm))) {
    throw new Error(`trainSteps: clipNorm must be a finite number > 0 (or left out), got ${opts.clipNorm}`);
  }
  const batches = opts.batches as unknown;
  if (typeof batches !== "function" && (batches == null || typeof (batches as Iterable<B>)[Symbol.iterator] !== "function")) {
    throw new Error("trainSteps: batches must be an iterable of batches or a function that returns one");
  }
}

function batchSource<B>(batches: Iterable<B> | (() => B)): () => IteratorResult<B> {
  if (typeof batches === "function") return () => ({ done: false, value: batches() });
  const it = batches[Symbol.iterator]();
  return () => it.next();
}

// Walks arrays and plain objects one level at a time; anything else that is not a tensor is left alone.
function disposeTensorsIn(value: unknown, seen = new Set<unknown>()): void {
  if (value == null || typeof value !== "object" || seen.has(value)) return;
  seen.add(value);
  if (value instanceof tf.Tensor) {
    if (!value.isDisposed) value.dispose();
    return;
  }
  const items = Array.isArray(value) ? value : Object.values(value as Record<string, unknown>);
  for (const item of items) disposeTensorsIn(item, seen);
}

// A gradFn's result in variableGrads' shape; its metrics go to `setMetrics` so the step frees them like lossFn's.
function checkedGradOutput(
  out: GradOutput,
  setMetrics: (names: string[], metrics: tf.Scalar[]) => void,
): { value: tf.Scalar; grads: tf.NamedTensorMap } {
  if (out == null || !(out.loss instanceof tf.Tensor) || out.loss.rank !== 0 || out.grads == null) {
    throw new Error("trainSteps: gradFn must return { loss: tf.Scalar, grads: { name: tensor }, metrics? }");
  }
  const names = Object.keys(out.metrics ?? {});
  setMetrics(names, names.map((k) => out.metrics![k]));
  return { value: out.loss, grads: out.grads };
}

/**
 * Thrown instead of applying an update whose gradients have a non-finite global norm: an Inf or NaN gradient, or
 * one so large that its square overflows float32. The weights and optimizer state are those after `step − 1`.
 */
export class NonFiniteGradientError extends Error {
  constructor(where: string, readonly step: number, readonly gradNorm: number, readonly loss: number) {
    super(
      `${where}: the gradients of step ${step} have a global norm of ${gradNorm} (loss ${loss}), so that update was not ` +
        `applied: the weights are as after step ${step - 1}. Usual causes: a learning rate too high (lower it or add ` +
        "warm-up), gradient clipping turned off (trainSteps' clipNorm, TrainingArguments' maxGradNorm), fp16 without a " +
        "loss scaler, or bad inputs (check this step's batch).",
    );
    this.name = "NonFiniteGradientError";
  }
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Runs up to `steps` optimizer updates: loss and gradients by tf.variableGrads, optional global-norm
 * clipping, an AdamW step, one device read per step for the logged numbers, then `onStep`, then a yield
 * to the event loop so a kernel interrupt or UI update can run. Returns the logs of the steps taken. Gradients
 * holding Inf or NaN stop the run with an error before their update, so the weights stay those of the last step.
 */
export async function trainSteps<B>(opts: TrainStepsOptions<B>): Promise<StepLog[]> {
  checkOptions(opts);
  const { params, optimizer, lossFn, gradFn, clipNorm, onStep, shouldStop, tokensPerBatch } = opts;
  const variables = params.map(([, v]) => v);
  const nextBatch = batchSource(opts.batches);
  const logs: StepLog[] = [];
  const start = performance.now();

  for (let i = 0; i < opts.steps; i++) {
    // A Jupyter interrupt stops the run here, between steps, leaving model and optimizer consistent.
    if (shouldStop?.() || interruptRequested()) break;
    const stepStart = performance.now();
    const next = nextBatch();
    if (next.done) break;
    const batch = next.value;
    const tokens = tokensPerBatch?.(batch);

    let metricNames: string[] = [];
    let kept: tf.Scalar[] = [];
    const lr = optimizer.currentLr();
    let values: tf.TypedArray;
    const pending: tf.Tensor[] = []; // freed if the step throws half-way
    try {
      const { value: loss, grads } = gradFn ? checkedGradOutput(gradFn(batch), (names, metrics) => {
        metricNames = names;
        kept = metrics;
      }) : tf.variableGrads(() => {
        const out = freeTapeOnThrow(() => lossFn!(batch));
        if (out == null || !(out.loss instanceof tf.Tensor) || out.loss.rank !== 0) {
          throw new Error("trainSteps: lossFn must return { loss: tf.Scalar, metrics? }");
        }
        // Metrics are not the tape's result, so the tape's tidy would free them without keep.
        metricNames = Object.keys(out.metrics ?? {});
        kept = metricNames.map((k) => tf.keep(out.metrics![k]));
        return out.loss;
      }, variables);
      pending.push(loss, ...Object.values(grads).filter((g): g is tf.Tensor => g != null));
      const nonNull: tf.NamedTensorMap = {};
      for (const [name, g] of Object.entries(grads)) if (g != null) nonNull[name] = g;
      let gradNorm: tf.Scalar;
      let update: tf.NamedTensorMap;
      if (clipNorm !== undefined) {
        const clipped = clipGradNormTensor(nonNull, clipNorm);
        gradNorm = clipped.totalNorm;
        update = clipped.grads;
        pending.push(gradNorm, ...Object.values(update));
      } else {
        gradNorm = globalNorm(nonNull);
        pending.push(gradNorm);
        update = nonNull;
      }
      // One transfer per step for every number we log, read before the update so that it can check the norm.
      const readback = tf.tidy(() => tf.stack([loss, gradNorm, ...kept.map((m) => tf.cast(m, "float32"))]) as tf.Tensor1D);
      pending.push(readback);
      values = await readback.data();
      // A non-finite gradient would turn every weight it touches into NaN: refuse the update, keep the weights.
      if (Object.keys(update).length > 0 && !Number.isFinite(values[1])) {
        throw new NonFiniteGradientError("trainSteps", optimizer.stepCount + 1, values[1], values[0]);
      }
      optimizer.step(update);
    } finally {
      tf.dispose(pending.filter((t) => !t.isDisposed));
      tf.dispose(kept);
      if (opts.disposeBatches) disposeTensorsIn(batch);
    }

    const now = performance.now();
    const stepMs = now - stepStart;
    const metrics: Record<string, number> = {};
    metricNames.forEach((k, j) => (metrics[k] = values[2 + j]));
    const log: StepLog = {
      step: optimizer.stepCount,
      loss: values[0],
      lr,
      gradNorm: values[1],
      metrics,
      stepMs,
      elapsedMs: now - start,
    };
    if (tokens !== undefined) log.tokensPerSec = tokens / (stepMs / 1000);
    logs.push(log);
    if (onStep) await onStep(log);
    await yieldToEventLoop();
  }
  return logs;
}
