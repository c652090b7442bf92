/**
 * Re-running a notebook cell rebinds its names (`const model = new ...` again). The old model's tensors would stay
 * allocated forever, since tfjs frees nothing by garbage collection. The kernel disposes a value that a cell
 * rebinds when it owns tensors and no other top-level name still refers to it.
 */

/** Values the kernel may free when their name is rebound. */
export type IsDisposable = (value: unknown) => value is { dispose(): void };

/** A shallow copy of the notebook's top-level names and values. */
export function snapshotLocals(locals: Record<string, unknown>): Map<string, unknown> {
  return new Map(Object.entries(locals));
}

/** Disposes values whose name now refers to something else; returns the names whose old value was freed. */
export function disposeRebound(before: Map<string, unknown>, locals: Record<string, unknown>, isDisposable: IsDisposable): string[] {
  const live = new Set(Object.values(locals));
  const freed: string[] = [];
  const seen = new Set<unknown>();
  for (const [name, old] of before) {
    if (locals[name] === old || live.has(old) || seen.has(old) || !isDisposable(old)) continue;
    seen.add(old);
    try {
      old.dispose();
      freed.push(name);
    } catch {
      // Already disposed by the user: nothing left to free.
    }
  }
  return freed;
}
