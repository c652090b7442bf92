/**
 * Measuring what fp16 loses: gradient entries that are nonzero in an fp32 reference run but exactly zero in a
 * low-precision run on the same weights and batch, i.e. flushed to zero because they fell below fp16's smallest
 * subnormal (2^−24; values up to 2^−25 round to 0).
 */
import * as tf from "@tensorflow/tfjs";
import { setCastGradientObserver } from "./autocast";

/** Counts of one comparison. */
export interface UnderflowCount {
  /** Entries nonzero in the reference and zero in the candidate. */
  flushed: number;
  /** Entries nonzero in the reference. */
  nonzero: number;
  /** flushed / nonzero (0 when nothing is nonzero). */
  fraction: number;
}

/** {@link gradientUnderflow}'s result: the total over all gradients and one count per gradient name. */
export interface GradientUnderflow extends UnderflowCount {
  perTensor: Record<string, UnderflowCount>;
}

/** [flushed, nonzero]: entries nonzero in `reference` that are zero in `candidate`, and the nonzero ones. */
function flushCounts(reference: tf.Tensor, candidate: tf.Tensor): tf.Tensor1D {
  const nonzero = tf.notEqual(reference, tf.scalar(0));
  const flushed = tf.logicalAnd(nonzero, tf.equal(candidate, tf.scalar(0)));
  return tf.stack([tf.sum(tf.cast(flushed, "float32")), tf.sum(tf.cast(nonzero, "float32"))]) as tf.Tensor1D; // [2]
}

const count = (flushed: number, nonzero: number): UnderflowCount => ({ flushed, nonzero, fraction: nonzero === 0 ? 0 : flushed / nonzero });

/**
 * How many of `reference`'s nonzero gradient entries are exactly zero in `candidate` (same names and shapes),
 * in total and per tensor. Reads the counts back once; disposes nothing it was given.
 */
export function gradientUnderflow(reference: tf.NamedTensorMap, candidate: tf.NamedTensorMap): GradientUnderflow {
  if (reference == null || candidate == null) throw new Error("gradientUnderflow: pass two { name: tensor } gradient maps");
  const names = Object.keys(reference).filter((k) => reference[k] != null);
  for (const k of names) {
    const c = candidate[k];
    if (c == null) throw new Error(`gradientUnderflow: candidate has no gradient "${k}"; compare gradients of the same parameters`);
    if (!tf.util.arraysEqual(c.shape, reference[k].shape)) {
      throw new Error(`gradientUnderflow: "${k}" has shape [${c.shape}] in candidate but [${reference[k].shape}] in reference`);
    }
  }
  const counts = tf.tidy(() => {
    const rows = names.map((k) => flushCounts(reference[k], candidate[k])); // each [2]
    return rows.length === 0 ? tf.zeros([0, 2]) : tf.stack(rows); // [names, 2]
  });
  const values = counts.dataSync();
  counts.dispose();
  const perTensor: Record<string, UnderflowCount> = {};
  let flushed = 0, nonzero = 0;
  names.forEach((k, i) => {
    perTensor[k] = count(values[2 * i], values[2 * i + 1]);
    flushed += values[2 * i];
    nonzero += values[2 * i + 1];
  });
  return { ...count(flushed, nonzero), perTensor };
}

/**
 * Runs `fn` (a forward and backward pass under {@link withAutocast}, e.g. a tf.variableGrads call) and counts the
 * gradient entries that reached a 16-bit cast nonzero and were held there as zero: every activation and weight
 * gradient a real half-precision run stores, which is where fp16 underflow happens. Returns `fn`'s result and
 * the count; `fn` must be synchronous.
 */
export function countCastUnderflow<T>(fn: () => T): { result: T; underflow: UnderflowCount } {
  if (typeof fn !== "function") throw new Error("countCastUnderflow: fn must be a function that runs the backward pass");
  const counts: tf.Tensor[] = [];
  const previous = setCastGradientObserver((dy, rounded) => {
    counts.push(
      tf.keep(
        tf.tidy(() => flushCounts(dy, rounded)),
      ),
    );
  });
  let result: T;
  try {
    result = fn();
  } finally {
    setCastGradientObserver(previous);
  }
  const total = tf.tidy(() => (counts.length === 0 ? tf.zeros([2]) : tf.addN(counts)));
  const [flushed, nonzero] = Array.from(total.dataSync());
  tf.dispose([total, ...counts]);
  return { result, underflow: count(flushed, nonzero) };
}
