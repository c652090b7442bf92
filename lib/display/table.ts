import { display, escapeHtml, MimeBundle, shortNumber } from "./sink";

/** A table as HTML plus an aligned text fallback; cells are strings or numbers. */
export function tableBundle(rows: Record<string, string | number>[], options: { columns?: string[]; title?: string } = {}): MimeBundle {
  const columns = options.columns ?? [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cell = (v: string | number | undefined) => (typeof v === "number" ? shortNumber(v) : v ?? "");
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i])).join("  ").trimEnd();
  const text = [options.title ?? "", line(columns), line(widths.map((w) => "-".repeat(w))), ...rows.map((r) => line(columns.map((c) => cell(r[c]))))]
    .filter((l, i) => i > 0 || l).join("\n");
  const html = `<table>${options.title ? `<caption>${escapeHtml(options.title)}</caption>` : ""}<thead><tr>${columns.map((c) => `<th>${escapeHtml(c)}</th>`).join("")}</tr></thead><tbody>` +
    rows.map((r) => `<tr>${columns.map((c) => `<td style="text-align:${typeof r[c] === "number" ? "right" : "left"}">${escapeHtml(cell(r[c]))}</td>`).join("")}</tr>`).join("") +
    `</tbody></table>`;
  return { "text/html": html, "text/plain": text };
}

/** Displays rows as a table in the running cell. */
export function showTable(rows: Record<string, string | number>[], options: { columns?: string[]; title?: string } = {}): void {
  display(tableBundle(rows, options));
}
