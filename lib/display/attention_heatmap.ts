import { display, escapeHtml, MimeBundle } from "./sink";

/**
 * An attention matrix (rows: queries, columns: keys; each row a probability distribution) as an SVG heatmap with
 * the tokens as axis labels, and a text fallback listing each query's most-attended key.
 */
export function attentionHeatmapBundle(weights: number[][], options: { tokens?: string[]; keyTokens?: string[]; title?: string; cell?: number } = {}): MimeBundle {
  const rows = weights.length, cols = weights[0]?.length ?? 0;
  if (!rows || weights.some((r) => r.length !== cols)) throw new Error("attentionHeatmapBundle: weights must be a non-empty [queries][keys] matrix with rows of equal length");
  const q = options.tokens ?? weights.map((_, i) => String(i));
  const k = options.keyTokens ?? options.tokens ?? weights[0].map((_, j) => String(j));
  if (q.length !== rows || k.length !== cols) throw new Error(`attentionHeatmapBundle: ${q.length} query and ${k.length} key labels for a ${rows}×${cols} matrix`);
  const cell = options.cell ?? 22, left = 80, top = 80 + (options.title ? 20 : 0);
  const max = Math.max(...weights.flat(), 1e-12);
  const rects = weights.flatMap((r, i) => r.map((w, j) => {
    const shade = Math.round(255 * (1 - w / max));
    return `<rect x="${left + j * cell}" y="${top + i * cell}" width="${cell}" height="${cell}" fill="rgb(${shade},${shade},255)"><title>${escapeHtml(q[i])} → ${escapeHtml(k[j])}: ${w.toFixed(3)}</title></rect>`;
  }));
  const label = (t: string) => escapeHtml(t.length > 10 ? t.slice(0, 9) + "…" : t);
  const yLabels = q.map((t, i) => `<text x="${left - 4}" y="${top + i * cell + cell * 0.7}" text-anchor="end" font-size="11">${label(t)}</text>`);
  const xLabels = k.map((t, j) => `<text transform="translate(${left + j * cell + cell * 0.7},${top - 4}) rotate(-60)" font-size="11">${label(t)}</text>`);
  const title = options.title ? `<text x="4" y="14" font-size="13" font-weight="bold">${escapeHtml(options.title)}</text>` : "";
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${left + cols * cell + 10}" height="${top + rows * cell + 10}" font-family="sans-serif">${title}${rects.join("")}${yLabels.join("")}${xLabels.join("")}</svg>`;
  const text = [options.title ?? `attention ${rows}×${cols}`, ...weights.map((r, i) => {
    const j = r.indexOf(Math.max(...r));
    return `  ${q[i]} → ${k[j]} (${r[j].toFixed(2)})`;
  })].join("\n");
  return { "text/plain": text, "image/svg+xml": svg };
}

/** Displays an attention heatmap in the running cell. */
export function showAttention(weights: number[][], options: { tokens?: string[]; keyTokens?: string[]; title?: string } = {}): void {
  display(attentionHeatmapBundle(weights, options));
}
