import * as tf from "@tensorflow/tfjs";
import { escapeHtml, MimeBundle } from "./sink";

/** How many leading values per axis a tensor preview shows before eliding the rest with "…". */
const EDGE = 3;

function formatNumber(v: number | string | boolean, dtype: string): string {
  if (typeof v !== "number") return String(v);
  if (dtype === "int32" || dtype === "bool") return String(v);
  return Number.isInteger(v) && Math.abs(v) < 1e6 ? v.toFixed(1) : Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(3) : v.toFixed(4);
}

type Nested = number | string | boolean | Nested[];

// `values` is already cut to the leading corner, long axes ending in "…" (truncateLongAxes); formatNumber keeps strings.
function preview(values: Nested, dtype: string, depth: number): string {
  if (!Array.isArray(values)) return formatNumber(values, dtype);
  const parts = values.map((v) => preview(v, dtype, depth + 1));
  const inner = Array.isArray(values[0]) ? parts.join(",\n" + " ".repeat(depth + 1)) : parts.join(", ");
  return `[${inner}]`;
}

/** Shape, dtype, a value preview (the leading corner) and summary statistics of a tensor, as text and HTML. */
export function tensorBundle(t: tf.Tensor): MimeBundle {
  if (t.isDisposed) return { "text/plain": `Tensor (disposed) shape=[${t.shape.join(", ")}] dtype=${t.dtype}` };
  const head = `Tensor shape=[${t.shape.join(", ")}] dtype=${t.dtype} size=${t.size}`;
  // Slice the corners before downloading, so a preview of a large tensor stays cheap.
  const corner = tf.tidy(() => {
    if (t.rank === 0) return t.clone();
    const begin = t.shape.map(() => 0);
    const size = t.shape.map((d) => (d > 2 * EDGE ? EDGE : d));
    return t.slice(begin, size);
  });
  let values = corner.arraySync() as Nested;
  corner.dispose();
  // Long axes show their first EDGE values and "…"; the statistics cover the whole tensor.
  const truncated = t.shape.some((d) => d > 2 * EDGE);
  values = truncateLongAxes(values, t.shape);
  let stats = "";
  if (t.dtype === "float32" || t.dtype === "int32") {
    const [mn, mx, mean] = tf.tidy(() => [t.min(), t.max(), t.cast("float32").mean()].map((s) => s.dataSync()[0]));
    stats = `min ${formatNumber(mn, "float32")}  max ${formatNumber(mx, "float32")}  mean ${formatNumber(mean, "float32")}`;
  }
  const body = preview(values, t.dtype, 0);
  const text = [head, stats, body + (truncated ? "  (first values of each axis)" : "")].filter(Boolean).join("\n");
  const html = `<div><b>Tensor</b> <code>shape=[${t.shape.join(", ")}]</code> <code>dtype=${t.dtype}</code> ` +
    `<span style="color:#666">${escapeHtml(stats)}</span><pre style="margin:4px 0">${escapeHtml(body)}</pre></div>`;
  return { "text/plain": text, "text/html": html };
}

// Keeps the first EDGE entries of each long axis followed by an ellipsis marker.
function truncateLongAxes(values: Nested, shape: number[]): Nested {
  if (!Array.isArray(values) || shape.length === 0) return values;
  const inner = values.map((v) => truncateLongAxes(v, shape.slice(1)));
  return shape[0] > 2 * EDGE ? [...inner.slice(0, EDGE), "…"] : inner;
}
