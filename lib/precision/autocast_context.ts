/**
 * A `torch.autocast`-like scope: `withAutocast("fp16", () => model.forward(ids))` makes the model's matmuls
 * (every linear layer and the two attention matmuls) run under the autocast policy of autocast.ts, while
 * everything else (RMSNorm, softmax, the additive attention mask, reductions, the loss) stays fp32 because it
 * never consults the scope. Model code calls {@link matMulUnderAutocast} where PyTorch's autocast would cast;
 * outside any scope that is exactly `tf.matMul`, so fp32 numbers are bit-identical to a model without the hook.
 *
 * The scope is dynamic and synchronous, like a Python context manager: it covers what `fn` runs before it
 * returns. Gradients need no scope: each cast records its precision when the forward pass runs, so the backward
 * pass (tf.variableGrads after the forward, inside the same call) rounds gradients where the forward rounded
 * values.
 */
import * as tf from "@tensorflow/tfjs";
import { Precision, checkPrecision } from "./formats";
import { autocastMatMul } from "./autocast";

// Innermost scope last; empty means fp32. A stack so that nested scopes (an "fp32" region inside an "fp16"
// one, as torch.autocast(enabled=False) is used) restore the outer precision when they end.
const scopes: Precision[] = [];

/**
 * Runs `fn` with matmuls in `precision` ("fp32" switches autocast off inside an outer scope) and returns its
 * result. `fn` must be synchronous: an async function would leave the scope before its awaits resume.
 */
export function withAutocast<T>(precision: Precision, fn: () => T): T {
  checkPrecision(precision, "withAutocast: precision");
  if (typeof fn !== "function") throw new Error("withAutocast: fn must be a function to run inside the scope");
  scopes.push(precision);
  let result: T;
  try {
    result = fn();
  } finally {
    scopes.pop();
  }
  if (result instanceof Promise) {
    throw new Error(
      "withAutocast: fn returned a Promise; the scope cannot follow awaits. Wrap only the synchronous forward/backward " +
        "(e.g. the function given to tf.variableGrads) in withAutocast",
    );
  }
  return result;
}

/** The precision of the innermost active autocast scope, "fp32" when none is active. */
export function autocastPrecision(): Precision {
  return scopes.length === 0 ? "fp32" : scopes[scopes.length - 1];
}

/**
 * tf.matMul(a, b, transposeA, transposeB) under the active scope: plain tf.matMul outside a scope (or in an
 * "fp32" one), {@link autocastMatMul} (16-bit inputs and output, fp32 accumulation) inside an fp16/bf16 one.
 */
export function matMulUnderAutocast<T extends tf.Tensor>(a: T, b: tf.Tensor, transposeA = false, transposeB = false): T {
  return autocastMatMul(a, b, autocastPrecision(), transposeA, transposeB) as T; // plain tf.matMul for "fp32"
}
