import { escapeHtml } from "../lib/display/sink";

/**
 * A self-contained HTML page of an executed notebook, for `llamalab run --html` (no nbconvert needed). Rich outputs
 * are embedded as the kernel produced them (Plotly bundles carry their own script), in the order Jupyter prefers.
 */

type Cell = { cell_type: string; source: string | string[]; outputs?: Record<string, unknown>[]; execution_count?: number | null };

const joined = (t: unknown): string => (Array.isArray(t) ? t.join("") : typeof t === "string" ? t : JSON.stringify(t, null, 2));

// Strips ANSI colour codes from tracebacks.
const plain = (t: string): string => t.replace(/\x1b\[[0-9;]*m/g, "");

/** Minimal Markdown: headings, fenced code, inline code, bold/italic, links, lists and paragraphs. */
export function markdownHtml(md: string): string {
  const inline = (s: string) => escapeHtml(s)
    .replace(/`([^`]+)`/g, "<code>$1</code>")
    .replace(/\*\*([^*]+)\*\*/g, "<b>$1</b>")
    .replace(/\*([^*]+)\*/g, "<i>$1</i>")
    .replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, '<a href="$2">$1</a>');
  return md.split(/\n(?=```)|(?<=```)\n/).flatMap((block) => {
    if (block.startsWith("```")) return [`<pre><code>${escapeHtml(block.replace(/^```\w*\n?|```$/g, ""))}</code></pre>`];
    return block.split(/\n\s*\n/).map((para) => {
      const h = /^(#{1,6})\s+(.*)$/.exec(para.trim());
      if (h) return `<h${h[1].length}>${inline(h[2])}</h${h[1].length}>`;
      if (/^\s*[-*]\s/.test(para)) return `<ul>${para.split(/\n(?=\s*[-*]\s)/).map((li) => `<li>${inline(li.replace(/^\s*[-*]\s/, ""))}</li>`).join("")}</ul>`;
      return para.trim() ? `<p>${inline(para)}</p>` : "";
    });
  }).join("\n");
}

function outputHtml(o: Record<string, unknown>): string {
  if (o.output_type === "stream") return `<pre class="${o.name === "stderr" ? "stderr" : "stdout"}">${escapeHtml(joined(o.text))}</pre>`;
  if (o.output_type === "error") return `<pre class="error">${escapeHtml(plain(((o.traceback as string[]) ?? []).join("\n")))}</pre>`;
  const data = (o.data ?? {}) as Record<string, unknown>;
  if (data["text/html"] !== undefined) return `<div class="html">${joined(data["text/html"])}</div>`;
  if (data["image/svg+xml"] !== undefined) return `<div class="svg">${joined(data["image/svg+xml"])}</div>`;
  if (data["image/png"] !== undefined) return `<img src="data:image/png;base64,${joined(data["image/png"])}">`;
  if (data["application/json"] !== undefined) return `<pre class="json">${escapeHtml(JSON.stringify(data["application/json"], null, 2))}</pre>`;
  return `<pre>${escapeHtml(joined(data["text/plain"] ?? ""))}</pre>`;
}

/** The page for a notebook's cells. */
export function notebookHtml(nb: { cells: Cell[] }, title: string): string {
  const cells = nb.cells.map((c) => {
    if (c.cell_type === "markdown") return `<div class="md">${markdownHtml(joined(c.source))}</div>`;
    if (c.cell_type !== "code") return `<pre>${escapeHtml(joined(c.source))}</pre>`;
    const prompt = `<div class="prompt">In [${c.execution_count ?? " "}]:</div>`;
    return `<div class="cell">${prompt}<pre class="code">${escapeHtml(joined(c.source))}</pre>${(c.outputs ?? []).map(outputHtml).join("\n")}</div>`;
  });
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:sans-serif;max-width:1000px;margin:auto;padding:1em}pre{overflow-x:auto}
.code{background:#f5f5f5;padding:6px;border-left:3px solid #4c9be8}.prompt{color:#888;font-size:12px}
.stderr{background:#fdd}.error{background:#fdd;padding:6px}.cell{margin:1em 0}</style></head>
<body>
${cells.join("\n")}
</body></html>
`;
}
