/**
 * The messages between the data-parallel coordinator and its workers. Requests carry an id and the training
 * step they belong to, so a failure can be reported as "worker 2, step 17".
 */
import { Float32Tensor } from "../io/safetensors";
import { LlamaConfigInit } from "../model/config";
import { Precision } from "../precision/formats";
import { AdamWOptions } from "../train/adamw";
import { LmExample } from "./sharding";

/** A deliberate failure, for tests and the notebook's fault demo: worker `worker` fails at step `step`. */
export interface FaultInjection {
  worker: number;
  /** The 1-based optimizer step during whose gradient computation the fault happens. */
  step: number;
  /** throw: an error inside the step; uncaught: an exception outside any handler; exit: process.exit(3); hang: never answers. */
  kind: "throw" | "uncaught" | "exit" | "hang";
  /** While computing the step's gradient (default) or while applying its update, which the coordinator does not wait for. */
  during?: "gradients" | "update";
}

/** Optimizer settings a worker can receive (the learning rate travels with each step instead). */
export type WorkerAdamWOptions = Pick<AdamWOptions, "betas" | "eps" | "weightDecay">;

/** Optimizer moments as flat buffers in the parameter layout, plus the step counts. */
export interface FlatOptimizerState {
  stepCount: number;
  /** Per-parameter AdamW step count, in layout order (0 for a parameter never updated). */
  paramSteps: number[];
  m: Float32Array;
  v: Float32Array;
}

/** Optimizer moments by state-dict name, as a checkpoint stores them. */
export interface NamedOptimizerState {
  stepCount: number;
  /** Per-parameter AdamW step count (0 or absent: never updated). */
  paramSteps: Record<string, number>;
  m: Map<string, Float32Tensor>;
  v: Map<string, Float32Tensor>;
}

/** Coordinator → worker. */
export type WorkerRequest =
  | {
      type: "init";
      index: number;
      config: LlamaConfigInit;
      seed: number;
      /** Starting parameters by state-dict name; absent: built from config + seed in the worker. */
      params?: Map<string, Float32Tensor>;
      optimizer: WorkerAdamWOptions;
      optimizerState?: NamedOptimizerState;
      /** Compute precision of the forward pass's matmuls (withAutocast); "fp32" = plain fp32. */
      precision: Precision;
      fault?: FaultInjection;
    }
  | {
      type: "grads";
      step: number;
      /** This worker's shard of each micro-batch, in micro-batch order (possibly empty). */
      shards: LmExample[][];
      /** Supervised tokens of the whole global batch: every worker, every micro-batch. */
      normaliser: number;
      /** Loss multiplier for fp16-style dynamic loss scaling (1 when off). */
      lossScale: number;
    }
  | { type: "apply"; step: number; grads: Float32Array; lr: number }
  | { type: "params" }
  | { type: "state" }
  | { type: "memory" };

/** Worker → coordinator. */
export type WorkerReply =
  | { type: "ready"; names: string[]; shapes: number[][] }
  | { type: "grads"; step: number; loss: number; grads: Float32Array; computeMs: number }
  | { type: "applied"; step: number }
  | { type: "params"; params: Float32Array }
  | { type: "state"; params: Float32Array; optimizer: FlatOptimizerState }
  | { type: "memory"; numTensors: number }
  | { type: "error"; message: string; stack?: string };

/** A request with its id, as posted. */
export interface Envelope<T> {
  id: number;
  body: T;
}
