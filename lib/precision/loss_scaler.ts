/**
 * Dynamic loss scaling with the semantics of PyTorch's `torch.amp.GradScaler`. fp16 flushes gradients below
 * 2^−24 to zero; multiplying the loss by a large scale lifts them into range, and the scale adapts: it halves
 * (and the optimizer step is skipped) whenever a gradient overflows to Inf/NaN, and doubles after
 * `growthInterval` consecutive clean steps.
 *
 * One training step, as with GradScaler:
 *   scaled = scaler.scale(loss) → gradients of `scaled` → { grads, foundInf } = scaler.unscale(grads)
 *   → (clip the unscaled grads) → if (!foundInf) optimizer step → scaler.update().
 */
import * as tf from "@tensorflow/tfjs";

/** Options of {@link DynamicLossScaler}; defaults are GradScaler's. */
export interface LossScalerOptions {
  /** Starting scale (default 2^16). */
  initScale?: number;
  /** Multiplier applied after `growthInterval` clean steps in a row (default 2; must be > 1). */
  growthFactor?: number;
  /** Multiplier applied on a step with Inf/NaN gradients (default 0.5; must be in (0, 1)). */
  backoffFactor?: number;
  /** Number of consecutive clean steps before the scale grows (default 2000). */
  growthInterval?: number;
  /** When false every method is a pass-through: scale 1, nothing skipped (default true). */
  enabled?: boolean;
}

/** Checkpoint state, with the keys of `GradScaler.state_dict()`. */
export interface LossScalerState {
  scale: number;
  growth_factor: number;
  backoff_factor: number;
  growth_interval: number;
  _growth_tracker: number;
}

/** Result of {@link DynamicLossScaler.unscale}: new gradient tensors and whether any was Inf/NaN. */
export interface UnscaleResult<G extends Record<string, tf.Tensor>> {
  grads: G;
  foundInf: boolean;
}

// GradScaler keeps its scale in a float32 tensor; rounding through fround keeps our trace identical.
const f32 = Math.fround;

function positiveFinite(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new Error(`DynamicLossScaler: ${field} must be a finite number > 0, got ${value}`);
  }
  return value;
}

function checkFactors(growthFactor: number, backoffFactor: number, growthInterval: number): void {
  if (!(growthFactor > 1)) throw new Error(`DynamicLossScaler: growthFactor must be > 1, got ${growthFactor}`);
  if (!(backoffFactor < 1)) throw new Error(`DynamicLossScaler: backoffFactor must be < 1, got ${backoffFactor}`);
  if (!Number.isInteger(growthInterval) || growthInterval < 1) {
    throw new Error(`DynamicLossScaler: growthInterval must be a positive integer, got ${growthInterval}`);
  }
}

/** PyTorch GradScaler semantics on tfjs: scale the loss, unscale and check gradients, adapt the scale. */
export class DynamicLossScaler {
  private scaleValue: number;
  private growthFactor: number;
  private backoffFactor: number;
  private growthInterval: number;
  private growthTracker = 0;
  private readonly enabled: boolean;
  // Mirrors GradScaler's per-step bookkeeping: unscale() records found_inf, update() consumes it.
  private recordedInf: boolean | undefined;

  /** A scaler with GradScaler's defaults unless overridden. */
  constructor(opts: LossScalerOptions = {}) {
    this.enabled = opts.enabled ?? true;
    this.scaleValue = f32(positiveFinite(opts.initScale ?? 2 ** 16, "initScale"));
    this.growthFactor = positiveFinite(opts.growthFactor ?? 2, "growthFactor");
    this.backoffFactor = positiveFinite(opts.backoffFactor ?? 0.5, "backoffFactor");
    this.growthInterval = opts.growthInterval ?? 2000;
    checkFactors(this.growthFactor, this.backoffFactor, this.growthInterval);
  }

  /** Whether scaling is on. */
  isEnabled(): boolean {
    return this.enabled;
  }

  /** The current scale; 1 when disabled (as `GradScaler.get_scale`). */
  getScale(): number {
    return this.enabled ? this.scaleValue : 1;
  }

  /** Clean steps counted towards the next growth. */
  getGrowthTracker(): number {
    return this.growthTracker;
  }

  /** `loss × scale` as a new tensor the caller owns (a clone of `loss` when disabled). */
  scale<T extends tf.Tensor>(loss: T): T {
    if (!(loss instanceof tf.Tensor)) throw new Error("DynamicLossScaler.scale: loss must be a tf.Tensor");
    if (!this.enabled) return tf.clone(loss);
    return tf.tidy(() => tf.mul(loss, tf.scalar(this.scaleValue))) as T;
  }

  /**
   * Divides every gradient by the scale (multiplies by the float32 reciprocal, as GradScaler) and reports
   * whether any element was Inf or NaN. Returns new tensors; the inputs are not disposed. Call once per
   * step, before clipping, and skip the optimizer step when `foundInf` is true.
   */
  unscale<G extends Record<string, tf.Tensor>>(grads: G): UnscaleResult<G> {
    if (grads == null || typeof grads !== "object") {
      throw new Error("DynamicLossScaler.unscale: grads must be a { name: tensor } map");
    }
    const names = Object.keys(grads).filter((k) => grads[k] != null);
    if (!this.enabled) {
      const copies: Record<string, tf.Tensor> = {};
      for (const k of names) copies[k] = tf.clone(grads[k]);
      return { grads: copies as G, foundInf: false };
    }
    if (this.recordedInf !== undefined) {
      throw new Error("DynamicLossScaler.unscale: already called since the last update(); call update() once per step");
    }
    const inv = f32(1 / this.scaleValue);
    const { out, bad } = tf.tidy(() => {
      const invScale = tf.scalar(inv);
      const out: Record<string, tf.Tensor> = {};
      const counts: tf.Tensor[] = [];
      for (const k of names) {
        const g = tf.cast(grads[k], "float32");
        counts.push(tf.sum(tf.cast(tf.logicalNot(tf.isFinite(g)), "float32")));
        out[k] = tf.mul(g, invScale);
      }
      const bad = counts.length === 0 ? tf.scalar(0) : tf.addN(counts);
      return { out, bad };
    });
    const foundInf = bad.dataSync()[0] > 0;
    bad.dispose();
    this.recordedInf = foundInf;
    return { grads: out as G, foundInf };
  }

  /**
   * Adapts the scale after a step: × backoffFactor and reset the streak on Inf/NaN; otherwise count the
   * clean step and × growthFactor when the streak reaches growthInterval (kept only if still finite in
   * float32). `foundInf` defaults to what the last {@link unscale} found.
   */
  update(foundInf?: boolean): void {
    if (!this.enabled) return;
    const inf = foundInf ?? this.recordedInf;
    if (inf === undefined) {
      throw new Error("DynamicLossScaler.update: no Inf/NaN check recorded; call unscale(grads) first or pass foundInf");
    }
    this.recordedInf = undefined;
    if (inf) {
      this.scaleValue = f32(this.scaleValue * this.backoffFactor);
      this.growthTracker = 0;
      return;
    }
    const successful = this.growthTracker + 1;
    if (successful === this.growthInterval) {
      const grown = f32(this.scaleValue * this.growthFactor);
      if (Number.isFinite(grown)) this.scaleValue = grown;
      this.growthTracker = 0;
    } else {
      this.growthTracker = successful;
    }
  }

  /** State for a checkpoint, keyed as `GradScaler.state_dict()`; empty when disabled (as PyTorch). */
  getState(): LossScalerState | Record<string, never> {
    if (!this.enabled) return {};
    return {
      scale: this.scaleValue,
      growth_factor: this.growthFactor,
      backoff_factor: this.backoffFactor,
      growth_interval: this.growthInterval,
      _growth_tracker: this.growthTracker,
    };
  }

  /** Restores {@link getState}'s output (or a PyTorch GradScaler state_dict read as JSON). */
  setState(state: Partial<LossScalerState>): void {
    if (!this.enabled) {
      throw new Error("DynamicLossScaler.setState: this scaler is disabled; build it with enabled: true to load state");
    }
    if (state == null || typeof state !== "object" || Object.keys(state).length === 0) {
      throw new Error(
        "DynamicLossScaler.setState: the state is empty, possibly because it was saved from a disabled scaler",
      );
    }
    for (const key of ["scale", "growth_factor", "backoff_factor", "growth_interval", "_growth_tracker"] as const) {
      if (typeof state[key] !== "number") throw new Error(`DynamicLossScaler.setState: state.${key} must be a number`);
    }
    const s = state as LossScalerState;
    const scale = f32(positiveFinite(s.scale, "state.scale"));
    checkFactors(s.growth_factor, s.backoff_factor, s.growth_interval);
    if (!Number.isInteger(s._growth_tracker) || s._growth_tracker < 0) {
      throw new Error(`DynamicLossScaler.setState: state._growth_tracker must be an integer ≥ 0, got ${s._growth_tracker}`);
    }
    this.scaleValue = scale;
    this.growthFactor = positiveFinite(s.growth_factor, "state.growth_factor");
    this.backoffFactor = positiveFinite(s.backoff_factor, "state.backoff_factor");
    this.growthInterval = s.growth_interval;
    this.growthTracker = s._growth_tracker;
    this.recordedInf = undefined;
  }
}
