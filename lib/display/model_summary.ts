import { escapeHtml, MimeBundle } from "./sink";

/** What a model summary needs: the model's named parameter shapes (a llama `Module`). */
export interface Summarizable {
  parameterSummary(): { name: string; shape: number[]; count: number }[];
}

/** Parameters per module: `depth` leading name parts group the rows (e.g. "model.layers.0" at depth 3). */
export function modelSummaryRows(model: Summarizable, depth = 3): { module: string; tensors: number; parameters: number }[] {
  const groups = new Map<string, { tensors: number; parameters: number }>();
  for (const { name, count } of model.parameterSummary()) {
    const parts = name.split(".");
    const key = parts.slice(0, Math.min(depth, parts.length - 1)).join(".") || name;
    const g = groups.get(key) ?? { tensors: 0, parameters: 0 };
    g.tensors++;
    g.parameters += count;
    groups.set(key, g);
  }
  return [...groups].map(([module, g]) => ({ module, ...g }));
}

/** A model summary table: parameters per module, their share of the total, and the total. */
export function modelSummaryBundle(model: Summarizable, title = model.constructor?.name ?? "Model"): MimeBundle {
  const rows = modelSummaryRows(model);
  const total = rows.reduce((n, r) => n + r.parameters, 0);
  const share = (n: number) => (total ? ((100 * n) / total).toFixed(1) + "%" : "-");
  const width = Math.max(6, ...rows.map((r) => r.module.length));
  const text = [
    `${title}: ${total.toLocaleString("en-US")} parameters`,
    `${"module".padEnd(width)}  ${"parameters".padStart(12)}  ${"share".padStart(6)}`,
    ...rows.map((r) => `${r.module.padEnd(width)}  ${r.parameters.toLocaleString("en-US").padStart(12)}  ${share(r.parameters).padStart(6)}`),
  ].join("\n");
  const html = `<table><caption style="text-align:left"><b>${escapeHtml(title)}</b>: ${total.toLocaleString("en-US")} parameters</caption>` +
    `<thead><tr><th>module</th><th>tensors</th><th>parameters</th><th>share</th></tr></thead><tbody>` +
    rows.map((r) => `<tr><td style="text-align:left"><code>${escapeHtml(r.module)}</code></td><td>${r.tensors}</td><td>${r.parameters.toLocaleString("en-US")}</td><td>${share(r.parameters)}</td></tr>`).join("") +
    `</tbody></table>`;
  return { "text/plain": text, "text/html": html, "application/json": { total, modules: rows } };
}
