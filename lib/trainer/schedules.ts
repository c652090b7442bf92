/**
 * Learning-rate schedules with warm-up, as Hugging Face's `get_scheduler`: each is a function `step → lr` of the
 * number of updates already taken (0 for the first), which is what {@link AdamW} takes as `lr`.
 */

/** Schedule names, as HF's `lr_scheduler_type`. */
export type ScheduleKind = "constant" | "linear" | "cosine";

/** Options of {@link makeSchedule}. */
export interface ScheduleOptions {
  /** Peak learning rate. */
  lr: number;
  /** Updates spent rising linearly from 0 to `lr` (default 0). */
  warmupSteps?: number;
  /** Updates in the whole run; linear and cosine reach 0 here. */
  totalSteps: number;
}

/**
 * `step → lr`: during warm-up lr·step/warmup; then constant lr, linear decay lr·(total−step)/(total−warmup), or
 * cosine decay lr·½(1 + cos(π·progress)), clamped at 0 past `totalSteps`.
 */
export function makeSchedule(kind: ScheduleKind, opts: ScheduleOptions): (step: number) => number {
  const { lr, totalSteps } = opts;
  const warmup = opts.warmupSteps ?? 0;
  if (!(Number.isFinite(lr) && lr >= 0)) throw new Error(`makeSchedule: lr must be a finite number ≥ 0, got ${lr}`);
  if (!(Number.isInteger(warmup) && warmup >= 0)) throw new Error(`makeSchedule: warmupSteps must be an integer ≥ 0, got ${warmup}`);
  if (!(Number.isInteger(totalSteps) && totalSteps >= 1)) {
    throw new Error(`makeSchedule: totalSteps must be a positive integer, got ${totalSteps}`);
  }
  const rise = (step: number): number | undefined => (step < warmup ? (lr * step) / Math.max(1, warmup) : undefined);
  const decaySpan = Math.max(1, totalSteps - warmup);
  switch (kind) {
    case "constant":
      return (step) => rise(step) ?? lr;
    case "linear":
      return (step) => rise(step) ?? lr * Math.max(0, (totalSteps - step) / decaySpan);
    case "cosine":
      return (step) => rise(step) ?? lr * 0.5 * (1 + Math.cos(Math.PI * Math.min(1, (step - warmup) / decaySpan)));
    default:
      throw new Error(`makeSchedule: unknown schedule "${String(kind)}"; use "constant", "linear" or "cosine"`);
  }
}
