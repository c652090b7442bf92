import * as tf from "@tensorflow/tfjs";
import { AdamWScalars, fusedAdamW } from "../kernels/wasm_adamw";
import { OWNS_TENSORS } from "../ownership";

/** Each constant as a float32 scalar tensor (what the tf ops compute with). */
function scalarsOf(numbers: AdamWScalars): Record<keyof AdamWScalars, tf.Scalar> {
  const entries = Object.entries(numbers).map(([name, value]) => [name, tf.scalar(value)]);
  return Object.fromEntries(entries) as Record<keyof AdamWScalars, tf.Scalar>;
}

/** A learning rate: a constant, or a schedule `step → lr` where `step` counts updates already taken (0 first). */
export type LearningRate = number | ((step: number) => number);

/** `lr` at update number `step` (0-based), checked to be a finite number ≥ 0; `who` names the caller in errors. */
export function learningRateAt(lr: LearningRate, step: number, who: string): number {
  const value = typeof lr === "number" ? lr : lr(step);
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new Error(`${who}: the lr schedule returned ${value} at step ${step}; it must return a finite number ≥ 0`);
  }
  return value;
}

/** Decides whether a parameter receives weight decay. */
export type DecayPredicate = (name: string, variable: tf.Variable) => boolean;

/** Parameters an optimizer updates: bare variables (named by `variable.name`) or `[name, variable]` pairs. */
export type ParamList = readonly tf.Variable[] | readonly (readonly [string, tf.Variable])[];

/** Gradients for one step, keyed by parameter name, `variable.name` or the variable itself. */
export type GradientMap = tf.NamedTensorMap | Map<string | tf.Variable, tf.Tensor>;

/** Options for {@link AdamW}; every field has PyTorch's default except `decay`. */
export interface AdamWOptions {
  /** Learning rate or schedule (default 1e-3). */
  lr?: LearningRate;
  /** Coefficients of the running averages of the gradient and its square (default [0.9, 0.999]). */
  betas?: [number, number];
  /** Added to the bias-corrected sqrt(v) for stability (default 1e-8). */
  eps?: number;
  /** Decoupled weight decay coefficient (default 0.01). */
  weightDecay?: number;
  /**
   * Which parameters decay. Default: tensors of rank ≥ 2 only (matrices and embeddings), so RMSNorm
   * weights and biases are left alone — the usual GPT/Llama recipe, which PyTorch leaves to param groups.
   */
  decay?: DecayPredicate;
}

/** Saved optimizer state of one parameter: its own step count and moment estimates (flat, row-major). */
export interface AdamWParamState {
  step: number;
  shape: number[];
  m: number[];
  v: number[];
}

/** Everything needed to resume an {@link AdamW} run; plain data, JSON-serialisable. */
export interface AdamWState {
  stepCount: number;
  params: Record<string, AdamWParamState>;
}

interface Param {
  name: string;
  variable: tf.Variable;
  decays: boolean;
}

interface Slot {
  step: number;
  m: tf.Variable;
  v: tf.Variable;
}

/** Decay only rank ≥ 2 tensors: weight matrices and embeddings, not norms or biases. */
export const decayMatricesOnly: DecayPredicate = (_name, variable) => variable.rank >= 2;

function checkNumber(field: string, value: number, ok: (x: number) => boolean, want: string): void {
  if (typeof value !== "number" || !Number.isFinite(value) || !ok(value)) {
    throw new Error(`AdamW: ${field} must be ${want}, got ${value}`);
  }
}

/**
 * AdamW with PyTorch's `torch.optim.AdamW` update (amsgrad and maximize off). Per parameter with a gradient g:
 *   p ← p·(1 − lr·wd)                                   (decoupled decay, only where `decay` says so)
 *   m ← β1·m + (1−β1)·g;   v ← β2·v + (1−β2)·g²
 *   denom = sqrt(v)/sqrt(1−β2^t) + eps;   p ← p − (lr/(1−β1^t))·m/denom
 * Like PyTorch, each parameter keeps its own step t and is skipped (no decay either) when it has no gradient.
 */
export class AdamW {
  /** The kernel frees the moment tensors when a notebook cell rebinds the optimizer's name. */
  readonly [OWNS_TENSORS] = true;
  private readonly params: Param[];
  private readonly byKey = new Map<string | tf.Variable, Param>();
  private readonly slots = new Map<Param, Slot>();
  private readonly lr: LearningRate;
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly eps: number;
  private readonly weightDecay: number;
  private steps = 0;
  private disposed = false;

  /** An optimizer over `params`; their names must be unique. */
  constructor(params: ParamList, options: AdamWOptions = {}) {
    if (!Array.isArray(params)) {
      throw new Error("AdamW: params must be an array of tf.Variables or [name, tf.Variable] pairs; pass model.namedParameters()");
    }
    const pairs: [string, tf.Variable][] = params.map((p) =>
      p instanceof tf.Variable ? [p.name, p] : [p[0], p[1]],
    );
    if (pairs.length === 0) throw new Error("AdamW: params is empty; pass the model's trainable variables");
    const lr = options.lr ?? 1e-3;
    if (typeof lr === "number") checkNumber("lr", lr, (x) => x >= 0, "a number ≥ 0 or a function step → lr");
    else if (typeof lr !== "function") throw new Error("AdamW: lr must be a number or a function step → lr");
    const [beta1, beta2] = options.betas ?? [0.9, 0.999];
    checkNumber("betas[0]", beta1, (x) => x >= 0 && x < 1, "in [0, 1)");
    checkNumber("betas[1]", beta2, (x) => x >= 0 && x < 1, "in [0, 1)");
    const eps = options.eps ?? 1e-8;
    checkNumber("eps", eps, (x) => x >= 0, "≥ 0");
    const weightDecay = options.weightDecay ?? 0.01;
    checkNumber("weightDecay", weightDecay, (x) => x >= 0, "≥ 0");
    const decay = options.decay ?? decayMatricesOnly;

    this.lr = lr;
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.eps = eps;
    this.weightDecay = weightDecay;
    this.params = pairs.map(([name, variable]) => {
      if (!(variable instanceof tf.Variable)) throw new Error(`AdamW: param "${name}" is not a tf.Variable`);
      if (variable.dtype !== "float32") {
        throw new Error(`AdamW: param "${name}" has dtype ${variable.dtype}; only float32 parameters can be trained`);
      }
      return { name, variable, decays: decay(name, variable) };
    });
    for (const p of this.params) {
      if (this.byKey.has(p.name)) throw new Error(`AdamW: two params are named "${p.name}"; names must be unique`);
      this.byKey.set(p.name, p);
      this.byKey.set(p.variable, p);
    }
    // tf.variableGrads keys gradients by variable.name, which may differ from the pair's name.
    for (const p of this.params) if (!this.byKey.has(p.variable.name)) this.byKey.set(p.variable.name, p);
  }

  /** Number of `step` calls taken so far. */
  get stepCount(): number {
    return this.steps;
  }

  /** The learning rate the next `step` will use (the schedule evaluated at `stepCount`). */
  currentLr(): number {
    return this.lrAt(this.steps);
  }

  /** The learning rate of update number `step` (0-based). */
  lrAt(step: number): number {
    return learningRateAt(this.lr, step, "AdamW");
  }

  /** Names of the parameters that receive weight decay. */
  decayedNames(): string[] {
    return this.params.filter((p) => p.decays).map((p) => p.name);
  }

  /** Applies one update from `grads`; parameters absent from `grads` (or with a null gradient) are left as they are. */
  step(grads: GradientMap): void {
    this.assertLive();
    const updates = this.resolve(grads);
    const lr = this.lrAt(this.steps);
    const { beta1, beta2, eps } = this;
    tf.tidy(() => {
      // The constants of update number t, shared by every parameter at the same t (usually all of them). The fused
      // wasm kernel takes them as numbers; the tf ops get them uploaded once per t, not once per parameter and use
      // (~7 × 39 uploads per step of the 3.3M model), and only if some parameter takes that path.
      const perT = new Map<number, { numbers: AdamWScalars; tensors?: Record<keyof AdamWScalars, tf.Scalar> }>();
      const constantsAt = (t: number) => {
        let c = perT.get(t);
        if (c === undefined) {
          const numbers: AdamWScalars = {
            decayFactor: 1 - lr * this.weightDecay,
            oneMinusBeta1: 1 - beta1,
            beta2,
            oneMinusBeta2: 1 - beta2,
            bc2Sqrt: Math.sqrt(1 - beta2 ** t),
            eps,
            stepSize: lr / (1 - beta1 ** t),
          };
          c = { numbers };
          perT.set(t, c);
        }
        return c;
      };
      for (const [param, grad] of updates) {
        const slot = this.slotFor(param);
        const t = slot.step + 1;
        const constants = constantsAt(t);
        const decays = param.decays && this.weightDecay !== 0;
        // On the wasm backend one fused SIMD pass does the update, bit-identically (lib/kernels/wasm_adamw.ts).
        const [p, m, v] = fusedAdamW(param.variable, grad, slot.m, slot.v, decays, constants.numbers) ?? this.tfOpUpdate(
          param.variable, grad, slot, decays, (constants.tensors ??= scalarsOf(constants.numbers)),
        );
        slot.m.assign(m);
        slot.v.assign(v);
        param.variable.assign(p);
        slot.step = t;
      }
    });
    this.steps += 1;
  }

  /** The update as tf ops (any backend): [p', m', v']. */
  private tfOpUpdate(
    param: tf.Variable, grad: tf.Tensor, slot: Slot, decays: boolean,
    c: Record<keyof AdamWScalars, tf.Scalar>,
  ): [tf.Tensor, tf.Tensor, tf.Tensor] {
    const g = grad.dtype === "float32" ? grad : tf.cast(grad, "float32");
    const p = decays ? tf.mul(param, c.decayFactor) : param;
    // PyTorch updates m with lerp(m, g, 1−β1), i.e. m + (1−β1)·(g − m); same rounding here.
    const m = tf.add(slot.m, tf.mul(c.oneMinusBeta1, tf.sub(g, slot.m)));
    const v = tf.add(tf.mul(slot.v, c.beta2), tf.mul(tf.square(g), c.oneMinusBeta2));
    const denom = tf.add(tf.div(tf.sqrt(v), c.bc2Sqrt), c.eps); // sqrt(v)/sqrt(1−β2^t) + eps
    return [tf.sub(p, tf.div(tf.mul(m, c.stepSize), denom)), m, v]; // p − (lr/(1−β1^t))·m/denom
  }

  /** A copy of the optimizer state as plain arrays, for checkpoints. */
  getState(): AdamWState {
    this.assertLive();
    const params: Record<string, AdamWParamState> = {};
    for (const [param, slot] of this.slots) {
      params[param.name] = {
        step: slot.step,
        shape: [...param.variable.shape],
        m: Array.from(slot.m.dataSync()),
        v: Array.from(slot.v.dataSync()),
      };
    }
    return { stepCount: this.steps, params };
  }

  /** Restores a state from {@link getState}; params missing from it start fresh. */
  setState(state: AdamWState): void {
    this.assertLive();
    if (state == null || typeof state.stepCount !== "number" || state.params == null) {
      throw new Error("AdamW.setState: expected { stepCount, params } as returned by getState()");
    }
    for (const name of Object.keys(state.params)) {
      const param = this.byKey.get(name);
      if (param === undefined || param.name !== name) {
        throw new Error(`AdamW.setState: state has param "${name}" which this optimizer does not know`);
      }
      const saved = state.params[name];
      if (!tf.util.arraysEqual(saved.shape, param.variable.shape)) {
        throw new Error(`AdamW.setState: "${name}" was saved with shape [${saved.shape}] but the param has [${param.variable.shape}]`);
      }
      if (saved.m.length !== param.variable.size || saved.v.length !== param.variable.size) {
        throw new Error(`AdamW.setState: "${name}" needs ${param.variable.size} values in m and v`);
      }
    }
    this.disposeSlots();
    for (const [name, saved] of Object.entries(state.params)) {
      const param = this.byKey.get(name)!;
      const shape = param.variable.shape;
      const slot = tf.tidy(() => ({
        step: saved.step,
        m: tf.variable(tf.tensor(Float32Array.from(saved.m), shape), false),
        v: tf.variable(tf.tensor(Float32Array.from(saved.v), shape), false),
      }));
      this.slots.set(param, slot);
    }
    this.steps = state.stepCount;
  }

  /** Frees the moment estimates; the optimizer cannot be used afterwards. */
  dispose(): void {
    this.disposeSlots();
    this.disposed = true;
  }

  private disposeSlots(): void {
    for (const slot of this.slots.values()) {
      slot.m.dispose();
      slot.v.dispose();
    }
    this.slots.clear();
  }

  private assertLive(): void {
    if (this.disposed) throw new Error("AdamW: this optimizer was disposed; create a new one");
  }

  private resolve(grads: GradientMap): [Param, tf.Tensor][] {
    const entries: [string | tf.Variable, tf.Tensor | null][] =
      grads instanceof Map ? [...grads.entries()] : Object.entries(grads);
    const out: [Param, tf.Tensor][] = [];
    const seen = new Set<Param>();
    for (const [key, grad] of entries) {
      const param = this.byKey.get(key);
      if (param === undefined) {
        const label = typeof key === "string" ? key : `variable ${key.name}`;
        throw new Error(`AdamW.step: got a gradient for "${label}", which is not one of this optimizer's params`);
      }
      if (grad == null) continue;
      if (seen.has(param)) throw new Error(`AdamW.step: two gradients given for "${param.name}"`);
      if (!tf.util.arraysEqual(grad.shape, param.variable.shape)) {
        throw new Error(
          `AdamW.step: gradient for "${param.name}" has shape [${grad.shape}] but the param has [${param.variable.shape}]`,
        );
      }
      seen.add(param);
      out.push([param, grad]);
    }
    return out;
  }

  // Moments are created once, on a parameter's first gradient, and then only assigned.
  private slotFor(param: Param): Slot {
    let slot = this.slots.get(param);
    if (slot === undefined) {
      slot = tf.tidy(() => ({
        step: 0,
        m: tf.variable(tf.zerosLike(param.variable), false),
        v: tf.variable(tf.zerosLike(param.variable), false),
      }));
      this.slots.set(param, slot);
    }
    return slot;
  }
}
