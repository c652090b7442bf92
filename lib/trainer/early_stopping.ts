/** Early stopping, as Hugging Face's `EarlyStoppingCallback`: stop after `patience` evaluations without improvement. */

/** Options of {@link EarlyStopping}. */
export interface EarlyStoppingOptions {
  /** Evaluations without improvement before stopping. */
  patience: number;
  /** An improvement must beat the best value by more than this (default 0). */
  threshold?: number;
  /** Whether larger values are better (accuracy) or smaller (loss). Default false. */
  greaterIsBetter?: boolean;
}

/** Saved state of an {@link EarlyStopping}. */
export interface EarlyStoppingState {
  best: number | null;
  badEvaluations: number;
}

/** Tracks the best value of a metric and says when to stop. */
export class EarlyStopping {
  private best: number | null = null;
  private bad = 0;

  constructor(readonly options: EarlyStoppingOptions) {
    if (!(Number.isInteger(options.patience) && options.patience >= 1)) {
      throw new Error(`EarlyStopping: patience must be a positive integer, got ${options.patience}`);
    }
  }

  /** Records one evaluation's value; returns true when training should stop. */
  update(value: number): boolean {
    const threshold = this.options.threshold ?? 0;
    const better = this.best === null ||
      (this.options.greaterIsBetter ? value > this.best + threshold : value < this.best - threshold);
    if (better) {
      this.best = value;
      this.bad = 0;
    } else {
      this.bad += 1;
    }
    return this.bad >= this.options.patience;
  }

  /** The best value seen, or null before the first evaluation. */
  get bestValue(): number | null {
    return this.best;
  }

  /** State for a checkpoint. */
  getState(): EarlyStoppingState {
    return { best: this.best, badEvaluations: this.bad };
  }

  /** Restores a state from {@link getState}. */
  setState(state: EarlyStoppingState): void {
    this.best = state.best;
    this.bad = state.badEvaluations;
  }
}
