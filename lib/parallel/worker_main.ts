/**
 * Entry point of one data-parallel worker thread (compiled to dist/lib/parallel/worker_main.js and started by
 * WorkerPool). The worker holds its own tfjs backend, a full model replica and its own AdamW; it computes
 * gradients on its shard and applies the reduced gradient the coordinator sends back. Requests are handled one
 * at a time, in arrival order.
 */
import { parentPort } from "worker_threads";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../backend";
import { LlamaConfig } from "../model/config";
import { LlamaForCausalLM } from "../model/causal_lm";
import { Precision } from "../precision/formats";
import { withAutocast } from "../precision/autocast_context";
import { AdamW, AdamWState } from "../train/adamw";
import { Envelope, FaultInjection, FlatOptimizerState, NamedOptimizerState, WorkerReply, WorkerRequest } from "./messages";
import { ParamLayout, flattenData, flattenTensors, paramLayout, unflatten } from "./flat_params";
import { lmTokenSumLoss } from "./lm_loss";
import { countSupervisedTokens } from "./sharding";

interface Replica {
  index: number;
  model: LlamaForCausalLM;
  optimizer: AdamW;
  layout: ParamLayout;
  /** variable.name (how tf.variableGrads keys gradients) → state-dict name. */
  byVariableName: Map<string, string>;
  /** The learning rate of the update being applied; the schedule itself lives with the coordinator. */
  lr: number;
  /** Precision of the forward pass's matmuls; the loss, reductions and the AdamW update stay fp32. */
  precision: Precision;
  fault?: FaultInjection;
}

let replica: Replica | undefined;

function post(id: number, body: WorkerReply, transfer: ArrayBuffer[] = []): void {
  parentPort!.postMessage({ id, body } satisfies Envelope<WorkerReply>, transfer);
}

function toAdamWState(layout: ParamLayout, saved: NamedOptimizerState): AdamWState {
  const m = unflatten(layout, flattenData(layout, saved.m, "optimizer state exp_avg"));
  const v = unflatten(layout, flattenData(layout, saved.v, "optimizer state exp_avg_sq"));
  const params: AdamWState["params"] = {};
  layout.names.forEach((name, i) => {
    const step = saved.paramSteps[name] ?? 0;
    if (step === 0) return; // never updated: AdamW starts its moments at zero
    params[name] = { step, shape: layout.shapes[i], m: Array.from(m.get(name)!.data), v: Array.from(v.get(name)!.data) };
  });
  return { stepCount: saved.stepCount, params };
}

function fromAdamWState(layout: ParamLayout, state: AdamWState): FlatOptimizerState {
  const m = new Float32Array(layout.size);
  const v = new Float32Array(layout.size);
  const paramSteps = layout.names.map((name, i) => {
    const saved = state.params[name];
    if (saved === undefined) return 0;
    m.set(saved.m, layout.offsets[i]);
    v.set(saved.v, layout.offsets[i]);
    return saved.step;
  });
  return { stepCount: state.stepCount, paramSteps, m, v };
}

async function init(req: Extract<WorkerRequest, { type: "init" }>): Promise<WorkerReply> {
  await initBackend(() => undefined); // same choice (or LLAMALAB_BACKEND) as the coordinator, without a log line
  const model = new LlamaForCausalLM(new LlamaConfig(req.config), { seed: req.seed });
  const named = model.namedParameters();
  const layout = paramLayout(named);
  if (req.params !== undefined) {
    const values = unflatten(layout, flattenData(layout, req.params, "starting parameters"));
    for (const [name, variable] of named) {
      const t = values.get(name)!;
      tf.tidy(() => variable.assign(tf.tensor(t.data, t.shape, "float32")));
    }
  }
  const r: Replica = {
    index: req.index,
    model,
    layout,
    byVariableName: new Map(named.map(([name, v]) => [v.name, name])),
    lr: 0,
    precision: req.precision,
    fault: req.fault?.worker === req.index ? req.fault : undefined,
    optimizer: undefined as unknown as AdamW,
  };
  r.optimizer = new AdamW(named, { ...req.optimizer, lr: () => r.lr });
  if (req.optimizerState !== undefined) r.optimizer.setState(toAdamWState(layout, req.optimizerState));
  replica = r;
  return { type: "ready", names: layout.names, shapes: layout.shapes };
}

function injectFault(fault: FaultInjection, step: number): void {
  const what = `injected fault (${fault.kind}) in worker ${fault.worker} at step ${step}`;
  switch (fault.kind) {
    case "throw":
      throw new Error(what);
    case "exit":
      process.exit(3);
    // falls through (process.exit does not return)
    case "uncaught":
      setImmediate(() => {
        throw new Error(what);
      });
      return;
    case "hang":
      for (;;) {
        // spin: the coordinator's timeout must notice and terminate us
      }
  }
}

function grads(r: Replica, req: Extract<WorkerRequest, { type: "grads" }>): { reply: WorkerReply; transfer: ArrayBuffer[] } | null {
  if (r.fault && r.fault.step === req.step && (r.fault.during ?? "gradients") === "gradients") {
    injectFault(r.fault, req.step);
    if (r.fault.kind === "uncaught") return null; // the uncaught exception ends this worker; no reply
  }
  const start = performance.now();
  const variables = r.model.parameters();
  let sum: tf.NamedTensorMap = {};
  let loss = 0;
  for (const shard of req.shards) {
    // A shard with no supervised token contributes nothing (and its loss would not depend on the weights).
    if (countSupervisedTokens(shard) === 0) continue;
    const { value, grads: g } = tf.variableGrads(
      // The forward pass under autocast; the casts it records round the backward pass's gradients too.
      () => tf.tidy(() => tf.mul(withAutocast(r.precision, () => lmTokenSumLoss(r.model, shard, req.normaliser)), tf.scalar(req.lossScale)) as tf.Scalar),
      variables,
    );
    loss += value.dataSync()[0] / req.lossScale;
    value.dispose();
    const next: tf.NamedTensorMap = {};
    for (const [varName, grad] of Object.entries(g)) {
      const name = r.byVariableName.get(varName)!;
      next[name] = sum[name] ? tf.add(sum[name], grad) : grad;
      if (sum[name]) {
        sum[name].dispose();
        grad.dispose();
      }
    }
    sum = next;
  }
  const flat = flattenTensors(r.layout, sum); // zeros for a worker whose shards were all empty
  tf.dispose(Object.values(sum));
  return { reply: { type: "grads", step: req.step, loss, grads: flat, computeMs: performance.now() - start }, transfer: [flat.buffer as ArrayBuffer] };
}

function apply(r: Replica, req: Extract<WorkerRequest, { type: "apply" }>): WorkerReply | null {
  if (r.fault && r.fault.step === req.step && r.fault.during === "update") {
    injectFault(r.fault, req.step);
    if (r.fault.kind === "uncaught") return null;
  }
  const values = unflatten(r.layout, req.grads);
  const update: tf.NamedTensorMap = {};
  for (const [name, t] of values) update[name] = tf.tensor(t.data, t.shape, "float32");
  r.lr = req.lr;
  try {
    r.optimizer.step(update);
  } finally {
    tf.dispose(Object.values(update));
  }
  return { type: "applied", step: req.step };
}

function currentParams(r: Replica): Float32Array {
  return flattenTensors(r.layout, Object.fromEntries(r.model.namedParameters()));
}

async function handle(id: number, req: WorkerRequest): Promise<void> {
  try {
    if (req.type === "init") return post(id, await init(req));
    const r = replica;
    if (r === undefined) throw new Error(`got "${req.type}" before "init"`);
    switch (req.type) {
      case "grads": {
        const out = grads(r, req);
        if (out !== null) post(id, out.reply, out.transfer);
        return;
      }
      case "apply": {
        const reply = apply(r, req);
        if (reply !== null) post(id, reply);
        return;
      }
      case "params": {
        const params = currentParams(r);
        return post(id, { type: "params", params }, [params.buffer as ArrayBuffer]);
      }
      case "memory":
        return post(id, { type: "memory", numTensors: tf.memory().numTensors });
      case "state": {
        const params = currentParams(r);
        const optimizer = fromAdamWState(r.layout, r.optimizer.getState());
        return post(id, { type: "state", params, optimizer }, [params.buffer as ArrayBuffer, optimizer.m.buffer as ArrayBuffer, optimizer.v.buffer as ArrayBuffer]);
      }
    }
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    post(id, { type: "error", message: err.message, stack: err.stack });
  }
}

if (parentPort === null) {
  throw new Error("worker_main.js is the entry of a data-parallel worker thread; start it through DataParallelTrainer");
}
let queue: Promise<void> = Promise.resolve();
parentPort.on("message", (msg: Envelope<WorkerRequest>) => {
  queue = queue.then(() => handle(msg.id, msg.body));
});
