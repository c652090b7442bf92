/**
 * Seeded pseudo-random numbers. Every random choice in Llama Lab takes one of these so that the same seed
 * gives the same numbers on every run and machine.
 */
export class Random {
  private state: number;

  /** A generator whose sequence is fully determined by `seed` (any integer). */
  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new Error(`Random: seed must be a finite number, got ${seed}`);
    this.state = Math.floor(seed) >>> 0;
  }

  /** Uniform float in [0, 1) (mulberry32). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal sample (Box–Muller). */
  normal(): number {
    let u = this.next();
    while (u === 0) u = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** One element chosen uniformly. */
  choice<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error("Random.choice: cannot choose from an empty list");
    return items[this.int(items.length)];
  }

  /** Shuffles `items` in place (Fisher–Yates) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }

  /** A new independent generator derived from this one (for handing to a sub-task). */
  fork(): Random {
    return new Random(Math.floor(this.next() * 4294967296));
  }

  /** The generator's state, to save in a checkpoint. */
  getState(): number {
    return this.state;
  }

  /** Restores a state returned by {@link getState}. */
  setState(state: number): void {
    this.state = state >>> 0;
  }
}
