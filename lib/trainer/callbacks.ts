/**
 * Trainer callbacks, as Hugging Face's `TrainerCallback`: hooks called at the start and end of training, after each
 * optimizer step, after each evaluation and after each save. Built in: a JSONL log file and the live progress display.
 */
import * as fs from "fs";
import * as path from "path";
import { DisplayHandle } from "../display/sink";
import { lineChart, plotlyBundle } from "../display/plotly";
import { TrainingProgress } from "../display/progress";

/** One record of the training log (also one line of the JSONL file). */
export interface LogRecord {
  /** "train" after an optimizer step, "eval" after an evaluation, "end" once at the end. */
  kind: "train" | "eval" | "end";
  /** Optimizer steps taken so far. */
  step: number;
  /** Fractional epoch reached. */
  epoch: number;
  /** Numbers: loss, lr, gradNorm for "train"; eval_loss, eval_accuracy, ... for "eval". */
  values: Record<string, number>;
  /** Wall time since this train() call started, in seconds. */
  elapsedS: number;
  /** Why training ended ("end" records): completed, early stopping, interrupted. */
  reason?: string;
}

/** What a callback sees of the run. */
export interface TrainerProgressInfo {
  /** Total optimizer steps planned. */
  maxSteps: number;
  /** Steps already taken when this train() call started (non-zero when resuming). */
  startStep: number;
}

/** Hooks called by the Trainer; all optional, all awaited. */
export interface TrainerCallback {
  onTrainBegin?(info: TrainerProgressInfo): void | Promise<void>;
  onStep?(record: LogRecord): void | Promise<void>;
  onEvaluate?(record: LogRecord): void | Promise<void>;
  onSave?(dir: string, step: number): void | Promise<void>;
  onTrainEnd?(record: LogRecord): void | Promise<void>;
}

/** Appends every log record to a JSON Lines file (one JSON object per line), creating its folder. */
export class JsonlLogger implements TrainerCallback {
  constructor(readonly file: string) {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  }

  private write(record: LogRecord): void {
    // One appendFileSync per line: a line is either fully in the file or not at all.
    fs.appendFileSync(this.file, JSON.stringify({ kind: record.kind, step: record.step, epoch: record.epoch, ...record.values, elapsed_s: record.elapsedS, ...(record.reason ? { reason: record.reason } : {}) }) + "\n");
  }

  onStep(record: LogRecord): void {
    this.write(record);
  }

  onEvaluate(record: LogRecord): void {
    this.write(record);
  }

  onTrainEnd(record: LogRecord): void {
    this.write(record);
  }
}

/** Reads a JSONL log written by {@link JsonlLogger}. */
export function readJsonl(file: string): Record<string, unknown>[] {
  return fs.readFileSync(file, "utf8").split("\n").filter((l) => l.trim() !== "").map((l, i) => {
    try {
      return JSON.parse(l) as Record<string, unknown>;
    } catch {
      throw new Error(`readJsonl: line ${i + 1} of ${file} is not JSON`);
    }
  });
}

/**
 * The notebook display: a progress bar with ETA and a live training-loss chart (TrainingProgress), plus a Plotly
 * chart of the evaluation metrics redrawn after each evaluation.
 */
export class ProgressCallback implements TrainerCallback {
  private progress?: TrainingProgress;
  private readonly evalPlot = new DisplayHandle();
  /** Evaluation history: step and each metric. */
  readonly evalHistory: { step: number; values: Record<string, number> }[] = [];

  constructor(private readonly options: { title?: string; metrics?: string[] } = {}) {}

  onTrainBegin(info: TrainerProgressInfo): void {
    this.progress = new TrainingProgress(info.maxSteps, { title: this.options.title ?? "fine-tuning", chart: ["loss"] });
  }

  onStep(record: LogRecord): void {
    this.progress?.update(record.step, { loss: record.values.loss, lr: record.values.lr });
  }

  onEvaluate(record: LogRecord): void {
    this.evalHistory.push({ step: record.step, values: record.values });
    const names = this.options.metrics ?? Object.keys(record.values).filter((k) => k !== "eval_loss");
    const x = this.evalHistory.map((e) => e.step);
    const series = ["eval_loss", ...names].filter((k) => record.values[k] !== undefined)
      .map((k) => ({ name: k, x, y: this.evalHistory.map((e) => e.values[k]) }));
    this.evalPlot.show(plotlyBundle(lineChart(series, { title: "evaluation", xTitle: "optimizer step" })));
  }

  onTrainEnd(record: LogRecord): void {
    const reason = record.reason ?? "done";
    this.progress?.finish(reason === "completed" ? "done" : reason);
  }
}
