/**
 * A minimal module tree: each module owns some variables and some child modules, and the dotted path to a
 * variable is its Hugging Face state-dict name. Also the Linear layer, the one building block every other
 * module uses.
 */
import * as tf from "@tensorflow/tfjs";
import { Random } from "../random";
import { OWNS_TENSORS } from "../ownership";
import { installWasmKernels } from "../kernels/install";
import { matMulUnderAutocast } from "../precision/autocast_context";

/** One row of {@link Module.parameterSummary}. */
export interface ParameterRow {
  name: string;
  shape: number[];
  count: number;
}

/** Base class of every model component: owns variables, names them, counts and disposes them. */
export abstract class Module {
  /** Tells the kernel this object holds tensors to free with dispose() when its cell is re-run. */
  readonly [OWNS_TENSORS] = true as const;
  private readonly ownParams: [string, tf.Variable][] = [];
  private readonly children: [string, Module][] = [];

  /** Registers a variable under `name` (relative to this module) and returns it. */
  protected addParameter<V extends tf.Variable>(name: string, variable: V): V {
    this.ownParams.push([name, variable]);
    return variable;
  }

  /** Registers a child module under `name` (dots allowed, e.g. "layers.0") and returns it. */
  protected addModule<M extends Module>(name: string, module: M): M {
    this.children.push([name, module]);
    return module;
  }

  /**
   * Every variable with its state-dict name, in construction order. A variable reachable twice (tied
   * weights) is listed once, under the first name.
   */
  namedParameters(): [string, tf.Variable][] {
    const out: [string, tf.Variable][] = [];
    const seen = new Set<tf.Variable>();
    const walk = (m: Module, prefix: string): void => {
      for (const [name, v] of m.ownParams) {
        if (seen.has(v)) continue;
        seen.add(v);
        out.push([prefix + name, v]);
      }
      for (const [name, child] of m.children) walk(child, `${prefix}${name}.`);
    };
    walk(this, "");
    return out;
  }

  /** The variables alone, in the order of {@link namedParameters}. */
  parameters(): tf.Variable[] {
    return this.namedParameters().map(([, v]) => v);
  }

  /** Total number of scalar parameters (tied weights counted once). */
  numParameters(): number {
    return this.namedParameters().reduce((n, [, v]) => n + v.size, 0);
  }

  /** One row per variable: state-dict name, shape and element count. */
  parameterSummary(): ParameterRow[] {
    return this.namedParameters().map(([name, v]) => ({ name, shape: [...v.shape], count: v.size }));
  }

  /** Frees every variable; safe to call more than once. */
  dispose(): void {
    for (const [, v] of this.namedParameters()) if (!v.isDisposed) v.dispose();
  }
}

/**
 * A fresh trainable variable of `shape` holding N(0, std²) samples from `rng`. Drawn in JavaScript so
 * the same seed gives bit-identical weights on every backend. Anonymous on purpose: named tfjs variables
 * throw "already registered" when a notebook cell builds the model a second time.
 */
export function normalVariable(rng: Random, shape: number[], std: number): tf.Variable {
  return variableFromValues(normalValues(rng, shape.reduce((a, b) => a * b, 1), std), shape);
}

/** `size` samples of N(0, std²) drawn from `rng`, in order. */
export function normalValues(rng: Random, size: number, std: number): Float32Array {
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) values[i] = rng.normal() * std;
  return values;
}

/** A trainable float32 variable holding `values` (row-major) in `shape`. */
export function variableFromValues(values: Float32Array, shape: number[]): tf.Variable {
  return variableFrom(tf.tensor(values, shape, "float32"));
}

/** A trainable variable of `shape` filled with `value` (norm weights start at 1, biases at 0). */
export function constantVariable(shape: number[], value: number): tf.Variable {
  return variableFrom(tf.fill(shape, value, "float32"));
}

// tf.variable shares the initial tensor's data, so the initial tensor handle must be dropped or it leaks.
function variableFrom(initial: tf.Tensor): tf.Variable {
  const v = tf.variable(initial);
  initial.dispose();
  return v;
}

/** y = x·Wᵀ (+ b) for 2-D x [N, in] and W in HF layout [out, in]. */
export function linear(x: tf.Tensor2D, weight: tf.Tensor2D, bias?: tf.Tensor1D): tf.Tensor2D {
  // initBackend installs it when it picks wasm; this covers a later tf.setBackend("wasm") (model.test.ts does, and
  // notebooks may). After the first install it is one boolean check.
  installWasmKernels();
  const y = matMulUnderAutocast(x, weight, false, true); // [N, out]; 16-bit inside a withAutocast scope
  return bias ? (tf.add(y, bias) as tf.Tensor2D) : y; // [N, out]
}

/** A fully connected layer, weight stored [out, in] as in PyTorch's nn.Linear. */
export class Linear extends Module {
  /** [out, in] */
  readonly weight: tf.Variable<tf.Rank.R2>;
  /** [out], present when built with bias. */
  readonly bias?: tf.Variable<tf.Rank.R1>;

  /** Weight ~ N(0, std²) from `rng`; bias (if any) zero, as HF's `_init_weights` does. */
  constructor(inFeatures: number, outFeatures: number, opts: { rng: Random; std: number; bias?: boolean }) {
    super();
    this.weight = this.addParameter(
      "weight",
      normalVariable(opts.rng, [outFeatures, inFeatures], opts.std) as tf.Variable<tf.Rank.R2>,
    );
    if (opts.bias) {
      this.bias = this.addParameter("bias", constantVariable([outFeatures], 0) as tf.Variable<tf.Rank.R1>);
    }
  }

  /** x [N, in] → [N, out]. */
  forward(x: tf.Tensor2D): tf.Tensor2D {
    return linear(x, this.weight, this.bias);
  }
}
