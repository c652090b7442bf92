import * as tf from "@tensorflow/tfjs";

/** What tfjs's engine keeps for the backward pass (tfjs-core 4.22 internals). */
interface TapeState {
  activeTape?: { saved?: tf.Tensor[] }[] | null;
}

/**
 * Runs `f` inside a gradient tape; if it throws, frees the tensors its operations saved for the backward pass.
 * tfjs keeps those outside every tidy and frees them only after a completed backward pass, so a loss function
 * that fails half-way (a bad label, a shape error in a notebook cell) would otherwise leak them at every attempt.
 * Only the tape nodes `f` added are touched, so an enclosing gradient computation keeps its own.
 */
export function freeTapeOnThrow<T>(f: () => T): T {
  const state = (tf.engine() as unknown as { state?: TapeState }).state;
  const tape = Array.isArray(state?.activeTape) ? state!.activeTape : null;
  const start = tape?.length ?? 0;
  try {
    return f();
  } catch (e) {
    if (tape !== null) {
      for (const node of tape.splice(start)) for (const t of node.saved ?? []) if (!t.isDisposed) t.dispose();
    }
    throw e;
  }
}
