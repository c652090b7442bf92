/** Seeded stratified splits: every class is divided in the same proportions, so rare classes reach every split. */
import { Random } from "../random";

/** Fractions of each split; they must sum to 1 (test may be 0). */
export interface SplitFractions {
  train: number;
  validation: number;
  test: number;
}

/** The three splits. */
export interface Splits<T> {
  train: T[];
  validation: T[];
  test: T[];
}

/**
 * Splits `items` class by class (by `labelOf`) into train/validation/test with the given fractions, shuffling each
 * class with `rng` and rounding the validation and test counts per class; each split is then shuffled.
 */
export function stratifiedSplit<T>(items: readonly T[], labelOf: (item: T) => string | number, fractions: SplitFractions, rng: Random): Splits<T> {
  const { train, validation, test } = fractions;
  for (const [k, v] of Object.entries(fractions)) {
    if (!(Number.isFinite(v) && v >= 0 && v <= 1)) throw new Error(`stratifiedSplit: fraction ${k} must be in [0, 1], got ${v}`);
  }
  if (Math.abs(train + validation + test - 1) > 1e-9) {
    throw new Error(`stratifiedSplit: fractions must sum to 1, got ${train} + ${validation} + ${test}`);
  }
  const byClass = new Map<string | number, T[]>();
  for (const item of items) {
    const key = labelOf(item);
    if (!byClass.has(key)) byClass.set(key, []);
    byClass.get(key)!.push(item);
  }
  const out: Splits<T> = { train: [], validation: [], test: [] };
  // Classes in sorted order so that the split does not depend on the order items arrive in.
  const keys = [...byClass.keys()].sort((a, b) => (String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0));
  for (const key of keys) {
    const group = rng.shuffle([...byClass.get(key)!]);
    const nTest = Math.round(group.length * test);
    const nVal = Math.round(group.length * validation);
    out.test.push(...group.slice(0, nTest));
    out.validation.push(...group.slice(nTest, nTest + nVal));
    out.train.push(...group.slice(nTest + nVal));
  }
  rng.shuffle(out.train);
  rng.shuffle(out.validation);
  rng.shuffle(out.test);
  return out;
}
