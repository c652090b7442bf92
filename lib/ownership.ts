/** Marks objects that own tfjs tensors and free them with `dispose()` (models, optimizers). */
export const OWNS_TENSORS: unique symbol = Symbol.for("llamalab.ownsTensors");

/** Whether `value` owns tensors that `dispose()` frees (used by the kernel when a notebook cell is re-run). */
export function ownsTensors(value: unknown): value is { dispose(): void } {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[OWNS_TENSORS] === true &&
    typeof (value as { dispose?: unknown }).dispose === "function";
}
