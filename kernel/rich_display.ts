import * as util from "util";
import type { MimeBundle } from "../lib/display/sink";

/**
 * How a cell's last expression is shown (Jupyter's execute_result). Values that know how to show themselves
 * (a `toMimeBundle()` method, or a repr registered for their kind) give a rich bundle; everything else is shown
 * as Node's `util.inspect` text.
 */

/** A repr for some kinds of values: returns a bundle, or undefined when the value is not of its kind. */
export type Repr = (value: unknown) => MimeBundle | undefined;

const reprs: Repr[] = [];

/** Registers a repr, tried before the ones registered earlier. */
export function registerRepr(repr: Repr): void {
  reprs.unshift(repr);
}

/** The MIME bundle shown for `value`; always has text/plain. */
export function reprBundle(value: unknown): MimeBundle {
  const own = (value as { toMimeBundle?: unknown } | null)?.toMimeBundle;
  let bundle: MimeBundle | undefined = typeof own === "function" ? (own.call(value) as MimeBundle) : undefined;
  for (const repr of reprs) {
    if (bundle) break;
    try {
      bundle = repr(value);
    } catch {
      // A failing repr must not fail the cell: fall back to the text.
    }
  }
  const text = typeof bundle?.["text/plain"] === "string" ? bundle["text/plain"] : util.inspect(value, { depth: 2, maxArrayLength: 20, breakLength: 100 });
  return { ...bundle, "text/plain": text };
}
