/**
 * Cooperative interruption. The kernel calls {@link requestInterrupt} when Jupyter interrupts a cell; long-running
 * library loops check {@link interruptRequested} at safe points (step boundaries) and stop cleanly, so the model and
 * optimizer are left in a consistent state instead of running on in the background.
 */
let requested = false;

/** Asks running library loops to stop at their next safe point. */
export function requestInterrupt(): void {
  requested = true;
}

/** Whether an interrupt was requested since the last {@link clearInterrupt}. */
export function interruptRequested(): boolean {
  return requested;
}

/** Forgets an earlier interrupt (the kernel calls this before each cell). */
export function clearInterrupt(): void {
  requested = false;
}
