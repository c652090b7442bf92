/**
 * A fine-tuning loop for the classification heads, after Hugging Face's `Trainer`: epochs or max steps, gradient
 * accumulation normalised over the whole accumulated batch, schedules, weight decay, clipping, periodic
 * evaluation with metrics, early stopping, the best checkpoint, exact resume, `predict()` on raw strings,
 * callbacks, a JSONL log and a live display. Optimizer steps run through {@link trainSteps}; the gradients of one
 * step come from {@link Trainer.computeLossAndGrads}, the seam where loss scaling or data-parallel workers plug in.
 * With `mixedPrecision` the forward passes run under {@link withAutocast} and fp16 adds a GradScaler-style
 * {@link DynamicLossScaler}, whose state travels in the checkpoints.
 */
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { batchIndices, padBatch } from "../data/batch";
import { LlamaForSequenceClassification, ProblemType } from "../model/sequence_classification";
import { LlamaForTokenClassification } from "../model/token_classification";
import { OWNS_TENSORS } from "../ownership";
import { Random } from "../random";
import { AdamW, decayMatricesOnly } from "../train/adamw";
import { IGNORE_INDEX } from "../train/losses";
import { GradOutput, trainSteps } from "../train/loop";
import { interruptRequested } from "../interrupt";
import { JsonlLogger, LogRecord, ProgressCallback, TrainerCallback } from "./callbacks";
import { loadCheckpoint, saveCheckpoint } from "./checkpoint";
import { loadStateDict, stateDict } from "../io/pretrained";
import { Float32Tensor } from "../io/safetensors";
import { EarlyStopping, EarlyStoppingState } from "./early_stopping";
import { ClassificationReport, classificationReport } from "./metrics";
import { Precision } from "../precision/formats";
import { DynamicLossScaler, LossScalerState } from "../precision/loss_scaler";
import { withAutocast } from "../precision/autocast_context";
import { SCALED_STEP_METRICS, unscaleOrSkip } from "../precision/scaled_step";
import { freeTapeOnThrow } from "../train/tape";
import {
  ResolvedTrainingArguments, TrainingArguments, computePrecision, learningRateSchedule, lossScalerFor, resolveTrainingArguments,
} from "./training_arguments";

/** A model the Trainer fine-tunes. */
export type ClassifierModel = LlamaForSequenceClassification | LlamaForTokenClassification;

/**
 * One tokenised example. `label`: a class id (single-label), a number (regression), a 0/1 vector (multi-label), or
 * one class id per token, −100 where unsupervised (token classification).
 */
export interface LabeledExample {
  inputIds: readonly number[];
  label: number | readonly number[];
}

/** A collated micro-batch: tensors (owned by whoever collated it) and its number of supervised items. */
export interface TrainBatch {
  /** [B, T] int32 */
  inputIds: tf.Tensor2D;
  /** [B, T] float32, 1 = real token */
  attentionMask: tf.Tensor2D;
  /** [B] int32, [B] or [B, C] float32, or [B, T] int32, by task */
  labels: tf.Tensor;
  /** Items the loss averages over: rows, label entries, or tokens labelled ≠ −100. */
  count: number;
}

/** Anything that turns text into token ids (a ByteLevelBPETokenizer). */
export interface TextEncoder {
  encode(text: string): number[];
}

/** Options of a {@link Trainer}. */
export interface TrainerOptions {
  model: ClassifierModel;
  args?: TrainingArguments;
  train: readonly LabeledExample[];
  /** Evaluation set for periodic metrics, early stopping and the best model. */
  eval?: readonly LabeledExample[];
  /** Needed by {@link Trainer.predict} on raw strings. */
  tokenizer?: TextEncoder;
  callbacks?: TrainerCallback[];
  /** Id written at padded positions; default the model's pad_token_id, else 0 (masked either way). */
  padId?: number;
}

/** Result of {@link Trainer.evaluate}: the numbers (eval_loss, eval_accuracy, ...) and, for classifiers, the report. */
export interface EvalResult {
  metrics: Record<string, number>;
  report?: ClassificationReport;
  /** Predicted class per example (per labelled token for token classification). */
  predictions: number[];
  /** True class per example, aligned with predictions. */
  references: number[];
}

/** One prediction of {@link Trainer.predict}. */
export interface Prediction {
  /** Best class name (single-label), names over 0.5 joined by "," (multi-label), or the value as text (regression). */
  label: string;
  /** Best class id (−1 for regression and multi-label). */
  labelId: number;
  /** Probability of the best class (softmax), or the regression value. */
  score: number;
  /** Softmax (single-label) or sigmoid (multi-label) per class; the raw outputs for regression. */
  probabilities: number[];
}

/** How {@link Trainer.train} ended. */
export interface TrainResult {
  globalStep: number;
  reason: "completed" | "early_stopping" | "interrupted";
  /** Mean training loss over the steps of this call. */
  trainLoss: number;
  bestMetric: number | null;
  bestStep: number | null;
  history: LogRecord[];
}

/** Where the data order stands: epoch, micro-batch within it, and the RNG state the epoch's order was drawn from. */
interface DataCursor {
  epoch: number;
  microBatch: number;
  epochRngState: number;
}

/** A Hugging Face-style trainer for {@link LlamaForSequenceClassification} and {@link LlamaForTokenClassification}. */
export class Trainer {
  /** The kernel frees the optimizer's moments when a cell rebinds the trainer. */
  readonly [OWNS_TENSORS] = true;
  readonly model: ClassifierModel;
  readonly args: ResolvedTrainingArguments;
  readonly optimizer: AdamW;
  /** Every log record of every train() call, in order. */
  readonly history: LogRecord[] = [];
  /** Optimizer steps planned in all. */
  readonly maxSteps: number;
  /** Optimizer steps in one pass over the training set. */
  readonly stepsPerEpoch: number;
  /** Dynamic loss scaling: enabled for mixedPrecision "fp16" (unless args.lossScaler.enabled is false), else a pass-through. */
  readonly lossScaler: DynamicLossScaler;
  /** Compute precision of the forward passes ("fp32" for mixedPrecision "none"). */
  readonly precision: Precision;
  private readonly trainSet: readonly LabeledExample[];
  private readonly evalSet?: readonly LabeledExample[];
  private readonly tokenizer?: TextEncoder;
  private readonly callbacks: TrainerCallback[];
  private readonly padId: number;
  private readonly rng: Random;
  private readonly earlyStopping?: EarlyStopping;
  private cursor: DataCursor;
  private order: number[][];
  private best: { metric: number; step: number; weights: Map<string, Float32Tensor> } | null = null;

  constructor(opts: TrainerOptions) {
    const { model } = opts;
    if (!(model instanceof LlamaForSequenceClassification || model instanceof LlamaForTokenClassification)) {
      throw new Error("Trainer: model must be a LlamaForSequenceClassification or LlamaForTokenClassification");
    }
    if (!Array.isArray(opts.train) || opts.train.length === 0) throw new Error("Trainer: train must be a non-empty array of { inputIds, label }");
    this.model = model;
    this.args = resolveTrainingArguments(opts.args);
    this.trainSet = opts.train;
    this.evalSet = opts.eval && opts.eval.length > 0 ? opts.eval : undefined;
    this.tokenizer = opts.tokenizer;
    this.padId = opts.padId ?? model.config.pad_token_id ?? 0;
    const a = this.args;
    const microPerEpoch = Math.ceil(this.trainSet.length / a.batchSize);
    this.stepsPerEpoch = Math.ceil(microPerEpoch / a.gradientAccumulationSteps);
    this.maxSteps = a.maxSteps ?? a.numEpochs * this.stepsPerEpoch;
    const lr = learningRateSchedule(a, this.maxSteps);
    // Decay weight matrices and embeddings only: rank-1 tensors are RMSNorm weights and biases.
    this.optimizer = new AdamW(model.namedParameters(), { lr, weightDecay: a.weightDecay, decay: decayMatricesOnly });
    this.precision = computePrecision(a);
    this.lossScaler = lossScalerFor(a);
    this.callbacks = [...(opts.callbacks ?? [])];
    if (a.logFile) this.callbacks.push(new JsonlLogger(a.logFile));
    if (a.progress) this.callbacks.push(new ProgressCallback());
    if (a.earlyStoppingPatience !== undefined) {
      if (!this.evalSet) throw new Error("Trainer: earlyStoppingPatience needs an eval set to watch");
      this.earlyStopping = new EarlyStopping({
        patience: a.earlyStoppingPatience,
        threshold: a.earlyStoppingThreshold,
        greaterIsBetter: a.greaterIsBetter,
      });
    }
    this.rng = new Random(a.seed);
    this.cursor = { epoch: 0, microBatch: 0, epochRngState: this.rng.getState() };
    this.order = this.drawOrder();
    for (const [i, ex] of this.trainSet.entries()) this.checkExample(ex, `train[${i}]`);
    this.evalSet?.forEach((ex, i) => this.checkExample(ex, `eval[${i}]`));
  }

  /** Optimizer steps taken so far. */
  get globalStep(): number {
    return this.optimizer.stepCount;
  }

  /** Trains until `maxSteps`, early stopping or an interrupt; with `resumeFrom`, first restores that checkpoint. */
  async train(options: { resumeFrom?: string } = {}): Promise<TrainResult> {
    if (options.resumeFrom) this.restore(options.resumeFrom);
    const a = this.args;
    const startStep = this.globalStep;
    const started = performance.now();
    const elapsedS = (): number => (performance.now() - started) / 1000;
    const record = (kind: LogRecord["kind"], values: Record<string, number>, reason?: string): LogRecord => {
      const r: LogRecord = { kind, step: this.globalStep, epoch: this.globalStep / this.stepsPerEpoch, values, elapsedS: elapsedS() };
      if (reason) r.reason = reason;
      this.history.push(r);
      return r;
    };
    for (const cb of this.callbacks) await cb.onTrainBegin?.({ maxSteps: this.maxSteps, startStep });
    let stopEarly = false;
    const losses: number[] = [];
    await trainSteps<TrainBatch[]>({
      params: this.model.namedParameters(),
      optimizer: this.optimizer,
      steps: Math.max(0, this.maxSteps - startStep),
      batches: () => this.nextStepBatches(),
      gradFn: (micro) => this.computeLossAndGrads(micro),
      clipNorm: a.maxGradNorm > 0 ? a.maxGradNorm : undefined,
      disposeBatches: true,
      shouldStop: () => stopEarly,
      onStep: async (log) => {
        losses.push(log.loss);
        // Under fp16 loss scaling the record also says which scale the step used and whether it was skipped.
        const scaling: Record<string, number> = this.lossScaler.isEnabled()
          ? { [SCALED_STEP_METRICS.scale]: log.metrics[SCALED_STEP_METRICS.scale], [SCALED_STEP_METRICS.skipped]: log.metrics[SCALED_STEP_METRICS.skipped] }
          : {};
        const r = record("train", { loss: log.loss, lr: log.lr, grad_norm: log.gradNorm, ...scaling });
        for (const cb of this.callbacks) await cb.onStep?.(r);
        const step = this.globalStep;
        if (this.evalSet && a.evalSteps > 0 && step % a.evalSteps === 0 && step < this.maxSteps) {
          stopEarly = await this.evaluateAndTrack(record);
        }
        if (a.outputDir && a.saveSteps > 0 && step % a.saveSteps === 0) await this.saveTrainingCheckpoint();
      },
    });
    const interrupted = this.globalStep < this.maxSteps && !stopEarly && interruptRequested();
    // A final evaluation unless one just ran at this step.
    const last = this.history[this.history.length - 1];
    if (this.evalSet && !interrupted && !(last?.kind === "eval" && last.step === this.globalStep)) await this.evaluateAndTrack(record);
    if (a.outputDir) await this.saveTrainingCheckpoint();
    const reason: TrainResult["reason"] = interrupted ? "interrupted" : stopEarly ? "early_stopping" : "completed";
    // After an interrupt the current weights stay, so that training can resume from them.
    if (!interrupted && a.loadBestModelAtEnd && this.best) loadStateDict(this.model, this.best.weights);
    const end = record("end", { train_loss: mean(losses), ...(this.best ? { best_metric: this.best.metric } : {}) }, reason);
    for (const cb of this.callbacks) await cb.onTrainEnd?.(end);
    return {
      globalStep: this.globalStep,
      reason,
      trainLoss: mean(losses),
      bestMetric: this.best?.metric ?? null,
      bestStep: this.best?.step ?? null,
      history: [...this.history],
    };
  }

  /**
   * The step seam: loss and gradients of one optimizer step over its micro-batches. Each micro-batch contributes
   * ∇(its summed loss / N), N = supervised items in all of them, so k micro-batches give exactly the loss and
   * gradients of one batch holding them all (not the mean of per-micro-batch means). Forward passes run in
   * {@link precision}; with fp16 loss scaling the gradients of loss × scale are accumulated, then unscaled once
   * (clipping follows in trainSteps), and a step whose gradients overflowed returns none (see unscaleOrSkip).
   */
  computeLossAndGrads(microBatches: readonly TrainBatch[]): GradOutput {
    const scaling = this.lossScaler.isEnabled();
    const raw = this.accumulateLossAndGrads(microBatches, scaling ? this.lossScaler.getScale() : undefined);
    return scaling ? unscaleOrSkip(this.lossScaler, raw.loss, raw.grads) : raw;
  }

  // Loss (unscaled) and gradients (of loss × lossScale when given) summed over the micro-batches.
  private accumulateLossAndGrads(microBatches: readonly TrainBatch[], lossScale?: number): GradOutput {
    if (microBatches.length === 0) throw new Error("computeLossAndGrads: no micro-batches");
    const total = microBatches.reduce((n, b) => n + b.count, 0);
    const scale = 1 / Math.max(1, total);
    const variables = this.model.parameters();
    // Running totals; freed if a micro-batch throws half-way.
    const acc: { loss: tf.Scalar; grads: tf.NamedTensorMap } = { loss: tf.scalar(0), grads: {} };
    try {
      for (const batch of microBatches) {
        let unscaled: tf.Scalar | undefined;
        const out = tf.variableGrads(() => {
          const loss = freeTapeOnThrow(() => withAutocast(this.precision, () => tf.mul(this.lossSum(batch), scale) as tf.Scalar));
          if (lossScale === undefined) return loss;
          unscaled = tf.keep(loss); // the log reports the unscaled loss
          return tf.mul(loss, tf.scalar(lossScale)) as tf.Scalar;
        }, variables);
        if (unscaled) {
          out.value.dispose();
          out.value = unscaled;
        }
        for (const [name, g] of Object.entries(out.grads)) {
          if (g == null) continue;
          const previous = acc.grads[name];
          acc.grads[name] = previous ? tf.add(previous, g) : g;
          if (previous) tf.dispose([previous, g]);
        }
        const previousLoss = acc.loss;
        acc.loss = tf.add(previousLoss, out.value) as tf.Scalar;
        tf.dispose([previousLoss, out.value]);
      }
    } catch (e) {
      tf.dispose([acc.loss, ...Object.values(acc.grads)]);
      throw e;
    }
    return acc;
  }

  /** Loss, accuracy, precision, recall and F1 (macro) on `examples` (default: the eval set), in batches, no gradients. */
  evaluate(examples: readonly LabeledExample[] | undefined = this.evalSet): EvalResult {
    if (!examples || examples.length === 0) throw new Error("Trainer.evaluate: no examples; pass some or give the Trainer an eval set");
    let lossSum = 0, count = 0;
    const predictions: number[] = [], references: number[] = [];
    const problem = this.problemType();
    for (let start = 0; start < examples.length; start += this.args.evalBatchSize) {
      const chunk = examples.slice(start, start + this.args.evalBatchSize);
      const batch = this.collate(chunk);
      try {
        const [sum, preds] = tf.tidy(() => {
          const logits = withAutocast(this.precision, () => this.model.forward(batch.inputIds, { attentionMask: batch.attentionMask }));
          return [this.lossSumOf(logits, batch.labels), tf.argMax(logits, -1)];
        });
        lossSum += sum.dataSync()[0];
        count += batch.count;
        const p = preds.arraySync() as number[] | number[][];
        tf.dispose([sum, preds]);
        chunk.forEach((ex, i) => {
          if (problem === "single_label_classification") {
            predictions.push((p as number[])[i]);
            references.push(ex.label as number);
          } else if (problem === "token_classification") {
            const labels = (ex.label as number[]).slice(0, this.args.maxLength);
            const offset = this.args.paddingSide === "left" ? (p as number[][])[i].length - labels.length : 0;
            labels.forEach((l, j) => {
              if (l !== IGNORE_INDEX) (predictions.push((p as number[][])[i][offset + j]), references.push(l));
            });
          }
        });
      } finally {
        tf.dispose([batch.inputIds, batch.attentionMask, batch.labels]);
      }
    }
    const metrics: Record<string, number> = { eval_loss: lossSum / Math.max(1, count) };
    if (problem === "single_label_classification" || problem === "token_classification") {
      const report = classificationReport(references, predictions, this.model.labelNames);
      Object.assign(metrics, {
        eval_accuracy: report.accuracy,
        eval_precision: report.macroPrecision,
        eval_recall: report.macroRecall,
        eval_f1: report.macroF1,
      });
      return { metrics, report, predictions, references };
    }
    return { metrics, predictions, references };
  }

  /** Classifies raw strings with the Trainer's tokenizer (sequence classification). */
  predict(texts: readonly string[]): Prediction[] {
    if (!this.tokenizer) throw new Error("Trainer.predict: give the Trainer a tokenizer (new Trainer({ ..., tokenizer })) to predict on raw text");
    if (!(this.model instanceof LlamaForSequenceClassification)) throw new Error("Trainer.predict: raw-text prediction is for sequence classification");
    const model = this.model;
    const problem = this.problemType();
    const out: Prediction[] = [];
    for (let start = 0; start < texts.length; start += this.args.evalBatchSize) {
      const ids = texts.slice(start, start + this.args.evalBatchSize).map((t, i) => {
        if (typeof t !== "string") throw new Error(`Trainer.predict: texts[${start + i}] is not a string`);
        const encoded = this.tokenizer!.encode(t);
        return encoded.length > 0 ? encoded : [this.padId];
      });
      const padded = this.pad(ids);
      const rows = tf.tidy(() => {
        const logits = withAutocast(this.precision, () => model.forward(tf.tensor2d(padded.inputIds, undefined, "int32"), {
          attentionMask: tf.tensor2d(padded.attentionMask, undefined, "float32"),
        }));
        if (problem === "single_label_classification") return tf.softmax(logits);
        return problem === "multi_label_classification" ? tf.sigmoid(logits) : logits;
      });
      for (const p of rows.arraySync() as number[][]) {
        if (problem === "single_label_classification") {
          const labelId = p.indexOf(Math.max(...p));
          out.push({ label: model.labelNames[labelId], labelId, score: p[labelId], probabilities: p });
        } else if (problem === "multi_label_classification") {
          const on = model.labelNames.filter((_, i) => p[i] > 0.5);
          out.push({ label: on.join(","), labelId: -1, score: Math.max(...p), probabilities: p });
        } else {
          out.push({ label: String(p[0]), labelId: -1, score: p[0], probabilities: p });
        }
      }
      rows.dispose();
    }
    return out;
  }

  /** Frees the optimizer's state (not the model's weights). */
  dispose(): void {
    this.optimizer.dispose();
  }

  /** The micro-batches of the next optimizer step, advancing (and on epoch ends redrawing) the data order. */
  private nextStepBatches(): TrainBatch[] {
    const out: TrainBatch[] = [];
    if (this.cursor.microBatch >= this.order.length) {
      this.cursor = { epoch: this.cursor.epoch + 1, microBatch: 0, epochRngState: this.rng.getState() };
      this.order = this.drawOrder();
    }
    // An epoch's last step may hold fewer micro-batches, as in Hugging Face's Trainer.
    while (out.length < this.args.gradientAccumulationSteps && this.cursor.microBatch < this.order.length) {
      out.push(this.collate(this.order[this.cursor.microBatch].map((i) => this.trainSet[i])));
      this.cursor.microBatch += 1;
    }
    return out;
  }

  // The epoch's order is drawn from the RNG state saved at the epoch's start, which is what makes resume exact.
  private drawOrder(): number[][] {
    this.rng.setState(this.cursor.epochRngState);
    return batchIndices(this.trainSet.length, this.args.batchSize, this.rng, { shuffle: true });
  }

  private problemType(): ProblemType | "token_classification" {
    if (this.model instanceof LlamaForTokenClassification) return "token_classification";
    if (this.model.problemType) return this.model.problemType;
    return Array.isArray(this.trainSet[0].label) ? "multi_label_classification" : "single_label_classification";
  }

  private pad(ids: number[][], extras?: number[][]) {
    return padBatch<"labels">(ids, {
      padId: this.padId,
      maxLength: this.args.maxLength,
      side: this.args.paddingSide,
      ...(extras ? { extras: { labels: { rows: extras, padValue: IGNORE_INDEX } } } : {}),
    });
  }

  /** Pads and truncates examples into tensors; the caller disposes them. */
  collate(examples: readonly LabeledExample[]): TrainBatch {
    const problem = this.problemType();
    const ids = examples.map((e) => [...e.inputIds]);
    if (problem === "token_classification") {
      const padded = this.pad(ids, examples.map((e) => [...(e.label as number[])]));
      const labels = padded.extras.labels;
      return {
        inputIds: tf.tensor2d(padded.inputIds, undefined, "int32"),
        attentionMask: tf.tensor2d(padded.attentionMask, undefined, "float32"),
        labels: tf.tensor2d(labels, undefined, "int32"),
        count: labels.reduce((n, row) => n + row.filter((l) => l !== IGNORE_INDEX).length, 0),
      };
    }
    const padded = this.pad(ids);
    const c = this.model.numLabels;
    let labels: tf.Tensor;
    let count = examples.length;
    if (problem === "single_label_classification") labels = tf.tensor1d(examples.map((e) => e.label as number), "int32");
    else if (problem === "multi_label_classification") {
      labels = tf.tensor2d(examples.map((e) => [...(e.label as number[])]), [examples.length, c], "float32");
      count *= c;
    } else if (c === 1) labels = tf.tensor1d(examples.map((e) => e.label as number), "float32");
    else {
      labels = tf.tensor2d(examples.map((e) => [...(e.label as number[])]), [examples.length, c], "float32");
      count *= c;
    }
    return {
      inputIds: tf.tensor2d(padded.inputIds, undefined, "int32"),
      attentionMask: tf.tensor2d(padded.attentionMask, undefined, "float32"),
      labels,
      count,
    };
  }

  private lossSum(batch: TrainBatch): tf.Scalar {
    return this.lossSumOf(this.model.forward(batch.inputIds, { attentionMask: batch.attentionMask }), batch.labels);
  }

  /** The summed loss of the model's logits against `labels` (per sequence or per token, as the head is). */
  private lossSumOf(logits: tf.Tensor, labels: tf.Tensor): tf.Scalar {
    return this.model instanceof LlamaForSequenceClassification
      ? this.model.lossSum(logits as tf.Tensor2D, labels).sum
      : this.model.lossSum(logits as tf.Tensor3D, labels).sum;
  }

  private checkExample(ex: LabeledExample, where: string): void {
    if (ex == null || !Array.isArray(ex.inputIds) || ex.inputIds.length === 0) {
      throw new Error(`Trainer: ${where} needs a non-empty inputIds array of token ids`);
    }
    const problem = this.problemType();
    const c = this.model.numLabels;
    const ok = problem === "single_label_classification" ? Number.isInteger(ex.label) && (ex.label as number) >= 0 && (ex.label as number) < c
      : problem === "token_classification" ? Array.isArray(ex.label) && ex.label.length === ex.inputIds.length
      : problem === "multi_label_classification" ? Array.isArray(ex.label) && ex.label.length === c
      : c === 1 ? typeof ex.label === "number" : Array.isArray(ex.label) && ex.label.length === c;
    if (!ok) {
      const want = problem === "single_label_classification" ? `a class id in [0, ${c})`
        : problem === "token_classification" ? "one label per token (−100 to skip)"
        : `${c === 1 ? "a number" : `${c} numbers`}`;
      throw new Error(`Trainer: ${where}.label is ${JSON.stringify(ex.label)}; ${problem} needs ${want}`);
    }
  }

  /** Evaluates, logs, tracks the best model and early stopping; returns true when training should stop. */
  private async evaluateAndTrack(record: (kind: LogRecord["kind"], values: Record<string, number>) => LogRecord): Promise<boolean> {
    const { metrics } = this.evaluate();
    const r = record("eval", metrics);
    for (const cb of this.callbacks) await cb.onEvaluate?.(r);
    const a = this.args;
    const value = metrics[a.metricForBestModel];
    if (value === undefined) {
      throw new Error(`Trainer: metricForBestModel "${a.metricForBestModel}" is not among ${Object.keys(metrics).join(", ")}`);
    }
    const improved = this.best === null || (a.greaterIsBetter ? value > this.best.metric : value < this.best.metric);
    if (improved) {
      this.best = { metric: value, step: this.globalStep, weights: stateDict(this.model) };
      if (a.outputDir) {
        const dir = path.join(a.outputDir, "best");
        saveCheckpoint(dir, { model: this.model, state: { step: this.globalStep, [a.metricForBestModel]: value }, config: this.configJSON() });
        for (const cb of this.callbacks) await cb.onSave?.(dir, this.globalStep);
      }
    }
    return this.earlyStopping?.update(value) ?? false;
  }

  private configJSON(): Record<string, unknown> {
    if (this.model instanceof LlamaForSequenceClassification) return this.model.configJSON();
    const id2label = Object.fromEntries(this.model.labelNames.map((n, i) => [String(i), n]));
    const label2id = Object.fromEntries(this.model.labelNames.map((n, i) => [n, i]));
    return { ...this.model.config.toJSON(), num_labels: this.model.numLabels, id2label, label2id };
  }

  /** Everything besides tensors that a resumed run needs to continue bit for bit. */
  private trainerState(): Record<string, unknown> {
    return {
      globalStep: this.globalStep,
      cursor: { ...this.cursor },
      rngState: this.rng.getState(),
      earlyStopping: this.earlyStopping?.getState() ?? null,
      // GradScaler's state_dict ({} when scaling is off), as HF saves scaler.pt beside the optimizer.
      lossScaler: this.lossScaler.getState(),
      best: this.best ? { metric: this.best.metric, step: this.best.step } : null,
      history: this.history,
      maxSteps: this.maxSteps,
      trainSize: this.trainSet.length,
      args: this.args,
    };
  }

  /** Writes `outputDir/checkpoint` (model, optimizer, data position, RNG, early stopping, history). */
  async saveTrainingCheckpoint(): Promise<string> {
    if (!this.args.outputDir) throw new Error("Trainer: set args.outputDir to save checkpoints");
    const dir = path.join(this.args.outputDir, "checkpoint");
    saveCheckpoint(dir, { model: this.model, optimizer: this.optimizer, state: this.trainerState(), config: this.configJSON() });
    for (const cb of this.callbacks) await cb.onSave?.(dir, this.globalStep);
    return dir;
  }

  private restore(dir: string): void {
    const state = loadCheckpoint(dir, { model: this.model, optimizer: this.optimizer });
    if (state.trainSize !== this.trainSet.length || state.maxSteps !== this.maxSteps) {
      throw new Error(
        `Trainer: the checkpoint in ${dir} was made with ${state.trainSize} training examples and ${state.maxSteps} steps; ` +
          `this Trainer has ${this.trainSet.length} and ${this.maxSteps}. Resume with the same data and arguments.`,
      );
    }
    this.cursor = { ...(state.cursor as DataCursor) };
    this.order = this.drawOrder();
    this.rng.setState(state.rngState as number);
    if (this.earlyStopping && state.earlyStopping) this.earlyStopping.setState(state.earlyStopping as EarlyStoppingState);
    // A checkpoint without scaler state (an fp32 or bf16 run) resumes under fp16 with a fresh scale; a saved
    // scale is ignored by a run that does not scale, as Hugging Face ignores scaler.pt then.
    const scalerState = state.lossScaler as Partial<LossScalerState> | undefined;
    if (this.lossScaler.isEnabled() && scalerState && Object.keys(scalerState).length > 0) this.lossScaler.setState(scalerState);
    this.history.splice(0, this.history.length, ...(state.history as LogRecord[]));
    const best = state.best as { metric: number; step: number } | null;
    this.best = null;
    if (best && this.args.outputDir) {
      // The best weights live in outputDir/best; fall back to the current ones if that folder is gone.
      const bestDir = path.join(this.args.outputDir, "best");
      const probe = stateDict(this.model);
      try {
        loadCheckpoint(bestDir, { model: this.model });
        this.best = { ...best, weights: stateDict(this.model) };
      } catch {
        this.best = { ...best, weights: probe };
      }
      loadStateDict(this.model, probe);
    }
  }
}

function mean(xs: number[]): number {
  return xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}
