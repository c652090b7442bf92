/**
 * One training step's gradients under mixed precision, in the order of PyTorch's AMP recipe:
 *
 *   with autocast: loss = lossFn(batch)          (matmuls 16-bit, the loss fp32)
 *   scaler.scale(loss).backward()                 (gradients of loss × S; 16-bit where the forward was)
 *   scaler.unscale_(optimizer)                    (÷ S in fp32, Inf/NaN check)
 *   clip_grad_norm_(...)                          (on the unscaled gradients: trainSteps' clipNorm)
 *   scaler.step(optimizer); scaler.update()       (skip the step on Inf/NaN, adapt S)
 *
 * The result is a `gradFn` result for {@link trainSteps}, which clips and steps after it, so clipping always
 * sees unscaled gradients. A skipped step returns an empty gradient map: AdamW.step({}) then changes no weight,
 * moment or per-parameter step (as GradScaler skipping optimizer.step()); only its step counter, and with it the
 * learning-rate schedule, advances, as in PyTorch's usual `scaler.step(opt); scaler.update(); scheduler.step()`.
 */
import * as tf from "@tensorflow/tfjs";
import type { GradOutput, LossOutput } from "../train/loop";
import { Precision, checkPrecision } from "./formats";
import { DynamicLossScaler } from "./loss_scaler";
import { withAutocast } from "./autocast_context";
import { freeTapeOnThrow } from "../train/tape";

/** Names of the metrics a loss-scaled step adds to its {@link GradOutput}: the scale used and 1 if skipped. */
export const SCALED_STEP_METRICS = Object.freeze({ scale: "loss_scale", skipped: "skipped_step" });

/**
 * Unscales the gradients of `loss × scaler.getScale()`, checks them for Inf/NaN and updates the scaler. Returns
 * `loss` (unscaled, passed through) with the unscaled gradients, or with none when they overflowed, plus the
 * {@link SCALED_STEP_METRICS}. Disposes `scaledGrads`.
 */
export function unscaleOrSkip(scaler: DynamicLossScaler, loss: tf.Scalar, scaledGrads: tf.NamedTensorMap): GradOutput {
  if (!(scaler instanceof DynamicLossScaler)) throw new Error("unscaleOrSkip: scaler must be a DynamicLossScaler");
  const scaleUsed = scaler.getScale();
  let result: { grads: tf.NamedTensorMap; foundInf: boolean };
  try {
    result = scaler.unscale(scaledGrads);
  } finally {
    tf.dispose(Object.values(scaledGrads).filter((g) => g != null));
  }
  scaler.update(result.foundInf);
  if (result.foundInf) tf.dispose(Object.values(result.grads));
  return {
    loss,
    grads: result.foundInf ? {} : result.grads,
    metrics: {
      [SCALED_STEP_METRICS.scale]: tf.scalar(scaleUsed),
      [SCALED_STEP_METRICS.skipped]: tf.scalar(result.foundInf ? 1 : 0),
    },
  };
}

/** Options of {@link mixedPrecisionGradFn}. */
export interface MixedPrecisionGradFnOptions<B> {
  /** The fp32 master weights to differentiate (the optimizer's parameters). */
  variables: tf.Variable[];
  /** Compute precision of the forward pass's matmuls; "fp32" gives plain fp32 training. */
  precision: Precision;
  /** Dynamic loss scaling (needed for fp16; bf16 has fp32's range). Absent: no scaling. */
  scaler?: DynamicLossScaler;
  /** The loss of one batch, as trainSteps' lossFn: built inside the gradient tape, so synchronous. */
  lossFn: (batch: B) => LossOutput;
}

/**
 * A `gradFn` for {@link trainSteps}: the forward pass under {@link withAutocast}(precision), gradients of the fp32
 * loss (× the scaler's scale when given), then {@link unscaleOrSkip}. The logged loss is the unscaled one.
 */
export function mixedPrecisionGradFn<B>(opts: MixedPrecisionGradFnOptions<B>): (batch: B) => GradOutput {
  if (opts == null || typeof opts.lossFn !== "function") throw new Error("mixedPrecisionGradFn: lossFn (batch → { loss }) is required");
  if (!Array.isArray(opts.variables) || opts.variables.length === 0) {
    throw new Error("mixedPrecisionGradFn: variables must be the non-empty list of trainable tf.Variables");
  }
  checkPrecision(opts.precision, "mixedPrecisionGradFn: precision");
  const { variables, precision, scaler, lossFn } = opts;
  return (batch: B): GradOutput => {
    let loss: tf.Scalar | undefined;
    let metrics: Record<string, tf.Scalar> = {};
    const scale = scaler?.getScale() ?? 1;
    const out = tf.variableGrads(() => {
      const result = freeTapeOnThrow(() => withAutocast(precision, () => lossFn(batch)));
      if (result == null || !(result.loss instanceof tf.Tensor) || result.loss.rank !== 0) {
        throw new Error("mixedPrecisionGradFn: lossFn must return { loss: tf.Scalar, metrics? }");
      }
      // Kept past the tape's tidy: the unscaled loss is what the log reports.
      loss = tf.keep(result.loss);
      metrics = Object.fromEntries(Object.entries(result.metrics ?? {}).map(([k, m]) => [k, tf.keep(m)]));
      return scaler ? (tf.mul(result.loss, tf.scalar(scale)) as tf.Scalar) : tf.clone(result.loss);
    }, variables);
    out.value.dispose();
    if (!scaler) return { loss: loss!, grads: out.grads, metrics };
    const step = unscaleOrSkip(scaler, loss!, out.grads);
    return { ...step, metrics: { ...metrics, ...step.metrics } };
  };
}
